/**
 * The Appwrite store against the fake Appwrite server, driven through the real node-appwrite SDK:
 * the JobStore contract on both API families, then publisher documents, retries, lost answers,
 * compare-and-set, configuration errors, API detection, queries on the wire and large tables.
 */
import { Client, ID, TablesDB } from 'node-appwrite';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError, type ErrorCode } from '../../src/errors.ts';
import type { RetryPolicy } from '../../src/jobs/appwrite/failures.ts';
import { newVideoJob, STATUSES } from '../../src/jobs/model.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { startAppwriteServer, type FakeAppwrite } from '../support/appwrite-server.ts';
import { appwriteStore, connectionTo, IDS, QUICK_RETRY, setUpSchema } from '../support/appwrite-fixtures.ts';
import { freePort } from '../support/service.ts';
import { storeContract } from '../support/store-contract.ts';

function fakeClock() {
  return {
    now: Date.parse('2030-01-01T00:00:00.000Z'),
    advance(ms: number) {
      this.now += ms;
    },
  };
}

/** The schema, set up once per family with `vcs appwrite setup`'s code; each test starts from a copy. */
async function schemaTemplate(family: 'tablesdb' | 'databases') {
  const template = await startAppwriteServer({ buildMs: 0 });
  await setUpSchema(template, family);
  await template.close();
  return template.databases;
}
// Before any suite is queued: uvu starts running the queue as soon as one is.
const templates = { tablesdb: await schemaTemplate('tablesdb'), databases: await schemaTemplate('databases') };

for (const family of ['tablesdb', 'databases'] as const) {
  storeContract(`appwrite-store (${family})`, async () => {
    const clock = fakeClock();
    // The server stamps $createdAt/$updatedAt with the test's clock.
    const server = await startAppwriteServer({ now: () => clock.now, buildMs: 0, seed: templates[family] });
    return { store: appwriteStore(server, family), clock, cleanup: () => server.close() };
  });
}

// ------------------------------------------------------------------------------------------------
// Beyond the contract: what only a remote store has to get right.

interface Ctx {
  server: FakeAppwrite;
  store: JobStore;
}

const test = suite<Ctx>('appwrite-store', {} as Ctx);

test.before.each(async (ctx) => {
  ctx.server = await startAppwriteServer({ buildMs: 0 });
});
test.after.each(async (ctx) => {
  await ctx.store?.close();
  await ctx.server.close();
});

const video = (id: number) => ({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://wp.example/uploads/${id}.mp4` });

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<VcsError> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, VcsError);
    assert.is((err as VcsError).code, code, (err as Error).message);
    if (message) assert.match((err as Error).message, message);
    return err as VcsError;
  }
  throw new Error(`expected ${code}`);
}

async function openStore(ctx: Ctx, family: 'tablesdb' | 'databases' | 'auto' = 'tablesdb', extra: Parameters<typeof appwriteStore>[2] = {}) {
  ctx.store = appwriteStore(ctx.server, family, extra);
  await ctx.store.init();
  return ctx.store;
}

/** The row as the server holds it (not as the store reports it). */
function rawRow(server: FakeAppwrite, wpPostId: number) {
  const table = server.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
  return [...table.rows.values()].find((r) => r.data.wp_post_id === wpPostId);
}

const tablesDb = (server: FakeAppwrite) => new TablesDB(new Client().setEndpoint(server.endpoint).setProject(server.projectId).setKey(server.apiKey));

test('a publisher’s document, written before the service’s columns existed, is picked up and filled in', async (ctx) => {
  // The publisher's own collection: its four columns, one document.
  const publisher = tablesDb(ctx.server);
  const at = { databaseId: IDS.databaseId, tableId: IDS.tableId };
  await publisher.create({ databaseId: IDS.databaseId, name: 'WordPress' });
  await publisher.createTable({ ...at, name: 'posts' });
  await publisher.createIntegerColumn({ ...at, key: 'wp_post_id', required: true });
  await publisher.createVarcharColumn({ ...at, key: 'title', size: 255, required: true });
  await publisher.createUrlColumn({ ...at, key: 'original_video_url', required: true });
  await publisher.createEnumColumn({ ...at, key: 'compression_status', elements: [...STATUSES], required: true });
  const doc = await publisher.createRow({ ...at, rowId: ID.unique(), data: { wp_post_id: 501, title: 'From WordPress', original_video_url: 'https://wp.example/501.mp4', compression_status: 'pending' } });
  const lines: string[] = [];
  await setUpSchema(ctx.server, 'tablesdb', (line) => lines.push(line));
  assert.ok(lines.some((l) => /^exists +column posts\.title/.test(l)), lines.join('\n'));
  const store = await openStore(ctx);

  const expected = {
    ...newVideoJob({ wp_post_id: 501, title: 'From WordPress', original_video_url: 'https://wp.example/501.mp4' }, new Date(doc.$createdAt).toISOString()),
    updated_at: new Date(doc.$updatedAt).toISOString(),
  };
  assert.equal(await store.get(501), expected, 'read as a new video with the service’s defaults, created_at from $createdAt');
  assert.is(rawRow(ctx.server, 501)!.data.priority, undefined, 'nothing written yet');
  assert.equal((await store.listPending(10)).map((v) => v.wp_post_id), [501], 'a row without a priority queues as normal');
  assert.is(await store.queuePosition(501), 1);

  await store.create(video(502));
  const moved = await store.transition(501, 'processing', { job_name: 'vcs-501-1' }, ['pending']);
  assert.equal(pick(rawRow(ctx.server, 501)!.data, ['priority', 'retry_count', 'compression_progress', 'compression_step', 'compression_status', 'job_name']), {
    priority: 'normal', retry_count: 0, compression_progress: 0, compression_step: 'queued', compression_status: 'processing', job_name: 'vcs-501-1',
  }, 'the first write fills in what the service adds');
  assert.equal(await store.get(501), moved);
  assert.equal((await store.listPending(10)).map((v) => v.wp_post_id), [502]);
});

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

