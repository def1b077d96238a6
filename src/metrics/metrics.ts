/**
 * Prometheus metrics (the plan’s "MONITORING & ALERTS", docs/adr/0015): prom-client's process and Node.js
 * metrics plus the service's own, all named `vcs_*` in base units (seconds, bytes), counters
 * ending in `_total`, and only labels with a small fixed set of values. Served on the internal
 * port (GET /metrics), never on the public one.
 *
 * One Registry per createMetrics call (no prom-client global registry), so tests and several apps
 * in one process never share series (conventions 13). The concerns live beside this file: HTTP
 * (http.ts), store round trips (store.ts), scrape-time facts (facts.ts), the controller loop
 * (worker.ts) and finished jobs (jobs.ts).
 */
import type { Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { STATUSES } from '../jobs/model.ts';
import { scrapeFacts, type Facts, type FactSources } from './facts.ts';
import { httpMetrics } from './http.ts';
import { jobMetrics, type JobHooks, type JobResult } from './jobs.ts';
import { storeMetrics, type StoreObserver } from './store.ts';
import { leaderMetric, workerMetrics, type WorkerView } from './worker.ts';

/** Where notifications go (the notifier's targets), a fixed set: a bounded label. */
export const NOTIFICATION_TARGETS = ['generic', 'slack', 'discord', 'publisher'] as const;
export type NotificationTarget = (typeof NOTIFICATION_TARGETS)[number];

export interface MetricsDeps extends FactSources {
  /**
   * The controller loop's status, where this process runs one (`serve`, `controller`). Absent in a
   * gateway-only process: `vcs_worker_up` and `vcs_worker_last_run_timestamp_seconds` are then not
   * exported (alert on the controller's own target), while `vcs_worker_paused` still comes from
   * the store.
   */
  worker?: () => WorkerView;
  /** Whether this controller replica leads (cluster shape). */
  leader?: () => boolean;
  /** Milliseconds between controller passes (WORKER_INTERVAL). Defaults to 120 000. */
  workerIntervalMs?: number;
  /** Paths served without a router whose requests get one `route` label each (the HLS files). */
  routePrefixes?: readonly string[];
  /** Milliseconds since the epoch. Defaults to Date.now. */
  now?: () => number;
  /** A scrape-time source slower than this counts as failed for that scrape. Defaults to 3000. */
  readTimeoutMs?: number;
  /** Whether to add prom-client's process_* and nodejs_* metrics. Defaults to true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Counts and times every request; `app.use` it first, so it sees the final status. */
  httpMiddleware(): Middleware;
  /** For instrumentStore (src/metrics/store.ts): the root wraps its store with it once. */
  storeObserver: StoreObserver;
  /** One finished job; `seconds` from its start to its end, when known. */
  recordJob(result: JobResult, seconds?: number): void;
  /** recordJob as the controller's completion and failure callbacks. */
  jobHooks: JobHooks;
  /** One notification's outcome (webhooks, the publisher callback). */
  recordNotification(target: NotificationTarget, result: 'delivered' | 'failed'): void;
  /** GET /metrics: the exposition text, with the registry's content type. */
  handler: Middleware;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const now = deps.now ?? Date.now;
  const registry = new Registry();
  if (deps.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const store = storeMetrics(registry, () => facts());
  const facts = scrapeFacts(deps, { timeoutMs: deps.readTimeoutMs ?? 3000, onStoreTimeout: store.markUnreachable });

  /** A gauge set at scrape time from one fact; a fact that could not be read leaves no sample. */
  const scraped = <T, L extends string = string>(
    config: { name: string; help: string; labelNames?: readonly L[]; aggregator?: 'min' | 'max' },
    fact: (f: Facts) => T | null,
    fill: (gauge: Gauge<L>, value: T) => void,
  ): void =>
    void new Gauge<L>({
      // Every gateway worker reads the same facts: aggregated across workers, one counts (cluster.ts).
      aggregator: 'max',
      ...config,
      registers: [registry],
      async collect() {
        const value = fact(await facts());
        this.reset();
        if (value !== null) fill(this, value);
        else if (!config.labelNames?.length) this.remove(); // reset() leaves an unlabelled gauge at 0
      },
    });

  scraped({ name: 'vcs_store_up', help: 'Whether the latest job store call reached the store (1) or not (0).', aggregator: 'min' }, (f) => f, (g, f) => g.set((store.reached() ?? f.videos !== null) ? 1 : 0));
  scraped({ name: 'vcs_queue_depth', help: 'Videos waiting in the queue (status pending).' }, (f) => f.videos, (g, v) => g.set(v.counts.pending));
  scraped({ name: 'vcs_jobs_processing', help: 'Videos being compressed now (status processing).' }, (f) => f.videos, (g, v) => g.set(v.counts.processing));
  scraped(
    { name: 'vcs_videos', help: 'Videos in the store, by compression status.', labelNames: ['status'] as const },
    (f) => f.videos,
    (g, v) => {
      for (const status of STATUSES) g.set({ status }, v.counts[status]);
    },
  );
  scraped(
    { name: 'vcs_worker_paused', help: 'Whether the worker is paused (1) or takes new jobs (0), from the flag kept in the store.' },
    (f) => f.videos,
    (g, v) => g.set(v.paused ? 1 : 0),
  );
  if (deps.storage) {
    scraped({ name: 'vcs_storage_used_bytes', help: 'Bytes used by the published HLS packages.' }, (f) => f.storage, (g, v) => g.set(v.usedBytes));
    scraped({ name: 'vcs_storage_free_bytes', help: 'Bytes still available on the filesystem holding HLS_PATH.' }, (f) => f.storage, (g, v) => g.set(v.availableBytes));
    scraped({ name: 'vcs_storage_size_bytes', help: 'Size of the filesystem holding HLS_PATH (disk usage: 1 - free / size).' }, (f) => f.storage?.sizeBytes ?? null, (g, v) => g.set(v));
  }
  if (deps.ffmpeg) scraped({ name: 'vcs_ffmpeg_available', help: 'Whether FFmpeg runs (1) or not (0).' }, (f) => f.ffmpeg, (g, v) => g.set(v.available ? 1 : 0));

  if (deps.worker) workerMetrics(registry, deps.worker, { intervalMs: deps.workerIntervalMs ?? 120_000, now });
  if (deps.leader) leaderMetric(registry, deps.leader);
  const jobs = jobMetrics(registry);
  const notifications = new Counter({
    name: 'vcs_notifications_total',
    help: 'Notifications sent (webhooks by kind, the publisher callback), by outcome after their retries.',
    labelNames: ['target', 'result'] as const,
    registers: [registry],
  });
  for (const target of NOTIFICATION_TARGETS) for (const result of ['delivered', 'failed'] as const) notifications.inc({ target, result }, 0);

  const handler: Middleware = async (ctx) => {
    const text = await registry.metrics();
    ctx.set('Content-Type', registry.contentType);
    ctx.body = text;
  };

  return {
    registry,
    httpMiddleware: httpMetrics(registry, deps.routePrefixes ?? []),
    storeObserver: store.observer,
    recordJob: jobs.recordJob,
    jobHooks: jobs.jobHooks,
    recordNotification: (target, result) => notifications.inc({ target, result }),
    handler,
  };
}
