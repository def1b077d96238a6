/**
 * Reading a transcoder Job (docs/protocols/kubernetes-api.md §5), pure: what the runner reports for a Job and
 * its pods. A Job is finished only on its `Complete` or `Failed` condition; the interim
 * `SuccessCriteriaMet` / `FailureTarget` still count as running (pods may still write to the
 * volume). The result is the transcoder's JSON in the pod's termination message.
 *
 * How a failure reads on the video (error_message, error_code, failed_at_step, retryable):
 * - PodFailurePolicy (exit 2, the FailJob rule): permanent. The transcoder's own error when its
 *   result was kept (e.g. VCS_ERR_NOT_A_VIDEO at `probing`), else the Job's reason.
 * - MaxFailedIndexesExceeded / FailedIndexes (the encode phase of a chunked run, docs/adr/0022): an
 *   index failed. Permanent when its pod exited 2 (the FailIndex rule), else retryable: the
 *   index ran out of its own retries.
 * - BackoffLimitExceeded, DeadlineExceeded and any other reason: retryable, the message names the
 *   Job's reason; the last attempt's own error (code, step, message) is kept beside it, except a
 *   cancellation, which is only the deadline's SIGTERM seen from inside.
 * Watch events carry raw JSON (dates as strings), typed calls deserialised objects (Dates): both
 * are read.
 */
import type { V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';
import { EXIT, type TranscodeResult } from '../contract.ts';
import { CONTAINER_NAME } from './job-manifest.ts';
import { parseRunJobName } from './job-name.ts';
import type { RunStatus } from './runner.ts';

type Time = Date | string | undefined | null;

const millis = (t: Time): number | undefined => {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
};

const condition = (job: V1Job, type: string): V1JobCondition | undefined =>
  job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

export type JobState = { state: 'running' } | { state: 'succeeded' | 'failed'; reason: string; message: string; at: number | undefined };

export function jobState(job: V1Job): JobState {
  const complete = condition(job, 'Complete');
  if (complete) return { state: 'succeeded', reason: complete.reason ?? 'Complete', message: complete.message ?? '', at: millis(job.status?.completionTime) ?? millis(complete.lastTransitionTime) };
  const failed = condition(job, 'Failed');
  if (failed) return { state: 'failed', reason: failed.reason ?? 'Failed', message: failed.message ?? '', at: millis(failed.lastTransitionTime) };
  return { state: 'running' };
}

export const isFinished = (job: V1Job): boolean => jobState(job).state !== 'running';

/** The transcoder's result JSON, or undefined for anything else (a log tail, an empty message). */
export function parseResult(message: string | undefined): TranscodeResult | undefined {
  if (!message) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return undefined;
  }
  const r = v as Partial<TranscodeResult> & { error?: { code?: unknown; message?: unknown; step?: unknown } };
  if (typeof r !== 'object' || r === null || typeof r.ok !== 'boolean') return undefined;
  if (r.ok) return typeof r.output === 'object' && r.output !== null ? (r as TranscodeResult) : undefined;
  return typeof r.error?.code === 'string' && typeof r.error.message === 'string' && typeof r.error.step === 'string' ? (r as TranscodeResult) : undefined;
}

/** Reasons of an Indexed Job that failed because an index did (Kubernetes ≥ 1.33). */
const INDEX_FAILURES = new Set(['MaxFailedIndexesExceeded', 'FailedIndexes']);

interface Terminated {
  exitCode: number;
  message: string | undefined;
  at: number;
  disrupted: boolean;
  /** The pod's index in an Indexed Job. */
  index?: number;
}

/** The Job controller's pod label with the pod's index (Indexed Jobs). */
const INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';

/** Kubernetes' index list ("0-3,5,7") as a set; empty for anything else. */
export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    for (let i = from; i <= to && i - from < 100_000; i++) out.add(i);
  }
  return out;
}

