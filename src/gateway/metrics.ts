/**
 * Prometheus metrics for GET /metrics (issue 4; original plan, "MONITORING & ALERTS"): prom-client's
 * process and Node.js metrics plus the service's own, all named `vcs_*` in base units (seconds,
 * bytes), counters ending in `_total`, and only labels with a small fixed set of values.
 *
 * Three kinds of source:
 * - events counted as they happen: finished jobs (`recordJob`/`jobHooks`, from the controller),
 *   HTTP requests (`httpMiddleware`), store calls (`storeObserver`, through instrumentStore);
 * - facts read at scrape time: video counts and the paused flag (the store), disk use (`storage`),
 *   FFmpeg (`ffmpeg`). One read serves every scrape for `cacheMs`, each source runs under a
 *   timeout, and a source that fails drops only its own series (a failing store also reads as
 *   `vcs_store_up 0`): the scrape itself always answers 200;
 * - the worker (`worker`, in-process and cheap, asked at every scrape): its last pass and whether
 *   passes keep coming.
 *
 * Everything hangs off one Registry per createMetrics call (no prom-client global registry), so
 * tests and several apps in one process never share series (STYLE 13).
 *
 * Suggested alerts (the plan's table):
 * - worker down > 5 min:   `vcs_worker_up == 0` for 5m (or `absent(vcs_worker_up)` on the controller target)
 * - disk > 90 % full:      `vcs_storage_used_bytes / (vcs_storage_used_bytes + vcs_storage_free_bytes) > 0.9`
 * - failed jobs > 10:      `vcs_videos{status="failed"} > 10`, or `increase(vcs_jobs_total{result=~"failed_.*"}[1h]) > 10`
 * - store (Appwrite) down: `vcs_store_up == 0`; slow: `histogram_quantile(0.99, rate(vcs_store_request_duration_seconds_bucket[5m]))`
 * - FFmpeg missing:        `vcs_ffmpeg_available == 0`
 */
import type { Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApplyContext } from '../controller/apply.ts';
import type { WorkerStatus } from '../controller/controller.ts';
import { ERRORS, isErrorCode } from '../errors.ts';
import { instrumentStore, STORE_OPERATIONS, type StoreObserver } from '../jobs/instrumented-store.ts';
import { STATUSES, type Status, type VideoJob } from '../jobs/model.ts';
import type { JobStore } from '../jobs/store.ts';
import { HLS_ROUTE } from '../jobs/urls.ts';

// ------------------------------------------------------------------------------------------------
// Labels

/**
 * How a job ended, one label (`vcs_jobs_total{result}`) rather than `result` + `retryable`: the
 * three values are the only combinations that exist, and one label keeps queries short.
 * `failed_retryable` means the failure itself allows another attempt (the controller retries it
 * while MAX_RETRIES allows); `failed_permanent` means it never will (exit 2, a permanent code).
 */
export const JOB_RESULTS = ['completed', 'failed_retryable', 'failed_permanent'] as const;
export type JobResult = (typeof JOB_RESULTS)[number];

/** The result of a failed video, by the same rule the controller uses to decide on a retry. */
export function failedResult(video: Pick<VideoJob, 'retryable'>, code: string | null): JobResult {
  const permanentCode = code !== null && isErrorCode(code) && ERRORS[code].permanent;
  return video.retryable === true && !permanentCode ? 'failed_retryable' : 'failed_permanent';
}

/** `route` label for anything no router pattern matched and that is not an HLS file. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Methods kept as they are; anything else a client invents is `other` (label cardinality). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What routeLabel reads from a Koa context that went through @koa/router. */
export interface RoutedContext {
  path: string;
  method: string;
  /** Set by @koa/router to the pattern of the layer running now. */
  _matchedRoute?: unknown;
  /** Every router layer whose pattern matched the path (route and router-level middleware). */
  matched?: ReadonlyArray<{ path: unknown; methods: readonly string[] }>;
}

/**
 * The `route` label: the router's matched pattern (`/api/post/:wp_post_id`), one value for every
 * HLS file, `unmatched` otherwise. Never the raw path: each distinct path would be a new series.
 */
export function routeLabel(ctx: RoutedContext): string {
  const pattern = matchedPattern(ctx);
  if (pattern !== undefined) return pattern;
  if (ctx.path.startsWith(`${HLS_ROUTE}/`)) return HLS_ROUTE;
  return UNMATCHED_ROUTE;
}

