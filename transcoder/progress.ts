/**
 * Progress reporting: to the log, and best-effort POSTs to VCS_PROGRESS_URL at every step change
 * and at most every 2 s in between (docs/adr/0005). Losing progress never fails a job.
 */
import type { ProgressReport } from '../src/contract.ts';
import type { Logger } from '../src/log.ts';
import { overallProgress, type Step } from '../src/steps.ts';

export interface ProgressSink {
  /** `fraction` is the share (0–1) of the current step that is done. */
  update(step: Step, fraction: number, etaSeconds?: number | null): void;
  /** One chunk of a phased run's encode: `fraction` (0–1) of chunk `index` of `count` is written. */
  part(index: number, count: number, fraction: number): void;
  /** Waits for the last POST in flight (at the end of a run). */
  flush(): Promise<void>;
}

export interface ProgressOptions {
  jobName: string;
  videoId: number;
  url?: string;
  token?: string;
  log: Logger;
  intervalMs?: number;
  now?: () => number;
}

export function createProgressSink(opts: ProgressOptions): ProgressSink {
  const interval = opts.intervalMs ?? 2000;
  const now = opts.now ?? Date.now;
  let lastStep: Step | undefined;
  let lastSent = -Infinity;
  let inFlight: Promise<void> = Promise.resolve();

  const post = (report: ProgressReport): void => {
    if (!opts.url) return;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    inFlight = fetch(opts.url, { method: 'POST', headers, body: JSON.stringify(report), signal: AbortSignal.timeout(2000) })
      .then((res) => {
        if (!res.ok) opts.log.debug({ status: res.status }, 'progress report refused');
        return res.body?.cancel();
      })
      .catch((err: Error) => opts.log.debug({ err: err.message }, 'progress report not delivered'));
  };

  /** Whether a report goes out now: every step change, else at most one per interval (and always the last of a part). */
  const due = (step: Step, final: boolean): { changed: boolean } | null => {
    const changed = step !== lastStep;
    const t = now();
    if (!changed && !final && t - lastSent < interval) return null;
    lastStep = step;
    lastSent = t;
    return { changed };
  };

  return {
    update(step, fraction, etaSeconds = null) {
      const go = due(step, false);
      if (!go) return;
      const report: ProgressReport = { jobName: opts.jobName, videoId: opts.videoId, step, progress: overallProgress(step, fraction), etaSeconds };
      opts.log.info({ step: report.step, progress: report.progress, etaSeconds }, go.changed ? `step ${step}` : 'progress');
      post(report);
    },
    part(index, count, fraction) {
      const share = Math.min(1, Math.max(0, fraction));
      const go = due('compressing', share >= 1);
      if (!go) return;
      // The run's ETA is not this chunk's: only the receiver sees every chunk.
      const report: ProgressReport = { jobName: opts.jobName, videoId: opts.videoId, step: 'compressing', progress: overallProgress('compressing', share), etaSeconds: null, part: { index, count, fraction: share } };
      opts.log.info({ chunk: index, chunks: count, share: Math.round(share * 100) / 100 }, go.changed ? 'step compressing' : 'progress');
      post(report);
    },
    flush: () => inFlight,
  };
}
