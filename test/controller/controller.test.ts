/**
 * The controller loop end to end: a real SQLite store, the real local runner and the fake
 * transcoder (test/support/fake-transcoder.mjs). The timer is far away (intervalMs one minute), so
 * every pass comes from start(), poke() or a run changing phase.
 */
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReconcileSettings } from '../../src/controller/actions.ts';
import { jobSpecOn } from '../../src/controller/apply.ts';
import { createController, type Controller } from '../../src/controller/controller.ts';
import { createLocalRunner } from '../../src/controller/local-runner.ts';
import type { Runner } from '../../src/controller/runner.ts';
import type { TranscodeResult } from '../../src/contract.ts';
import { vcsError } from '../../src/errors.ts';
import type { NewVideo, VideoJob } from '../../src/jobs/model.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import type { Logger } from '../../src/log.ts';
import {
  FAKE_COMMAND,
  TEST_LADDER,
  fakeEnv,
  processGone,
  readEvents,
  silentLog,
  waitFor,
  type FakeBehaviour,
  type FakeOptions,
} from '../support/fake-transcoder-runs.ts';

const PUBLIC_URL = 'https://cdn.example.com/';
const CDN = 'https://cdn.example.com/storage/hls';

const DEFAULTS: ReconcileSettings = { maxConcurrentJobs: 1, processingTimeoutMs: 60_000, retryFailedAfterMs: 60_000, maxRetries: 0 };

interface Harness {
  store: JobStore;
  runner: ReturnType<typeof createLocalRunner>;
  controller: Controller;
  /** The fake's event log (start, sigterm, exit … per run). */
  events: string;
  runsDir: string;
  /** Every runner.start the controller made, in order, with the number of runs in flight just before it. */
  starts: { jobName: string; at: number; inFlight: number }[];
  /** Every runner.stop the controller made. */
  stops: { jobName: string; reason: string }[];
  /** store.isPaused calls: one per pass. */
  passes: () => number;
}

interface Ctx {
  dir: string;
  harnesses: Harness[];
}

const test = suite<Ctx>('controller', { dir: '', harnesses: [] });

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-controller-'));
  ctx.harnesses = [];
});

test.after.each(async (ctx) => {
  for (const h of ctx.harnesses) {
    await h.controller.stop();
    await h.runner.close();
    await h.store.close();
  }
  await rm(ctx.dir, { recursive: true, force: true });
});

interface SetupOptions extends FakeOptions {
  behaviour: FakeBehaviour;
  settings?: Partial<ReconcileSettings>;
  /** Wraps the store the controller sees (the test keeps the plain one). */
  wrapStore?: (store: JobStore) => JobStore;
  /** Runs before the controller is created, e.g. the runner's recover(). */
  beforeController?: (h: Pick<Harness, 'store' | 'runner' | 'runsDir'>) => Promise<void>;
  /** The poke budget (the controller's defaults otherwise). */
  poke?: { burst: number; gapMs: number };
  /** The controller's log (silent otherwise). */
  controllerLog?: Logger;
}

