import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError, vcsError } from '../../src/errors.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { instrumentStore, STORE_OPERATIONS, storeReached, type StoreObserver, type StoreOperation } from '../../src/metrics/store.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { storeContract } from '../support/store-contract.ts';

const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'vcs-instrumented-'));

interface Call {
  operation: StoreOperation;
  seconds: number;
  reached: boolean;
}

function recorder(): StoreObserver & { calls: Call[] } {
  const calls: Call[] = [];
  return { calls, observe: (operation, seconds, reached) => void calls.push({ operation, seconds, reached }) };
}

/** A store whose every method runs `impl` (which may throw), for the up/down rules. */
function stubStore(impl: (operation: StoreOperation) => Promise<unknown>): JobStore {
  return Object.fromEntries(STORE_OPERATIONS.map((op) => [op, () => impl(op)])) as unknown as JobStore;
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// ------------------------------------------------------------------------------------------------
// Wrapping changes no behaviour: the whole JobStore contract, through the wrapper.

const contractCalls = recorder();
storeContract('instrumented sqlite-store', async () => {
  const dir = await tempDir();
  const clock = {
    now: Date.parse('2030-01-01T00:00:00.000Z'),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const inner = createSqliteStore({ file: path.join(dir, 'jobs.sqlite'), now: () => clock.now });
  return { store: instrumentStore(inner, contractCalls), clock, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// ------------------------------------------------------------------------------------------------

const test = suite<{ dir: string; store: JobStore; observer: ReturnType<typeof recorder> }>('instrumentStore', {} as never);

test.before.each(async (ctx) => {
  ctx.dir = await tempDir();
  ctx.observer = recorder();
  ctx.store = instrumentStore(createSqliteStore({ file: path.join(ctx.dir, 'jobs.sqlite'), now: Date.now }), ctx.observer);
  await ctx.store.init();
});
test.after.each(async (ctx) => {
  await ctx.store.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

test('the contract suite went through the wrapper and every call was observed as reaching the store', () => {
  // The contract suite above ran first (uvu runs suites in order of definition).
  assert.ok(contractCalls.calls.length > 50, `only ${contractCalls.calls.length} calls observed`);
  const seen = new Set(contractCalls.calls.map((c) => c.operation));
  for (const op of ['init', 'close', 'create', 'get', 'transition', 'update', 'list', 'countByStatus'] as const) assert.ok(seen.has(op), op);
  // The contract provokes NOT_FOUND, CONFLICT and ILLEGAL_TRANSITION: all are answers, none is "down".
  assert.ok(contractCalls.calls.every((c) => c.reached));
});

test('the wrapper has exactly the methods of the real store', () => {
  const real = createSqliteStore({ file: ':memory:', now: Date.now });
  assert.equal(Object.keys(real).sort(), [...STORE_OPERATIONS].sort());
  assert.equal(Object.keys(instrumentStore(real, recorder())).sort(), [...STORE_OPERATIONS].sort());
});

test('each call reports its operation name, a duration and success', async ({ store, observer }) => {
  observer.calls.length = 0;
  const created = await store.create({ wp_post_id: 1, title: 'One', original_video_url: 'https://wp.example/1.mp4' });
  assert.is(created.wp_post_id, 1);
  assert.is((await store.get(1))?.title, 'One');
  assert.equal(await store.countByStatus(), { pending: 1, processing: 0, completed: 0, failed: 0, deleted: 0 });
  await store.ping();
  assert.equal(
    observer.calls.map((c) => [c.operation, c.reached]),
    [
      ['create', true],
      ['get', true],
      ['countByStatus', true],
      ['ping', true],
    ],
  );
  for (const c of observer.calls) assert.ok(c.seconds >= 0 && c.seconds < 5, String(c.seconds));
});

test('coded answers (not found, conflict, illegal transition) pass through unchanged and count as reached', async ({ store, observer }) => {
  await store.create({ wp_post_id: 2, title: 'Two', original_video_url: 'https://wp.example/2.mp4' });
  observer.calls.length = 0;
  const codeOf = (p: Promise<unknown>) => p.then(() => 'none', (err: unknown) => (err instanceof VcsError ? err.code : 'not a VcsError'));
  assert.is(await codeOf(store.update(99, { title: 'x' })), 'VCS_ERR_NOT_FOUND');
  assert.is(await codeOf(store.create({ wp_post_id: 2, title: 'Again', original_video_url: 'https://wp.example/2.mp4' })), 'VCS_ERR_CONFLICT');
  assert.is(await codeOf(store.transition(2, 'completed')), 'VCS_ERR_ILLEGAL_TRANSITION');
  assert.equal(
    observer.calls.map((c) => [c.operation, c.reached]),
    [
      ['update', true],
      ['create', true],
      ['transition', true],
    ],
  );
});

test('a closed store is unavailable: the error passes through and counts as not reached', async ({ store, observer }) => {
  await store.close();
  observer.calls.length = 0;
  const err = await store.get(1).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, VcsError);
  assert.is((err as VcsError).code, 'VCS_ERR_STORE_UNAVAILABLE');
  assert.equal(observer.calls.map((c) => [c.operation, c.reached]), [['get', false]]);
  await store.init(); // for after.each
});

test('arguments, this and results are passed through untouched', async () => {
  const seen: unknown[] = [];
  const inner = {
    ...stubStore(async () => undefined),
    marker: 'inner',
    async listRetryable(this: { marker: string }, failedBefore: string, maxRetries: number, limit: number) {
      seen.push(this.marker, failedBefore, maxRetries, limit);
      return [];
    },
  } as unknown as JobStore;
  const result = await instrumentStore(inner, recorder()).listRetryable('2030-01-01T00:00:00.000Z', 3, 100);
  assert.equal(result, []);
  assert.equal(seen, ['inner', '2030-01-01T00:00:00.000Z', 3, 100]);
});

test('storeReached: only VCS_ERR_STORE_UNAVAILABLE and uncoded errors mean the store was not reached', () => {
  assert.is(storeReached(vcsError('VCS_ERR_NOT_FOUND', 'x')), true);
  assert.is(storeReached(vcsError('VCS_ERR_CONFLICT', 'x')), true);
  assert.is(storeReached(vcsError('VCS_ERR_ILLEGAL_TRANSITION', 'x')), true);
  assert.is(storeReached(vcsError('VCS_ERR_STORE_UNAVAILABLE', 'x')), false);
  assert.is(storeReached(new Error('ECONNREFUSED')), false);
  assert.is(storeReached(new TypeError('fetch failed')), false);
  assert.is(storeReached('a string'), false);
});


// ------------------------------------------------------------------------------------------------
// Through the metrics: vcs_store_request_duration_seconds, vcs_store_failures_total, vcs_store_up.

const withMetrics = suite('instrumentStore → metrics');

const scrape = async (metrics: ReturnType<typeof createMetrics>) => metrics.registry.metrics();

withMetrics('durations land in the operation histogram, in the right bucket', async () => {
  const counts = { pending: 0, processing: 0, completed: 0, failed: 0, deleted: 0 };
  const inner = stubStore((op) => (op === 'get' ? new Promise((resolve) => setTimeout(() => resolve(null), 30)) : Promise.resolve(op === 'countByStatus' ? counts : null)));
  let store: JobStore = inner;
  const metrics = createMetrics({ videos: async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() }), defaultMetrics: false });
  store = instrumentStore(inner, metrics.storeObserver);
  await store.get(1);
  await store.get(2);
  await store.ping();
  const text = await scrape(metrics);
  assert.match(text, '# TYPE vcs_store_request_duration_seconds histogram');
  assert.is(sample(text, 'vcs_store_request_duration_seconds_count{operation="get"}'), 2);
  assert.is(sample(text, 'vcs_store_request_duration_seconds_bucket{le="0.025",operation="get"}'), 0);
  assert.is(sample(text, 'vcs_store_request_duration_seconds_bucket{le="0.05",operation="get"}'), 2);
  const sum = sample(text, 'vcs_store_request_duration_seconds_sum{operation="get"}') ?? 0;
  assert.ok(sum >= 0.055 && sum < 1, String(sum));
  assert.is(sample(text, 'vcs_store_request_duration_seconds_count{operation="ping"}'), 1);
  assert.is(sample(text, 'vcs_store_up'), 1);
});

withMetrics('an unavailable store or an uncoded error marks it down; a coded answer brings it back up', async () => {
  let failure: unknown = null;
  // An unreachable store fails every call alike; so does one answering NOT_FOUND here.
  const inner = stubStore(async (op) => {
    if (failure !== null) throw failure;
    return op === 'countByStatus' ? { pending: 0, processing: 0, completed: 0, failed: 0, deleted: 0 } : false;
  });
  let store: JobStore = inner;
  const metrics = createMetrics({ videos: async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() }), defaultMetrics: false });
  store = instrumentStore(inner, metrics.storeObserver);
  const up = async () => sample(await scrape(metrics), 'vcs_store_up');

  assert.is(await up(), 1);

  failure = vcsError('VCS_ERR_STORE_UNAVAILABLE', 'appwrite: connect ECONNREFUSED');
  await store.get(1).catch(() => undefined);
  assert.is(await up(), 0);

  failure = new Error('socket hang up');
  assert.is(await up(), 0);

  failure = vcsError('VCS_ERR_NOT_FOUND', 'no video');
  await store.get(1).catch(() => undefined);
  assert.is(await up(), 1, 'NOT_FOUND is an answer from a reachable store');

  failure = null;
  const text = await scrape(metrics);
  // get missed the store once (unavailable); its NOT_FOUND is an answer, not a failure. The
  // scrape's own reads missed it twice (unavailable, then "socket hang up").
  assert.is(sample(text, 'vcs_store_failures_total{operation="get"}'), 1);
  assert.ok((sample(text, 'vcs_store_failures_total{operation="countByStatus"}') ?? 0) >= 2);
  assert.is(sample(text, 'vcs_store_failures_total{operation="update"}'), 0);
});

test.run();
withMetrics.run();
