/**
 * The plan's "Old Video Cleanup" (daily, at CLEANUP_HOUR): completed videos created more than
 * DELETE_OLD_VIDEOS_AFTER days ago lose their HLS folder and their runs' logs, and their documents
 * are marked deleted (kept, with the URLs cleared) — compare-and-set on `completed`, so a video
 * re-queued meanwhile is left alone. With KEEP_WATCHED_VIDEOS_DAYS, an old video a gateway served
 * within that many days (last_accessed_at) is kept. The time of day is a pure function.
 */
import type { Logger } from '../log.ts';
import type { VideoJob } from '../jobs/model.ts';
import type { JobStore } from '../jobs/store.ts';
import { removePackage, removeRunLogs } from '../volume/cleanup.ts';
import type { VolumePaths } from '../volume/layout.ts';

const DAY_MS = 86_400_000;
const CLEARED_URLS = { master_playlist_url: null, poster_url: null, hls_high_url: null, hls_medium_url: null, hls_low_url: null };

/** Milliseconds from `now` to the next `hour`:00 local time (a whole day when it is that hour exactly). */
export function msUntilHour(now: Date, hour: number): number {
  const next = new Date(now);
  next.setHours(hour, 0, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next.getTime() - now.getTime();
}

export interface RetentionReport {
  videos: { wp_post_id: number; title: string; created_at: string; bytes: number }[];
  /** Old videos kept because they are still watched. */
  kept: { wp_post_id: number; title: string; created_at: string; last_accessed_at: string }[];
  bytesFreed: number;
  dryRun: boolean;
}

/** Whether `video` was served within `days` before `now` (0 days: the setting is off). Pure. */
export function stillWatched(video: Pick<VideoJob, 'last_accessed_at'>, days: number, now: number): boolean {
  if (days <= 0 || video.last_accessed_at === null) return false;
  return now - Date.parse(video.last_accessed_at) < days * DAY_MS;
}

/** Completed videos created before `now − days`, oldest first. */
export async function oldVideos(store: Pick<JobStore, 'list'>, days: number, now: number): Promise<VideoJob[]> {
  const cutoff = new Date(now - days * DAY_MS).toISOString();
  const found: VideoJob[] = [];
  for (let offset = 0; ; offset += 100) {
    const { jobs } = await store.list({ status: 'completed', createdBefore: cutoff, limit: 100, offset, sort: 'created_at', order: 'asc' });
    found.push(...jobs);
    if (jobs.length < 100) return found;
  }
}

/** `keepWatchedDays`: KEEP_WATCHED_VIDEOS_DAYS (0 or absent: by age alone). */
export async function deleteOldVideos(opts: {
  store: Pick<JobStore, 'list' | 'transition'>;
  volume: VolumePaths;
  days: number;
  keepWatchedDays?: number;
  now: number;
  log: Logger;
  dryRun?: boolean;
}): Promise<RetentionReport> {
  const report: RetentionReport = { videos: [], kept: [], bytesFreed: 0, dryRun: opts.dryRun === true };
  if (opts.days <= 0) return report;
  for (const video of await oldVideos(opts.store, opts.days, opts.now)) {
    if (stillWatched(video, opts.keepWatchedDays ?? 0, opts.now)) {
      report.kept.push({ wp_post_id: video.wp_post_id, title: video.title, created_at: video.created_at, last_accessed_at: video.last_accessed_at! });
      continue;
    }
    let bytes = 0;
    if (!opts.dryRun) {
      try {
        // The document first: once it says deleted nobody is sent to the files.
        await opts.store.transition(video.wp_post_id, 'deleted', CLEARED_URLS, ['completed']);
      } catch (err) {
        if ((err as { code?: string }).code === 'VCS_ERR_CONFLICT') continue; // re-queued or deleted meanwhile
        throw err;
      }
      bytes = (await removePackage(opts.volume.hlsPath, video.wp_post_id)) + (await removeRunLogs(opts.volume.tempPath, video.wp_post_id));
      opts.log.info({ videoId: video.wp_post_id, createdAt: video.created_at, bytesFreed: bytes }, 'old video deleted');
    }
    report.videos.push({ wp_post_id: video.wp_post_id, title: video.title, created_at: video.created_at, bytes });
    report.bytesFreed += bytes;
  }
  if (!opts.dryRun && (report.videos.length || report.kept.length)) {
    opts.log.info({ videos: report.videos.length, keptWatched: report.kept.length, bytesFreed: report.bytesFreed, days: opts.days }, 'old-video cleanup done');
  }
  return report;
}
