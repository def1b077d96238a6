/**
 * Run names (docs/adr/0013 `job_name`): `vcs-<wp_post_id>-<attempt>`, attempts counted from 1.
 * A name is deterministic, so starting a run is idempotent (conventions 7: the runner adopts a name
 * that exists), and every attempt gets a new one, so a new attempt never adopts an old
 * attempt's finished run.
 *
 * Kubernetes Job names must be DNS-1123 labels: lowercase alphanumerics and '-', at most 63
 * characters. Two safe integers (≤ 16 digits each) make at most 4 + 16 + 1 + 16 = 37.
 */
import type { VideoJob } from '../jobs/model.ts';

const PREFIX = 'vcs';
/** Canonical numbers only (no leading zeros), so each (id, attempt) has exactly one name. */
const NAME = /^vcs-([1-9][0-9]*)-([1-9][0-9]*)$/;

export interface JobNameParts {
  videoId: number;
  attempt: number;
}

const isPositiveSafeInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/** The name of attempt `attempt` (from 1) for video `videoId`. Throws RangeError for anything but positive safe integers. */
export function jobName(videoId: number, attempt: number): string {
  if (!isPositiveSafeInteger(videoId)) throw new RangeError(`job name: video id must be a positive safe integer, got ${videoId}`);
  if (!isPositiveSafeInteger(attempt)) throw new RangeError(`job name: attempt must be a positive safe integer, got ${attempt}`);
  return `${PREFIX}-${videoId}-${attempt}`;
}

/** The video id and attempt of a name made by `jobName`, or null for any other string. */
export function parseJobName(name: string): JobNameParts | null {
  const match = NAME.exec(name);
  if (!match) return null;
  const videoId = Number(match[1]);
  const attempt = Number(match[2]);
  return isPositiveSafeInteger(videoId) && isPositiveSafeInteger(attempt) ? { videoId, attempt } : null;
}

/**
 * The name of the video's next attempt: one past the attempt of its `job_name` (1 when it has
 * none, or one that is unparseable or names another video). `known` are names the runner still
 * reports for this video; the next attempt also goes past those, so it never reuses a name a
 * stale run still holds (e.g. when the store lost `job_name`).
 */
export function nextJobName(video: Pick<VideoJob, 'wp_post_id' | 'job_name'>, known: Iterable<string> = []): string {
  let last = 0;
  for (const name of [video.job_name, ...known]) {
    const parts = name === null ? null : parseJobName(name);
    if (parts && parts.videoId === video.wp_post_id) last = Math.max(last, parts.attempt);
  }
  return jobName(video.wp_post_id, last + 1);
}
