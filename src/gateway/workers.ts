/**
 * `vcs gateway` on several CPUs: node:cluster runs GATEWAY_WORKERS copies of the gateway behind
 * one port (the primary only supervises and restarts a worker that dies). Each worker is a whole
 * gateway with its own store connection, rate-limit counters and small-file cache; one Node
 * process copies file bytes on one thread, so big HLS segments need more than one to use the
 * machine the way nginx's worker processes do.
 */
import cluster from 'node:cluster';
import os from 'node:os';
import type { Logger } from '../log.ts';

/** GATEWAY_WORKERS: 0 means one per CPU. */
export const workerCount = (setting: number): number => (setting === 0 ? os.availableParallelism() : setting);

/** In the primary of a multi-worker gateway: forks the workers and supervises them until SIGTERM/SIGINT. */
export function superviseWorkers(count: number, log: Logger): void {
  let stopping = false;
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'gateway worker died; starting another');
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  log.info({ workers: count }, 'gateway workers started');
}

export const isClusterPrimary = (): boolean => cluster.isPrimary;
