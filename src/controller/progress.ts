/**
 * Progress reports from transcoder runs (POST /internal/progress). Each run gets a token, an
 * HMAC of its job name under a secret of this process, so a report can only move its own video.
 * Store writes are throttled to one per `intervalMs` per job, plus every step change; the last
 * ETA is kept in memory for the API's estimated_completion. Both memories forget entries once
 * they can no longer matter (a run stopped reporting, an ETA too old to show), so they stay as
 * small as the number of runs reporting now.
 *
 * A chunked run's encode phase (docs/adr/0022) reports from many pods at once under the run's
 * name, each its own chunk's share (`part`): the receiver keeps every chunk's latest share and
 * records their mean as the run's progress, never lower than what the store holds (a restarted
 * controller knows only the chunks that reported since, and a retried chunk starts again at 0).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ProgressReport } from '../contract.ts';
import type { JobStore } from '../jobs/store.ts';
import { isStep, overallProgress, STEPS, type Step } from '../steps.ts';
import { parseJobName } from './job-name.ts';
import type { ProgressOutcome } from '../http/internal.ts';
import type { Logger } from '../log.ts';

export interface ProgressTokens {
  issue(jobName: string): string;
  verify(jobName: string, token: string): boolean;
}

export function createProgressTokens(secret: Buffer = randomBytes(32)): ProgressTokens {
  const issue = (jobName: string) => createHmac('sha256', secret).update(jobName).digest('base64url');
  return {
    issue,
    verify(jobName, token) {
      const expected = Buffer.from(issue(jobName));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

export type { ProgressOutcome };

export interface ProgressReceiver {
  receive(body: unknown, token: string | undefined): Promise<ProgressOutcome>;
  /** Last reported ETA (seconds) and when it was reported, per video. */
  eta(videoId: number): { etaSeconds: number; at: number } | undefined;
  /** How many runs and ETAs are remembered (bounded by the runs reporting recently). */
  remembered(): { runs: number; etas: number; chunkedRuns: number };
}

/** An ETA beyond this is nonsense (a stalled rate extrapolated), not a plan. */
export const MAX_ETA_SECONDS = 30 * 24 * 3600;

/**
 * A report, or null when a required field is missing, of the wrong type or out of range. An ETA
 * that is not a number of seconds between 0 and MAX_ETA_SECONDS is dropped (null): the progress
 * itself still counts, and nothing downstream ever sees a time it cannot represent.
 */
export function parseReport(body: unknown): ProgressReport | null {
  const b = body as Partial<ProgressReport> | null;
  if (!b || typeof b !== 'object') return null;
  if (typeof b.jobName !== 'string' || b.jobName.length > 64 || !Number.isSafeInteger(b.videoId) || !isStep(b.step)) return null;
  if (typeof b.progress !== 'number' || !Number.isFinite(b.progress) || b.progress < 0 || b.progress > 100) return null;
  const eta = b.etaSeconds;
  const etaSeconds = typeof eta === 'number' && Number.isFinite(eta) && eta >= 0 && eta <= MAX_ETA_SECONDS ? eta : null;
  const report: ProgressReport = { jobName: b.jobName, videoId: b.videoId!, step: b.step, progress: Math.floor(b.progress), etaSeconds };
  if (b.part === undefined) return report;
  const p = b.part as Partial<NonNullable<ProgressReport['part']>> | null;
  const count = p?.count;
  if (!p || !Number.isSafeInteger(count) || count! < 2 || count! > MAX_PARTS || !Number.isSafeInteger(p.index) || p.index! < 0 || p.index! >= count!) return null;
  if (typeof p.fraction !== 'number' || !Number.isFinite(p.fraction) || p.fraction < 0 || p.fraction > 1 || b.step !== 'compressing') return null;
  return { ...report, part: { index: p.index!, count: count!, fraction: p.fraction } };
}

/** More chunks than a 24-hour source in 2-second chunks is not a plan. */
const MAX_PARTS = 43_200;

/** Entries untouched this long are dropped: far past the throttle interval and the API's ETA freshness (30 s). */
const FORGET_AFTER_MS = 5 * 60_000;

export function createProgressReceiver(opts: { store: JobStore; tokens: ProgressTokens; log: Logger; now: () => number; intervalMs?: number }): ProgressReceiver {
  const interval = opts.intervalMs ?? 2000;
  const last = new Map<string, { step: string; at: number }>();
  const etas = new Map<number, { etaSeconds: number; at: number }>();
  /** Per chunked run: each chunk's latest share. */
  const parts = new Map<string, { count: number; shares: Map<number, number>; at: number; since: number }>();
  let lastPrune = opts.now();
  /** At most once per FORGET_AFTER_MS, drops what nobody reported for that long. */
  const prune = (t: number) => {
    if (t - lastPrune < FORGET_AFTER_MS) return;
    lastPrune = t;
    for (const map of [last, etas, parts] as Map<unknown, { at: number }>[]) {
      for (const [key, entry] of map) if (t - entry.at >= FORGET_AFTER_MS) map.delete(key);
    }
  };
  return {
    async receive(body, token) {
      prune(opts.now());
      const report = parseReport(body);
      // The token covers the job name; the video id must be the one the name carries.
      if (!report || parseJobName(report.jobName)?.videoId !== report.videoId) return 'invalid';
      if (!token || !opts.tokens.verify(report.jobName, token)) return 'unauthorized';
      const t = opts.now();
      let progress = report.progress;
      if (report.part) {
        // Kept even when the write is throttled: the next write adds up every chunk.
        const run = parts.get(report.jobName);
        const entry = run && run.count === report.part.count ? run : { count: report.part.count, shares: new Map<number, number>(), at: t, since: t };
        entry.shares.set(report.part.index, report.part.fraction);
        entry.at = t;
        parts.set(report.jobName, entry);
        let sum = 0;
        for (const share of entry.shares.values()) sum += share;
        const done = sum / entry.count;
        progress = overallProgress('compressing', done);
        // The run's ETA from the rate of all its chunks since the first reported.
        const elapsed = (t - entry.since) / 1000;
        if (done > 0.01 && done < 1 && elapsed > 0) report.etaSeconds = Math.min(MAX_ETA_SECONDS, Math.round((elapsed / done) * (1 - done)));
      }
      const keepEta = () => {
        if (report.etaSeconds !== null) etas.set(report.videoId, { etaSeconds: report.etaSeconds, at: t });
      };
      const prev = last.get(report.jobName);
      // A chunk's end is always written (at most one per chunk): the sum moves by a whole chunk.
      const chunkDone = report.part?.fraction === 1;
      if (prev && prev.step === report.step && t - prev.at < interval && !chunkDone) {
        // This job's ownership of its video was checked when `prev` was recorded.
        keepEta();
        return 'throttled';
      }
      const video = await opts.store.get(report.videoId);
      if (!video || video.compression_status !== 'processing' || video.job_name !== report.jobName) return 'ignored';
      keepEta();
      last.set(report.jobName, { step: report.step, at: t });
      // A chunk's late report never moves a run back from a later step (the assemble phase's).
      if (report.part && STEPS.indexOf(video.compression_step as Step) > STEPS.indexOf('compressing')) return 'ignored';
      if (report.part && video.compression_step === report.step && progress <= video.compression_progress) return 'recorded';
      await opts.store.update(report.videoId, { compression_step: report.step, compression_progress: progress });
      return 'recorded';
    },
    eta: (videoId) => etas.get(videoId),
    remembered: () => ({ runs: last.size, etas: etas.size, chunkedRuns: parts.size }),
  };
}