/** The transcoder container's end in each finished pod, latest first. */
function terminations(pods: V1Pod[]): Terminated[] {
  const out: Terminated[] = [];
  for (const pod of pods) {
    const t = pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME)?.state?.terminated;
    if (!t) continue;
    const disrupted = pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True') ?? false;
    const index = pod.metadata?.labels?.[INDEX_LABEL];
    out.push({ exitCode: t.exitCode, message: t.message, at: millis(t.finishedAt) ?? millis(pod.metadata?.creationTimestamp) ?? 0, disrupted, ...(index !== undefined ? { index: Number(index) } : {}) });
  }
  return out.sort((a, b) => b.at - a.at);
}

/** At most this much of a log tail goes into a reason (the document's error_message). */
const EXCERPT_CHARS = 300;

/** When a Job started (its first pod), else when it was created. */
export const jobStartedAt = (job: V1Job): number => millis(job.status?.startTime) ?? millis(job.metadata?.creationTimestamp) ?? 0;

/**
 * The run a Job stands for, or null when it is not one of ours. A phase Job of a chunked run
 * (`<run>-encode`, `<run>-assemble`) reads as its run. `pods` are needed only for a finished Job
 * (its result); without them a finished Job reads without a result.
 */
export function runStatusOf(job: V1Job, pods: V1Pod[] = []): RunStatus | null {
  const name = job.metadata?.name ?? '';
  const parsed = parseRunJobName(name);
  if (!parsed) return null;
  const base = { jobName: parsed.run, videoId: parsed.parts.videoId, startedAt: jobStartedAt(job) };
  const state = jobState(job);
  if (state.state === 'running') return { ...base, phase: 'running' };
  const ends = terminations(pods);
  const finished = { ...base, finishedAt: state.at };
  if (state.state === 'succeeded') {
    const end = ends.find((e) => e.exitCode === 0);
    const result = parseResult(end?.message);
    return { ...finished, phase: 'succeeded', exitCode: 0, ...(result ? { result } : { reason: `${state.reason}: the pod left no result` }) };
  }
  // The pod that failed the Job, not a disruption. In an Indexed Job, a pod of a failed index
  // (exit 2 first: FailIndex), not one of the other indexes the Job stopped after it (SIGTERM,
  // or SIGKILL past the grace period); they end later.
  const failing = ends.filter((e) => e.exitCode !== 0 && !e.disrupted);
  const failedIndexes = parseIndexes(job.status?.failedIndexes);
  const culprits = INDEX_FAILURES.has(state.reason) ? failing.filter((e) => e.index !== undefined && failedIndexes.has(e.index)) : [];
  const end = culprits.find((e) => e.exitCode === EXIT.permanent) ?? culprits[0] ?? failing.find((e) => !INDEX_FAILURES.has(state.reason) || e.exitCode !== EXIT.cancelled) ?? ends[0];
  const last = parseResult(end?.message);
  const exitCode = end?.exitCode;
  const jobReason = state.message ? `${state.reason}: ${state.message}` : state.reason;
  const tail = end && !last && end.message ? `; last log: ${end.message.trim().slice(-EXCERPT_CHARS)}` : '';
  if (state.reason === 'PodFailurePolicy' || (INDEX_FAILURES.has(state.reason) && exitCode === EXIT.permanent)) {
    const result = last && !last.ok ? last : undefined;
    return { ...finished, phase: 'failed', exitCode, permanent: true, ...(result ? { result } : { reason: `${jobReason}${tail}` }) };
  }
  if (last && !last.ok && last.error.code !== 'VCS_ERR_CANCELLED') {
    const message = `Job failed (${jobReason}); last attempt: ${last.error.message}`;
    return { ...finished, phase: 'failed', exitCode, result: { ...last, error: { ...last.error, message } } };
  }
  return { ...finished, phase: 'failed', exitCode, reason: `${jobReason}${tail}` };
}
