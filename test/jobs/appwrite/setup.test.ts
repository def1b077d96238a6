/**
 * `vcs appwrite setup` as a user runs it (a child process), against the fake Appwrite server:
 * on an empty server, again on a set-up one (nothing changes), on a server before 1.8, and with
 * settings that cannot work.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTROL_TABLE, JOB_COLUMN_KEYS, JOB_INDEXES } from '../../../src/jobs/appwrite/schema.ts';
import { startAppwriteServer, type FakeAppwrite } from '../../support/appwrite-server.ts';
import { IDS } from '../../support/appwrite-fixtures.ts';
import { runVcs } from '../../support/vcs.ts';

const test = suite<{ server: FakeAppwrite }>('vcs appwrite setup', {} as { server: FakeAppwrite });

test.before.each(async (ctx) => {
  // Columns and indexes stay `processing` for a moment, as on a real server.
  ctx.server = await startAppwriteServer({ buildMs: 200 });
});
test.after.each(async (ctx) => {
  await ctx.server.close();
});

const envFor = (server: FakeAppwrite, extra: Record<string, string> = {}) => ({
  APPWRITE_ENDPOINT: server.endpoint,
  APPWRITE_PROJECT_ID: server.projectId,
  APPWRITE_API_KEY: server.apiKey,
  ...extra,
});

const setup = (server: FakeAppwrite, extra: Record<string, string> = {}) => runVcs(['appwrite', 'setup'], envFor(server, extra));

/** Everything the server holds, timestamps included: a second run must leave it exactly so. */
const snapshot = (server: FakeAppwrite) =>
  JSON.stringify([...server.databases.values()].map((d) => ({ ...d, tables: [...d.tables.values()].map((t) => ({ ...t, columns: [...t.columns.values()], indexes: [...t.indexes.values()], rows: [...t.rows.values()] })) })));

const lines = (text: string) => text.trim().split('\n');

test('on an empty server it creates everything, waits for it, and says so; a second run changes nothing', async ({ server }) => {
  const first = await setup(server);
  assert.is(first.code, 0, first.stderr);
  const out = lines(first.stdout);
  assert.match(out[0]!, /^Appwrite http:\/\/127\.0\.0\.1:\d+\/v1, project vcs-test, TablesDB API$/);
  for (const expected of [
    'created  database video_compression',
    'created  table posts',
    'created  column posts.wp_post_id (integer 1–9007199254740991, required)',
    'created  column posts.compression_status (enum pending|processing|completed|failed|deleted, default pending)',
    'created  column posts.error_message (long text)',
    'waiting  for the server to build the columns of posts',
    'created  index posts.wp_post_id_unique (unique on wp_post_id)',
    'created  index posts.status_created (key on compression_status, $createdAt)',
    'created  table vcs_control',
    'created  column vcs_control.paused (boolean, default false)',
  ]) {
    assert.ok(out.includes(expected), `${expected}\n---\n${first.stdout}`);
  }
  const total = 1 + 2 + JOB_COLUMN_KEYS.length + JOB_INDEXES.length + 1;
  assert.is(out.at(-1), `${total} created, 0 already existed`);
  const table = server.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
  assert.equal([...table.columns.keys()].sort(), [...JOB_COLUMN_KEYS].sort());
  assert.ok([...table.columns.values()].every((c) => c.status === 'available'));
  assert.equal([...table.indexes.values()].map((i) => [i.key, i.status]), JOB_INDEXES.map((i) => [i.key, 'available']));
  assert.ok(server.databases.get(IDS.databaseId)!.tables.has(CONTROL_TABLE));

  const before = snapshot(server);
  const writesBefore = server.requests.filter((r) => r.method !== 'GET').length;
  const second = await setup(server);
  assert.is(second.code, 0, second.stderr);
  const again = lines(second.stdout);
  assert.ok(again.slice(1, -1).every((l) => l.startsWith('exists ')), second.stdout);
  assert.ok(again.includes('exists   column posts.title (string 512, required)'));
  assert.is(again.at(-1), `0 created, ${total} already existed`);
  assert.is(server.requests.filter((r) => r.method !== 'GET').length, writesBefore, 'no write at all');
  assert.is(snapshot(server), before);
});

test('a server before 1.8: auto-detected, the Databases API and string attributes', async () => {
  const old = await startAppwriteServer({ buildMs: 0, families: ['databases'] });
  try {
    const run = await setup(old);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, /Databases API/);
    const table = old.databases.get(IDS.databaseId)!.tables.get(IDS.tableId)!;
    assert.equal([table.columns.get('title')!.type, table.columns.get('error_message')!.type, table.columns.get('priority')!.type], ['string', 'string', 'enum']);
    assert.ok(old.requests.filter((r) => r.method === 'POST').every((r) => r.path.startsWith('/databases')));
  } finally {
    await old.close();
  }
});

test('an existing publisher collection: its columns are kept, the missing ones added, a wrong type reported', async ({ server }) => {
  const env = envFor(server, { APPWRITE_API: 'databases' });
  const headers = { 'X-Appwrite-Project': server.projectId, 'X-Appwrite-Key': server.apiKey, 'content-type': 'application/json' };
  const post = (path: string, body: unknown) => fetch(`${server.endpoint}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  await post('/databases', { databaseId: IDS.databaseId, name: 'WordPress' });
  await post(`/databases/${IDS.databaseId}/collections`, { collectionId: IDS.tableId, name: 'posts' });
  await post(`/databases/${IDS.databaseId}/collections/${IDS.tableId}/attributes/string`, { key: 'wp_post_id', size: 20, required: true });
  await post(`/databases/${IDS.databaseId}/collections/${IDS.tableId}/attributes/string`, { key: 'title', size: 255, required: true });
  const run = await runVcs(['appwrite', 'setup'], env);
  assert.is(run.code, 1, 'a problem setup cannot fix');
  assert.match(run.stdout, /exists   column posts\.title/);
  assert.match(run.stdout, /created  column posts\.original_video_url/);
  assert.match(run.stdout, /warning  column posts\.wp_post_id is string, expected integer/);
});

test('a rejected key, a wrong project, missing settings: a clear message and a failing exit code', async ({ server }) => {
  const wrongKey = await setup(server, { APPWRITE_API_KEY: 'nope' });
  assert.is(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /^vcs appwrite setup: Appwrite API key rejected .*check APPWRITE_API_KEY/);
  const wrongProject = await setup(server, { APPWRITE_PROJECT_ID: 'nope' });
  assert.is(wrongProject.code, 1);
  assert.match(wrongProject.stderr, /project_not_found.*APPWRITE_PROJECT_ID/);
  const missing = await runVcs(['appwrite', 'setup'], { APPWRITE_ENDPOINT: server.endpoint });
  assert.is(missing.code, 78);
  assert.match(missing.stderr, /set APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID and APPWRITE_API_KEY/);
  assert.is(server.databases.size, 0, 'nothing created');
});

test.run();
