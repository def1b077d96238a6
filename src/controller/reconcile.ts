/**
 * The controller's decision (docs/adr/0012, conventions 8): a pure function from what the store and the
 * runner report now to the actions of one pass. No I/O and no clock of its own: time is `obs.now`.
 * The loop applies the actions in the order returned: finishes (complete/fail), stop/forget,
 * restarts, retries, starts.
 *
 * Choices the rules leave open:
 * - A finished run's own outcome wins over the processing timeout, so a permanent failure that
 *   arrives late stays permanent. The timeout applies to running and lost runs and to orphans.
 * - While paused, work in flight goes on: finishes, restarts of processing videos and retries
 *   (failed → pending) still happen; only new `start`s wait.
 * - Slots = maxConcurrentJobs − processing videos still in flight after this pass (all but those
 *   completed or failed now; restarts count). Unwanted runs being stopped do not count.
 * - One video action (start/restart/complete/fail/retry) per video per pass, and a video in
 *   processing is never retried or started. stop/forget act on runs, not videos: stale runs of a
 *   video are cleaned up in the same pass as its own action.
 * - The store is not trusted for order or uniqueness: lists are deduplicated and sorted here.
 * - A lost run (the runner saw it die with its host) is restarted as a new attempt that counts as
 *   a retry — unless a graceful shutdown interrupted it — and started_at is kept, so neither
 *   MAX_RETRIES nor PROCESSING_TIMEOUT can be escaped by dying. A counted loss past MAX_RETRIES
 *   fails the video (VCS_ERR_RUN_LOST). An orphan (no run found at all) is restarted uncounted:
 *   nothing says it ever ran; PROCESSING_TIMEOUT still bounds it.
 */
import type { ErrorCode } from '../errors.ts';
import { isPermanentFailure } from '../jobs/failures.ts';
import type { Priority, VideoJob } from '../jobs/model.ts';
import type { Step } from '../steps.ts';
import type { Action, Observation, ReconcileSettings } from './actions.ts';
import { nextJobName } from './job-name.ts';
import type { RunPhase, RunStatus } from './runner.ts';

const RUN_FAILED: ErrorCode = 'VCS_ERR_RUN_FAILED';
const PROCESSING_TIMEOUT: ErrorCode = 'VCS_ERR_PROCESSING_TIMEOUT';
const RUN_LOST: ErrorCode = 'VCS_ERR_RUN_LOST';

type FailAction = Extract<Action, { kind: 'fail' }>;
type Failure = Pick<FailAction, 'code' | 'message' | 'step' | 'retryable'>;

/** One processing video as this pass sees it. */
interface InFlight {
  video: VideoJob;
  /** The run named by the video's job_name, when the runner reports it. */
  run?: RunStatus;
  /** Every run name the runner reports for this video (a restart goes past all of them). */
  known: string[];
  timedOut: boolean;
}

export function reconcile(obs: Observation, settings: ReconcileSettings): Action[] {
  const processing = uniqueBy(obs.processing, (v) => v.wp_post_id).sort((a, b) => a.wp_post_id - b.wp_post_id);
  const byId = new Map(processing.map((v) => [v.wp_post_id, v]));
  const runs = uniqueBy(obs.runs, (r) => r.jobName).sort(compareRuns);
  const wanted = new Map<number, RunStatus>();
  const known = new Map<number, string[]>();
  const cleanup: Action[] = [];
  for (const run of runs) {
    known.set(run.videoId, [...(known.get(run.videoId) ?? []), run.jobName]);
    const video = byId.get(run.videoId);
    if (video?.job_name === run.jobName) wanted.set(run.videoId, run);
    else if (run.phase === 'running') cleanup.push({ kind: 'stop', run, reason: staleReason(run, video) });
    else cleanup.push({ kind: 'forget', run });
  }

  const finishes: Action[] = [];
  const restarts: Action[] = [];
  for (const video of processing) {
    const id = video.wp_post_id;
    const started = video.started_at === null ? NaN : Date.parse(video.started_at);
    const timedOut = obs.now - started > settings.processingTimeoutMs; // false without a start time
    const action = decide({ video, run: wanted.get(id), known: known.get(id) ?? [], timedOut }, settings);
    if (action) (action.kind === 'restart' ? restarts : finishes).push(action);
  }

  const busy = new Set(byId.keys());
  const retries: Action[] = [];
  for (const video of uniqueBy(obs.failed, (v) => v.wp_post_id).sort((a, b) => a.wp_post_id - b.wp_post_id)) {
    if (busy.has(video.wp_post_id) || !isDueForRetry(video, obs.now, settings)) continue;
    busy.add(video.wp_post_id);
    retries.push({ kind: 'retry', video });
  }

  const inFlight = processing.length - finishes.length;
  const slots = obs.paused ? 0 : settings.maxConcurrentJobs - inFlight;
  const starts: Action[] = [];
  for (const video of slots > 0 ? queueOrder(obs.pending) : []) {
    if (starts.length >= slots) break;
    if (busy.has(video.wp_post_id)) continue;
    busy.add(video.wp_post_id);
    starts.push({ kind: 'start', video, jobName: nextJobName(video, known.get(video.wp_post_id), settings.jobNamePrefix) });
  }
  return [...finishes, ...cleanup, ...restarts, ...retries, ...starts];
}