function matchedPattern(ctx: RoutedContext): string | undefined {
  let pattern = ctx._matchedRoute;
  // @koa/router sets _matchedRoute once per layer it runs, router-level middleware (`router.use`)
  // included: when such a middleware ends the request (a 401 before the route runs), the value
  // left is the middleware's prefix pattern. The route is the last matched layer with methods,
  // the same choice @koa/router makes before running the chain.
  const layers = ctx.matched ?? [];
  const mine = layers.filter((l) => l.path === pattern);
  if (mine.length > 0 && mine.every((l) => l.methods.length === 0)) {
    pattern = [...layers].reverse().find((l) => l.methods.includes(ctx.method))?.path ?? pattern;
  }
  if (typeof pattern === 'string' && pattern !== '') return pattern;
  if (pattern instanceof RegExp) return String(pattern);
  return undefined;
}

const methodLabel = (method: string): string => (METHODS.has(method) ? method : 'other');

// ------------------------------------------------------------------------------------------------
// Buckets (seconds)

/**
 * Whole encodes: a short clip takes seconds, a feature-length upload hours. 7200 is
 * PROCESSING_TIMEOUT's default (a job that long is stopped), 14400 covers a raised timeout.
 */
export const JOB_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
/** Store calls: SQLite answers in well under a millisecond, Appwrite in tens to hundreds; 10 s is a timeout. */
export const STORE_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** HTTP handlers: API calls in milliseconds, HLS files streamed from disk, a slow health check in seconds. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// ------------------------------------------------------------------------------------------------
// Factory

export interface MetricsDeps {
  /**
   * The store read at scrape time (countByStatus, isPaused). Raw or already instrumented with
   * this `storeObserver`: the reads are observed either way, never twice.
   */
  store: JobStore;
  /**
   * The controller's status, when this process runs one (`serve`, `controller`). Absent in a
   * gateway-only process: `vcs_worker_up` and `vcs_worker_last_run_timestamp_seconds` are then not
   * exported (alert on the controller's own target), while `vcs_worker_paused` still comes from
   * the store.
   */
  worker?: () => WorkerStatus;
  /** Milliseconds between controller passes (WORKER_INTERVAL). Defaults to 120 000. */
  workerIntervalMs?: number;
  /** Bytes used by HLS_PATH's packages and bytes still free on its filesystem (health.ts has both). */
  storage: () => Promise<{ usedBytes: number; availableBytes: number }>;
  ffmpeg: () => Promise<{ available: boolean }>;
  /** Milliseconds since the epoch. Defaults to Date.now. */
  now?: () => number;
  /** How long one read of the scrape-time sources serves every scrape. Defaults to 5000. */
  cacheMs?: number;
  /** A scrape-time source slower than this counts as failed for that read. Defaults to 3000. */
  readTimeoutMs?: number;
  /** Whether to add prom-client's process_* and nodejs_* metrics. Defaults to true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Counts and times every request; `app.use` it first, so it sees the final status. */
  httpMiddleware(): Middleware;
  /** Pass to instrumentStore (src/jobs/instrumented-store.ts). */
  storeObserver: StoreObserver;
  /** One finished job; `seconds` from its start to its end, when known. */
  recordJob(result: JobResult, seconds?: number): void;
  /** recordJob as the controller's hooks: spread into ControllerOptions.apply. */
  jobHooks: Required<Pick<ApplyContext, 'onCompleted' | 'onFailed'>>;
  /** GET /metrics: the exposition text, with the registry's content type. */
  handler: Middleware;
}

/**
 * A worker is up while its last pass ended within this many intervals: passes run at least once
 * per interval, so two missed in a row mean the loop is stuck or every pass fails.
 */
const WORKER_STALE_INTERVALS = 2;
const DEFAULT_WORKER_INTERVAL_MS = 120_000;

