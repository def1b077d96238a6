/**
 * Finished jobs: how many by result and how long they took, recorded from the controller's
 * callbacks when it completes or fails a video.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ERRORS } from '../errors.ts';
import { isPermanentFailure } from '../jobs/failures.ts';
import type { VideoJob } from '../jobs/model.ts';
import { STEPS } from '../steps.ts';

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

/** The controller's start, completion and failure callbacks (the shape of its apply hooks). */
export interface JobHooks {
  onStarted(video: VideoJob): void;
  onCompleted(video: VideoJob, seconds: number): void;
  onFailed(video: VideoJob): void;
}

/** A label value from a fixed set, or `other`: labels stay bounded whatever a document holds. */
const bounded = (known: ReadonlySet<string>, value: string | null | undefined): string => (value && known.has(value) ? value : 'other');
const CODES: ReadonlySet<string> = new Set(Object.keys(ERRORS));
const FAILED_STEPS: ReadonlySet<string> = new Set(STEPS);

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
  const started = new Counter({
    name: 'vcs_jobs_started_total',
    help: 'Transcoder runs started (first attempts and restarts), as the runner took them.',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'vcs_job_failures_total',
    help: 'Failed compression jobs, by error code (VCS_ERR_*) and the step they failed at.',
    labelNames: ['code', 'step'] as const,
    registers: [registry],
  });
  const encoded = new Counter({
    name: 'vcs_encoded_video_seconds_total',
    help: 'Seconds of video in the packages of completed jobs (throughput: its rate; encode speed: job seconds over this).',
    registers: [registry],
  });
  let completedAt: number | null = null;
  new Gauge({
    name: 'vcs_job_last_completed_timestamp_seconds',
    help: 'When this process last completed a job (Unix seconds); absent until it has.',
    aggregator: 'max',
    registers: [registry],
    collect() {
      if (completedAt === null) this.remove();
      else this.set(completedAt);
    },
  });
  // Every result starts at 0, so rate() and increase() work from the first scrape.
  for (const result of JOB_RESULTS) {
    jobs.inc({ result }, 0);
    duration.zero({ result });
  }
  started.inc(0);
  encoded.inc(0);
  const recordJob = (result: JobResult, seconds?: number): void => {
    jobs.inc({ result });
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) duration.observe({ result }, seconds);
  };
  return {
    recordJob,
    jobHooks: {
      onStarted: () => started.inc(),
      onCompleted: (video, seconds) => {
        recordJob('completed', seconds);
        if (Number.isFinite(video.duration_seconds) && (video.duration_seconds ?? -1) >= 0) encoded.inc(video.duration_seconds!);
        completedAt = Date.parse(video.completed_at ?? '') / 1000 || Date.now() / 1000;
      },
      onFailed: (video) => {
        recordJob(failedResult(video), (Date.parse(video.failed_at ?? '') - Date.parse(video.started_at ?? '')) / 1000);
        failures.inc({ code: bounded(CODES, video.error_code), step: bounded(FAILED_STEPS, video.failed_at_step) });
      },
    },
  };
}
