/**
 * `vcs gateway` on several CPUs: node:cluster runs GATEWAY_WORKERS copies of the gateway behind
 * one port; the primary supervises them (a worker that dies is replaced) and answers the internal
 * port (aggregated metrics, src/metrics/cluster.ts). Each worker is a whole gateway with its own
 * store connection, rate-limit counters and small-file cache; one Node process copies file bytes
 * on one thread, so big HLS segments need more than one to use the machine the way nginx's worker
 * processes do.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { eachLine, type Logger } from '../log.ts';

/** GATEWAY_WORKERS: 0 means one per CPU. */
export const workerCount = (setting: number): number => (setting === 0 ? os.availableParallelism() : setting);

export const isClusterPrimary = (): boolean => cluster.isPrimary;

export interface Workers {
  /** Workers serving now (listening on the port). */
  alive(): number;
  /** Stops every worker (SIGTERM) and resolves once all have exited. */
  close(): Promise<void>;
}

/** A worker that dies before it listens, or sooner than this after it was started, failed to start; its replacement waits. */
const QUICK_DEATH_MS = 5000;
/** The longest wait before replacing workers that keep failing to start (a store out of reach). */
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * In the primary of a multi-worker gateway: forks the workers and replaces one that dies.
 * `forward` (LOG_DIR or readable lines): the workers' stdout comes here, line by line, and this
 * process alone writes the log files; else the workers share its stdout.
 */
export function superviseWorkers(count: number, log: Logger, forward?: (line: string, origin: string) => void): Workers {
  let stopping = false;
  const serving = new Set<number>();
  const startedAt = new Map<number, number>();
  let quickDeaths = 0;
  if (forward) cluster.setupPrimary({ silent: true });
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    if (forward && worker.process.stdout) eachLine(worker.process.stdout, (line) => forward(line, 'gateway'));
    worker.process.stderr?.pipe(process.stderr);
  };
  for (let i = 0; i < count; i++) fork();
  cluster.on('listening', (worker) => serving.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    // A worker that never listened died at start, however long its start took (seconds on a
    // loaded machine): that, or a death soon after, counts towards the back-off.
    const servedOnce = serving.delete(worker.id);
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) return;
    // Back off while workers keep dying at start: a tight fork loop helps nobody.
    quickDeaths = !servedOnce || lived < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    const delay = quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 1000 * 2 ** (quickDeaths - 1));
    log.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'gateway worker died; starting another');
    setTimeout(() => stopping || fork(), delay).unref();
  });
  const running = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
  log.info({ workers: count }, 'gateway workers started');
  return {
    alive: () => serving.size,
    close() {
      stopping = true;
      const workers = running();
      return new Promise<void>((resolve) => {
        let left = workers.length;
        if (left === 0) return resolve();
        for (const worker of workers) {
          worker!.once('exit', () => --left === 0 && resolve());
          worker!.process.kill('SIGTERM');
        }
      });
    },
  };
}