test('a publisher’s document in a table set up by vcs gets the defaults from the server', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const at = { databaseId: IDS.databaseId, tableId: IDS.tableId };
  const doc = await tablesDb(ctx.server).createRow({ ...at, rowId: ID.unique(), data: { wp_post_id: 7, title: 'T', original_video_url: 'https://wp.example/7.mp4', compression_status: 'pending' } });
  const store = await openStore(ctx);
  assert.equal(await store.get(7), {
    ...newVideoJob({ wp_post_id: 7, title: 'T', original_video_url: 'https://wp.example/7.mp4' }, new Date(doc.$createdAt).toISOString()),
    updated_at: new Date(doc.$updatedAt).toISOString(),
  });
  assert.equal((await store.listPending(1)).map((v) => v.wp_post_id), [7]);
});

test('transient failures (500, no answer, connection reset) are retried with growing, jittered waits', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const waits: number[] = [];
  const retry: RetryPolicy = { retries: 3, baseDelayMs: 40, maxDelayMs: 100, random: () => 0.5, sleep: async (ms) => void waits.push(ms) };
  const store = await openStore(ctx, 'tablesdb', { connection: connectionTo(ctx.server, { timeoutMs: 300 }), retry });
  await store.create(video(1));
  waits.length = 0;
  for (const kind of ['error', 'hang', 'reset'] as const) {
    ctx.server.faults.next(kind, 3);
    const before = ctx.server.requests.length;
    assert.is((await store.get(1))?.wp_post_id, 1, kind);
    assert.is(ctx.server.requests.length - before, 4, `${kind}: three failures, then the answer`);
  }
  // Half of the doubling ceiling each time (random 0.5), capped at maxDelayMs.
  assert.equal(waits, [20, 40, 50, 20, 40, 50, 20, 40, 50]);
  assert.is(ctx.server.faults.served, 9);
});

test('a failure that outlasts the retries is VCS_ERR_STORE_UNAVAILABLE, and a failed read changes nothing', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx, 'tablesdb', { connection: connectionTo(ctx.server, { timeoutMs: 100 }) });
  await store.create(video(1));
  const before = rawRow(ctx.server, 1)!;
  ctx.server.faults.next('error', 4, 'GET');
  await rejectsWith(store.transition(1, 'processing'), 'VCS_ERR_STORE_UNAVAILABLE', /500 general_unknown.*gave up after 4 tries/);
  assert.not.ok(ctx.server.requests.some((r) => r.method === 'PATCH'), 'no write after a failed read');
  assert.equal(rawRow(ctx.server, 1), before);
  ctx.server.faults.outage('hang', 60_000);
  const hanging = appwriteStore(ctx.server, 'tablesdb', { connection: connectionTo(ctx.server, { timeoutMs: 100 }), retry: { ...QUICK_RETRY, retries: 1 } });
  await rejectsWith(hanging.init(), 'VCS_ERR_STORE_UNAVAILABLE', /no answer in time/);
  await rejectsWith(store.listProcessing(), 'VCS_ERR_STORE_UNAVAILABLE');
  await rejectsWith(store.isPaused(), 'VCS_ERR_STORE_UNAVAILABLE');
  ctx.server.faults.clear();
  assert.is((await store.get(1))?.compression_status, 'pending');
});

