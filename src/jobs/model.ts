/**
 * The video document (docs/adr/0013). Field names are the document's own (snake_case), the same in
 * the SQLite table, the Appwrite collection and the API's JSON, so no layer renames anything.
 */
import { vcsError } from '../errors.ts';
import type { Step } from '../steps.ts';

export const STATUSES = ['pending', 'processing', 'completed', 'failed', 'deleted'] as const;
export type Status = (typeof STATUSES)[number];

export const PRIORITIES = ['normal', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface VideoJob {
  wp_post_id: number;
  title: string;
  original_video_url: string;
  compression_status: Status;
  compression_step: Step | null;
  /** 0–100. */
  compression_progress: number;
  priority: Priority;
  error_message: string | null;
  failed_at_step: Step | null;
  /** A coded error from src/errors.ts (e.g. VCS_ERR_SOURCE_NOT_FOUND); added by this service. */
  error_code: string | null;
  /** Whether the last failure may be retried automatically (exit 2 failures may not). */
  retryable: boolean | null;
  retry_count: number;
  /** ISO 8601 timestamps. `created_at` orders the queue (FIFO). */
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  failed_at: string | null;
  master_playlist_url: string | null;
  poster_url: string | null;
  hls_high_url: string | null;
  hls_medium_url: string | null;
  hls_low_url: string | null;
  /** Bytes of the published package. */
  total_size: number | null;
  /** Of the source. */
  duration_seconds: number | null;
  /** The current attempt's run (local run or Kubernetes Job) name, `vcs-<id>-<attempt>`. */
  job_name: string | null;
  /**
   * When a gateway last answered a request for one of the video's playlists (ISO 8601, precise to
   * about an hour); added by this service. Written in batches by the gateway (src/gateway/access-recorder.ts) through
   * JobStore.recordAccess only, never by a patch.
   */
  last_accessed_at: string | null;
}

/** What a publisher (or POST /api/jobs, which `vcs enqueue` calls) provides; everything else has defaults. */
export interface NewVideo {
  wp_post_id: number;
  title: string;
  original_video_url: string;
  priority?: Priority;
}

/** Fields that only a status transition may change. */
export type StatusFields = 'compression_status';

/** A change to a video's fields other than its status, its identity and its last access. */
export type VideoPatch = Partial<Omit<VideoJob, 'wp_post_id' | 'created_at' | 'updated_at' | 'last_accessed_at' | StatusFields>>;

/** A video as it is first stored: pending, queued, nothing else known yet. Every store creates this. */
export function newVideoJob(video: NewVideo, at: string): VideoJob {
  return {
    wp_post_id: video.wp_post_id,
    title: video.title,
    original_video_url: video.original_video_url,
    compression_status: 'pending',
    compression_step: 'queued',
    compression_progress: 0,
    priority: video.priority ?? 'normal',
    error_message: null,
    failed_at_step: null,
    error_code: null,
    retryable: null,
    retry_count: 0,
    created_at: at,
    updated_at: at,
    started_at: null,
    completed_at: null,
    failed_at: null,
    master_playlist_url: null,
    poster_url: null,
    hls_high_url: null,
    hls_medium_url: null,
    hls_low_url: null,
    total_size: null,
    duration_seconds: null,
    job_name: null,
    last_accessed_at: null,
  };
}

/** Fields no patch may set: the identity, the timestamps the store keeps (recordAccess() for the last access), and the status (transition() only). */
const NOT_PATCHABLE = new Set<string>(['wp_post_id', 'created_at', 'updated_at', 'last_accessed_at', 'compression_status']);

/** Every field of a video; newVideoJob builds a complete one, so this list cannot miss a field. */
const FIELDS = new Set(Object.keys(newVideoJob({ wp_post_id: 1, title: '', original_video_url: '' }, '')));

/** Throws unless every key of `patch` is a field a patch may set. Every store checks its patches here. */
export function checkPatch(patch: VideoPatch): void {
  for (const key of Object.keys(patch)) {
    if (key === 'compression_status') throw vcsError('VCS_ERR_ILLEGAL_TRANSITION', 'compression_status changes only through transition()');
    if (!FIELDS.has(key) || NOT_PATCHABLE.has(key)) throw vcsError('VCS_ERR_INTERNAL', `a video patch cannot set ${key}`);
  }
}
