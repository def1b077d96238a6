import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { WorkerStatus } from '../../src/controller/controller.ts';
import { vcsError } from '../../src/errors.ts';
import { hlsFiles } from '../../src/gateway/hls-files.ts';
import type { Status, VideoJob } from '../../src/jobs/model.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { routeLabel } from '../../src/metrics/http.ts';
import { failedResult, JOB_DURATION_BUCKETS } from '../../src/metrics/jobs.ts';
import { createMetrics, type Metrics, type MetricsDeps } from '../../src/metrics/metrics.ts';
import { instrumentStore, STORE_OPERATIONS } from '../../src/metrics/store.ts';
import { startServer, type TestServer } from '../support/http-server.ts';

// ------------------------------------------------------------------------------------------------
// Helpers

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** The value of one sample in Prometheus text (exact series, labels as prom-client orders them), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every sample line of a metric family (without HELP/TYPE). */
const samples = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

interface FakeStore {
  store: JobStore;
  counts: Record<Status, number>;
  paused: boolean;
  /** When set, countByStatus and isPaused throw it (or hang, for 'hang'). */
  failure: unknown;
  /** Milliseconds each read takes. */
  delayMs: number;
  reads: number;
}

/** Only the scrape-time reads are real; anything else would be a bug in the metrics. */
function fakeStore(): FakeStore {
  const fake: FakeStore = {
    counts: { pending: 3, processing: 1, completed: 7, failed: 2, deleted: 0 },
    paused: false,
    failure: null,
    delayMs: 0,
    reads: 0,
    store: undefined as unknown as JobStore,
  };
  const answer = async <T>(value: () => T): Promise<T> => {
    if (fake.failure === 'hang') return new Promise<T>(() => undefined);
    if (fake.delayMs > 0) await new Promise((r) => setTimeout(r, fake.delayMs));
    if (fake.failure !== null) throw fake.failure;
    return value();
  };
  fake.store = {
    ...(Object.fromEntries(STORE_OPERATIONS.map((op) => [op, () => Promise.reject(new Error(`unexpected store call ${op}`))])) as unknown as JobStore),
    countByStatus: () => {
      fake.reads += 1;
      return answer(() => structuredClone(fake.counts));
    },
    isPaused: () => answer(() => fake.paused),
  };
  return fake;
}

/** A scrape-time videos source over a fresh fake store. */
function fakeVideos(): MetricsDeps['videos'] {
  const { store } = fakeStore();
  return async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() });
}

interface World {
  fake: FakeStore;
  clock: { now: number };
  storage: { usedBytes: number; availableBytes: number } | Error;
  ffmpeg: { available: boolean };
  worker: WorkerStatus;
  metrics: Metrics;
  server: TestServer;
  hlsDir: string;
  get(pathname: string, init?: RequestInit): Promise<Response>;
  scrape(): Promise<string>;
}

/**
 * A small app shaped like the gateway: metrics middleware first, an error middleware, an /api
 * router with a prefix and route-level auth, /metrics, the HLS files.
 */
