/**
 * The fake Appwrite server (test/support/appwrite-server.ts) against Appwrite's OpenAPI spec and
 * docs/protocols/appwrite.md: every route it serves is a route of the spec, answers with the spec's status and
 * response schema, errors have the error schema; and it refuses what the real server refuses.
 * Requests go through node-appwrite's Client, so they are encoded as the SDK encodes them.
 */
import { AppwriteException, Client, Query } from 'node-appwrite';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { extractFacts, fakeRouteKeys, matchesAny, operationOf, readSubset } from '../support/appwrite/openapi.ts';
import { FACTS } from '../support/appwrite/openapi-facts.ts';
import { FAMILIES, type Family } from '../support/appwrite/records.ts';
import { startAppwriteServer, type FakeAppwrite } from '../support/appwrite-server.ts';

/** How long the fake builds a column or index; the requests before the waits take far less. */
const BUILD_MS = 300;

const test = suite<{ server: FakeAppwrite }>('fake Appwrite server', {} as { server: FakeAppwrite });

test.before.each(async (ctx) => {
  ctx.server = await startAppwriteServer({ buildMs: BUILD_MS });
});
test.after.each(async (ctx) => {
  await ctx.server.close();
});

const client = (server: FakeAppwrite, key = server.apiKey, project = server.projectId) => new Client().setEndpoint(server.endpoint).setProject(project).setKey(key);

