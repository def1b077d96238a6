/**
 * The store's round trips as metrics: a JobStore wrapper that reports every call to an observer,
 * and the series that observer feeds (vcs_store_request_duration_seconds,
 * vcs_store_failures_total, and the reachability behind vcs_store_up). The wrapper otherwise
 * behaves exactly like the store it wraps — same arguments, results and errors; the JobStore
 * contract suite runs against it. A composition root wraps its store once and hands the wrapped
 * store to everything, so every call is observed exactly once.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { VcsError } from '../errors.ts';
import type { JobStore } from '../jobs/store.ts';

export type StoreOperation = keyof JobStore;

/**
 * Every JobStore method, once. `satisfies` makes this fail to compile when the interface gains
 * or loses a method, so the wrapper can never silently pass one through unobserved (conventions 4).
 */
const OPERATIONS = {
  init: true,
  close: true,
  ping: true,
  create: true,
  get: true,
  listPending: true,
  listProcessing: true,
  listRetryable: true,
  queuePosition: true,
  list: true,
  countByStatus: true,
  summary: true,
  transition: true,
  update: true,
  recordAccess: true,
  isPaused: true,
  setPaused: true,
} as const satisfies Record<StoreOperation, true>;

export const STORE_OPERATIONS = Object.keys(OPERATIONS) as StoreOperation[];

export interface StoreObserver {
  /**
   * One finished call. `reached` is false when the store could not be reached or failed in a way
   * it does not explain (VCS_ERR_STORE_UNAVAILABLE, or an error without a code); a coded answer
   * such as VCS_ERR_NOT_FOUND, VCS_ERR_CONFLICT or VCS_ERR_ILLEGAL_TRANSITION is a successful
   * round trip.
   */
  observe(operation: StoreOperation, seconds: number, reached: boolean): void;
}

/** Whether a failed call still proves the store answered (see StoreObserver.observe). */
export function storeReached(err: unknown): boolean {
  return err instanceof VcsError && err.code !== 'VCS_ERR_STORE_UNAVAILABLE';
}

/** Wraps `store` so that every method reports its duration and outcome to `observer`. */
export function instrumentStore(store: JobStore, observer: StoreObserver): JobStore {
  const timed = (operation: StoreOperation) => {
    const method = store[operation] as (...args: unknown[]) => Promise<unknown>;
    return async (...args: unknown[]): Promise<unknown> => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await method.apply(store, args);
        observer.observe(operation, seconds(), true);
        return result;
      } catch (err) {
        observer.observe(operation, seconds(), storeReached(err));
        throw err;
      }
    };
  };
  return Object.fromEntries(STORE_OPERATIONS.map((op) => [op, timed(op)])) as unknown as JobStore;
}

/** Store calls: SQLite answers in well under a millisecond, Appwrite in tens to hundreds; 10 s is a timeout. */
export const STORE_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface StoreMetrics {
  observer: StoreObserver;
  /** The outcome of the latest store call of this process; null before the first one. */
  reached(): boolean | null;
  /** A store too slow to answer a scrape counts as down, though no call has failed yet. */
  markUnreachable(): void;
}

/** `beforeCollect` runs before the series are read (the scrape's own store reads must be counted in them). */
export function storeMetrics(registry: Registry, beforeCollect: () => Promise<unknown>): StoreMetrics {
  const duration = new Histogram({
    name: 'vcs_store_request_duration_seconds',
    help: 'Duration of job store calls, by JobStore method.',
    labelNames: ['operation'] as const,
    buckets: STORE_DURATION_BUCKETS,
    registers: [registry],
    async collect() {
      await beforeCollect();
    },
  });
  const failures = new Counter({
    name: 'vcs_store_failures_total',
    help: 'Job store calls that did not reach the store (VCS_ERR_STORE_UNAVAILABLE or an error without a code), by JobStore method.',
    labelNames: ['operation'] as const,
    registers: [registry],
    async collect() {
      await beforeCollect();
    },
  });
  for (const operation of STORE_OPERATIONS) failures.inc({ operation }, 0);
  let reached: boolean | null = null;
  return {
    observer: {
      observe(operation, seconds, ok) {
        duration.observe({ operation }, seconds);
        if (!ok) failures.inc({ operation });
        reached = ok;
      },
    },
    reached: () => reached,
    markUnreachable: () => {
      reached = false;
    },
  };
}