async function world(options: Partial<MetricsDeps> & { withWorker?: boolean; errorMiddleware?: boolean } = {}): Promise<World> {
  const hlsDir = await mkdtemp(path.join(os.tmpdir(), 'vcs-metrics-'));
  await mkdir(path.join(hlsDir, '5', 'high'), { recursive: true });
  await writeFile(path.join(hlsDir, '5', 'master.m3u8'), '#EXTM3U\n');
  await writeFile(path.join(hlsDir, '5', 'high', 'segment000.ts'), Buffer.alloc(188));

  const w = {
    fake: fakeStore(),
    clock: { now: T0 },
    storage: { usedBytes: 1_500_000, availableBytes: 80_000_000_000 },
    ffmpeg: { available: true },
    worker: { status: 'idle', lastRun: new Date(T0 - 30_000).toISOString(), jobsProcessed: 0, jobsFailed: 0, lastError: null },
    hlsDir,
  } as World;
  // As the roots do: the store wrapped once with the metrics' observer, read through the wrapper.
  let observed: JobStore = w.fake.store;
  w.metrics = createMetrics({
    videos: async () => ({ counts: await observed.countByStatus(), paused: await observed.isPaused() }),
    routePrefixes: ['/storage/hls'],
    storage: async () => {
      if (w.storage instanceof Error) throw w.storage;
      return w.storage;
    },
    ffmpeg: async () => w.ffmpeg,
    worker: options.withWorker === false ? undefined : () => ({ ...w.worker }),
    workerIntervalMs: 60_000,
    now: () => w.clock.now,
    ...options,
  });
  observed = instrumentStore(w.fake.store, w.metrics.storeObserver);

  const app = new Koa();
  app.silent = true;
  app.use(w.metrics.httpMiddleware());
  if (options.errorMiddleware !== false) {
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = (err as { status?: number }).status ?? 500;
        ctx.body = { error: (err as Error).message };
      }
    });
  }
  const api = new Router({ prefix: '/api' });
  const requireKey: Koa.Middleware = async (ctx, next) => {
    if (ctx.get('authorization') !== 'Bearer k') throw vcsError('VCS_ERR_UNAUTHORIZED', 'missing API key');
    await next();
  };
  api.get('/post/:wp_post_id', (ctx) => {
    ctx.body = { wp_post_id: Number(ctx.params.wp_post_id) };
  });
  api.post('/compress/:wp_post_id', requireKey, (ctx) => {
    ctx.status = 202;
  });
  api.get('/boom', () => {
    throw new Error('kaboom');
  });
  api.get('/unavailable', () => {
    throw vcsError('VCS_ERR_STORE_UNAVAILABLE', 'store down');
  });
  // Router-level middleware (router.use) runs before the route: a refusal there must still carry the route.
  const admin = new Router({ prefix: '/admin' });
  admin.use(requireKey);
  admin.get('/jobs/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  const root = new Router();
  root.get('/metrics', w.metrics.handler);
  app.use(api.routes());
  app.use(api.allowedMethods());
  app.use(admin.routes());
  app.use(root.routes());
  app.use(hlsFiles(hlsDir));

  w.server = await startServer(app.callback());
  w.get = (pathname, init) => fetch(`${w.server.url}${pathname}`, init);
  w.scrape = async () => {
    const res = await w.get('/metrics');
    assert.is(res.status, 200);
    return res.text();
  };
  return w;
}

const close = async (w: World) => {
  await w.server.close();
  await rm(w.hlsDir, { recursive: true, force: true });
};

const video = (patch: Partial<VideoJob>): VideoJob => ({ wp_post_id: 1, retryable: null, started_at: null, failed_at: null, ...patch }) as VideoJob;

// ------------------------------------------------------------------------------------------------

const exposition = suite('GET /metrics exposition');