/** One SDK call; an AppwriteException is returned, not thrown. */
async function call(c: Client, method: string, path: string, params: Record<string, unknown> = {}): Promise<any> {
  const headers: Record<string, string> = { 'X-Appwrite-Project': c.config.project };
  if (method !== 'GET') headers['content-type'] = 'application/json';
  return c.call(method, new URL(c.config.endpoint + path), headers, params).catch((err: unknown) => err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every route of `f`, successes and failures, in an order that makes sense. */
async function exercise(server: FakeAppwrite, f: Family): Promise<void> {
  const c = client(server);
  const db = `/${f.name}/main`;
  const table = `${db}/${f.tables}/posts`;
  const columns = `${table}/${f.columns}`;
  assert.is((await call(c, 'POST', `/${f.name}`, { databaseId: 'main', name: 'Main' })).$id, 'main');
  await call(c, 'GET', db);
  await call(c, 'POST', `${db}/${f.tables}`, { [f.tableId]: 'posts', name: 'Posts', permissions: [], [f.security]: false });
  const bodies: Record<string, Record<string, unknown>> = {
    varchar: { key: 'title', size: 64, required: true },
    string: { key: 'code', size: 16, required: false, default: 'x' },
    text: { key: 'notes', required: false },
    integer: { key: 'wp_post_id', required: true, min: 1, max: 1_000_000 },
    float: { key: 'seconds', required: false, min: 0 },
    boolean: { key: 'retryable', required: false },
    datetime: { key: 'started_at', required: false },
    enum: { key: 'status', elements: ['pending', 'completed'], required: false, default: 'pending' },
    url: { key: 'url', required: false },
  };
  for (const [type, body] of Object.entries(bodies)) {
    const created = await call(c, 'POST', `${columns}/${type}`, body);
    assert.is(created.status, 'processing', `${type} column starts processing`);
  }
  // Not yet available: a row using the column is refused, as on the real server.
  const early = await call(c, 'POST', `${table}/${f.rows}`, { [f.rowId]: 'r0', data: { title: 'x', wp_post_id: 1 } });
  assert.instance(early, AppwriteException);
  assert.is(early.type, `${f.row}_invalid_structure`);
  await sleep(BUILD_MS + 50);
  assert.is((await call(c, 'GET', `${columns}/title`)).status, 'available');
  assert.is((await call(c, 'GET', columns)).total, 9);
  assert.is((await call(c, 'POST', `${table}/indexes`, { key: 'wp', type: 'unique', [f.columns]: ['wp_post_id'] })).status, 'processing');
  await sleep(BUILD_MS + 50);
  assert.is((await call(c, 'GET', `${table}/indexes/wp`)).status, 'available');
  await call(c, 'GET', `${table}/indexes`);
  await call(c, 'GET', table);

  const row = await call(c, 'POST', `${table}/${f.rows}`, { [f.rowId]: 'unique()', data: { title: 'Cats', wp_post_id: 1, started_at: '2030-01-01T00:00:00.000Z' } });
  assert.match(row.$id, /^[0-9a-f]{20}$/);
  assert.equal([row.$sequence, row.code, row.status, row.notes, row.started_at], ['1', 'x', 'pending', null, '2030-01-01T00:00:00.000+00:00'], 'defaults, nulls, dates as the server writes them');
  await call(c, 'POST', `${table}/${f.rows}`, { [f.rowId]: 'two', data: { title: 'Dogs', wp_post_id: 2, status: 'completed' } });
  const rows = `${table}/${f.rows}`;
  const list = await call(c, 'GET', rows, { queries: [Query.equal('status', ['pending']), Query.orderDesc('$createdAt'), Query.limit(5)] });
  assert.equal([list.total, list[f.rows].map((r: any) => r.title)], [1, ['Cats']]);
  assert.equal((await call(c, 'GET', rows, { queries: [Query.contains('title', ['AT'])] }))[f.rows].map((r: any) => r.title), ['Cats'], 'case-insensitive');
  assert.equal((await call(c, 'GET', rows, { queries: [Query.or([Query.isNull('notes'), Query.equal('wp_post_id', [2])]), Query.cursorAfter(row.$id)] }))[f.rows].map((r: any) => r.$id), ['two']);
  await call(c, 'GET', `${rows}/two`);
  const updated = await call(c, 'PATCH', `${rows}/two`, { data: { notes: 'n' } });
  assert.equal([updated.notes, updated.title], ['n', 'Dogs'], 'a PATCH merges');

  // What the real server refuses.
  const refusals: [Promise<any>, number, string, RegExp][] = [
    [call(c, 'GET', rows, { queries: [Query.equal('nope', ['x'])] }), 400, 'general_query_invalid', /Attribute not found in schema: nope/],
    [call(c, 'GET', rows, { queries: [Query.equal('wp_post_id', ['1'])] }), 400, 'general_query_invalid', /Query value is invalid for attribute "wp_post_id"/],
    [call(c, 'GET', rows, { queries: [Query.search('title', 'cats')] }), 400, 'general_query_invalid', /requires a fulltext index/],
    [call(c, 'GET', rows, { queries: ['{"method":"bogus","values":[]}'] }), 400, 'general_query_invalid', /Invalid query method: bogus/],
    [call(c, 'GET', rows, { queries: ['not json'] }), 400, 'general_query_invalid', /Syntax error/],
    [call(c, 'GET', rows, { queries: [Query.limit(0)] }), 400, 'general_query_invalid', /Invalid limit/],
    [call(c, 'GET', rows, { queries: [Query.cursorAfter('gone')] }), 400, 'general_cursor_not_found', /'gone' for the 'cursor' value not found/],
    [call(c, 'POST', rows, { [f.rowId]: 'three', data: { title: 'Dup', wp_post_id: 2 } }), 409, `${f.row}_already_exists`, /already exists/],
    [call(c, 'POST', rows, { [f.rowId]: 'two', data: { title: 'Again', wp_post_id: 3 } }), 409, `${f.row}_already_exists`, /'two' already exists/],
    [call(c, 'POST', rows, { [f.rowId]: 'four', data: { title: 'X', wp_post_id: 4, extra: 1 } }), 400, `${f.row}_invalid_structure`, /Unknown attribute: "extra"/],
    [call(c, 'POST', rows, { [f.rowId]: 'five', data: { wp_post_id: 5 } }), 400, `${f.row}_invalid_structure`, /Missing required attribute "title"/],
    [call(c, 'POST', rows, { [f.rowId]: 'six', data: { title: 'X', wp_post_id: 'six' } }), 400, `${f.row}_invalid_structure`, /"wp_post_id" has invalid type/],
    [call(c, 'POST', rows, { [f.rowId]: 'seven', data: { title: 'X', wp_post_id: 7, status: 'odd' } }), 400, `${f.row}_invalid_structure`, /Value must be one of \(pending, completed\)/],
    [call(c, 'PATCH', `${rows}/two`, { data: {} }), 400, `${f.row}_missing_payload`, /payload is missing/],
    [call(c, 'GET', `${rows}/nine`), 404, `${f.row}_not_found`, /'nine' could not be found/],
    [call(c, 'GET', `${db}/${f.tables}/nope`), 404, `${f.table}_not_found`, /'nope' could not be found/],
    [call(c, 'GET', `/${f.name}/nope`), 404, 'database_not_found', /'nope' could not be found/],
    [call(c, 'POST', `${columns}/varchar`, { key: 'title', size: 5, required: false }), 409, `${f.column}_already_exists`, /already exists/],
    [call(c, 'POST', `${columns}/integer`, { key: 'n', required: true, default: 1 }), 400, `${f.column}_default_unsupported`, /Cannot set default value/],
    [call(client(server, 'wrong'), 'GET', rows), 401, 'user_unauthorized', /not authorized/],
    [call(client(server, 'wrong'), 'GET', table), 401, 'general_unauthorized_scope', /role: guests/],
    [call(client(server, server.apiKey, 'elsewhere'), 'GET', db), 404, 'project_not_found', /Project with the requested ID could not be found/],
  ];
  for (const [promise, status, type, message] of refusals) {
    const err = await promise;
    assert.instance(err, AppwriteException, `${type}: ${JSON.stringify(err)}`);
    assert.equal([err.code, err.type], [status, type], err.message);
    assert.match(err.message, message);
  }
  assert.ok((await call(c, 'DELETE', `${rows}/two`)) !== undefined);
}

for (const family of Object.values(FAMILIES)) {
  test(`${family.name}: every route and response matches the OpenAPI facts`, async ({ server }) => {
    await exercise(server, family);
    const served = server.requests.filter((r) => r.route);
    for (const r of served) {
      const fact = FACTS.routes[`${r.method} ${r.route}`];
      assert.ok(fact, `${r.method} ${r.route} is in the spec`);
      if (r.status >= 400) {
        assert.equal(matchesAny(FACTS, ['error'], r.response), [], `${r.method} ${r.path} → ${r.status}`);
        continue;
      }
      const schemas = fact!.responses[String(r.status)];
      assert.ok(schemas, `${r.method} ${r.route} answers ${r.status}; the spec says ${Object.keys(fact!.responses).join(', ')}`);
      if (schemas!.length) assert.equal(matchesAny(FACTS, schemas!, r.response), [], `${r.method} ${r.path}`);
      else assert.is(r.response, undefined, `${r.method} ${r.path}: no body`);
    }
    const routes = (await fakeRouteKeys()).filter((k) => k.includes(` /${family.name}`));
    const succeeded = new Set(served.filter((r) => r.status < 400).map((r) => `${r.method} ${r.route}`));
    assert.equal(routes.filter((k) => !succeeded.has(k)), [], 'every route exercised');
  });
}

test('204 has no body and no content type; errors are JSON with an integer code; unknown routes are general_route_not_found', async ({ server }) => {
  const c = client(server);
  await call(c, 'POST', '/tablesdb', { databaseId: 'main', name: 'Main' });
  await call(c, 'POST', '/tablesdb/main/tables', { tableId: 't', name: 'T' });
  await call(c, 'POST', '/tablesdb/main/tables/t/columns/integer', { key: 'n', required: false });
  await sleep(BUILD_MS + 50);
  await call(c, 'POST', '/tablesdb/main/tables/t/rows', { rowId: 'r1', data: { n: 1 } });
  const headers = { 'X-Appwrite-Project': server.projectId, 'X-Appwrite-Key': server.apiKey, 'content-type': 'application/json' };
  const deleted = await fetch(`${server.endpoint}/tablesdb/main/tables/t/rows/r1`, { method: 'DELETE', headers, body: '{}' });
  assert.equal([deleted.status, deleted.headers.get('content-type'), await deleted.text()], [204, null, '']);
  const missing = await fetch(`${server.endpoint}/tablesdb/main/tables/t/rows/r1`, { headers });
  assert.equal([missing.status, missing.headers.get('content-type')], [404, 'application/json; charset=UTF-8']);
  assert.equal(await missing.json(), { message: "Row with the requested ID 'r1' could not be found.", code: 404, version: '1.9.6', type: 'row_not_found' });
  const route = await fetch(`${server.endpoint}/nowhere`, { headers });
  assert.equal([route.status, (await route.json()).type], [404, 'general_route_not_found']);
});

test('X-Appwrite-Timestamp: a write over a newer row is refused with 409', async ({ server }) => {
  const c = client(server);
  await call(c, 'POST', '/tablesdb', { databaseId: 'main', name: 'Main' });
  await call(c, 'POST', '/tablesdb/main/tables', { tableId: 't', name: 'T' });
  await call(c, 'POST', '/tablesdb/main/tables/t/columns/integer', { key: 'n', required: false });
  await sleep(BUILD_MS + 50);
  const row = await call(c, 'POST', '/tablesdb/main/tables/t/rows', { rowId: 'r1', data: { n: 1 } });
  const stale = new Date(Date.parse(row.$updatedAt) - 1000).toISOString();
  const refused = await call(client(server).addHeader('X-Appwrite-Timestamp', stale), 'PATCH', '/tablesdb/main/tables/t/rows/r1', { data: { n: 2 } });
  assert.equal([refused.code, refused.type, refused.message], [409, 'row_update_conflict', 'Remote row is newer than local.']);
  const fresh = await call(client(server).addHeader('X-Appwrite-Timestamp', row.$updatedAt), 'PATCH', '/tablesdb/main/tables/t/rows/r1', { data: { n: 2 } });
  assert.is(fresh.n, 2);
});

test('a server before 1.8 has no TablesDB routes', async () => {
  const old = await startAppwriteServer({ families: ['databases'] });
  try {
    const err = await call(client(old), 'GET', '/tablesdb/main');
    assert.equal([err.code, err.type], [404, 'general_route_not_found']);
    assert.equal((await call(client(old), 'GET', '/databases/main')).type, 'database_not_found');
  } finally {
    await old.close();
  }
});

test('faults: 500s, hangs and resets for a number of requests or for a while', async ({ server }) => {
  const c = client(server);
  server.faults.next('error', 1);
  const err = await call(c, 'GET', '/tablesdb/main');
  assert.equal([err.code, err.type, err.message], [500, 'general_unknown', 'Server Error']);
  server.faults.next('reset', 1);
  const reset = await call(c, 'GET', '/tablesdb/main');
  assert.instance(reset, TypeError);
  server.faults.outage('hang', 150);
  const hung = await fetch(`${server.endpoint}/tablesdb/main`, { signal: AbortSignal.timeout(50) }).catch((e: Error) => e.name);
  assert.is(hung, 'TimeoutError');
  await sleep(150);
  assert.is((await call(c, 'GET', '/tablesdb/main')).type, 'database_not_found', 'over');
  assert.is(server.faults.served, 3);
});

test('the facts are those of the embedded spec subset, which has every route the fake serves', async () => {
  const subset = readSubset();
  const keys = await fakeRouteKeys();
  assert.equal(keys.filter((key) => !operationOf(subset, key)), [], 'routes missing from the subset: cut a new one from a full spec (test/support/appwrite/openapi.ts --spec)');
  assert.is(FACTS.source, `Appwrite ${subset['x-subset'].version}`);
  assert.equal(extractFacts(subset, keys), FACTS, 'regenerate: node --import tsx test/support/appwrite/openapi.ts --write');
});

test.run();
