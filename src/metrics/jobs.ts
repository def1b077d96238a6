/**
 * Finished jobs: how many by result and how long they took, recorded from the controller's
 * callbacks when it completes or fails a video.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { isPermanentFailure } from '../jobs/failures.ts';
import type { VideoJob } from '../jobs/model.ts';

/**
 * How a job ended, one label (`vcs_jobs_total{result}`) rather than `result` + `retryable`: the
 * three values are the only combinations that exist, and one label keeps queries short.
 * `failed_retryable` means the failure itself allows another attempt (the controller retries it
 * while MAX_RETRIES allows); `failed_permanent` means it never will.
 */
export const JOB_RESULTS = ['completed', 'failed_retryable', 'failed_permanent'] as const;
export type JobResult = (typeof JOB_RESULTS)[number];

/** The result of a failed video, by the rule the controller retries by (src/jobs/failures.ts). */
export const failedResult = (video: Pick<VideoJob, 'retryable' | 'error_code'>): JobResult => (isPermanentFailure(video) ? 'failed_permanent' : 'failed_retryable');

/**
 * Whole encodes: a short clip takes seconds, a feature-length upload hours. 7200 is
 * PROCESSING_TIMEOUT's default (a job that long is stopped), 14400 covers a raised timeout.
 */
export const JOB_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

/** The controller's completion and failure callbacks (the shape of its apply hooks). */
export interface JobHooks {
  onCompleted(video: VideoJob, seconds: number): void;
  onFailed(video: VideoJob): void;
}

export function jobMetrics(registry: Registry): { recordJob(result: JobResult, seconds?: number): void; jobHooks: JobHooks } {
  const jobs = new Counter({
    name: 'vcs_jobs_total',
    help: 'Finished compression jobs, by result (completed, failed_retryable, failed_permanent).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'vcs_job_duration_seconds',
    help: 'Duration of compression jobs from start to completion or failure, by result.',
    labelNames: ['result'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });
  // Every result starts at 0, so rate() and increase() work from the first scrape.
  for (const result of JOB_RESULTS) {
    jobs.inc({ result }, 0);
    duration.zero({ result });
  }
  const recordJob = (result: JobResult, seconds?: number): void => {
    jobs.inc({ result });
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) duration.observe({ result }, seconds);
  };
  return {
    recordJob,
    jobHooks: {
      onCompleted: (_video, seconds) => recordJob('completed', seconds),
      onFailed: (video) => recordJob(failedResult(video), (Date.parse(video.failed_at ?? '') - Date.parse(video.started_at ?? '')) / 1000),
    },
  };
}