exposition('answers the Prometheus text format with default and vcs_ metrics, typed and described', async () => {
  const w = await world();
  try {
    const res = await w.get('/metrics');
    assert.is(res.status, 200);
    assert.is(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    // prom-client's defaults, on this registry.
    assert.match(text, '# TYPE process_cpu_user_seconds_total counter');
    assert.match(text, '# TYPE nodejs_eventloop_lag_seconds gauge');
    const types: Record<string, string> = {
      vcs_jobs_total: 'counter',
      vcs_job_duration_seconds: 'histogram',
      vcs_queue_depth: 'gauge',
      vcs_jobs_processing: 'gauge',
      vcs_videos: 'gauge',
      vcs_worker_last_run_timestamp_seconds: 'gauge',
      vcs_worker_paused: 'gauge',
      vcs_worker_up: 'gauge',
      vcs_storage_used_bytes: 'gauge',
      vcs_storage_free_bytes: 'gauge',
      vcs_store_up: 'gauge',
      vcs_store_request_duration_seconds: 'histogram',
      vcs_store_failures_total: 'counter',
      vcs_ffmpeg_available: 'gauge',
      vcs_http_requests_total: 'counter',
      vcs_http_request_duration_seconds: 'histogram',
      vcs_http_response_bytes_total: 'counter',
      vcs_jobs_started_total: 'counter',
      vcs_job_failures_total: 'counter',
      vcs_encoded_video_seconds_total: 'counter',
      vcs_job_last_completed_timestamp_seconds: 'gauge',
      vcs_storage_size_bytes: 'gauge',
      vcs_notifications_total: 'counter',
    };
    for (const [name, type] of Object.entries(types)) {
      assert.match(text, `# TYPE ${name} ${type}\n`, name);
      assert.match(text, new RegExp(`# HELP ${name} \\S`), name);
    }
    const own = [...text.matchAll(/^# TYPE (vcs_\w+)/gm)].map((m) => m[1]);
    assert.equal(own.sort(), Object.keys(types).sort(), 'no vcs_ metric without a test');
    for (const name of own) assert.match(name!, /^vcs_[a-z0-9_]+$/);
  } finally {
    await close(w);
  }
});

exposition('two metric sets in one process do not share series', async () => {
  const a = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 1, availableBytes: 1 }), ffmpeg: async () => ({ available: true }) });
  const b = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 2, availableBytes: 2 }), ffmpeg: async () => ({ available: false }) });
  a.recordJob('completed', 10);
  assert.is(sample(await a.registry.metrics(), 'vcs_jobs_total{result="completed"}'), 1);
  assert.is(sample(await b.registry.metrics(), 'vcs_jobs_total{result="completed"}'), 0);
  assert.is(sample(await b.registry.metrics(), 'vcs_ffmpeg_available'), 0);
});

exposition('a process without a storage or FFmpeg source (the cluster controller) exports none of their series', async () => {
  const m = createMetrics({ videos: fakeVideos(), defaultMetrics: false });
  const text = await m.registry.metrics();
  for (const name of ['vcs_storage_used_bytes', 'vcs_storage_free_bytes', 'vcs_ffmpeg_available', 'vcs_worker_up', 'vcs_controller_leader']) assert.not.match(text, name, name);
  assert.is(sample(text, 'vcs_queue_depth'), 3);
});

exposition.run();

// ------------------------------------------------------------------------------------------------

const facts = suite('scrape-time facts');

facts('videos by status, queue depth, processing and the paused flag come from the store', async () => {
  const w = await world();
  try {
    w.fake.paused = true;
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_queue_depth'), 3);
    assert.is(sample(text, 'vcs_jobs_processing'), 1);
    assert.equal(samples(text, 'vcs_videos'), [
      'vcs_videos{status="pending"} 3',
      'vcs_videos{status="processing"} 1',
      'vcs_videos{status="completed"} 7',
      'vcs_videos{status="failed"} 2',
      'vcs_videos{status="deleted"} 0',
    ]);
    assert.is(sample(text, 'vcs_worker_paused'), 1);
    assert.is(sample(text, 'vcs_store_up'), 1);
    assert.is(sample(text, 'vcs_store_request_duration_seconds_count{operation="countByStatus"}'), 1);
    assert.is(sample(text, 'vcs_store_request_duration_seconds_count{operation="isPaused"}'), 1);
  } finally {
    await close(w);
  }
});

facts('storage and FFmpeg come from the injected functions', async () => {
  const w = await world();
  try {
    w.ffmpeg = { available: false };
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_storage_used_bytes'), 1_500_000);
    assert.is(sample(text, 'vcs_storage_free_bytes'), 80_000_000_000);
    assert.is(sample(text, 'vcs_ffmpeg_available'), 0);
  } finally {
    await close(w);
  }
});

