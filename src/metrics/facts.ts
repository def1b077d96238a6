/**
 * Facts read when Prometheus scrapes: video counts and the paused flag (the store), disk use, and
 * whether FFmpeg runs. One read per scrape serves every series of that scrape (and any scrape that
 * overlaps it); nothing is kept between scrapes — the sources cache what is expensive themselves
 * (health keeps disk use for 30 s). Each source runs under a timeout, and one that fails, times
 * out or answers nonsense drops only its own series: an absent series reads as "unknown" in
 * Prometheus, where a 0 would be a lie (an empty queue, a full disk).
 */
import { STATUSES, type Status } from '../jobs/model.ts';

export interface FactSources {
  /** Video counts by status and the paused flag, from the store. */
  videos: () => Promise<{ counts: Record<Status, number>; paused: boolean }>;
  /** Bytes used by the published packages, still free on their filesystem, and its size; absent where not measured. */
  storage?: () => Promise<{ usedBytes: number; availableBytes: number; sizeBytes?: number }>;
  /** Absent where FFmpeg does not run (the controller of the cluster shape). */
  ffmpeg?: () => Promise<{ available: boolean }>;
}

export interface Facts {
  videos: { counts: Record<Status, number>; paused: boolean } | null;
  storage: { usedBytes: number; availableBytes: number; sizeBytes: number | null } | null;
  ffmpeg: { available: boolean } | null;
}

/** A count or a byte figure as a sample value; anything else is a failed read, not a bad sample. */
function checkNumber(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`expected a finite number, got ${String(v)}`);
  return v;
}

/** countByStatus's answer, with a status the store left out counted as 0. */
function checkCounts(raw: unknown): Record<Status, number> {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('countByStatus answered no object');
  const counts = raw as Partial<Record<Status, unknown>>;
  return Object.fromEntries(STATUSES.map((status) => [status, checkNumber(counts[status] ?? 0)])) as Record<Status, number>;
}

/**
 * `read()`'s answer, or null when it is absent, throws, answers something `check` rejects, or
 * takes longer than `timeoutMs` (then `onTimeout` runs: the read is abandoned, not cancelled).
 */
function attempt<R, T>(read: (() => Promise<R>) | undefined, check: (raw: R) => T, timeoutMs: number, onTimeout?: () => void): Promise<T | null> {
  if (!read) return Promise.resolve(null);
  return new Promise<T | null>((resolve) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      resolve(null);
    }, timeoutMs);
    timer.unref();
    Promise.resolve()
      .then(read)
      .then(check)
      .then(resolve, () => resolve(null))
      .finally(() => clearTimeout(timer));
  });
}

/** A function giving the facts of the current scrape: concurrent callers share one read. */
export function scrapeFacts(sources: FactSources, opts: { timeoutMs: number; onStoreTimeout: () => void }): () => Promise<Facts> {
  let inFlight: Promise<Facts> | null = null;
  const read = async (): Promise<Facts> => {
    const [videos, storage, ffmpeg] = await Promise.all([
      attempt(sources.videos, (raw) => ({ counts: checkCounts(raw.counts), paused: raw.paused === true }), opts.timeoutMs, opts.onStoreTimeout),
      attempt(
        sources.storage,
        (raw) => ({ usedBytes: checkNumber(raw.usedBytes), availableBytes: checkNumber(raw.availableBytes), sizeBytes: raw.sizeBytes === undefined ? null : checkNumber(raw.sizeBytes) }),
        opts.timeoutMs,
      ),
      attempt(sources.ffmpeg, (raw) => ({ available: raw.available === true }), opts.timeoutMs),
    ]);
    return { videos, storage, ffmpeg };
  };
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
