/**
 * The controller loop: observe (store, then runner) → reconcile (pure) → apply. A pass runs every
 * WORKER_INTERVAL and soon after a poke (a run changed phase, the API queued something). Passes
 * never overlap, and pokes are coalesced: those during a pass ask for one more pass after it, and
 * every poke starts a pass at once only while a budget lasts (`pokeBurst`, one more every
 * `pokeGapMs`), so everyday pokes act at once while a flood of them — however long the passes take
 * — costs a bounded number of passes per second (each a handful of store reads), not one per poke.
 */
import type { Settings } from '../config.ts';
import type { Logger } from '../log.ts';
import type { JobStore } from '../jobs/store.ts';
import type { ReconcileSettings } from './actions.ts';
import { applyAction, type ApplyContext } from './apply.ts';
import { reconcile } from './reconcile.ts';
import { RunnerUnavailableError, type Runner } from './runner.ts';

export type WorkerState = 'idle' | 'checking' | 'processing' | 'paused' | 'stopped';

export interface WorkerStatus {
  status: WorkerState;
  lastRun: string | null;
  jobsProcessed: number;
  jobsFailed: number;
  lastError: string | null;
}

/** The reconcile rules' settings, from the configuration. */
export function reconcileSettings(s: Pick<Settings, 'MAX_CONCURRENT_JOBS' | 'PROCESSING_TIMEOUT' | 'RETRY_FAILED_AFTER' | 'MAX_RETRIES' | 'RUNNER' | 'KUBE_INSTANCE'>): ReconcileSettings {
  return {
    maxConcurrentJobs: s.MAX_CONCURRENT_JOBS,
    processingTimeoutMs: s.PROCESSING_TIMEOUT,
    retryFailedAfterMs: s.RETRY_FAILED_AFTER,
    maxRetries: s.MAX_RETRIES,
    // Jobs of several installations may share a namespace; local runs are one installation's own.
    ...(s.RUNNER === 'kubernetes' ? { jobNamePrefix: s.KUBE_INSTANCE } : {}),
  };
}

export interface ControllerOptions {
  store: JobStore;
  runner: Runner;
  log: Logger;
  now: () => number;
  intervalMs: number;
  settings: ReconcileSettings;
  apply: Omit<ApplyContext, 'store' | 'runner' | 'now' | 'log'>;
  /** Passes pokes may start back to back before they are spaced by `pokeGapMs`. Defaults to 20. */
  pokeBurst?: number;
  /** Past the burst, pokes start at most one pass per this many ms. Defaults to 100. */
  pokeGapMs?: number;
}

export interface Controller {
  start(): void;
  /** Asks for a pass soon (coalesced with other pokes). */
  poke(): void;
  /** Resolves once no pass runs and none is scheduled by a poke. */
  idle(): Promise<void>;
  /** Stops taking work: no more passes. Running runs are left to the caller (runner.close()). */
  stop(): Promise<void>;
  status(): WorkerStatus;
}

