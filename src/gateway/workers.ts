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
import type { Logger } from '../log.ts';

/** GATEWAY_WORKERS: 0 means one per CPU. */
export const workerCount = (setting: number): number => (setting === 0 ? os.availableParallelism() : setting);

export const isClusterPrimary = (): boolean => cluster.isPrimary;

export interface Workers {
  /** Workers running now. */
  alive(): number;
  /** Stops every worker (SIGTERM) and resolves once all have exited. */
  close(): Promise<void>;
}

/** In the primary of a multi-worker gateway: forks the workers and replaces one that dies. */
export function superviseWorkers(count: number, log: Logger): Workers {
  let stopping = false;
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
    cluster.fork();
  });
  const running = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
  log.info({ workers: count }, 'gateway workers started');
  return {
    alive: () => running().length,
    close() {
      stopping = true;
      const workers = running();
      return new Promise<void>((resolve) => {
        let left = workers.length;
        if (left === 0) return resolve();
        for (const worker of workers!) {
          worker!.once('exit', () => --left === 0 && resolve());
          worker!.process.kill('SIGTERM');
        }
      });
    },
  };
}