/** What a processing video needs this pass, or null when its run is simply running. */
function decide(p: InFlight, settings: ReconcileSettings): Action | null {
  if (p.run) return onPhase[p.run.phase]({ ...p, run: p.run }, settings);
  if (p.timedOut) return timeout(p.video);
  // Not counted: nothing says the run ever ran (a start that failed half-way, a Job someone
  // deleted). Runs that died with their host are reported lost by the runner, and those count.
  return restart(p, p.video.job_name ? `orphan: run ${p.video.job_name} not found` : 'orphan: no run was started', false, settings);
}

/** A processing video's current run, by phase (conventions 4: a missing phase fails to compile). */
const onPhase: Record<RunPhase, (p: InFlight & { run: RunStatus }, settings: ReconcileSettings) => Action | null> = {
  running: ({ video, run, timedOut }) => (timedOut ? timeout(video, run) : null),
  succeeded: ({ video, run }) => {
    const result = run.result;
    if (result?.ok) return { kind: 'complete', video, run, output: result.output };
    return fail(video, run, runFailure(video, run, 'Run ended without a result', true));
  },
  failed: ({ video, run }) => fail(video, run, runFailure(video, run, failedMessage(run), !run.permanent)),
  lost: (p, settings) =>
    p.timedOut ? timeout(p.video, p.run) : restartLost(p, `run ${p.run.jobName} was lost${p.run.reason ? `: ${p.run.reason}` : ''}`, !p.run.interrupted, settings),
};

function fail(video: VideoJob, run: RunStatus | undefined, failure: Failure): FailAction {
  return run ? { kind: 'fail', video, run, ...failure } : { kind: 'fail', video, ...failure };
}

function timeout(video: VideoJob, run?: RunStatus): FailAction {
  return fail(video, run, { code: PROCESSING_TIMEOUT, message: 'Processing timeout', step: currentStep(video), retryable: true });
}

function restart(p: InFlight, reason: string, counted: boolean, settings: ReconcileSettings): Action {
  return { kind: 'restart', video: p.video, jobName: nextJobName(p.video, p.known, settings.jobNamePrefix), reason, counted };
}

/**
 * A lost attempt is restarted while the retry budget lasts; a counted loss past MAX_RETRIES fails
 * the video instead (an encode that takes its service or node down with it every time, e.g. by
 * running out of memory, must not be run forever).
 */
function restartLost(p: InFlight, reason: string, counted: boolean, settings: ReconcileSettings): Action {
  if (counted && p.video.retry_count >= settings.maxRetries) {
    const message = `Run lost ${p.video.retry_count + 1} times (the transcoder died with its service or node each time; out of memory?); last: ${reason}`;
    return fail(p.video, p.run, { code: RUN_LOST, message, step: currentStep(p.video), retryable: false });
  }
  return restart(p, reason, counted, settings);
}

/** The transcoder's own error when it wrote one; otherwise a run failure at the video's current step. */
function runFailure(video: VideoJob, run: RunStatus, message: string, retryable: boolean): Failure {
  const result = run.result;
  if (result && !result.ok) {
    const { code, message: text, step, permanent } = result.error;
    return { code, message: text, step, retryable: !permanent };
  }
  return { code: RUN_FAILED, message, step: currentStep(video), retryable };
}

function failedMessage(run: RunStatus): string {
  if (run.reason) return `Run failed: ${run.reason}`;
  if (run.exitCode !== undefined && run.exitCode !== null) return `Run exited with code ${run.exitCode}`;
  return 'Run failed without a result';
}

function staleReason(run: RunStatus, video: VideoJob | undefined): string {
  if (!video) return `video ${run.videoId} is no longer processing`;
  return `superseded attempt: video ${run.videoId} is on ${video.job_name ?? 'no run'}`;
}

const currentStep = (video: VideoJob): Step => video.compression_step ?? 'queued';

/** Whether a failed video goes back to the queue now: never a permanent failure (src/jobs/failures.ts). */
function isDueForRetry(video: VideoJob, now: number, s: ReconcileSettings): boolean {
  const failedAt = video.failed_at === null ? NaN : Date.parse(video.failed_at);
  return !isPermanentFailure(video) && video.retry_count < s.maxRetries && failedAt + s.retryFailedAfterMs <= now;
}

const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1 };

/**
 * docs/adr/0013 queue order: priority high first, then created_at ascending. Videos created in the
 * same millisecond keep the store's order (its insertion order; the sort is stable), so the
 * controller starts what the store's queuePosition says is first.
 */
function queueOrder(pending: VideoJob[]): VideoJob[] {
  const keyed = pending.map((video) => {
    const created = Date.parse(video.created_at);
    // An unreadable created_at queues last rather than breaking the sort's consistency.
    return { video, rank: PRIORITY_RANK[video.priority], created: Number.isNaN(created) ? Infinity : created };
  });
  keyed.sort((a, b) => a.rank - b.rank || compareNumbers(a.created, b.created));
  return keyed.map((k) => k.video);
}

const compareNumbers = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

const compareRuns = (a: RunStatus, b: RunStatus): number => a.videoId - b.videoId || (a.jobName < b.jobName ? -1 : a.jobName > b.jobName ? 1 : 0);

/** The first item per key, in input order. */
function uniqueBy<T, K>(items: readonly T[], key: (item: T) => K): T[] {
  const seen = new Set<K>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