facts('one store read serves every series of a scrape and the scrapes that overlap it; nothing is kept for the next', async () => {
  const w = await world();
  try {
    await w.scrape();
    assert.is(w.fake.reads, 1, 'five series, one read');
    w.fake.delayMs = 200;
    await Promise.all([w.scrape(), w.scrape(), w.scrape()]);
    assert.is(w.fake.reads, 2, 'three overlapping scrapes, one read');
    w.fake.delayMs = 0;
    w.fake.counts.pending = 9;
    assert.is(sample(await w.scrape(), 'vcs_queue_depth'), 9, 'the next scrape reads again, at once');
    assert.is(w.fake.reads, 3);
  } finally {
    await close(w);
  }
});

facts('a store that fails reads as vcs_store_up 0; its series disappear; the scrape still answers 200', async () => {
  const w = await world();
  try {
    w.fake.failure = vcsError('VCS_ERR_STORE_UNAVAILABLE', 'appwrite: connect ECONNREFUSED');
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_store_up'), 0);
    for (const name of ['vcs_queue_depth', 'vcs_jobs_processing', 'vcs_videos', 'vcs_worker_paused']) assert.equal(samples(text, name), [], name);
    // The other sources are unaffected.
    assert.is(sample(text, 'vcs_storage_free_bytes'), 80_000_000_000);
    assert.is(sample(text, 'vcs_ffmpeg_available'), 1);
    assert.is(sample(text, 'vcs_store_failures_total{operation="countByStatus"}'), 1);

    w.fake.failure = null;
    const back = await w.scrape();
    assert.is(sample(back, 'vcs_store_up'), 1);
    assert.is(sample(back, 'vcs_queue_depth'), 3);
  } finally {
    await close(w);
  }
});

facts('an error without a code (a crashed client library) is down too', async () => {
  const w = await world();
  try {
    w.fake.failure = new TypeError('fetch failed');
    assert.is(sample(await w.scrape(), 'vcs_store_up'), 0);
  } finally {
    await close(w);
  }
});

facts('a store that does not answer is down after readTimeoutMs and does not hold the scrape', async () => {
  const w = await world({ readTimeoutMs: 100 });
  try {
    w.fake.failure = 'hang';
    const started = Date.now();
    const text = await w.scrape();
    assert.ok(Date.now() - started < 2_000, `scrape took ${Date.now() - started} ms`);
    assert.is(sample(text, 'vcs_store_up'), 0);
    assert.equal(samples(text, 'vcs_queue_depth'), []);
  } finally {
    await close(w);
  }
});

facts('a nonsensical answer is a failed read, never a bad sample', async () => {
  const w = await world();
  try {
    w.fake.counts = null as unknown as Record<Status, number>;
    w.storage = { usedBytes: Number.NaN, availableBytes: 1 };
    const text = await w.scrape();
    assert.equal(samples(text, 'vcs_videos'), []);
    assert.equal(samples(text, 'vcs_storage_used_bytes'), []);
    assert.equal(samples(text, 'vcs_storage_free_bytes'), []);
    assert.not.match(text, 'NaN');
  } finally {
    await close(w);
  }
});

facts('failing storage drops only the storage series', async () => {
  const w = await world();
  try {
    w.storage = new Error('EACCES');
    const text = await w.scrape();
    assert.equal(samples(text, 'vcs_storage_used_bytes'), []);
    assert.equal(samples(text, 'vcs_storage_free_bytes'), []);
    assert.is(sample(text, 'vcs_queue_depth'), 3);
  } finally {
    await close(w);
  }
});

facts.run();

// ------------------------------------------------------------------------------------------------

const worker = suite('worker');

worker('last run as Unix seconds, and up while passes keep coming', async () => {
  const w = await world();
  try {
    let text = await w.scrape();
    assert.is(sample(text, 'vcs_worker_last_run_timestamp_seconds'), (T0 - 30_000) / 1000);
    assert.is(sample(text, 'vcs_worker_up'), 1);
    // workerIntervalMs is 60 s: up to two intervals without a pass is still up.
    w.clock.now = T0 - 30_000 + 120_000;
    assert.is(sample(await w.scrape(), 'vcs_worker_up'), 1);
    w.clock.now += 1;
    text = await w.scrape();
    assert.is(sample(text, 'vcs_worker_up'), 0);
    assert.is(sample(text, 'vcs_worker_last_run_timestamp_seconds'), (T0 - 30_000) / 1000);
  } finally {
    await close(w);
  }
});