interface Snapshot {
  store: { counts: Record<Status, number>; paused: boolean } | null;
  storage: { usedBytes: number; availableBytes: number } | null;
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

export function createMetrics(deps: MetricsDeps): Metrics {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 5000;
  const readTimeoutMs = deps.readTimeoutMs ?? 3000;
  const workerStaleMs = WORKER_STALE_INTERVALS * (deps.workerIntervalMs ?? DEFAULT_WORKER_INTERVAL_MS);
  const createdAt = now();
  const registry = new Registry();
  if (deps.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  // --- store round trips ------------------------------------------------------------------------

  const storeDuration = new Histogram({
    name: 'vcs_store_request_duration_seconds',
    help: 'Duration of job store calls, by JobStore method.',
    labelNames: ['operation'] as const,
    buckets: STORE_DURATION_BUCKETS,
    registers: [registry],
    // prom-client collects all metrics at once: wait for this scrape's own store read to be counted.
    async collect() {
      await snapshot();
    },
  });
  const storeFailures = new Counter({
    name: 'vcs_store_failures_total',
    help: 'Job store calls that did not reach the store (VCS_ERR_STORE_UNAVAILABLE or an error without a code), by JobStore method.',
    labelNames: ['operation'] as const,
    registers: [registry],
    async collect() {
      await snapshot();
    },
  });
  for (const operation of STORE_OPERATIONS) storeFailures.inc({ operation }, 0);
  /** The outcome of the latest store call of this process; null before the first one. */
  let storeReached: boolean | null = null;
  const storeObserver: StoreObserver = {
    observe(operation, seconds, reached) {
      storeDuration.observe({ operation }, seconds);
      if (!reached) storeFailures.inc({ operation });
      storeReached = reached;
    },
  };
  const store = instrumentStore(deps.store, storeObserver);

  // --- scrape-time sources, read together and cached --------------------------------------------

  /**
   * `read()`'s answer, or null when it throws, answers something `check` rejects, or takes longer
   * than readTimeoutMs (then `onTimeout` runs: the read is abandoned, not cancelled).
   */
  const attempt = <R, T>(read: () => Promise<R>, check: (raw: R) => T, onTimeout?: () => void): Promise<T | null> =>
    new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => {
        onTimeout?.();
        resolve(null);
      }, readTimeoutMs);
      timer.unref();
      Promise.resolve()
        .then(read)
        .then(check)
        .then(resolve, () => resolve(null))
        .finally(() => clearTimeout(timer));
    });

  async function readSnapshot(): Promise<Snapshot> {
    const [storeFacts, storage, ffmpeg] = await Promise.all([
      attempt(
        () => Promise.all([store.countByStatus(), store.isPaused()]),
        ([counts, paused]) => ({ counts: checkCounts(counts), paused: paused === true }),
        // A store too slow to answer a scrape is down for this scrape, though no call has failed yet.
        () => (storeReached = false),
      ),
      attempt(deps.storage, (raw) => ({ usedBytes: checkNumber(raw.usedBytes), availableBytes: checkNumber(raw.availableBytes) })),
      attempt(deps.ffmpeg, (raw) => ({ available: raw.available === true })),
    ]);
    return { store: storeFacts, storage, ffmpeg };
  }

  let cached: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    const t = now();
    // `t < cached.at`: the wall clock went back; read again rather than trust the cache for hours.
    if (!cached || t - cached.at >= cacheMs || t < cached.at) cached = { at: t, snapshot: readSnapshot() };
    return cached.snapshot;
  };

  /**
   * A gauge read at scrape time from one source of the snapshot: `fill` sets its values, and a
   * source that failed (null) leaves no sample at all. An absent series reads as "unknown" in
   * Prometheus; a 0 would be a lie (an empty queue, a full disk).
   */
  const scraped = <T, L extends string = string>(
    config: { name: string; help: string; labelNames?: readonly L[] },
    source: (s: Snapshot) => T | null,
    fill: (gauge: Gauge<L>, value: T) => void,
  ): Gauge<L> =>
    new Gauge<L>({
      ...config,
      registers: [registry],
      async collect() {
        const value = source(await snapshot());
        this.reset();
        if (value !== null) fill(this, value);
        else if (!config.labelNames?.length) this.remove(); // reset() leaves an unlabelled gauge at 0
      },
    });

  scraped(
    { name: 'vcs_store_up', help: 'Whether the latest job store call reached the store (1) or not (0).' },
    (s) => s,
    (g, s) => g.set((storeReached ?? s.store !== null) ? 1 : 0),
  );
  scraped({ name: 'vcs_queue_depth', help: 'Videos waiting in the queue (status pending).' }, (s) => s.store, (g, v) => g.set(v.counts.pending));
  scraped({ name: 'vcs_jobs_processing', help: 'Videos being compressed now (status processing).' }, (s) => s.store, (g, v) => g.set(v.counts.processing));
  scraped(
    { name: 'vcs_videos', help: 'Videos in the store, by compression status.', labelNames: ['status'] as const },
    (s) => s.store,
    (g, v) => {
      for (const status of STATUSES) g.set({ status }, v.counts[status]);
    },
  );
  scraped(
    { name: 'vcs_worker_paused', help: 'Whether the worker is paused (1) or takes new jobs (0), from the flag kept in the store.' },
    (s) => s.store,
    (g, v) => g.set(v.paused ? 1 : 0),
  );
  scraped({ name: 'vcs_storage_used_bytes', help: 'Bytes used by the published HLS packages.' }, (s) => s.storage, (g, v) => g.set(v.usedBytes));
  scraped({ name: 'vcs_storage_free_bytes', help: 'Bytes still available on the filesystem holding HLS_PATH.' }, (s) => s.storage, (g, v) => g.set(v.availableBytes));
  scraped({ name: 'vcs_ffmpeg_available', help: 'Whether FFmpeg runs (1) or not (0).' }, (s) => s.ffmpeg, (g, v) => g.set(v.available ? 1 : 0));

  // --- the worker (only where this process runs the controller) ---------------------------------

  const worker = deps.worker;
  if (worker) {
    /** Asked at every scrape (in-process and cheap, so never cached); null if asking fails. */
    const workerNow = (): { status: WorkerStatus['status']; lastRunMs: number | null } | null => {
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
        const at = workerNow()?.lastRunMs ?? null;
        if (at === null) this.remove();
        else this.set(at / 1000);
      },
    });
    new Gauge({
      name: 'vcs_worker_up',
      help: `Whether the worker runs and finished a pass within the last ${WORKER_STALE_INTERVALS} worker intervals (1) or not (0).`,
      registers: [registry],
      collect() {
        const w = workerNow();
        // Before its first pass ends, a worker is judged from when this process started counting.
        const since = w?.lastRunMs ?? createdAt;
        this.set(w !== null && w.status !== 'stopped' && now() - since <= workerStaleMs ? 1 : 0);
      },
    });
  }

  // --- jobs --------------------------------------------------------------------------------------

  const jobs = new Counter({
    name: 'vcs_jobs_total',
    help: 'Finished compression jobs, by result (completed, failed_retryable, failed_permanent).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'vcs_job_duration_seconds',
    help: 'Duration of compression jobs from start to completion or failure, by result.',
    labelNames: ['result'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });
  for (const result of JOB_RESULTS) {
    jobs.inc({ result }, 0);
    jobDuration.zero({ result });
  }
  const recordJob = (result: JobResult, seconds?: number): void => {
    jobs.inc({ result });
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) jobDuration.observe({ result }, seconds);
  };
  const jobHooks: Metrics['jobHooks'] = {
    onCompleted: (_video, seconds) => recordJob('completed', seconds),
    onFailed: (video, code) => {
      const started = Date.parse(video.started_at ?? '');
      const ended = Date.parse(video.failed_at ?? '');
      recordJob(failedResult(video, code), (ended - started) / 1000);
    },
  };

  // --- HTTP -------------------------------------------------------------------------------------

  const httpRequests = new Counter({
    name: 'vcs_http_requests_total',
    help: 'HTTP requests, by matched route pattern, method and response status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'vcs_http_request_duration_seconds',
    help: 'Time to produce HTTP responses (handlers, not the transfer to the client), by matched route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
  const httpMiddleware = (): Middleware => async (ctx, next) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      // Nothing below turned the error into a response; Koa's default handler will use its status.
      const e = err as { status?: unknown; statusCode?: unknown };
      const s = e.status ?? e.statusCode;
      status = typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
      throw err;
    } finally {
      const labels = { route: routeLabel(ctx), method: methodLabel(ctx.method) };
      httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      httpRequests.inc({ ...labels, status: String(status) });
    }
  };

  const handler: Middleware = async (ctx) => {
    const text = await registry.metrics();
    ctx.set('Content-Type', registry.contentType);
    ctx.body = text;
  };

  return { registry, httpMiddleware, storeObserver, recordJob, jobHooks, handler };
}