async function setup(ctx: Ctx, opts: SetupOptions): Promise<Harness> {
  const settings = { ...DEFAULTS, ...opts.settings };
  const tempPath = path.join(ctx.dir, 'tmp');
  const runsDir = path.join(tempPath, 'runs');
  const events = path.join(ctx.dir, 'events.jsonl');
  // Store timestamps from the real clock, strictly increasing so creation order is FIFO order.
  let last = 0;
  const storeNow = () => (last = Math.max(Date.now(), last + 1));
  const store = createSqliteStore({ file: path.join(ctx.dir, 'vcs.sqlite'), now: storeNow });
  await store.init();
  const runner = createLocalRunner({
    command: FAKE_COMMAND,
    baseEnv: fakeEnv(opts.behaviour, { ...opts, log: events }),
    runsDir,
    maxRunning: settings.maxConcurrentJobs,
    log: silentLog(),
  });
  await opts.beforeController?.({ store, runner, runsDir });
  const starts: Harness['starts'] = [];
  const stops: Harness['stops'] = [];
  const observed: Runner = {
    ...runner,
    async start(job) {
      const inFlight = (await runner.list()).filter((r) => r.phase === 'running').length;
      starts.push({ jobName: job.jobName, at: Date.now(), inFlight });
      return runner.start(job);
    },
    async stop(jobName, reason) {
      stops.push({ jobName, reason });
      return runner.stop(jobName, reason);
    },
  };
  let passes = 0;
  const counted: JobStore = {
    ...store,
    isPaused: () => {
      passes++;
      return store.isPaused();
    },
  };
  const controller = createController({
    store: opts.wrapStore ? opts.wrapStore(counted) : counted,
    runner: observed,
    log: opts.controllerLog ?? silentLog(),
    now: Date.now,
    intervalMs: 60_000,
    settings,
    pokeBurst: opts.poke?.burst,
    pokeGapMs: opts.poke?.gapMs,
    apply: { publicUrl: PUBLIC_URL, volume: { hlsPath: path.join(ctx.dir, 'hls'), tempPath }, jobSpec: jobSpecOn({ hlsPath: path.join(ctx.dir, 'hls'), tempPath }, TEST_LADDER, null) },
  });
  const h: Harness = { store, runner, controller, events, runsDir, starts, stops, passes: () => passes };
  ctx.harnesses.push(h);
  return h;
}

const newVideo = (id: number, over: Partial<NewVideo> = {}): NewVideo => ({
  wp_post_id: id,
  title: `Video ${id}`,
  original_video_url: `https://wp.example/uploads/${id}.mp4`,
  ...over,
});

async function video(h: Harness, id: number): Promise<VideoJob> {
  const v = await h.store.get(id);
  assert.ok(v, `video ${id} exists`);
  return v;
}

/** Polls, poking the controller between tries, until video `id` is `status`. */
function until(h: Harness, id: number, status: VideoJob['compression_status'], timeoutMs = 5000): Promise<VideoJob> {
  return settledAfter(
    h,
    waitFor(`video ${id} to be ${status}`, async () => {
      const v = await h.store.get(id);
      return v?.compression_status === status && v;
    }, { timeoutMs, between: h.controller.poke }),
  );
}

/**
 * `seen`, once the pass that made it true has ended: a pass writes the store and the runner before
 * it counts the outcome in status() and removes the run's files.
 */
async function settledAfter<T>(h: Harness, seen: Promise<T>): Promise<T> {
  const value = await seen;
  await h.controller.idle();
  return value;
}

/** Asserts `probe` stays true for `ms` while the controller is poked: for things that must not happen. */
async function holds(h: Harness, what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    assert.ok(await probe(), what);
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.controller.poke();
  }
  await h.controller.idle();
  assert.ok(await probe(), what);
}

/** Waits until the runner has forgotten every run (each outcome recorded in the store). */
function runnerEmpty(h: Harness): Promise<true> {
  return settledAfter(h, waitFor('the runner to forget every run', async () => (await h.runner.list()).length === 0, { between: h.controller.poke }));
}

/** The pid of the fake transcoder of `jobName`, once it has installed its signal handlers. */
function fakeStarted(h: Harness, jobName: string): Promise<number> {
  return waitFor(`${jobName} to start`, async () => (await readEvents(h.events)).find((e) => e.event === 'start' && e.job === jobName)?.pid);
}

const exists = (file: string) => access(file).then(() => true, () => false);

const isoAfterOrAt = (later: string | null, earlier: string | null) => later !== null && earlier !== null && Date.parse(later) >= Date.parse(earlier);

// ── the queue ──────────────────────────────────────────────────────────────────────────────────

