/**
 * What a controller pass decides (the output of the pure `reconcile()`), applied by the loop.
 * Observe → compute → act (conventions 8): only the loop talks to the store and the runner.
 */
import type { TranscodeOutput } from '../contract.ts';
import type { Step } from '../steps.ts';
import type { VideoJob } from '../jobs/model.ts';
import type { RunStatus } from './runner.ts';

export type Action =
  /** pending → processing and start run `jobName` (attempt = the number after the id). */
  | { kind: 'start'; video: VideoJob; jobName: string }
  /**
   * processing with no live run (orphan, lost run): start `jobName`, a new attempt, staying in
   * processing (started_at kept, so PROCESSING_TIMEOUT bounds all attempts). `counted`: the lost
   * attempt counts as a retry (retry_count + 1).
   */
  | { kind: 'restart'; video: VideoJob; jobName: string; reason: string; counted: boolean }
  /** A run succeeded: processing → completed with the URLs, then forget the run. */
  | { kind: 'complete'; video: VideoJob; run: RunStatus; output: TranscodeOutput }
  /** A run failed, or processing timed out: processing → failed, stop/forget the run when there is one. */
  | { kind: 'fail'; video: VideoJob; run?: RunStatus; code: string; message: string; step: Step; retryable: boolean }
  /** A retryable failure whose wait is over: failed → pending, retry_count + 1. */
  | { kind: 'retry'; video: VideoJob }
  /** A run nobody wants any more (video deleted, re-queued, or superseded): stop it and forget it. */
  | { kind: 'stop'; run: RunStatus; reason: string }
  /**
   * A finished run whose outcome is already recorded or irrelevant: forget it, remove its work
   * folder, and, when its video was deleted meanwhile, whatever package it may have published.
   */
  | { kind: 'forget'; run: RunStatus };

export interface Observation {
  /** Epoch milliseconds. */
  now: number;
  paused: boolean;
  /** Pending videos in queue order (at least as many as there are free slots). */
  pending: VideoJob[];
  /** Every video in processing. */
  processing: VideoJob[];
  /** Failed, retryable candidates (the store pre-filters; reconcile decides with the clock). */
  failed: VideoJob[];
  /**
   * Every run the runner reports. A run is wanted only while its video is in processing with the
   * same job_name; any other run (video deleted, re-queued, superseded) is stopped or forgotten.
   */
  runs: RunStatus[];
}

export interface ReconcileSettings {
  maxConcurrentJobs: number;
  processingTimeoutMs: number;
  retryFailedAfterMs: number;
  maxRetries: number;
  /** First part of run names (job-name.ts): the installation; `vcs` when unset. */
  jobNamePrefix?: string;
}