worker('vcs_controller_leader follows the elector at every scrape', async () => {
  let leading = false;
  const m = createMetrics({ videos: fakeVideos(), leader: () => leading, defaultMetrics: false });
  assert.match(await m.registry.metrics(), '# TYPE vcs_controller_leader gauge');
  assert.is(sample(await m.registry.metrics(), 'vcs_controller_leader'), 0);
  leading = true;
  assert.is(sample(await m.registry.metrics(), 'vcs_controller_leader'), 1);
});

worker('a stopped worker is down; one that never finished a pass is judged from the start', async () => {
  const w = await world();
  try {
    w.worker.status = 'stopped';
    assert.is(sample(await w.scrape(), 'vcs_worker_up'), 0);

    w.worker = { status: 'checking', lastRun: null, jobsProcessed: 0, jobsFailed: 0, lastError: null };
    let text = await w.scrape();
    assert.equal(samples(text, 'vcs_worker_last_run_timestamp_seconds'), []);
    assert.is(sample(text, 'vcs_worker_up'), 1);
    w.clock.now = T0 + 120_001;
    text = await w.scrape();
    assert.is(sample(text, 'vcs_worker_up'), 0, 'stuck in its first pass');
  } finally {
    await close(w);
  }
});

worker('a worker status that cannot be read is down, and the scrape still answers', async () => {
  const w = await world();
  try {
    // The dependency reads w.worker: make reading it throw.
    Object.defineProperty(w, 'worker', {
      get: () => {
        throw new Error('controller gone');
      },
    });
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_worker_up'), 0);
    assert.equal(samples(text, 'vcs_worker_last_run_timestamp_seconds'), []);
  } finally {
    await close(w);
  }
});

worker('without a worker (gateway only) there are no worker_up/last_run series; paused still comes from the store', async () => {
  const w = await world({ withWorker: false });
  try {
    const text = await w.scrape();
    assert.not.match(text, 'vcs_worker_up');
    assert.not.match(text, 'vcs_worker_last_run_timestamp_seconds');
    assert.is(sample(text, 'vcs_worker_paused'), 0);
  } finally {
    await close(w);
  }
});

worker.run();

// ------------------------------------------------------------------------------------------------

const jobs = suite('jobs');

jobs('every result starts at 0, so rate() and increase() work from the first scrape', async () => {
  const m = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 0, availableBytes: 0 }), ffmpeg: async () => ({ available: true }), defaultMetrics: false });
  const text = await m.registry.metrics();
  assert.equal(samples(text, 'vcs_jobs_total'), ['vcs_jobs_total{result="completed"} 0', 'vcs_jobs_total{result="failed_retryable"} 0', 'vcs_jobs_total{result="failed_permanent"} 0']);
  assert.is(sample(text, 'vcs_job_duration_seconds_count{result="completed"}'), 0);
});

jobs('recordJob counts by result and observes durations in encode-sized buckets', async () => {
  const m = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 0, availableBytes: 0 }), ffmpeg: async () => ({ available: true }), defaultMetrics: false });
  m.recordJob('completed', 42);
  m.recordJob('completed', 5400); // a 90-minute encode
  m.recordJob('failed_permanent'); // duration unknown: counted, not observed
  const text = await m.registry.metrics();
  assert.is(sample(text, 'vcs_jobs_total{result="completed"}'), 2);
  assert.is(sample(text, 'vcs_jobs_total{result="failed_permanent"}'), 1);
  assert.is(sample(text, 'vcs_job_duration_seconds_count{result="completed"}'), 2);
  assert.is(sample(text, 'vcs_job_duration_seconds_sum{result="completed"}'), 5442);
  assert.is(sample(text, 'vcs_job_duration_seconds_bucket{le="60",result="completed"}'), 1);
  assert.is(sample(text, 'vcs_job_duration_seconds_bucket{le="3600",result="completed"}'), 1);
  assert.is(sample(text, 'vcs_job_duration_seconds_bucket{le="7200",result="completed"}'), 2);
  assert.is(sample(text, 'vcs_job_duration_seconds_count{result="failed_permanent"}'), 0);
  const les = samples(text, 'vcs_job_duration_seconds_bucket').filter((l) => l.includes('result="completed"')).map((l) => /le="([^"]+)"/.exec(l)?.[1]);
  assert.equal(les, [...JOB_DURATION_BUCKETS.map(String), '+Inf']);
});

