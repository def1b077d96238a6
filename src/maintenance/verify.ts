/**
 * `vcs maintenance verify`: every published package checked again by the transcoder's self-check
 * (playlists parse and are complete VOD playlists, every segment present and non-empty, renditions
 * aligned, sampled segments starting on a keyframe at the same instant, coverage of the source
 * duration, the master naming the renditions), plus the sizes the manifest recorded; `deep` also
 * decodes every segment. Broken videos are named with the first reason found and, with `mark`,
 * queued again the way the API's re-compression does (jobs/queue.ts).
 */
import path from 'node:path';
import { VcsError } from '../errors.ts';
import type { VideoJob } from '../jobs/model.ts';
import { queueAgain } from '../jobs/queue.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger } from '../log.ts';
import { packageDir } from '../volume/layout.ts';
import { checkMaster, decodeCheck, selfCheck } from '../../transcoder/self-check.ts';
import { exists, measurePackage, readManifest } from './package.ts';

export interface PackageCheck {
  ffmpeg: string;
  ffprobe: string;
  deep: boolean;
  signal: AbortSignal;
}

/** Files every package has beside its renditions. */
const PACKAGE_FILES = ['master.m3u8', 'poster.jpg'] as const;

/** Why the package in `dir` is broken, or null when it passes. */
export async function packageProblem(dir: string, check: PackageCheck): Promise<string | null> {
  try {
    if (!(await exists(dir))) return 'the package folder is missing';
    for (const file of PACKAGE_FILES) if (!(await exists(path.join(dir, file)))) return `${file} is missing`;
    const facts = await readManifest(dir);
    for (const r of facts.renditions) if (!(await exists(path.join(dir, r.name, 'playlist.m3u8')))) return `${r.name}/playlist.m3u8 is missing`;
    const measured = await measurePackage(dir, facts);
    for (const [i, m] of measured.entries()) {
      const recorded = facts.renditions[i]!;
      if (m.result.segments !== recorded.segments || m.result.bytes !== recorded.bytes) {
        return `${recorded.name} has ${m.result.segments} segments of ${m.result.bytes} bytes, the manifest recorded ${recorded.segments} of ${recorded.bytes}`;
      }
    }
    await selfCheck({ dir, renditions: measured, sourceSeconds: facts.durationSeconds, ffprobe: check.ffprobe, signal: check.signal });
    await checkMaster(dir, measured);
    if (check.deep) await decodeCheck({ dir, renditions: measured, ffmpeg: check.ffmpeg, signal: check.signal });
    return null;
  } catch (err) {
    if (check.signal.aborted) throw err;
    if (err instanceof VcsError && err.code === 'VCS_ERR_FFMPEG_MISSING') throw err;
    return (err as Error).message.replace(/^self-check: /, '');
  }
}

export interface BrokenVideo {
  wp_post_id: number;
  reason: string;
  /** Queued again for re-compression (with `mark`); false when its status changed meanwhile. */
  marked: boolean;
}

export interface VerifyReport {
  checked: number;
  broken: BrokenVideo[];
  /** The check's signal stopped the pass before its end. */
  stopped: boolean;
}

export async function verifyVideos(opts: {
  videos: VideoJob[];
  store: JobStore;
  hlsPath: string;
  check: PackageCheck;
  mark: boolean;
  log: Logger;
}): Promise<VerifyReport> {
  const report: VerifyReport = { checked: 0, broken: [], stopped: false };
  for (const [i, video] of opts.videos.entries()) {
    const id = video.wp_post_id;
    let reason: string | null = null;
    try {
      if (!opts.check.signal.aborted) reason = await packageProblem(packageDir(opts.hlsPath, id), opts.check);
    } catch (err) {
      if (!opts.check.signal.aborted) throw err;
    }
    if (opts.check.signal.aborted) {
      report.stopped = true;
      break;
    }
    report.checked += 1;
    if (reason === null) {
      opts.log.info({ videoId: id, done: i + 1, of: opts.videos.length }, 'package verified');
      continue;
    }
    let marked = false;
    if (opts.mark) {
      try {
        await queueAgain(opts.store, video, {});
        marked = true;
      } catch (err) {
        if (!(err instanceof VcsError && err.code === 'VCS_ERR_CONFLICT')) throw err;
      }
    }
    opts.log.warn({ videoId: id, reason, marked, done: i + 1, of: opts.videos.length }, 'package broken');
    report.broken.push({ wp_post_id: id, reason, marked });
  }
  return report;
}
