/**
 * The Appwrite side of the video document (docs/adr/0013): the columns of the jobs table (a
 * collection on servers before 1.8), its indexes, and the small control table holding the paused
 * flag. Pure data: `vcs appwrite setup` creates what is listed here, and the store checks at start
 * that it exists.
 *
 * `created_at` and `updated_at` are no columns: they are the server's `$createdAt` and
 * `$updatedAt`, which every document has, whoever wrote it (the publisher's own edits too), and
 * which can be sorted and indexed without nulls.
 */
import { PRIORITIES, STATUSES, type VideoJob } from '../model.ts';

export type ColumnSpec =
  /** Short text: `varchar` on TablesDB, `string` on the Databases API. */
  | { kind: 'string'; size: number; required: boolean; default?: string }
  /** Long text, stored off-row so it does not count against the row-width limit. */
  | { kind: 'text'; required: boolean }
  | { kind: 'integer'; required: boolean; min: number; max: number; default?: number }
  | { kind: 'float'; required: boolean; min: number; default?: number }
  | { kind: 'boolean'; required: boolean; default?: boolean }
  | { kind: 'datetime'; required: boolean }
  | { kind: 'enum'; elements: readonly string[]; required: boolean; default?: string }
  /** Appwrite's url type holds up to 2000 characters. */
  | { kind: 'url'; required: boolean };

export interface IndexSpec {
  key: string;
  type: 'key' | 'unique';
  columns: string[];
}

export type JobColumn = Exclude<keyof VideoJob, 'created_at' | 'updated_at'>;

/** Appwrite integers are 64-bit; JavaScript numbers are exact up to 2^53 - 1. */
const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/**
 * One column per stored VideoJob field (exhaustive: a new field fails to compile until it has a
 * column). Only what the publisher writes is required; defaults fill what the service adds, so a
 * publisher's document (wp_post_id, title, original_video_url, compression_status) is complete.
 */
export const JOB_COLUMNS: Record<JobColumn, ColumnSpec> = {
  wp_post_id: { kind: 'integer', required: true, min: 1, max: MAX_INTEGER },
  title: { kind: 'string', size: 512, required: true },
  original_video_url: { kind: 'url', required: true },
  compression_status: { kind: 'enum', elements: STATUSES, required: false, default: 'pending' },
  compression_step: { kind: 'string', size: 32, required: false, default: 'queued' },
  compression_progress: { kind: 'integer', required: false, min: 0, max: 100, default: 0 },
  priority: { kind: 'enum', elements: PRIORITIES, required: false, default: 'normal' },
  error_message: { kind: 'text', required: false },
  failed_at_step: { kind: 'string', size: 32, required: false },
  error_code: { kind: 'string', size: 64, required: false },
  retryable: { kind: 'boolean', required: false },
  retry_count: { kind: 'integer', required: false, min: 0, max: 1_000_000, default: 0 },
  started_at: { kind: 'datetime', required: false },
  completed_at: { kind: 'datetime', required: false },
  failed_at: { kind: 'datetime', required: false },
  master_playlist_url: { kind: 'url', required: false },
  poster_url: { kind: 'url', required: false },
  hls_high_url: { kind: 'url', required: false },
  hls_medium_url: { kind: 'url', required: false },
  hls_low_url: { kind: 'url', required: false },
  total_size: { kind: 'integer', required: false, min: 0, max: MAX_INTEGER },
  duration_seconds: { kind: 'float', required: false, min: 0 },
  job_name: { kind: 'string', size: 128, required: false },
  last_accessed_at: { kind: 'datetime', required: false },
};

export const JOB_COLUMN_KEYS = Object.keys(JOB_COLUMNS) as JobColumn[];

/**
 * The two (status with creation time for the queue and the lists; a unique wp_post_id,
 * the key everything uses) plus the queue order itself (status, priority, creation time).
 */
export const JOB_INDEXES: readonly IndexSpec[] = [
  { key: 'wp_post_id_unique', type: 'unique', columns: ['wp_post_id'] },
  { key: 'status_created', type: 'key', columns: ['compression_status', '$createdAt'] },
  { key: 'queue', type: 'key', columns: ['compression_status', 'priority', '$createdAt'] },
];

/**
 * The paused flag lives in its own small table, one row per jobs table (row id = the jobs
 * table's id), so it can never show up in the publisher's collection, the lists or the counts.
 */
export const CONTROL_TABLE = 'vcs_control';
export const CONTROL_COLUMNS = {
  paused: { kind: 'boolean', required: false, default: false },
} as const satisfies Record<string, ColumnSpec>;
