/**
 * The controller loop's liveness, exported where a process runs it (`vcs serve`, `vcs
 * controller`): when it last finished a pass, whether passes keep coming, and (cluster shape)
 * whether this replica leads.
 */
import { Gauge, type Registry } from 'prom-client';

/** What the metrics read from a controller loop (its status, by this part's own narrow shape). */
export interface WorkerView {
  /** `stopped` means down; any other state is a running loop. */
  status: string;
  /** ISO time of the last finished pass; null before the first. */
  lastRun: string | null;
}

/**
 * A worker is up while its last pass ended within this many intervals: passes run at least once
 * per interval, so two missed in a row mean the loop is stuck or every pass fails.
 */
export const WORKER_STALE_INTERVALS = 2;

export function workerMetrics(registry: Registry, worker: () => WorkerView, opts: { intervalMs: number; now: () => number }): void {
  const createdAt = opts.now();
  const staleMs = WORKER_STALE_INTERVALS * opts.intervalMs;
  /** Asked at every scrape (in-process and cheap, so never cached); null if asking fails. */
  const read = (): { status: string; lastRunMs: number | null } | null => {
    try {
      const { status, lastRun } = worker();
      const at = lastRun === null ? NaN : Date.parse(lastRun);
      return { status, lastRunMs: Number.isFinite(at) ? at : null };
    } catch {
      return null;
    }
  };
  new Gauge({
    name: 'vcs_worker_last_run_timestamp_seconds',
    help: 'When the worker last finished a pass (Unix time); absent before its first pass.',
    registers: [registry],
    collect() {
      const at = read()?.lastRunMs ?? null;
      if (at === null) this.remove();
      else this.set(at / 1000);
    },
  });
  new Gauge({
    name: 'vcs_worker_up',
    help: `Whether the worker runs and finished a pass within the last ${WORKER_STALE_INTERVALS} worker intervals (1) or not (0).`,
    registers: [registry],
    collect() {
      const w = read();
      // Before its first pass ends, a worker is judged from when this process started counting.
      const since = w?.lastRunMs ?? createdAt;
      this.set(w !== null && w.status !== 'stopped' && opts.now() - since <= staleMs ? 1 : 0);
    },
  });
}

/** vcs_controller_leader: only the leader starts Jobs and writes results. */
export function leaderMetric(registry: Registry, isLeader: () => boolean): void {
  new Gauge({
    name: 'vcs_controller_leader',
    help: 'Whether this controller holds the leader Lease (1) and so starts Jobs and writes results, or is a standby (0).',
    registers: [registry],
    collect() {
      this.set(isLeader() ? 1 : 0);
    },
  });
}
