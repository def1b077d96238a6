import { AppwriteException } from 'node-appwrite';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError } from '../../../src/errors.ts';
import { backoffMs, classify, storeFailure, withRetries } from '../../../src/jobs/appwrite/failures.ts';

const appwrite = (code: number, type: string, message = 'm') => new AppwriteException(message, code, type, '');

test('classify: what each failure means', () => {
  const cases: [unknown, ReturnType<typeof classify>][] = [
    [appwrite(500, 'general_unknown'), 'transient'],
    [appwrite(502, ''), 'transient'],
    [appwrite(503, 'general_server_error'), 'transient'],
    [appwrite(408, 'general_timeout'), 'transient'],
    [appwrite(429, 'general_rate_limit_exceeded'), 'transient'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'transient'],
    [new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }), 'transient'],
    [new SyntaxError('Unexpected token <'), 'transient'],
    [appwrite(401, 'user_unauthorized'), 'auth'],
    [appwrite(401, 'general_unauthorized_scope'), 'auth'],
    [appwrite(404, 'project_not_found'), 'config'],
    [appwrite(404, 'general_route_not_found'), 'config'],
    [appwrite(404, 'database_not_found'), 'schema'],
    [appwrite(404, 'collection_not_found'), 'schema'],
    [appwrite(404, 'row_not_found'), 'not-found'],
    [appwrite(409, 'row_update_conflict'), 'conflict'],
    [appwrite(400, 'general_query_invalid'), 'refused'],
    [new Error('a bug'), null],
  ];
  for (const [err, kind] of cases) assert.is(classify(err), kind, String((err as Error).message ?? err));
});

test('backoff: full jitter under a doubling ceiling, capped', () => {
  const policy = { retries: 5, baseDelayMs: 200, maxDelayMs: 1000 };
  assert.equal([0, 1, 2, 3, 4].map((a) => backoffMs(a, { ...policy, random: () => 0.999 })), [199, 399, 799, 999, 999]);
  assert.equal([0, 1, 2].map((a) => backoffMs(a, { ...policy, random: () => 0 })), [0, 0, 0]);
});

test('withRetries: transient failures are tried again up to the limit; others are not', async () => {
  let calls = 0;
  const policy = { retries: 2, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => undefined };
  const flaky = () => (++calls < 3 ? Promise.reject(appwrite(500, 'general_unknown')) : Promise.resolve('ok'));
  assert.is(await withRetries('read', flaky, policy), 'ok');
  calls = 0;
  const down = () => (++calls, Promise.reject(appwrite(503, 'general_server_error', 'down')));
  const err = await withRetries('read', down, policy).catch((e: VcsError) => e);
  assert.equal([calls, (err as VcsError).code], [3, 'VCS_ERR_STORE_UNAVAILABLE']);
  assert.match((err as Error).message, /Appwrite unavailable \(read\): 503 general_server_error: down; gave up after 3 tries/);
  calls = 0;
  const refused = () => (++calls, Promise.reject(appwrite(401, 'user_unauthorized')));
  assert.instance(await withRetries('read', refused, policy).catch((e) => e), AppwriteException);
  assert.is(calls, 1);
});

test('storeFailure names the fix', () => {
  const message = (err: unknown) => (storeFailure('open', err) as Error).message;
  assert.match(message(appwrite(401, 'user_unauthorized', 'The current user is not authorized')), /API key rejected.*check APPWRITE_API_KEY and APPWRITE_PROJECT_ID/);
  assert.match(message(appwrite(401, 'general_unauthorized_scope', 'app.p@service.x (role: applications) missing scopes (["rows.read"])')), /lacks a scope/);
  assert.match(message(appwrite(404, 'table_not_found')), /run vcs appwrite setup/);
  assert.match(message(appwrite(404, 'general_route_not_found')), /check APPWRITE_ENDPOINT \(it ends in \/v1\)/);
  assert.is((storeFailure('x', appwrite(400, 'general_query_invalid')) as VcsError).code, 'VCS_ERR_INTERNAL');
});

test.run();
