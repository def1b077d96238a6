/**
 * The `JobStore` interface (docs/adr/0012): everything the controller and the gateway need from the
 * place the video documents live. Two implementations: `sqlite-store` (embedded default) and
 * `appwrite-store`. Nothing outside a store knows which one is in use. The contract suite in
 * test/support/store-contract.ts runs against every implementation.
 */
import type { NewVideo, Status, VideoJob, VideoPatch } from './model.ts';

export type SortField = 'created_at' | 'wp_post_id' | 'title' | 'compression_status' | 'updated_at';

export interface ListQuery {
  status?: Status;
  /** Matches titles containing the text (case-insensitive) or a wp_post_id equal to it. */
  search?: string;
  /** Created at or after this ISO time. */
  createdFrom?: string;
  /** Created before this ISO time. */
  createdBefore?: string;
  limit: number;
  offset: number;
  sort: SortField;
  order: 'asc' | 'desc';
}

export interface StoreSummary {
  /** Mean seconds from started_at to completed_at over completed videos; null when there are none. */
  averageCompressionSeconds: number | null;
  createdSince: number;
  /** Sum of total_size over completed videos. */
  totalSize: number;
}

export interface JobStore {
  /** Opens the store (migrations, connectivity). */
  init(): Promise<void>;
  close(): Promise<void>;
  /** A cheap round trip, for health. Throws when the store is unreachable. */
  ping(): Promise<void>;

  /** Adds a pending video. Throws VCS_ERR_CONFLICT when the wp_post_id exists. */
  create(video: NewVideo): Promise<VideoJob>;
  get(wpPostId: number): Promise<VideoJob | null>;

  /** Pending videos in queue order: priority high first, then created_at ascending (then id). */
  listPending(limit: number): Promise<VideoJob[]>;
  /** Every video in processing. */
  listProcessing(): Promise<VideoJob[]>;
  /** Failed, retryable videos whose failed_at is at or before `failedBefore` and whose retry_count < maxRetries. */
  listRetryable(failedBefore: string, maxRetries: number, limit: number): Promise<VideoJob[]>;
  /** 1-based position of a pending video in the queue, or null when it is not pending. */
  queuePosition(wpPostId: number): Promise<number | null>;

  list(query: ListQuery): Promise<{ total: number; jobs: VideoJob[] }>;
  countByStatus(): Promise<Record<Status, number>>;
  /** Figures for the stats: mean started→completed time of completed videos, videos created at or after `since`, bytes published. */
  summary(since: string): Promise<StoreSummary>;

  /**
   * Moves a video to `to`, applying `patch` in the same write. The move is checked by
   * src/jobs/transitions.ts: an illegal one throws VCS_ERR_ILLEGAL_TRANSITION and writes nothing.
   * When `expect` is given the current status must be one of it (compare-and-set), else
   * VCS_ERR_CONFLICT. Throws VCS_ERR_NOT_FOUND for an unknown id.
   */
  transition(wpPostId: number, to: Status, patch?: VideoPatch, expect?: Status[]): Promise<VideoJob>;
  /**
   * Changes non-status fields (progress, step, job_name…). Throws VCS_ERR_NOT_FOUND for an unknown
   * id. When `expect` is given the current status must be one of it (compare-and-set), else
   * VCS_ERR_CONFLICT and nothing is written.
   */
  update(wpPostId: number, patch: VideoPatch, expect?: Status[]): Promise<VideoJob>;

  /**
   * Moves each video's last_accessed_at forward to the ISO time given for it, never back (a value
   * already later stays): several gateways flush independently, and the latest access wins.
   * Unknown ids are skipped. Not a change of the video: the embedded store leaves updated_at as it
   * is (Appwrite stamps `$updatedAt` on every write).
   */
  recordAccess(accessed: ReadonlyMap<number, string>): Promise<void>;

  /** The worker's paused flag, kept in the store so a separate gateway process can set it. */
  isPaused(): Promise<boolean>;
  setPaused(paused: boolean): Promise<void>;
}