test('three pending videos, MAX_CONCURRENT_JOBS 1: completed one at a time in FIFO order', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'succeed', delayMs: 150 });
  // Creation order differs from id order: FIFO is by creation.
  for (const id of [30, 10, 20]) await h.store.create(newVideo(id));
  assert.equal(h.controller.status(), { status: 'idle', lastRun: null, jobsProcessed: 0, jobsFailed: 0, lastError: null });

  h.controller.start();
  for (const id of [30, 10, 20]) await until(h, id, 'completed');
  await runnerEmpty(h);

  assert.equal(h.starts.map((s) => s.jobName), ['vcs-30-1', 'vcs-10-1', 'vcs-20-1']);
  assert.equal(h.starts.map((s) => s.inFlight), [0, 0, 0], 'nothing else in flight at each start');
  const [a, b, c] = [await video(h, 30), await video(h, 10), await video(h, 20)];
  assert.ok(isoAfterOrAt(b.started_at, a.completed_at), 'the second starts after the first completed');
  assert.ok(isoAfterOrAt(c.started_at, b.completed_at), 'the third starts after the second completed');
  const fakeStarts = (await readEvents(h.events)).filter((e) => e.event === 'start').map((e) => e.job);
  assert.equal(fakeStarts, ['vcs-30-1', 'vcs-10-1', 'vcs-20-1'], 'each video encoded once');

  const status = h.controller.status();
  assert.is(status.jobsProcessed, 3);
  assert.is(status.jobsFailed, 0);
  assert.is(status.lastError, null);
  assert.ok(status.lastRun !== null && Date.parse(status.lastRun) >= Date.parse(c.completed_at!), 'lastRun is the last pass');
  assert.equal(await readdir(h.runsDir), [], 'records and results of forgotten runs are gone');
});

test('a completed video gets the package URLs from PUBLIC_URL, total_size and duration_seconds', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'succeed' });
  await h.store.create(newVideo(7));
  h.controller.start();
  const done = await until(h, 7, 'completed');
  assert.equal(
    {
      step: done.compression_step,
      progress: done.compression_progress,
      job: done.job_name,
      master: done.master_playlist_url,
      poster: done.poster_url,
      high: done.hls_high_url,
      medium: done.hls_medium_url,
      low: done.hls_low_url,
      size: done.total_size,
      duration: done.duration_seconds,
      error: done.error_message,
    },
    {
      step: 'completed',
      progress: 100,
      job: 'vcs-7-1',
      master: `${CDN}/7/master.m3u8`,
      poster: `${CDN}/7/poster.jpg`,
      high: `${CDN}/7/high/playlist.m3u8`,
      medium: `${CDN}/7/medium/playlist.m3u8`,
      low: `${CDN}/7/low/playlist.m3u8`,
      size: 20_000 + 3_000_000 + 1_500_000 + 800_000,
      duration: 8.5,
      error: null,
    },
  );
  assert.ok(isoAfterOrAt(done.completed_at, done.started_at));
});

test('renditions missing from the result get null URLs', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'succeed', renditions: ['high', 'low'] });
  await h.store.create(newVideo(8));
  h.controller.start();
  const done = await until(h, 8, 'completed');
  assert.equal(
    [done.master_playlist_url, done.hls_high_url, done.hls_medium_url, done.hls_low_url, done.total_size],
    [`${CDN}/8/master.m3u8`, `${CDN}/8/high/playlist.m3u8`, null, `${CDN}/8/low/playlist.m3u8`, 20_000 + 3_000_000 + 800_000],
  );
});

test('a high-priority video jumps the queue', async (ctx) => {
  // The first run lasts until the gate file exists, so video 3 is queued while it runs.
  const gate = path.join(ctx.dir, 'gate');
  const h = await setup(ctx, { behaviour: 'succeed', gate });
  await h.store.create(newVideo(1));
  await h.store.create(newVideo(2));
  h.controller.start();
  await fakeStarted(h, 'vcs-1-1');
  await h.store.create(newVideo(3, { priority: 'high' }));
  await writeFile(gate, '');
  for (const id of [1, 2, 3]) await until(h, id, 'completed');
  assert.equal(h.starts.map((s) => s.jobName), ['vcs-1-1', 'vcs-3-1', 'vcs-2-1']);
});