jobs('jobHooks turn the controller callbacks into results and durations', async () => {
  const m = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 0, availableBytes: 0 }), ffmpeg: async () => ({ available: true }), defaultMetrics: false });
  m.jobHooks.onCompleted(video({ started_at: '2030-01-01T00:00:00.000Z' }), 125);
  m.jobHooks.onFailed(video({ retryable: true, error_code: 'VCS_ERR_DOWNLOAD_FAILED', started_at: '2030-01-01T00:00:00.000Z', failed_at: '2030-01-01T00:00:20.000Z' }));
  m.jobHooks.onFailed(video({ retryable: false, error_code: 'VCS_ERR_NOT_A_VIDEO', started_at: '2030-01-01T00:00:00.000Z', failed_at: '2030-01-01T00:00:03.000Z' }));
  m.jobHooks.onFailed(video({ retryable: true, error_code: 'VCS_ERR_PROCESSING_TIMEOUT', started_at: null, failed_at: '2030-01-01T00:00:03.000Z' }));
  const text = await m.registry.metrics();
  assert.is(sample(text, 'vcs_jobs_total{result="completed"}'), 1);
  assert.is(sample(text, 'vcs_job_duration_seconds_sum{result="completed"}'), 125);
  assert.is(sample(text, 'vcs_jobs_total{result="failed_retryable"}'), 2);
  assert.is(sample(text, 'vcs_job_duration_seconds_count{result="failed_retryable"}'), 1, 'no start time, no duration');
  assert.is(sample(text, 'vcs_job_duration_seconds_sum{result="failed_retryable"}'), 20);
  assert.is(sample(text, 'vcs_jobs_total{result="failed_permanent"}'), 1);
  assert.is(sample(text, 'vcs_job_duration_seconds_sum{result="failed_permanent"}'), 3);
});

jobs('starts, failures by code and step (bounded), seconds of video encoded and the last completion', async () => {
  const m = createMetrics({ videos: fakeVideos(), storage: async () => ({ usedBytes: 0, availableBytes: 0 }), ffmpeg: async () => ({ available: true }), defaultMetrics: false });
  let text = await m.registry.metrics();
  assert.equal([sample(text, 'vcs_jobs_started_total'), sample(text, 'vcs_encoded_video_seconds_total')], [0, 0]);
  assert.equal(samples(text, 'vcs_job_last_completed_timestamp_seconds'), [], 'absent until a job completed');
  m.jobHooks.onStarted(video({}));
  m.jobHooks.onStarted(video({}));
  m.jobHooks.onCompleted(video({ duration_seconds: 61.5, completed_at: '2030-01-01T00:10:00.000Z' }), 30);
  m.jobHooks.onCompleted(video({ duration_seconds: 10, completed_at: '2030-01-01T00:20:00.000Z' }), 5);
  m.jobHooks.onFailed(video({ retryable: true, error_code: 'VCS_ERR_FFMPEG_FAILED', failed_at_step: 'compressing' }));
  m.jobHooks.onFailed(video({ retryable: true, error_code: 'VCS_ERR_FFMPEG_FAILED', failed_at_step: 'compressing' }));
  // What a document holds is not trusted as a label value.
  m.jobHooks.onFailed(video({ retryable: false, error_code: 'made up by hand', failed_at_step: 'somewhere' as never }));
  text = await m.registry.metrics();
  assert.is(sample(text, 'vcs_jobs_started_total'), 2);
  assert.is(sample(text, 'vcs_encoded_video_seconds_total'), 71.5);
  assert.is(sample(text, 'vcs_job_last_completed_timestamp_seconds'), Date.parse('2030-01-01T00:20:00.000Z') / 1000);
  assert.equal(samples(text, 'vcs_job_failures_total').sort(), [
    'vcs_job_failures_total{code="VCS_ERR_FFMPEG_FAILED",step="compressing"} 2',
    'vcs_job_failures_total{code="other",step="other"} 1',
  ]);
});

