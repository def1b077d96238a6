/**
 * Run names (docs/adr/0013 `job_name`): `<prefix>-<wp_post_id>-<attempt>`, attempts counted from 1.
 * The prefix is the installation (KUBE_INSTANCE, the Helm release; `vcs` by default and for the
 * local runner), so two installations sharing a namespace or a volume never share a name. A name
 * is deterministic, so starting a run is idempotent (conventions 7: the runner adopts a name that
 * exists), and every attempt gets a new one, so a new attempt never adopts an old attempt's
 * finished run.
 *
 * Kubernetes Job names must be DNS-1123 labels of at most 63 characters (the Job controller puts
 * the name in a pod label). A prefix of at most 29 characters and two safe integers (≤ 16 digits
 * each) make at most 29 + 1 + 16 + 1 + 16 = 63.
 */
import type { VideoJob } from '../jobs/model.ts';

export const DEFAULT_PREFIX = 'vcs';
export const MAX_PREFIX_LENGTH = 29;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Canonical numbers only (no leading zeros), so each (prefix, id, attempt) has exactly one name. */
const NAME = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-([1-9][0-9]*)-([1-9][0-9]*)$/;

export interface JobNameParts {
  prefix: string;
  videoId: number;
  attempt: number;
}

const isPositiveSafeInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/** The name of attempt `attempt` (from 1) for video `videoId`. Throws RangeError for a bad prefix, or anything but positive safe integers. */
export function jobName(videoId: number, attempt: number, prefix = DEFAULT_PREFIX): string {
  if (!PREFIX.test(prefix) || prefix.length > MAX_PREFIX_LENGTH) throw new RangeError(`job name: prefix must be a DNS-1123 label of at most ${MAX_PREFIX_LENGTH} characters, got ${JSON.stringify(prefix)}`);
  if (!isPositiveSafeInteger(videoId)) throw new RangeError(`job name: video id must be a positive safe integer, got ${videoId}`);
  if (!isPositiveSafeInteger(attempt)) throw new RangeError(`job name: attempt must be a positive safe integer, got ${attempt}`);
  return `${prefix}-${videoId}-${attempt}`;
}

/** The prefix, video id and attempt of a name made by `jobName`, or null for any other string. */
export function parseJobName(name: string): JobNameParts | null {
  const match = NAME.exec(name);
  if (!match || match[1]!.length > MAX_PREFIX_LENGTH) return null;
  const videoId = Number(match[2]);
  const attempt = Number(match[3]);
  return isPositiveSafeInteger(videoId) && isPositiveSafeInteger(attempt) ? { prefix: match[1]!, videoId, attempt } : null;
}

/**
 * The name of the video's next attempt: one past the attempt of its `job_name` (1 when it has
 * none, or one that is unparseable or names another video). `known` are names the runner still
 * reports for this video; the next attempt also goes past those, so it never reuses a name a
 * stale run still holds (e.g. when the store lost `job_name`). Attempts of any prefix count, so a
 * renamed installation goes on counting.
 */
export function nextJobName(video: Pick<VideoJob, 'wp_post_id' | 'job_name'>, known: Iterable<string> = [], prefix = DEFAULT_PREFIX): string {
  let last = 0;
  for (const name of [video.job_name, ...known]) {
    const parts = name === null ? null : parseJobName(name);
    if (parts && parts.videoId === video.wp_post_id) last = Math.max(last, parts.attempt);
  }
  return jobName(video.wp_post_id, last + 1, prefix);
}

/** The phases of a chunked run, each a Job (docs/adr/0022); `prepare` is the run's own Job. */
export type JobPhase = 'prepare' | 'encode' | 'assemble';

/**
 * Run names of at most this length can have phase Jobs: `<run>-assemble` and the encode Job's pod
 * host names `<run>-encode-<index>` (indexes up to 99999) must fit 63 characters.
 */
export const MAX_PHASED_RUN_LENGTH = 63 - '-encode-'.length - 5;

export const fitsPhases = (run: string): boolean => run.length <= MAX_PHASED_RUN_LENGTH;

/** `<run>-encode` / `<run>-assemble`; the prepare phase is the run's own Job. */
export function phaseJobName(run: string, phase: JobPhase): string {
  return phase === 'prepare' ? run : `${run}-${phase}`;
}

/** The run and phase of a Job name: a run name is its prepare phase; null for anything else. */
export function parseRunJobName(name: string): { run: string; phase: JobPhase; parts: JobNameParts } | null {
  const own = parseJobName(name);
  if (own) return { run: name, phase: 'prepare', parts: own };
  const match = /^(.*)-(encode|assemble)$/.exec(name);
  const parts = match ? parseJobName(match[1]!) : null;
  return match && parts && fitsPhases(match[1]!) ? { run: match[1]!, phase: match[2] as JobPhase, parts } : null;
}