// ── failures ───────────────────────────────────────────────────────────────────────────────────

test('a permanent failure (exit 2) ends failed with the transcoder’s error and is never retried', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'fail-permanent', settings: { retryFailedAfterMs: 50, maxRetries: 3 } });
  await h.store.create(newVideo(5));
  h.controller.start();
  const failed = await until(h, 5, 'failed');
  assert.equal(
    [failed.error_code, failed.error_message, failed.failed_at_step, failed.retryable, failed.retry_count, failed.job_name],
    ['VCS_ERR_NOT_A_VIDEO', 'the source is not a video (no video stream)', 'probing', false, 0, 'vcs-5-1'],
  );
  assert.ok(isoAfterOrAt(failed.failed_at, failed.started_at));
  await runnerEmpty(h);
  await holds(h, 'video 5 stays failed, never started again', async () => (await video(h, 5)).compression_status === 'failed' && h.starts.length === 1, 400);
  assert.is((await video(h, 5)).retry_count, 0);
  assert.is(h.controller.status().jobsFailed, 1);
  assert.is(h.controller.status().jobsProcessed, 0);
});

test('a retryable failure is re-queued after retryFailedAfterMs, up to maxRetries, then stays failed', async (ctx) => {
  const retryFailedAfterMs = 300;
  const h = await setup(ctx, { behaviour: 'fail-retryable', settings: { retryFailedAfterMs, maxRetries: 2 } });
  await h.store.create(newVideo(6));
  h.controller.start();
  await waitFor('three attempts', () => h.starts.length === 3, { timeoutMs: 8000, between: h.controller.poke });
  const failed = await until(h, 6, 'failed');
  assert.equal(h.starts.map((s) => s.jobName), ['vcs-6-1', 'vcs-6-2', 'vcs-6-3']);
  for (const [prev, next] of [[0, 1], [1, 2]] as const) {
    assert.ok(h.starts[next]!.at - h.starts[prev]!.at >= retryFailedAfterMs, `attempt ${next + 1} waited for retryFailedAfterMs`);
  }
  assert.equal(
    [failed.error_code, failed.error_message, failed.failed_at_step, failed.retryable, failed.retry_count, failed.job_name],
    ['VCS_ERR_FFMPEG_FAILED', 'ffmpeg exited with code 1', 'compressing', true, 2, 'vcs-6-3'],
  );
  await runnerEmpty(h);
  await holds(h, 'out of retries: video 6 stays failed', async () => (await video(h, 6)).compression_status === 'failed' && h.starts.length === 3, 2 * retryFailedAfterMs);
  assert.is(h.controller.status().jobsFailed, 3);
});

test('processing timeout: the video fails with "Processing timeout" and its run is stopped', async (ctx) => {
  const processingTimeoutMs = 800;
  const h = await setup(ctx, { behaviour: 'hang', settings: { processingTimeoutMs } });
  await h.store.create(newVideo(4));
  h.controller.start();
  const pid = await fakeStarted(h, 'vcs-4-1');
  const failed = await until(h, 4, 'failed');
  assert.equal(
    [failed.error_message, failed.error_code, failed.retryable, failed.failed_at_step],
    ['Processing timeout', 'VCS_ERR_PROCESSING_TIMEOUT', true, 'queued'],
  );
  assert.ok(Date.parse(failed.failed_at!) - Date.parse(failed.started_at!) > processingTimeoutMs);
  // Later passes may ask again while the run shuts down; the runner signals it once (events below).
  assert.equal(h.stops[0], { jobName: 'vcs-4-1', reason: 'Processing timeout' });
  assert.ok(h.stops.every((s) => s.jobName === 'vcs-4-1'));
  await runnerEmpty(h);
  assert.ok(processGone(pid));
  assert.equal(
    (await readEvents(h.events)).map((e) => [e.event, e.code]),
    [['start', undefined], ['sigterm', undefined], ['exit', 143]],
  );
  // The run's own late cancellation result does not overwrite the timeout.
  assert.is((await video(h, 4)).error_message, 'Processing timeout');
});

