/**
 * The API's JSON shapes (the plan’s "REST API ENDPOINTS", docs/adr/0015), built from a video document. Pure.
 */
import type { VideoJob } from '../jobs/model.ts';

/** Below this much progress an estimate would be noise. */
const MIN_PROGRESS_FOR_ESTIMATE = 3;
/** A transcoder's own ETA is trusted while it is this fresh. */
const ETA_FRESH_MS = 30_000;

/**
 * When a processing video should be done: the transcoder's latest ETA when one is fresh, else
 * extrapolated from the progress observed since started_at. null when it cannot be told.
 */
export function estimateCompletion(video: VideoJob, now: number, eta?: { etaSeconds: number; at: number }): string | null {
  if (video.compression_status !== 'processing') return video.compression_status === 'completed' ? video.completed_at : null;
  if (eta && now - eta.at < ETA_FRESH_MS) return isoOrNull(eta.at + eta.etaSeconds * 1000);
  const started = Date.parse(video.started_at ?? '');
  const progress = video.compression_progress;
  if (!Number.isFinite(started) || progress < MIN_PROGRESS_FOR_ESTIMATE || progress >= 100) return null;
  const elapsed = Math.max(0, now - started);
  return isoOrNull(started + (elapsed * 100) / progress);
}

/** A time as ISO 8601, or null when it is not a time a Date can hold (no estimate beats a 500). */
function isoOrNull(ms: number): string | null {
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toISOString() : null;
}

/**
 * The playback URLs of the package the gateway serves now, or null when there is none. The
 * document keeps them for exactly that long: a re-compression (pending, processing) and a failed
 * one leave the published package, and its URLs, in place until a new package replaces both; only
 * removing the files (a delete with its files, the old-video cleanup) clears them. So they are
 * shown whatever the status, as GET /api/jobs shows master_playlist_url.
 */
export function urlsOf(video: VideoJob) {
  if (!video.master_playlist_url) return null;
  return {
    master_playlist_url: video.master_playlist_url,
    poster_url: video.poster_url,
    hls_high_url: video.hls_high_url,
    hls_medium_url: video.hls_medium_url,
    hls_low_url: video.hls_low_url,
  };
}

/** GET /api/post/:wp_post_id */
export function postStatus(video: VideoJob, now: number, extra: { position: number | null; eta?: { etaSeconds: number; at: number } }) {
  return {
    wp_post_id: video.wp_post_id,
    title: video.title,
    status: video.compression_status,
    step: video.compression_step,
    progress: video.compression_progress,
    priority: video.priority,
    created_at: video.created_at,
    started_at: video.started_at,
    completed_at: video.completed_at,
    estimated_completion: estimateCompletion(video, now, extra.eta),
    position_in_queue: extra.position,
    urls: urlsOf(video),
    total_size: video.total_size,
    duration_seconds: video.duration_seconds,
    error_message: video.error_message,
    failed_at_step: video.failed_at_step,
    failed_at: video.failed_at,
    retry_count: video.retry_count,
    // An addition to the plan's shape: when a gateway last served the video's playlists.
    last_accessed_at: video.last_accessed_at,
  };
}

/** One row of GET /api/jobs */
export function jobRow(video: VideoJob) {
  return {
    wp_post_id: video.wp_post_id,
    title: video.title,
    status: video.compression_status,
    step: video.compression_step,
    progress: video.compression_progress,
    priority: video.priority,
    created_at: video.created_at,
    started_at: video.started_at,
    completed_at: video.completed_at,
    master_playlist_url: video.master_playlist_url,
    poster_url: video.poster_url,
    error_message: video.error_message,
    retry_count: video.retry_count,
  };
}