jobs('failedResult follows the controller: retryable only when flagged so and the code is not permanent', () => {
  assert.is(failedResult({ retryable: true, error_code: 'VCS_ERR_FFMPEG_FAILED' }), 'failed_retryable');
  assert.is(failedResult({ retryable: true, error_code: 'SOMETHING_UNCATALOGUED' }), 'failed_retryable');
  assert.is(failedResult({ retryable: true, error_code: 'VCS_ERR_SOURCE_FORBIDDEN' }), 'failed_permanent');
  assert.is(failedResult({ retryable: false, error_code: 'VCS_ERR_FFMPEG_FAILED' }), 'failed_permanent');
  assert.is(failedResult({ retryable: null, error_code: null }), 'failed_permanent');
});

jobs.run();

// ------------------------------------------------------------------------------------------------

const http = suite('HTTP');

http('requests are labelled by the matched route pattern, never the raw path', async () => {
  const w = await world();
  try {
    for (const id of [1, 2, 3]) assert.is((await w.get(`/api/post/${id}`)).status, 200);
    assert.is((await w.get('/api/compress/9', { method: 'POST', headers: { authorization: 'Bearer k' } })).status, 202);
    assert.is((await w.get('/api/compress/9', { method: 'POST' })).status, 401, 'route-level auth refused it');
    assert.is((await w.get('/storage/hls/5/master.m3u8')).status, 200);
    assert.is((await w.get('/storage/hls/5/high/segment000.ts')).status, 200);
    assert.is((await w.get('/storage/hls/6/master.m3u8')).status, 404);
    assert.is((await w.get('/nope/123')).status, 404);
    assert.is((await w.get('/api/post/1', { method: 'DELETE' })).status, 405);
    assert.is((await w.get('/admin/jobs/4', { headers: { authorization: 'Bearer k' } })).status, 200);
    assert.is((await w.get('/admin/jobs/4')).status, 401, 'router-level auth refused it');
    const text = await w.scrape();
    assert.equal(samples(text, 'vcs_http_requests_total').sort(), [
      'vcs_http_requests_total{route="/admin/jobs/:id",method="GET",status="200"} 1',
      'vcs_http_requests_total{route="/admin/jobs/:id",method="GET",status="401"} 1',
      'vcs_http_requests_total{route="/api/compress/:wp_post_id",method="POST",status="202"} 1',
      'vcs_http_requests_total{route="/api/compress/:wp_post_id",method="POST",status="401"} 1',
      'vcs_http_requests_total{route="/api/post/:wp_post_id",method="GET",status="200"} 3',
      'vcs_http_requests_total{route="/storage/hls",method="GET",status="200"} 2',
      'vcs_http_requests_total{route="/storage/hls",method="GET",status="404"} 1',
      'vcs_http_requests_total{route="unmatched",method="DELETE",status="405"} 1',
      'vcs_http_requests_total{route="unmatched",method="GET",status="404"} 1',
    ]);
    assert.is(sample(text, 'vcs_http_request_duration_seconds_count{route="/api/post/:wp_post_id",method="GET"}'), 3);
    assert.is(sample(text, 'vcs_http_request_duration_seconds_count{route="/storage/hls",method="GET"}'), 3);
    for (const raw of ['/api/post/1', '/api/post/2', '/nope', 'segment000', 'master.m3u8', '/storage/hls/5']) assert.not.match(text, raw, raw);
    // The scrape before this one is counted under its own route.
    assert.is(sample(await w.scrape(), 'vcs_http_requests_total{route="/metrics",method="GET",status="200"}'), 1);
  } finally {
    await close(w);
  }
});