// ── pause, deletion ────────────────────────────────────────────────────────────────────────────

test('paused: nothing starts; after resume the queue moves', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'succeed' });
  await h.store.setPaused(true);
  await h.store.create(newVideo(1));
  h.controller.start();
  await h.controller.idle();
  await holds(h, 'video 1 waits while paused', async () => (await video(h, 1)).compression_status === 'pending' && h.starts.length === 0, 200);
  assert.is(h.controller.status().status, 'paused');

  await h.store.setPaused(false);
  h.controller.poke();
  await until(h, 1, 'completed');
  assert.equal(h.starts.map((s) => s.jobName), ['vcs-1-1']);
});

test('a video deleted while its run hangs gets its run stopped with SIGTERM, and nothing restarts it', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'hang' });
  await h.store.create(newVideo(2));
  h.controller.start();
  const pid = await fakeStarted(h, 'vcs-2-1');
  await until(h, 2, 'processing');

  await h.store.transition(2, 'deleted');
  h.controller.poke();
  await runnerEmpty(h);
  assert.ok(processGone(pid));
  assert.ok(h.stops.length >= 1);
  for (const stop of h.stops) {
    assert.is(stop.jobName, 'vcs-2-1');
    assert.is(stop.reason, 'video 2 is no longer processing');
  }
  assert.equal(
    (await readEvents(h.events)).map((e) => [e.event, e.code]),
    [['start', undefined], ['sigterm', undefined], ['exit', 143]],
  );
  await holds(h, 'video 2 stays deleted and is not started again', async () => (await video(h, 2)).compression_status === 'deleted' && h.starts.length === 1, 200);
});

test('a run that published after its video was deleted: once it has ended, its package and work folder are removed', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'hang' });
  const hls = path.join(ctx.dir, 'hls');
  await h.store.create(newVideo(3));
  h.controller.start();
  await fakeStarted(h, 'vcs-3-1');
  await until(h, 3, 'processing');
  // Deleted with its files (URLs cleared, as the API does); the run, not yet stopped, publishes once more.
  await h.store.transition(3, 'deleted', { master_playlist_url: null });
  const late = path.join(hls, '3', 'high');
  await mkdir(late, { recursive: true });
  await writeFile(path.join(late, 'segment000.ts'), Buffer.alloc(1000));
  const work = path.join(ctx.dir, 'tmp', 'work', 'vcs-3-1');
  await mkdir(path.join(work, 'staging'), { recursive: true });
  h.controller.poke();
  await runnerEmpty(h);
  assert.not.ok(await exists(path.join(hls, '3')), 'the late package is gone');
  assert.not.ok(await exists(work), 'and the run’s work folder');

  // Deleted but its files kept (delete_files=false): the package stays.
  await h.store.create(newVideo(4));
  h.controller.poke();
  await fakeStarted(h, 'vcs-4-1');
  await until(h, 4, 'processing');
  await mkdir(path.join(hls, '4'), { recursive: true });
  await writeFile(path.join(hls, '4', 'master.m3u8'), '#EXTM3U\n');
  await h.store.update(4, { master_playlist_url: 'https://cdn.example.com/storage/hls/4/master.m3u8' });
  await h.store.transition(4, 'deleted');
  h.controller.poke();
  await runnerEmpty(h);
  assert.ok(await exists(path.join(hls, '4', 'master.m3u8')), 'kept as asked');
});

