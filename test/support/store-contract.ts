/**
 * The JobStore contract (src/jobs/store.ts), as one uvu suite every implementation runs unchanged.
 * It uses nothing but the interface and the injected clock, so a store passes it or has a bug.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError, type ErrorCode } from '../../src/errors.ts';
import type { NewVideo, VideoJob, VideoPatch } from '../../src/jobs/model.ts';
import type { JobStore, ListQuery, SortField } from '../../src/jobs/store.ts';

export interface StoreUnderTest {
  /** Not initialised yet; the suite calls init() and close(). */
  store: JobStore;
  /** The clock the store was given: `now` is read as milliseconds since the epoch. */
  clock: { now: number; advance(ms: number): void };
  cleanup(): Promise<void>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const ids = (jobs: VideoJob[]): number[] => jobs.map((j) => j.wp_post_id);

const video = (id: number, extra: Partial<NewVideo> = {}): NewVideo => ({
  wp_post_id: id,
  title: `Video ${id}`,
  original_video_url: `https://wp.example/uploads/${id}.mp4`,
  ...extra,
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, VcsError);
    assert.is((err as VcsError).code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

async function fail(store: JobStore, id: number, patch: VideoPatch): Promise<void> {
  await store.transition(id, 'processing');
  await store.transition(id, 'failed', patch);
}

export function storeContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  const test = suite<StoreUnderTest>(`${name} (JobStore contract)`, {} as StoreUnderTest);

  test.before.each(async (ctx) => {
    Object.assign(ctx, await makeStore());
    await ctx.store.init();
  });
  test.after.each(async (ctx) => {
    await ctx.store.close();
    await ctx.cleanup();
  });

  test('create returns a pending video with defaults, and get reads it back', async ({ store, clock }) => {
    const created = await store.create(video(7));
    const expected: VideoJob = {
      wp_post_id: 7,
      title: 'Video 7',
      original_video_url: 'https://wp.example/uploads/7.mp4',
      compression_status: 'pending',
      compression_step: 'queued',
      compression_progress: 0,
      priority: 'normal',
      error_message: null,
      failed_at_step: null,
      error_code: null,
      retryable: null,
      retry_count: 0,
      created_at: iso(clock.now),
      updated_at: iso(clock.now),
      started_at: null,
      completed_at: null,
      failed_at: null,
      master_playlist_url: null,
      poster_url: null,
      hls_high_url: null,
      hls_medium_url: null,
      hls_low_url: null,
      total_size: null,
      duration_seconds: null,
      job_name: null,
      last_accessed_at: null,
    };
    assert.equal(created, expected);
    assert.equal(await store.get(7), expected);
  });

  test('create keeps a given priority; get of an unknown id is null', async ({ store }) => {
    assert.is((await store.create(video(1, { priority: 'high' }))).priority, 'high');
    assert.is((await store.get(1))?.priority, 'high');
    assert.is(await store.get(404), null);
  });

  test('create refuses a duplicate wp_post_id with VCS_ERR_CONFLICT and keeps the first', async ({ store }) => {
    await store.create(video(7));
    await rejectsWith(store.create(video(7, { title: 'Another' })), 'VCS_ERR_CONFLICT');
    assert.is((await store.get(7))?.title, 'Video 7');
  });

  test('listPending: high priority first, then FIFO by creation time, up to the limit', async ({ store, clock }) => {
    await store.create(video(1));
    clock.advance(1000);
    await store.create(video(2, { priority: 'high' }));
    clock.advance(1000);
    await store.create(video(3));
    clock.advance(1000);
    await store.create(video(4, { priority: 'high' }));
    assert.equal(ids(await store.listPending(10)), [2, 4, 1, 3]);
    assert.equal(ids(await store.listPending(2)), [2, 4]);
  });

  test('listPending keeps insertion order within one millisecond, whatever the ids', async ({ store }) => {
    for (const id of [30, 10, 20]) await store.create(video(id));
    for (const id of [9, 5]) await store.create(video(id, { priority: 'high' }));
    assert.equal(ids(await store.listPending(10)), [9, 5, 30, 10, 20]);
  });

  test('listPending and listProcessing hold only their status', async ({ store }) => {
    for (const id of [1, 2, 3, 4]) await store.create(video(id));
    await store.transition(2, 'processing');
    await store.transition(4, 'processing');
    await store.transition(3, 'deleted');
    assert.equal(ids(await store.listPending(10)), [1]);
    assert.equal(ids(await store.listProcessing()).sort((a, b) => a - b), [2, 4]);
  });

  test('listRetryable: failed, retryable, failed at or before the cutoff, under maxRetries, oldest first', async ({ store, clock }) => {
    const t = clock.now;
    const cutoff = iso(t + 1000);
    const cases: [id: number, patch: VideoPatch][] = [
      [1, { retryable: true, retry_count: 0, failed_at: iso(t) }],
      [2, { retryable: true, retry_count: 0, failed_at: iso(t + 2000) }], // too recent
      [3, { retryable: true, retry_count: 2, failed_at: cutoff }], // exactly at the cutoff
      [4, { retryable: true, retry_count: 3, failed_at: iso(t - 5000) }], // out of retries
      [5, { retryable: false, retry_count: 0, failed_at: iso(t - 1000) }], // permanent failure
      [6, { retryable: null, retry_count: 0, failed_at: iso(t - 1000) }],
      [8, { retryable: true, retry_count: 1, failed_at: iso(t - 10_000) }],
    ];
    for (const [id, patch] of cases) {
      await store.create(video(id));
      await fail(store, id, patch);
    }
    await store.create(video(7, { priority: 'high' }));
    assert.equal(ids(await store.listRetryable(cutoff, 3, 10)), [8, 1, 3]);
    assert.equal(ids(await store.listRetryable(cutoff, 3, 2)), [8, 1]);
    assert.equal(ids(await store.listRetryable(cutoff, 2, 10)), [8, 1]);
    assert.equal(ids(await store.listRetryable(iso(t - 20_000), 3, 10)), []);
  });

  test('queuePosition is the 1-based place in listPending order, null when not pending', async ({ store, clock }) => {
    await store.create(video(1));
    await store.create(video(2, { priority: 'high' }));
    clock.advance(1);
    await store.create(video(3));
    await store.create(video(4, { priority: 'high' }));
    await store.create(video(5));
    await store.transition(5, 'processing');
    const queue = ids(await store.listPending(10));
    assert.equal(queue, [2, 4, 1, 3]);
    for (const [index, id] of queue.entries()) assert.is(await store.queuePosition(id), index + 1, `position of ${id}`);
    assert.is(await store.queuePosition(5), null);
    assert.is(await store.queuePosition(404), null);
  });

  /** Five videos with distinct creation and update times: 1, 4, 42 pending, 2 processing, 3 failed. */
  async function seedList(store: JobStore, clock: StoreUnderTest['clock']): Promise<void> {
    const titles: [number, string][] = [
      [1, 'Cats at play'],
      [2, 'Dog days'],
      [3, 'CATS 2'],
      [4, 'Video 42%'],
      [42, 'Birds'],
    ];
    for (const [id, title] of titles) {
      await store.create(video(id, { title }));
      clock.advance(1000);
    }
    await store.transition(2, 'processing');
    clock.advance(1000);
    await fail(store, 3, { error_message: 'source not found', retryable: false });
  }

  test('list filters by status and by search text, and counts the total', async ({ store, clock }) => {
    await seedList(store, clock);
    const list = (extra: { status?: 'pending'; search?: string }) =>
      store.list({ limit: 50, offset: 0, sort: 'wp_post_id', order: 'asc', ...extra }).then(({ total, jobs }) => ({ total, ids: ids(jobs) }));
    assert.equal(await list({}), { total: 5, ids: [1, 2, 3, 4, 42] });
    assert.equal(await list({ status: 'pending' }), { total: 3, ids: [1, 4, 42] });
    assert.equal(await list({ search: 'cats' }), { total: 2, ids: [1, 3] }, 'title, case-insensitive');
    assert.equal(await list({ search: '42' }), { total: 2, ids: [4, 42] }, 'title contains it, or wp_post_id equals it');
    assert.equal(await list({ search: '2' }), { total: 3, ids: [2, 3, 4] }, 'wp_post_id must equal the text, not contain it');
    assert.equal(await list({ search: '%' }), { total: 1, ids: [4] }, 'search text is literal');
    assert.equal(await list({ search: 'Cats', status: 'pending' }), { total: 1, ids: [1] });
    assert.equal(await list({ search: 'nothing like it' }), { total: 0, ids: [] });
  });

  test('list filters by creation time: from (inclusive) and before (exclusive), with the other filters', async ({ store, clock }) => {
    const t0 = clock.now;
    await seedList(store, clock); // created one second apart: ids 1, 2, 3, 4, 42
    const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();
    const list = (extra: Partial<Pick<ListQuery, 'createdFrom' | 'createdBefore' | 'status'>>) =>
      store.list({ limit: 50, offset: 0, sort: 'wp_post_id', order: 'asc', ...extra }).then(({ total, jobs }) => ({ total, ids: ids(jobs) }));
    assert.equal(await list({ createdFrom: at(1) }), { total: 4, ids: [2, 3, 4, 42] });
    assert.equal(await list({ createdBefore: at(1) }), { total: 1, ids: [1] });
    assert.equal(await list({ createdFrom: at(1), createdBefore: at(3) }), { total: 2, ids: [2, 3] });
    assert.equal(await list({ createdFrom: at(1), createdBefore: at(4), status: 'pending' }), { total: 1, ids: [4] });
    assert.equal(await list({ createdFrom: at(100) }), { total: 0, ids: [] });
  });

  test('list sorts by each field in both orders', async ({ store, clock }) => {
    await seedList(store, clock);
    const sorted = async (sort: SortField, order: 'asc' | 'desc') => (await store.list({ limit: 50, offset: 0, sort, order })).jobs;
    const ascending: Record<Exclude<SortField, 'compression_status'>, number[]> = {
      created_at: [1, 2, 3, 4, 42],
      wp_post_id: [1, 2, 3, 4, 42],
      title: [42, 3, 1, 2, 4],
      updated_at: [1, 4, 42, 2, 3],
    };
    for (const [sort, expected] of Object.entries(ascending) as [SortField, number[]][]) {
      assert.equal(ids(await sorted(sort, 'asc')), expected, `${sort} asc`);
      assert.equal(ids(await sorted(sort, 'desc')), [...expected].reverse(), `${sort} desc`);
    }
    // Three pending videos tie on status, so only the order of the statuses is fixed.
    const statuses = (jobs: VideoJob[]) => jobs.map((j) => j.compression_status);
    assert.equal(statuses(await sorted('compression_status', 'asc')), ['failed', 'pending', 'pending', 'pending', 'processing']);
    assert.equal(statuses(await sorted('compression_status', 'desc')), ['processing', 'pending', 'pending', 'pending', 'failed']);
  });

  test('list pages with limit and offset, and total counts every match', async ({ store, clock }) => {
    await seedList(store, clock);
    const page = (offset: number, limit = 2) => store.list({ limit, offset, sort: 'wp_post_id', order: 'asc' }).then(({ total, jobs }) => ({ total, ids: ids(jobs) }));
    assert.equal(await page(0), { total: 5, ids: [1, 2] });
    assert.equal(await page(2), { total: 5, ids: [3, 4] });
    assert.equal(await page(4), { total: 5, ids: [42] });
    assert.equal(await page(10), { total: 5, ids: [] });
    const filtered = await store.list({ status: 'pending', limit: 1, offset: 1, sort: 'created_at', order: 'desc' });
    assert.equal({ total: filtered.total, ids: ids(filtered.jobs) }, { total: 3, ids: [4] });
  });

  test('countByStatus counts every status, zeros included', async ({ store, clock }) => {
    assert.equal(await store.countByStatus(), { pending: 0, processing: 0, completed: 0, failed: 0, deleted: 0 });
    await seedList(store, clock);
    assert.equal(await store.countByStatus(), { pending: 3, processing: 1, completed: 0, failed: 1, deleted: 0 });
  });

  test('summary: mean compression time of completed videos, videos created since, bytes published', async ({ store, clock }) => {
    assert.equal(await store.summary(iso(0)), { averageCompressionSeconds: null, createdSince: 0, totalSize: 0 });
    const t0 = clock.now;
    for (const id of [1, 2, 3]) await store.create(video(id));
    for (const [id, seconds, size] of [[1, 60, 1000], [2, 120, 3000]] as const) {
      await store.transition(id, 'processing', { started_at: iso(t0) });
      await store.transition(id, 'completed', { completed_at: iso(t0 + seconds * 1000), total_size: size });
    }
    clock.advance(10_000);
    await store.create(video(4));
    assert.equal(await store.summary(iso(t0 + 5000)), { averageCompressionSeconds: 90, createdSince: 1, totalSize: 4000 });
    assert.is((await store.summary(iso(t0))).createdSince, 4);
  });

  test('transition applies a legal move with its patch and stamps updated_at', async ({ store, clock }) => {
    const created = await store.create(video(1));
    clock.advance(5000);
    const moved = await store.transition(1, 'processing', { compression_step: 'downloading', started_at: iso(clock.now), job_name: 'vcs-1-1' });
    assert.equal(moved, {
      ...created,
      compression_status: 'processing',
      compression_step: 'downloading',
      started_at: iso(clock.now),
      job_name: 'vcs-1-1',
      updated_at: iso(clock.now),
    });
    assert.equal(await store.get(1), moved);
  });

  test('values keep their types: booleans, nulls, large integers and fractions', async ({ store }) => {
    await store.create(video(1));
    await fail(store, 1, { retryable: false, error_code: 'VCS_ERR_SOURCE_NOT_FOUND', failed_at_step: 'downloading', duration_seconds: 12.345 });
    await store.create(video(2));
    await fail(store, 2, { retryable: true, total_size: 5_000_000_123 });
    const [one, two] = [await store.get(1), await store.get(2)];
    assert.is(one?.retryable, false);
    assert.is(one?.duration_seconds, 12.345);
    assert.is(one?.total_size, null);
    assert.is(two?.retryable, true);
    assert.is(two?.total_size, 5_000_000_123);
  });

  test('every status may move to deleted, and a deleted, failed or completed video back to pending', async ({ store }) => {
    for (const id of [1, 2, 3, 4]) await store.create(video(id));
    await store.transition(2, 'processing');
    await fail(store, 3, {});
    await store.transition(4, 'processing');
    await store.transition(4, 'completed');
    for (const id of [1, 2, 3, 4]) assert.is((await store.transition(id, 'deleted')).compression_status, 'deleted');
    assert.is((await store.transition(1, 'pending')).compression_status, 'pending');
    await store.create(video(5));
    await fail(store, 5, {});
    assert.is((await store.transition(5, 'pending')).compression_status, 'pending', 'retry');
    await store.create(video(6));
    await store.transition(6, 'processing');
    await store.transition(6, 'completed');
    assert.is((await store.transition(6, 'pending')).compression_status, 'pending', 're-compression');
  });

  test('an illegal transition throws VCS_ERR_ILLEGAL_TRANSITION and writes nothing', async ({ store, clock }) => {
    const created = await store.create(video(1));
    clock.advance(1000);
    await rejectsWith(store.transition(1, 'completed', { master_playlist_url: 'https://cdn.example/1/master.m3u8' }), 'VCS_ERR_ILLEGAL_TRANSITION');
    await rejectsWith(store.transition(1, 'pending'), 'VCS_ERR_ILLEGAL_TRANSITION');
    assert.equal(await store.get(1), created);
  });

  test('transition with expect is a compare-and-set: another status is VCS_ERR_CONFLICT', async ({ store, clock }) => {
    const created = await store.create(video(1));
    clock.advance(1000);
    await rejectsWith(store.transition(1, 'processing', { job_name: 'vcs-1-1' }, ['failed']), 'VCS_ERR_CONFLICT');
    assert.equal(await store.get(1), created);
    assert.is((await store.transition(1, 'processing', {}, ['failed', 'pending'])).compression_status, 'processing');
  });

  test('transition of an unknown video throws VCS_ERR_NOT_FOUND', async ({ store }) => {
    await rejectsWith(store.transition(404, 'processing'), 'VCS_ERR_NOT_FOUND');
  });

  test('update changes other fields (null clears, undefined leaves), stamps updated_at, keeps the status', async ({ store, clock }) => {
    await store.create(video(1));
    clock.advance(1000);
    const updated = await store.update(1, { compression_progress: 42, compression_step: 'compressing', error_message: 'transient' });
    assert.is(updated.compression_progress, 42);
    assert.is(updated.compression_step, 'compressing');
    assert.is(updated.compression_status, 'pending');
    assert.is(updated.updated_at, iso(clock.now));
    assert.equal(await store.get(1), updated);
    const cleared = await store.update(1, { error_message: null, compression_progress: undefined });
    assert.is(cleared.error_message, null);
    assert.is(cleared.compression_progress, 42);
  });

  test('update refuses compression_status and writes nothing', async ({ store }) => {
    const created = await store.create(video(1));
    const sneaky = { compression_status: 'completed', compression_progress: 100 } as unknown as VideoPatch;
    await rejectsWith(store.update(1, sneaky), 'VCS_ERR_ILLEGAL_TRANSITION');
    assert.equal(await store.get(1), created);
  });

  test('update with expect is a compare-and-set on the status: a mismatch writes nothing (VCS_ERR_CONFLICT)', async ({ store }) => {
    await store.create(video(1));
    await store.transition(1, 'processing', { job_name: 'vcs-1-1' });
    const moved = await store.update(1, { job_name: 'vcs-1-2', retry_count: 1 }, ['processing']);
    assert.equal([moved.job_name, moved.retry_count, moved.compression_status], ['vcs-1-2', 1, 'processing']);
    const deleted = await store.transition(1, 'deleted');
    await rejectsWith(store.update(1, { job_name: 'vcs-1-3', retry_count: 2 }, ['processing']), 'VCS_ERR_CONFLICT');
    assert.equal(await store.get(1), deleted);
  });

  test('update of an unknown video throws VCS_ERR_NOT_FOUND', async ({ store }) => {
    await rejectsWith(store.update(404, { compression_progress: 1 }), 'VCS_ERR_NOT_FOUND');
  });

  test('recordAccess moves last_accessed_at forward only, skips unknown ids, and changes nothing else', async ({ store, clock }) => {
    await store.create(video(1));
    await store.create(video(2));
    await store.transition(2, 'processing', { job_name: 'vcs-2-1' });
    const before = await store.get(2);
    const t = (minutes: number) => iso(clock.now + minutes * 60_000);
    await store.recordAccess(new Map([[1, t(5)], [2, t(3)], [404, t(5)]]));
    assert.is((await store.get(1))!.last_accessed_at, t(5));
    const two = (await store.get(2))!;
    assert.equal({ ...two, updated_at: before!.updated_at }, { ...before!, last_accessed_at: t(3) }, 'only the last access changed');
    // Another gateway flushing an older access later does not move it back.
    await store.recordAccess(new Map([[1, t(4)], [2, t(9)]]));
    assert.equal([(await store.get(1))!.last_accessed_at, (await store.get(2))!.last_accessed_at], [t(5), t(9)]);
    await store.recordAccess(new Map());
    assert.equal(await store.get(404), null, 'nothing created');
    assert.equal((await store.list({ limit: 10, offset: 0, sort: 'created_at', order: 'asc' })).total, 2);
  });

  test('last_accessed_at is not a field a patch may set', async ({ store }) => {
    const created = await store.create(video(1));
    const sneaky = { last_accessed_at: iso(0) } as unknown as VideoPatch;
    await rejectsWith(store.update(1, sneaky), 'VCS_ERR_INTERNAL');
    assert.equal(await store.get(1), created);
  });

  test('the paused flag starts false and round-trips', async ({ store }) => {
    assert.is(await store.isPaused(), false);
    await store.setPaused(true);
    assert.is(await store.isPaused(), true);
    await store.setPaused(true);
    assert.is(await store.isPaused(), true);
    await store.setPaused(false);
    assert.is(await store.isPaused(), false);
  });

  test('ping resolves on an open store', async ({ store }) => {
    await store.ping();
  });

  test.run();
}