http('response bytes by route: HLS files and ranges sent are counted, HEAD is not', async () => {
  const w = await world();
  try {
    assert.is(sample(await w.scrape(), 'vcs_http_response_bytes_total{route="/storage/hls"}'), 0, 'present from the start');
    const seg = await w.get('/storage/hls/5/high/segment000.ts');
    assert.is((await seg.arrayBuffer()).byteLength, 188);
    assert.is((await w.get('/storage/hls/5/high/segment000.ts', { method: 'HEAD' })).status, 200);
    const part = await w.get('/storage/hls/5/high/segment000.ts', { headers: { range: 'bytes=0-99' } });
    assert.is((await part.arrayBuffer()).byteLength, 100);
    // A playlist comes from memory, written by the handler itself.
    assert.is((await (await w.get('/storage/hls/5/master.m3u8')).text()).length, 8);
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_http_response_bytes_total{route="/storage/hls"}'), 296);
  } finally {
    await close(w);
  }
});

http('errors carry the status the response got, with or without an error middleware below', async () => {
  const w = await world({ errorMiddleware: false });
  try {
    assert.is((await w.get('/api/boom')).status, 500);
    assert.is((await w.get('/api/unavailable')).status, 503);
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_http_requests_total{route="/api/boom",method="GET",status="500"}'), 1);
    assert.is(sample(text, 'vcs_http_requests_total{route="/api/unavailable",method="GET",status="503"}'), 1);
  } finally {
    await close(w);
  }
  const handled = await world();
  try {
    assert.is((await handled.get('/api/unavailable')).status, 503);
    assert.is(sample(await handled.scrape(), 'vcs_http_requests_total{route="/api/unavailable",method="GET",status="503"}'), 1);
  } finally {
    await close(handled);
  }
});

http('methods outside the usual set are "other"', async () => {
  const w = await world();
  try {
    assert.is((await w.get('/api/post/1', { method: 'PROPFIND' })).status, 501, "allowedMethods: a method the router doesn't implement");
    const text = await w.scrape();
    assert.is(sample(text, 'vcs_http_requests_total{route="unmatched",method="other",status="501"}'), 1);
    assert.not.match(text, 'PROPFIND');
  } finally {
    await close(w);
  }
});

http('routeLabel: matched pattern, then the HLS prefix, then unmatched', () => {
  const GET = 'GET';
  assert.is(routeLabel({ method: GET, path: '/api/post/1', _matchedRoute: '/api/post/:wp_post_id' }), '/api/post/:wp_post_id');
  assert.is(routeLabel({ method: GET, path: '/storage/hls/1/master.m3u8' }, ['/storage/hls']), '/storage/hls');
  assert.is(routeLabel({ method: GET, path: '/storage/hls/1/master.m3u8' }), 'unmatched', 'only the prefixes it is given');
  assert.is(routeLabel({ method: GET, path: '/storage/hlsx' }, ['/storage/hls']), 'unmatched');
  assert.is(routeLabel({ method: GET, path: '/anything' }), 'unmatched');
  assert.is(routeLabel({ method: GET, path: '/x', _matchedRoute: /^\/x$/ }), '/^\\/x$/');
  const matched = [
    { path: '/admin(?:/|$)', methods: [] },
    { path: '/admin/jobs/:id', methods: ['HEAD', 'GET'] },
  ];
  assert.is(routeLabel({ method: GET, path: '/admin/jobs/1', _matchedRoute: '/admin(?:/|$)', matched }), '/admin/jobs/:id', 'left by router-level middleware');
  assert.is(routeLabel({ method: 'POST', path: '/admin/jobs/1', _matchedRoute: '/admin(?:/|$)', matched }), '/admin(?:/|$)', 'no route for this method');
});

http.run();
