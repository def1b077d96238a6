/**
 * Applying one controller action: the only place a pass writes to the store or the runner
 * (STYLE 8). Each kind has its handler in an exhaustive map (STYLE 4).
 */
import path from 'node:path';
import type { JobSpec, Ladder } from '../contract.ts';
import type { JobStore } from '../jobs/store.ts';
import type { VideoJob } from '../jobs/model.ts';
import { packageUrls } from '../jobs/urls.ts';
import type { Action } from './actions.ts';
import { RunnerUnavailableError, type Runner } from './runner.ts';

export interface ApplyContext {
  store: JobStore;
  runner: Runner;
  now: () => number;
  publicUrl: string;
  /** Builds the job contract for a run of `video` named `jobName`. */
  jobSpec: (video: VideoJob, jobName: string) => JobSpec;
  onCompleted?: (video: VideoJob, seconds: number) => void;
  onFailed?: (video: VideoJob, code: string) => void;
}

type Handlers = { [K in Action['kind']]: (action: Extract<Action, { kind: K }>, ctx: ApplyContext) => Promise<void> };

const iso = (ctx: ApplyContext) => new Date(ctx.now()).toISOString();

/** A fresh attempt: step and progress reset, the previous failure cleared. */
const attemptFields = (ctx: ApplyContext, jobName: string) => ({
  job_name: jobName,
  compression_step: 'queued' as const,
  compression_progress: 0,
  started_at: iso(ctx),
});

async function startRun(ctx: ApplyContext, video: VideoJob, jobName: string): Promise<void> {
  try {
    await ctx.runner.start(ctx.jobSpec(video, jobName));
  } catch (err) {
    // Unreachable runner: the video stays processing; the next pass finds the run or restarts it.
    if (err instanceof RunnerUnavailableError) throw err;
    // Could not even start (e.g. the API server refused the Job): a retryable failure.
    await ctx.store.transition(video.wp_post_id, 'failed', {
      error_message: `could not start the transcoder: ${(err as Error).message}`,
      error_code: 'VCS_ERR_RUN_FAILED',
      failed_at_step: 'queued',
      retryable: true,
      failed_at: iso(ctx),
    }, ['processing']);
  }
}

const handlers: Handlers = {
  async start({ video, jobName }, ctx) {
    const moved = await ctx.store.transition(video.wp_post_id, 'processing', {
      ...attemptFields(ctx, jobName),
      error_message: null,
      error_code: null,
      failed_at_step: null,
      retryable: null,
      failed_at: null,
      completed_at: null,
    }, ['pending']);
    await startRun(ctx, moved, jobName);
  },
  async restart({ video, jobName }, ctx) {
    const updated = await ctx.store.update(video.wp_post_id, attemptFields(ctx, jobName));
    await startRun(ctx, updated, jobName);
  },
  async complete({ video, run, output }, ctx) {
    const done = await ctx.store.transition(video.wp_post_id, 'completed', {
      ...packageUrls(ctx.publicUrl, video.wp_post_id, output),
      total_size: output.totalBytes,
      duration_seconds: output.durationSeconds,
      compression_step: 'completed',
      compression_progress: 100,
      completed_at: iso(ctx),
    }, ['processing']);
    await ctx.runner.forget(run.jobName);
    const started = Date.parse(video.started_at ?? '') || ctx.now();
    ctx.onCompleted?.(done, (ctx.now() - started) / 1000);
  },
  async fail({ video, run, code, message, step, retryable }, ctx) {
    if (run?.phase === 'running') await ctx.runner.stop(run.jobName, message);
    const failed = await ctx.store.transition(video.wp_post_id, 'failed', {
      error_message: message,
      error_code: code,
      failed_at_step: step,
      retryable,
      failed_at: iso(ctx),
    }, ['processing']);
    if (run && run.phase !== 'running') await ctx.runner.forget(run.jobName);
    ctx.onFailed?.(failed, code);
  },
  async retry({ video }, ctx) {
    await ctx.store.transition(video.wp_post_id, 'pending', { retry_count: video.retry_count + 1, compression_step: 'queued', compression_progress: 0 }, ['failed']);
  },
  async stop({ run, reason }, ctx) {
    await ctx.runner.stop(run.jobName, reason);
  },
  async forget({ run }, ctx) {
    await ctx.runner.forget(run.jobName);
  },
};

export function applyAction(action: Action, ctx: ApplyContext): Promise<void> {
  return (handlers[action.kind] as (a: Action, c: ApplyContext) => Promise<void>)(action, ctx);
}

/** The job contract of one run on this machine's layout (local runner). */
export function localJobSpec(
  paths: { hlsPath: string; tempPath: string },
  ladder: Ladder,
  progress: { url: string; token: (jobName: string) => string } | null,
) {
  return (video: VideoJob, jobName: string): JobSpec => ({
    jobName,
    videoId: video.wp_post_id,
    sourceUrl: video.original_video_url,
    outputDir: path.join(paths.hlsPath, String(video.wp_post_id)),
    workDir: path.join(paths.tempPath, 'work', jobName),
    ladder,
    progressUrl: progress?.url,
    progressToken: progress?.token(jobName),
    resultPath: path.join(paths.tempPath, 'runs', `${jobName}.result.json`),
  });
}
