/**
 * A JobStore that reports every round trip to an observer (for vcs_store_request_duration_seconds
 * and vcs_store_up, src/gateway/metrics.ts) and otherwise behaves exactly like the store it wraps:
 * same arguments, same results, same errors. The JobStore contract suite runs against it.
 */
import { VcsError } from '../errors.ts';
import type { JobStore } from './store.ts';

export type StoreOperation = keyof JobStore;

/**
 * Every JobStore method, once. `satisfies` makes this fail to compile when the interface gains
 * or loses a method, so the wrapper can never silently pass one through unobserved (STYLE 4).
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

/** Marks a wrapper with the observer it reports to, so wrapping is idempotent. */
const WRAPPED = Symbol('vcs.instrumentedStore');

type Instrumented = JobStore & { [WRAPPED]: StoreObserver };

const isInstrumented = (store: JobStore): store is Instrumented => WRAPPED in store;

/**
 * Wraps `store` so that every method reports its duration and outcome to `observer`. Wrapping a
 * store that this observer already wraps returns it unchanged (no double counting), so a caller
 * can instrument whatever store it was handed.
 */
export function instrumentStore(store: JobStore, observer: StoreObserver): JobStore {
  if (isInstrumented(store) && store[WRAPPED] === observer) return store;

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

  const wrapper = Object.fromEntries(STORE_OPERATIONS.map((op) => [op, timed(op)])) as unknown as Instrumented;
  Object.defineProperty(wrapper, WRAPPED, { value: observer, enumerable: false });
  return wrapper;
}