test('a clean-up that fails (the store out of reach) keeps the run listed, and a later pass removes the late package', async (ctx) => {
  let failGets = 0;
  const flaky = (store: JobStore): JobStore => ({
    ...store,
    get: async (id) => {
      if (failGets > 0) {
        failGets -= 1;
        throw vcsError('VCS_ERR_STORE_UNAVAILABLE', 'appwrite: connect ECONNREFUSED');
      }
      return store.get(id);
    },
  });
  const h = await setup(ctx, { behaviour: 'hang', wrapStore: flaky });
  const hls = path.join(ctx.dir, 'hls');
  await h.store.create(newVideo(6));
  h.controller.start();
  await fakeStarted(h, 'vcs-6-1');
  await until(h, 6, 'processing');
  await h.store.transition(6, 'deleted', { master_playlist_url: null });
  await mkdir(path.join(hls, '6'), { recursive: true });
  await writeFile(path.join(hls, '6', 'master.m3u8'), '#EXTM3U\n');
  // The pass that stops the run reads no video; the pass after it ends, the one that forgets it, does.
  failGets = 1;
  h.controller.poke();
  await waitFor('the forget pass to fail', async () => failGets === 0);
  await h.controller.idle();
  assert.ok((await h.runner.list()).some((r) => r.jobName === 'vcs-6-1' && r.phase !== 'running'), 'the run is still listed');
  assert.ok(await exists(path.join(hls, '6', 'master.m3u8')));
  await runnerEmpty(h);
  assert.not.ok(await exists(path.join(hls, '6')), 'removed by a later pass');
});

// ── restart of the service ─────────────────────────────────────────────────────────────────────

const okResult = (jobName: string, videoId: number): TranscodeResult => ({
  ok: true,
  jobName,
  videoId,
  step: 'completed',
  output: { renditions: [], posterBytes: 10, totalBytes: 110, durationSeconds: 3 },
  timings: {},
});

test('after a restart: a run that succeeded meanwhile completes its video unencoded; a lost run runs again as attempt 2, counted', async (ctx) => {
  const h = await setup(ctx, {
    behaviour: 'succeed',
    settings: { maxConcurrentJobs: 2, maxRetries: 1 },
    async beforeController({ store, runner, runsDir }) {
      // What the previous service process left: two videos in processing, their run records, one result.
      await mkdir(runsDir, { recursive: true });
      for (const id of [1, 2]) {
        await store.create(newVideo(id));
        await store.transition(id, 'processing', { job_name: `vcs-${id}-1`, started_at: new Date().toISOString() });
        const resultPath = path.join(runsDir, `vcs-${id}-1.result.json`);
        await writeFile(path.join(runsDir, `vcs-${id}-1.run.json`), JSON.stringify({ jobName: `vcs-${id}-1`, videoId: id, pid: -1, startedAt: Date.now(), resultPath }));
        if (id === 1) await writeFile(resultPath, JSON.stringify(okResult('vcs-1-1', 1)));
      }
      await runner.recover();
    },
  });
  h.controller.start();
  const [one, two] = [await until(h, 1, 'completed'), await until(h, 2, 'completed')];
  assert.equal([one.job_name, one.total_size, one.duration_seconds, one.hls_high_url], ['vcs-1-1', 110, 3, null]);
  assert.is(two.job_name, 'vcs-2-2');
  assert.is(two.retry_count, 1, 'the lost attempt counts against MAX_RETRIES');
  assert.equal(h.starts.map((s) => s.jobName), ['vcs-2-2']);
  await runnerEmpty(h);
  assert.equal(await readdir(h.runsDir), []);
});

// ── the loop itself ────────────────────────────────────────────────────────────────────────────

/** A store whose listProcessing waits for `open()`: holds a pass in the middle. */
function gatedStore() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { open: () => open(), wrap: (store: JobStore): JobStore => ({ ...store, listProcessing: async () => (await gate, store.listProcessing()) }) };
}