test('a write whose answer was lost is not made twice', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx);
  ctx.server.faults.next('lose', 1, 'POST');
  const created = await store.create(video(1));
  assert.is(created.wp_post_id, 1);
  assert.is(ctx.server.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!.rows.size, 1, 'one row');
  await rejectsWith(store.create(video(1)), 'VCS_ERR_CONFLICT', /already exists/);

  ctx.server.faults.next('lose', 1, 'PATCH');
  const moved = await store.transition(1, 'processing', { job_name: 'vcs-1-1' }, ['pending']);
  assert.is(moved.compression_status, 'processing');
  const patches = ctx.server.requests.filter((r) => r.method === 'PATCH');
  assert.equal(patches.map((r) => r.status), [200, 409], 'the retry met its own write (compare-and-set), and the store saw it had landed');
});

test('transition is a compare-and-set on $updatedAt: another writer in between is seen', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx);
  await store.create(video(1));
  await store.create(video(2));
  await store.transition(1, 'processing');
  await store.transition(2, 'processing');
  /** On the next PATCH, `change` the row first, as another writer would. */
  const interleave = (id: number, change: Record<string, unknown>) => {
    ctx.server.onRequest = (r) => {
      if (r.method !== 'PATCH') return;
      ctx.server.onRequest = undefined;
      const row = rawRow(ctx.server, id)!;
      Object.assign(row.data, change);
      row.updatedAt = Date.now() + 1000;
    };
  };

  interleave(1, { compression_status: 'deleted' });
  await rejectsWith(store.transition(1, 'completed', { compression_progress: 100 }, ['processing']), 'VCS_ERR_CONFLICT', /is deleted, expected processing/);
  assert.equal(pick(rawRow(ctx.server, 1)!.data, ['compression_status', 'compression_progress']), { compression_status: 'deleted', compression_progress: 0 }, 'the other write stands');

  interleave(2, { compression_progress: 55 });
  const done = await store.transition(2, 'failed', { error_message: 'boom' }, ['processing']);
  assert.equal([done.compression_status, done.compression_progress, done.error_message], ['failed', 55, 'boom'], 'read again, checked again, written');
  const conflicts = ctx.server.requests.filter((r) => r.method === 'PATCH' && r.status === 409);
  assert.is(conflicts.length, 2);
  assert.ok(conflicts.every((r) => typeof r.headers['x-appwrite-timestamp'] === 'string'), 'the PATCH carries the $updatedAt it read');
});

test('configuration errors are reported at init, once, with their fix', async (ctx) => {
  const attempt = async (store: JobStore, message: RegExp) => {
    const before = ctx.server.requests.length;
    await rejectsWith(store.init(), 'VCS_ERR_STORE_UNAVAILABLE', message);
    return ctx.server.requests.length - before;
  };
  assert.is(await attempt(appwriteStore(ctx.server, 'tablesdb'), /Database .*could not be found.*run vcs appwrite setup/), 1, 'not retried');
  await setUpSchema(ctx.server, 'tablesdb');
  const wrongKey = appwriteStore(ctx.server, 'auto', { connection: connectionTo(ctx.server, { apiKey: 'not-the-key' }) });
  assert.is(await attempt(wrongKey, /API key rejected.*check APPWRITE_API_KEY/), 1);
  const wrongProject = appwriteStore(ctx.server, 'tablesdb', { connection: connectionTo(ctx.server, { projectId: 'other' }) });
  await attempt(wrongProject, /project_not_found.*APPWRITE_PROJECT_ID/);
  const wrongTable = appwriteStore(ctx.server, 'databases', { tableId: 'videos' });
  await attempt(wrongTable, /collection_not_found.*run vcs appwrite setup/);
  // A table made by hand, without the service's columns.
  await tablesDb(ctx.server).createTable({ databaseId: IDS.databaseId, tableId: 'bare', name: 'bare' });
  await attempt(appwriteStore(ctx.server, 'tablesdb', { tableId: 'bare' }), /bare lacks the columns wp_post_id, title, .*: run vcs appwrite setup/);
  const nowhere = appwriteStore(ctx.server, 'tablesdb', { connection: connectionTo(ctx.server, { endpoint: `http://127.0.0.1:${await freePort()}/v1` }) });
  await rejectsWith(nowhere.init(), 'VCS_ERR_STORE_UNAVAILABLE', /Appwrite unavailable.*ECONNREFUSED.*gave up after 4 tries/);
});

test('auto: TablesDB on a 1.8+ server, the Databases API on an older one', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx, 'auto');
  await store.create(video(1));
  assert.ok(ctx.server.requests.every((r) => r.path.startsWith('/tablesdb')), 'TablesDB only');

  const old = await startAppwriteServer({ buildMs: 0, families: ['databases'] });
  try {
    await setUpSchema(old, 'databases');
    const legacy = appwriteStore(old, 'auto');
    await legacy.init();
    await legacy.create(video(2));
    await legacy.setPaused(true);
    assert.is(await legacy.isPaused(), true);
    assert.is((await legacy.get(2))?.title, 'Video 2');
    assert.equal(old.requests.filter((r) => r.path.startsWith('/tablesdb')).map((r) => r.status), [404], 'one probe, then the Databases API only');
    await legacy.close();
  } finally {
    await old.close();
  }
});