export function createController(opts: ControllerOptions): Controller {
  const { store, runner, log, now } = opts;
  const state: WorkerStatus = { status: 'idle', lastRun: null, jobsProcessed: 0, jobsFailed: 0, lastError: null };
  // Everyday traffic — a run ending, a video queued, a few API calls — never waits; a flood of
  // pokes (the internal port, watch events, API writes) costs at most 10 passes a second.
  const pokeBurst = opts.pokeBurst ?? 20;
  const pokeGapMs = opts.pokeGapMs ?? 100;
  let inPass: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  /** A pass a poke asked for, waiting for the gap. */
  let scheduled: { timer: NodeJS.Timeout; done: Promise<void>; fire: () => void } | null = null;
  /** Token bucket of poke-started passes: pokeBurst at most, one more every pokeGapMs. */
  let tokens = pokeBurst;
  let refilledAt = now();
  /** 0 when a poke may start a pass now (taking a token), else the ms until it may. */
  const pokeWait = (): number => {
    const t = now();
    const earned = Math.floor((t - refilledAt) / pokeGapMs);
    if (earned > 0) {
      tokens = Math.min(pokeBurst, tokens + earned);
      refilledAt = tokens === pokeBurst ? t : refilledAt + earned * pokeGapMs;
    }
    if (tokens > 0) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, refilledAt + pokeGapMs - t);
  };

  const ctx: ApplyContext = {
    ...opts.apply,
    store,
    runner,
    now,
    log,
    onCompleted: (video, seconds) => {
      state.jobsProcessed += 1;
      log.info({ videoId: video.wp_post_id, seconds, totalSize: video.total_size }, 'video completed');
      opts.apply.onCompleted?.(video, seconds);
    },
    onFailed: (video) => {
      state.jobsFailed += 1;
      log.warn({ videoId: video.wp_post_id, code: video.error_code, step: video.failed_at_step, retryable: video.retryable }, `video failed: ${video.error_message}`);
      opts.apply.onFailed?.(video);
    },
  };

  async function pass(): Promise<void> {
    state.status = 'checking';
    const t = now();
    const paused = await store.isPaused();
    const processing = await store.listProcessing();
    const pending = paused ? [] : await store.listPending(opts.settings.maxConcurrentJobs);
    const failed = await store.listRetryable(new Date(t - opts.settings.retryFailedAfterMs).toISOString(), opts.settings.maxRetries, 100);
    // Runs are read after the store: a run started between the two reads is seen, not orphaned.
    const runs = await runner.list();
    // A run between two phases reads as running; its next phase's Job is created here, and only
    // for runs a video is still processing on.
    if (runner.advance) {
      await runner.advance(new Set(processing.flatMap((v) => (v.job_name ? [v.job_name] : [])))).catch((err: Error) => {
        // The run stays as it is (running) until a pass gets through; the rest of this pass goes on.
        if (!(err instanceof RunnerUnavailableError)) throw err;
        log.warn({ err: err.message }, 'runs not advanced: the runner cannot be reached; the next pass will look again');
      });
    }
    const actions = reconcile({ now: t, paused, pending, processing, failed, runs }, opts.settings);
    for (const action of actions) {
      if (stopped && (action.kind === 'start' || action.kind === 'restart')) continue;
      try {
        await applyAction(action, ctx);
      } catch (err) {
        state.lastError = (err as Error).message;
        if (err instanceof RunnerUnavailableError) log.warn({ err: err.message, action: action.kind }, 'action not applied: the runner cannot be reached; the next pass will look again');
        else log.error({ err, action: action.kind }, 'controller action failed; the next pass will look again');
      }
    }
    // A retried video is pending only now: look again at once instead of a WORKER_INTERVAL later.
    if (actions.some((a) => a.kind === 'retry')) again = true;
    state.lastRun = new Date(now()).toISOString();
    const inFlight = (await runner.list()).filter((r) => r.phase === 'running').length;
    state.status = stopped ? 'stopped' : paused && inFlight === 0 ? 'paused' : inFlight > 0 ? 'processing' : 'idle';
    if (actions.length) log.debug({ actions: actions.map((a) => a.kind) }, 'pass applied');
  }

  async function safePass(): Promise<void> {
    try {
      await pass();
    } catch (err) {
      state.lastError = (err as Error).message;
      state.status = stopped ? 'stopped' : 'idle';
      // An unreachable runner (API server) is an expected state, not a bug: no stack trace.
      if (err instanceof RunnerUnavailableError) log.warn({ err: err.message }, 'pass skipped: the runner cannot be reached; will try again');
      else log.error({ err }, 'controller pass failed; will try again');
    }
  }

  function runNow(): void {
    again = false;
    inPass = safePass().finally(() => {
      inPass = null;
      // Pokes that came during the pass ask for one more, through the same budget as any poke.
      if (again) poke();
    });
  }

  function poke(): void {
    if (stopped) return;
    if (inPass) {
      again = true;
      return;
    }
    if (scheduled) return;
    const wait = pokeWait();
    if (wait === 0) return runNow();
    log.debug({ waitMs: wait }, 'poke deferred: the pass budget is spent');
    let fire!: () => void;
    const done = new Promise<void>((resolve) => (fire = resolve));
    scheduled = {
      timer: setTimeout(() => {
        scheduled = null;
        fire();
        poke();
      }, wait),
      done,
      fire,
    };
  }

  function cancelScheduled(): void {
    if (!scheduled) return;
    clearTimeout(scheduled.timer);
    scheduled.fire();
    scheduled = null;
  }

  return {
    start() {
      runner.onChange(poke);
      timer = setInterval(poke, opts.intervalMs);
      poke();
    },
    poke,
    idle: async () => {
      while (inPass || scheduled) await (inPass ?? scheduled?.done);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      cancelScheduled();
      while (inPass) await inPass;
      state.status = 'stopped';
    },
    status: () => ({ ...state }),
  };
}
