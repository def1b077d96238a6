/**
 * Applying one controller action: the only place a pass writes to the store, the runner or the
 * volume (conventions 8). Each kind has its handler in an exhaustive map (conventions 4).
 *
 * The volume writes are the clean-up no run can do for itself: a forgotten run's work folder (a
 * run that died uncleanly leaves its download and staging behind), and the package a run may
 * have published after its video was deleted (the gateway removed the files it saw; a run
 * stopping at that moment could still publish, and only once it has ended can that be undone).
 */
import type { JobSpec, Ladder } from '../contract.ts';
import type { JobStore } from '../jobs/store.ts';
import type { VideoJob } from '../jobs/model.ts';
import { packageUrls } from '../jobs/urls.ts';
import type { Logger } from '../log.ts';
import { removePackage, removeWorkFolder } from '../volume/cleanup.ts';
import { packageDir, resultFile, runLogFile, workDir, type VolumePaths } from '../volume/layout.ts';
import type { Action } from './actions.ts';
import { RunnerUnavailableError, type Runner, type RunStatus } from './runner.ts';

export interface ApplyContext {
  store: JobStore;
  runner: Runner;
  now: () => number;
  log: Logger;
  publicUrl: string;
  volume: VolumePaths;
  /** Builds the job contract for a run of `video` named `jobName`. */
  jobSpec: (video: VideoJob, jobName: string) => JobSpec;
  /** A run was started (a first attempt or a restart): the runner took it. */
  onStarted?: (video: VideoJob) => void;
  onCompleted?: (video: VideoJob, seconds: number) => void;
  onFailed?: (video: VideoJob) => void;
}

type Handlers = { [K in Action['kind']]: (action: Extract<Action, { kind: K }>, ctx: ApplyContext) => Promise<void> };

const iso = (ctx: ApplyContext) => new Date(ctx.now()).toISOString();

async function startRun(ctx: ApplyContext, video: VideoJob, jobName: string): Promise<void> {
  try {
    await ctx.runner.start(ctx.jobSpec(video, jobName));
    ctx.onStarted?.(video);
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

/**
 * Drops a finished run: its work folder from the volume first, then the run from the runner — in
 * that order, so a clean-up that fails leaves the run listed and the next pass tries again.
 */
async function forgetRun(ctx: ApplyContext, run: RunStatus): Promise<void> {
  const freed = await removeWorkFolder(workDir(ctx.volume.tempPath, run.jobName));
  if (freed > 0) ctx.log.info({ job: run.jobName, videoId: run.videoId, bytesFreed: freed }, 'work folder of a finished run removed');
  await ctx.runner.forget(run.jobName);
}

const handlers: Handlers = {
  async start({ video, jobName }, ctx) {
    const moved = await ctx.store.transition(video.wp_post_id, 'processing', {
      job_name: jobName,
      compression_step: 'queued',
      compression_progress: 0,
      started_at: iso(ctx),
      error_message: null,
      error_code: null,
      failed_at_step: null,
      retryable: null,
      failed_at: null,
      completed_at: null,
    }, ['pending']);
    await startRun(ctx, moved, jobName);
  },
  async restart({ video, jobName, reason, counted }, ctx) {
    // started_at stays: PROCESSING_TIMEOUT bounds the whole stay in processing, restarts included.
    // Compare-and-set: a video deleted (or failed) since this pass read it is not started again.
    const updated = await ctx.store.update(video.wp_post_id, {
      job_name: jobName,
      compression_step: 'queued',
      compression_progress: 0,
      ...(counted ? { retry_count: video.retry_count + 1 } : {}),
    }, ['processing']);
    ctx.log.warn({ videoId: video.wp_post_id, job: jobName, reason, retryCount: updated.retry_count }, 'run restarted');
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
    await forgetRun(ctx, run);
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
    if (run && run.phase !== 'running') await forgetRun(ctx, run);
    ctx.onFailed?.(failed);
  },
  async retry({ video }, ctx) {
    await ctx.store.transition(video.wp_post_id, 'pending', { retry_count: video.retry_count + 1, compression_step: 'queued', compression_progress: 0 }, ['failed']);
  },
  async stop({ run, reason }, ctx) {
    await ctx.runner.stop(run.jobName, reason);
  },
  async forget({ run }, ctx) {
    // A run of a video deleted with its files may have published after the gateway removed them.
    // Checked before the run is forgotten: if this fails, the run stays and the next pass retries.
    const video = await ctx.store.get(run.videoId);
    if (video?.compression_status === 'deleted' && video.master_playlist_url === null) {
      const freed = await removePackage(ctx.volume.hlsPath, run.videoId);
      if (freed > 0) ctx.log.warn({ videoId: run.videoId, job: run.jobName, dir: packageDir(ctx.volume.hlsPath, run.videoId), bytesFreed: freed }, 'package published by a run of a deleted video removed');
    }
    await forgetRun(ctx, run);
  },
};

export function applyAction(action: Action, ctx: ApplyContext): Promise<void> {
  return (handlers[action.kind] as (a: Action, c: ApplyContext) => Promise<void>)(action, ctx);
}

/** The job contract of one run on the volume's layout (a local run; a pod overrides the result path). */
export function jobSpecOn(volume: VolumePaths, ladder: Ladder, progress: { url: string; token: (jobName: string) => string } | null) {
  return (video: VideoJob, jobName: string): JobSpec => ({
    jobName,
    videoId: video.wp_post_id,
    sourceUrl: video.original_video_url,
    outputDir: packageDir(volume.hlsPath, video.wp_post_id),
    workDir: workDir(volume.tempPath, jobName),
    ladder,
    progressUrl: progress?.url,
    progressToken: progress?.token(jobName),
    resultPath: resultFile(volume.tempPath, jobName),
    logPath: runLogFile(volume.tempPath, video.wp_post_id, jobName),
  });
}