test('pokes during a pass collapse into one more pass', async (ctx) => {
  const gate = gatedStore();
  const h = await setup(ctx, { behaviour: 'succeed', wrapStore: gate.wrap });
  h.controller.start();
  for (let i = 0; i < 5; i++) h.controller.poke();
  assert.is(h.passes(), 1);
  gate.open();
  await h.controller.idle();
  assert.is(h.passes(), 2);
});

test('a flood of pokes costs a few passes, not one per poke', async (ctx) => {
  const h = await setup(ctx, { behaviour: 'succeed', poke: { burst: 5, gapMs: 200 } });
  h.controller.start();
  await h.controller.idle();
  const before = h.passes();
  const started = Date.now();
  for (let i = 0; i < 100; i++) {
    h.controller.poke();
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await h.controller.idle();
  const passes = h.passes() - before;
  // A burst of five at once, then one per 200 ms (the default pokeGapMs), plus the pass after a pass.
  assert.ok(passes >= 1 && passes <= 5 + 2 + Math.ceil((Date.now() - started) / 200), `${passes} passes for 100 pokes`);
});

test('pokes that keep coming during slow passes go through the same budget: a few passes per second, not back to back', async (ctx) => {
  // Every store read takes 30 ms, so a pass takes ~120 ms and pokes always arrive during one.
  const slow = (store: JobStore): JobStore => ({ ...store, isPaused: async () => (await new Promise((r) => setTimeout(r, 30)), store.isPaused()), listProcessing: async () => (await new Promise((r) => setTimeout(r, 30)), store.listProcessing()) });
  const h = await setup(ctx, { behaviour: 'succeed', wrapStore: slow, poke: { burst: 5, gapMs: 200 } });
  h.controller.start();
  await h.controller.idle();
  const before = h.passes();
  const started = Date.now();
  const flood = setInterval(() => h.controller.poke(), 2);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  clearInterval(flood);
  await h.controller.idle();
  const passes = h.passes() - before;
  const allowed = 5 + Math.ceil((Date.now() - started) / 200) + 1;
  assert.ok(passes <= allowed, `${passes} passes in ${Date.now() - started} ms of pokes (at most ${allowed})`);
});

test('the default budget lets everyday pokes act at once: a run ending and a video queued right after start without waiting', async (ctx) => {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
  const h = await setup(ctx, { behaviour: 'succeed', controllerLog: log });
  h.controller.start();
  for (let id = 1; id <= 12; id++) {
    await h.store.create(newVideo(id));
    h.controller.poke();
    await waitFor(`video ${id} to start`, async () => h.starts.length === id);
    assert.equal(lines.filter((m) => m.startsWith('poke deferred')), [], `video ${id}: no poke waited for the budget`);
    // Its end pokes the controller itself (the runner's change event): no poking from here.
    await waitFor(`video ${id} to complete`, async () => (await h.store.get(id))?.compression_status === 'completed');
  }
});

test('stop() waits for the pass in progress; afterwards poke() does nothing', async (ctx) => {
  const gate = gatedStore();
  const h = await setup(ctx, { behaviour: 'succeed', wrapStore: gate.wrap });
  await h.store.create(newVideo(1));
  h.controller.start();
  assert.is(h.controller.status().status, 'checking');

  let stopped = false;
  const stopping = h.controller.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.not.ok(stopped, 'stop() is still waiting for the pass');
  assert.is(h.controller.status().lastRun, null);

  gate.open();
  await stopping;
  const after = h.controller.status();
  assert.is(after.status, 'stopped');
  assert.ok(after.lastRun !== null, 'the pass in progress ran to its end');
  assert.equal(h.starts, [], 'a stopping controller starts no new work');

  const passes = h.passes();
  h.controller.poke();
  await h.controller.idle();
  assert.is(h.passes(), passes, 'no pass after stop');
  assert.equal(h.controller.status(), after);
  assert.is((await video(h, 1)).compression_status, 'pending');
});

test.run();