test('the queue on the wire: high priority first, then the rest, each oldest first; a video is found by wp_post_id', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx);
  await store.create({ ...video(1), priority: 'high' });
  await store.create(video(2));
  const from = ctx.server.requests.length;
  assert.equal((await store.listPending(5)).map((v) => v.wp_post_id), [1, 2]);
  assert.equal(ctx.server.requests.slice(from).map((r) => r.queries), [
    [
      '{"method":"equal","attribute":"compression_status","values":["pending"]}',
      '{"method":"equal","attribute":"priority","values":["high"]}',
      '{"method":"orderAsc","attribute":"$createdAt"}',
      '{"method":"limit","values":[5]}',
    ],
    [
      '{"method":"equal","attribute":"compression_status","values":["pending"]}',
      '{"method":"or","values":[{"method":"equal","attribute":"priority","values":["normal"]},{"method":"isNull","attribute":"priority"}]}',
      '{"method":"orderAsc","attribute":"$createdAt"}',
      '{"method":"limit","values":[4]}',
    ],
  ]);
  const getFrom = ctx.server.requests.length;
  await store.get(2);
  const [read] = ctx.server.requests.slice(getFrom);
  assert.equal([read!.path, read!.queries], [`/tablesdb/${IDS.databaseId}/tables/${IDS.tableId}/rows`, ['{"method":"equal","attribute":"wp_post_id","values":[2]}', '{"method":"limit","values":[1]}']]);
});

/** Rows put straight into the fake's table: thousands without thousands of requests. */
function bulkInsert(server: FakeAppwrite, count: number, status: (i: number) => string) {
  const table = server.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
  const t = Date.now();
  for (let i = 1; i <= count; i++) {
    const id = `bulk${i}`;
    table.rows.set(id, { id, sequence: table.nextSequence++, createdAt: t + i, updatedAt: t + i, permissions: [], data: { ...video(i), compression_status: status(i), priority: 'normal', retry_count: 0, compression_progress: 0 } });
  }
}

test('counts past the server’s 5000 cap are exact; deep pages continue from a cursor', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  bulkInsert(ctx.server, 5100, (i) => (i % 10 === 0 ? 'completed' : 'pending'));
  const store = await openStore(ctx);
  assert.equal(await store.countByStatus(), { pending: 4590, processing: 0, completed: 510, failed: 0, deleted: 0 });
  const page = (offset: number) => store.list({ limit: 100, offset, sort: 'wp_post_id', order: 'asc' });
  const first = await page(0);
  assert.is(first.total, 5100);
  await page(100);
  const from = ctx.server.requests.length;
  const third = await page(200);
  assert.equal([third.jobs[0]!.wp_post_id, third.jobs.at(-1)!.wp_post_id], [201, 300]);
  const listed = ctx.server.requests.slice(from).find((r) => r.queries.some((q) => q.includes('"limit","values":[100]')))!;
  assert.ok(listed.queries.some((q) => q.includes('cursorAfter')) && !listed.queries.some((q) => q.includes('"offset"')), 'a cursor, not an offset');
  // The row the cursor names is gone: the offset serves the page instead.
  await page(300);
  const table = ctx.server.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
  table.rows.delete('bulk400');
  const fourth = await page(400);
  assert.equal(fourth.jobs[0]!.wp_post_id, 402, 'offset 400 of the rows left');
  assert.is((await store.summary(new Date(0).toISOString())).createdSince, 5099);
});

test('ping is a single try, so health sees an outage while it lasts', async (ctx) => {
  await setUpSchema(ctx.server, 'tablesdb');
  const store = await openStore(ctx);
  await store.ping();
  ctx.server.faults.outage('error', 60_000);
  const before = ctx.server.requests.length;
  await rejectsWith(store.ping(), 'VCS_ERR_STORE_UNAVAILABLE', /500/);
  assert.is(ctx.server.requests.length - before, 1);
});

test('a 1.8 server without varchar/text columns gets string columns', async (ctx) => {
  const old = await startAppwriteServer({ buildMs: 0, withoutVarchar: true });
  try {
    await setUpSchema(old, 'tablesdb');
    const table = old.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
    assert.equal([table.columns.get('title')!.type, table.columns.get('error_message')!.type], ['string', 'string']);
    const store = appwriteStore(old, 'tablesdb');
    await store.init();
    await store.create(video(1));
    await store.close();
  } finally {
    await old.close();
  }
});

test.run();
