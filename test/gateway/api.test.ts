/**
 * The REST API: every endpoint and status path, auth (missing, wrong, rotated key), validation,
 * worker controls through the store, and the error format.
 */
import { mkdir, writeFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../src/gateway/auth.ts';
import { exists } from '../support/package-asserts.ts';
import { API_KEY, startGateway, workerPort, type GatewayUnderTest } from '../support/gateway.ts';

const test = suite('REST API');
let gw: GatewayUnderTest;
const K = { key: API_KEY };

test.before.each(async () => {
  gw = await startGateway();
});
test.after.each(async () => {
  await gw.close();
});

async function add(id: number, extra: Record<string, unknown> = {}) {
  return gw.request('POST', '/api/jobs', { ...K, body: { wp_post_id: id, title: `Video ${id}`, original_video_url: `https://wp.example/${id}.mp4`, ...extra } });
}

async function complete(id: number) {
  await gw.store.transition(id, 'processing', { started_at: new Date(Date.now() - 90_000).toISOString(), job_name: `vcs-${id}-1` });
  return gw.store.transition(id, 'completed', {
    completed_at: new Date().toISOString(),
    master_playlist_url: `https://cdn.example/storage/hls/${id}/master.m3u8`,
    poster_url: `https://cdn.example/storage/hls/${id}/poster.jpg`,
    hls_high_url: `https://cdn.example/storage/hls/${id}/high/playlist.m3u8`,
    total_size: 1234,
    duration_seconds: 12.5,
    compression_step: 'completed',
    compression_progress: 100,
  });
}

test('POST /api/jobs adds a video (201, position), refuses duplicates (409) and bad fields (400 naming the field)', async () => {
  const created = await add(1);
  assert.is(created.status, 201);
  assert.equal(created.json, { success: true, message: 'Job queued for processing', wp_post_id: 1, position_in_queue: 1, paused: false });
  assert.is((await add(1)).status, 409);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ wp_post_id: 'x' }, /wp_post_id must be a positive integer/],
    [{ wp_post_id: 0 }, /wp_post_id must be a positive integer/],
    [{ title: '' }, /title is required/],
    [{ original_video_url: 'ftp://x/a.mp4' }, /original_video_url must be an http\(s\) URL/],
    [{ original_video_url: 'file:///etc/passwd' }, /original_video_url must be an http\(s\) URL/],
    [{ original_video_url: 'not a url' }, /original_video_url must be an absolute http\(s\) URL/],
    [{ original_video_url: 'https://user:s3cret@wp.example/a.mp4' }, /original_video_url must not carry credentials/],
    [{ original_video_url: 'https://token@wp.example/a.mp4' }, /original_video_url must not carry credentials/],
    [{ priority: 'urgent' }, /priority must be one of normal, high/],
    [{ colour: 'red' }, /unknown field colour/],
  ];
  for (const [extra, message] of cases) {
    const res = await add(2, extra);
    assert.is(res.status, 400, JSON.stringify(extra));
    assert.is(res.json.error.code, 'VCS_ERR_BAD_REQUEST');
    assert.match(res.json.error.message, message);
    assert.not.match(res.text, 's3cret', 'the credentials are not repeated');
  }
  assert.is(await gw.store.get(2), null, 'nothing stored');
  assert.not.ok(JSON.stringify(gw.logs).includes('s3cret'), 'nor logged');
  const malformed = await gw.request('POST', '/api/jobs', { ...K, rawBody: '{"wp_post_id": 3,' });
  assert.is(malformed.status, 400);
  assert.is(malformed.json.error.code, 'VCS_ERR_BAD_REQUEST');
  const notObject = await gw.request('POST', '/api/jobs', { ...K, body: [1, 2] });
  assert.is(notObject.status, 400);
});

test('GET /api/post/:id: 400 for bad ids, 404 unknown, the plan shape for pending, processing and completed', async () => {
  for (const bad of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
    const res = await gw.request('GET', `/api/post/${bad}`);
    assert.is(res.status, 400, bad);
    assert.match(res.json.error.message, /wp_post_id must be a positive integer/);
  }
  assert.is((await gw.request('GET', '/api/post/404')).status, 404);
  await add(5);
  await add(6, { priority: 'high' });
  const pending = await gw.request('GET', '/api/post/5');
  assert.is(pending.status, 200);
  assert.equal([pending.json.status, pending.json.step, pending.json.progress, pending.json.position_in_queue, pending.json.urls], ['pending', 'queued', 0, 2, null]);
  await gw.store.transition(5, 'processing', { started_at: new Date(Date.now() - 60_000).toISOString(), compression_step: 'compressing', compression_progress: 50 });
  const processing = (await gw.request('GET', '/api/post/5')).json;
  assert.equal([processing.status, processing.step, processing.progress], ['processing', 'compressing', 50]);
  const eta = Date.parse(processing.estimated_completion) - Date.now();
  assert.ok(eta > 40_000 && eta < 80_000, `50 % after 60 s → about 60 s left, got ${eta} ms`);
  await complete(6);
  const done = (await gw.request('GET', '/api/post/6')).json;
  assert.equal(done.urls, {
    master_playlist_url: 'https://cdn.example/storage/hls/6/master.m3u8',
    poster_url: 'https://cdn.example/storage/hls/6/poster.jpg',
    hls_high_url: 'https://cdn.example/storage/hls/6/high/playlist.m3u8',
    hls_medium_url: null,
    hls_low_url: null,
  });
  assert.equal([done.total_size, done.duration_seconds, done.status], [1234, 12.5, 'completed']);
  // Compressed again through the API: the package published before is served until a new one
  // replaces it, so a publisher keeps its player (issue 16).
  assert.is((await gw.request('POST', '/api/compress/6', K)).status, 202);
  const again = (await gw.request('GET', '/api/post/6')).json;
  assert.equal([again.status, again.urls], ['pending', done.urls]);
  await gw.request('DELETE', '/api/post/6', K);
  assert.is((await gw.request('GET', '/api/post/6')).json.urls, null, 'deleted with its files: nothing served, no URLs');
});

test('auth: writes need the key (missing/wrong → 401, WWW-Authenticate); reads are public; rotated keys work; never logged', async () => {
  await add(7);
  const missing = await gw.request('POST', '/api/compress/7');
  assert.is(missing.status, 401);
  assert.is(missing.headers.get('www-authenticate'), 'Bearer');
  assert.match(missing.json.error.message, /API key is required/);
  const wrong = await gw.request('POST', '/api/compress/7', { key: 'nope' });
  assert.is(wrong.status, 401);
  assert.match(wrong.json.error.message, /not valid/);
  assert.is((await gw.request('GET', '/api/jobs')).status, 401);
  assert.is((await gw.request('DELETE', '/api/post/7')).status, 401);
  assert.is((await gw.request('GET', '/api/post/7')).status, 200, 'optional read is public');
  assert.is((await gw.request('GET', '/api/stats')).status, 200, 'optional read is public');
  assert.is((await gw.request('GET', '/api/post/7', { key: 'wrong' })).status, 401, 'a wrong key on a read is still refused');
  assert.is((await gw.request('GET', '/api/jobs', K)).status, 200);
  const line = gw.logs.find((l) => l.msg === 'API call');
  assert.is(line?.key, sha256Hex(API_KEY).slice(0, 8), 'fingerprint logged');
  assert.not.ok(JSON.stringify(gw.logs).includes(API_KEY), 'the key itself is never logged');
  await gw.close();

  const next = 'n'.repeat(64);
  gw = await startGateway({ API_KEY: '', API_KEY_HASHES: `${sha256Hex('old-key')},${sha256Hex(next)}`, REQUIRE_AUTH_FOR_READS: 'true' });
  assert.is((await gw.request('GET', '/api/jobs', { key: next })).status, 200, 'rotated key');
  assert.is((await gw.request('GET', '/api/jobs', { key: 'old-key' })).status, 200, 'old key during rotation');
  assert.is((await gw.request('GET', '/api/stats')).status, 401, 'REQUIRE_AUTH_FOR_READS');
  assert.is((await gw.request('GET', '/api/post/1')).status, 401, 'REQUIRE_AUTH_FOR_READS');
  await gw.close();

  gw = await startGateway({ API_KEY: '' });
  const none = await gw.request('GET', '/api/jobs', { key: 'anything' });
  assert.is(none.status, 401);
  assert.match(none.json.error.message, /has none configured/);
});

test('POST /api/compress: requeue finished videos, raise priority, 409 while processing, 404 unknown, body checked', async () => {
  let pokes = 0;
  await gw.close();
  gw = await startGateway({}, workerPort({ poke: () => void pokes++ }));
  await add(10);
  await add(11);
  await add(12);
  const raised = await gw.request('POST', '/api/compress/12', { ...K, body: { priority: 'high' } });
  assert.is(raised.status, 202);
  assert.equal([raised.json.message, raised.json.position_in_queue], ['Job already queued', 1]);
  await complete(10);
  const again = await gw.request('POST', '/api/compress/10', K);
  // The queue is FIFO by creation time: a re-queued video keeps its place behind high priority.
  assert.equal([again.status, again.json.success, again.json.position_in_queue], [202, true, 2]);
  assert.is((await gw.store.get(10))!.compression_status, 'pending');
  await gw.store.transition(11, 'processing', {});
  assert.is((await gw.request('POST', '/api/compress/11', K)).status, 409);
  assert.is((await gw.request('POST', '/api/compress/999', K)).status, 404);
  assert.is((await gw.request('POST', '/api/compress/12', { ...K, body: { priority: 'asap' } })).status, 400);
  assert.ok(pokes >= 2, 'the controller is poked');
});

test('GET /api/jobs: status filter, search by title or id, sort, order, pagination, validation', async () => {
  for (let i = 1; i <= 25; i++) await add(i, { title: i % 5 === 0 ? `Tutorial ${i}` : `Clip ${i}` });
  await complete(3);
  const page = (await gw.request('GET', '/api/jobs?limit=10&offset=10&sort=wp_post_id&order=asc', K)).json;
  assert.equal([page.total, page.page, page.jobs.length, page.jobs[0].wp_post_id], [25, 2, 10, 11]);
  const search = (await gw.request('GET', '/api/jobs?search=tutorial', K)).json;
  assert.equal(search.jobs.map((j: { wp_post_id: number }) => j.wp_post_id).sort((a: number, b: number) => a - b), [5, 10, 15, 20, 25]);
  assert.equal((await gw.request('GET', '/api/jobs?search=17', K)).json.jobs.map((j: { wp_post_id: number }) => j.wp_post_id), [17]);
  const completed = (await gw.request('GET', '/api/jobs?status=completed', K)).json;
  assert.equal([completed.total, completed.jobs[0].master_playlist_url], [1, 'https://cdn.example/storage/hls/3/master.m3u8']);
  const desc = (await gw.request('GET', '/api/jobs?sort=wp_post_id&order=desc&limit=1', K)).json;
  assert.is(desc.jobs[0].wp_post_id, 25);
  for (const bad of ['limit=0', 'limit=101', 'offset=-1', 'sort=colour', 'order=up', 'status=done', 'from=yesterday', 'to=2030-13-45', 'from=2030-01-01T10:00']) {
    const res = await gw.request('GET', `/api/jobs?${bad}`, K);
    assert.is(res.status, 400, bad);
    assert.match(res.json.error.message, new RegExp(`^${bad.split('=')[0]} must be`));
  }
  // A date range on the creation time: days are whole UTC days, `to` included.
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const count = async (q: string) => (await gw.request('GET', `/api/jobs?${q}`, K)).json.total;
  assert.equal([await count(`from=${today}`), await count(`to=${today}`), await count(`to=${yesterday}`), await count(`from=${today}&to=${today}&search=tutorial`)], [25, 25, 0, 5]);
  assert.is(await count(`from=${new Date(Date.now() + 60_000).toISOString()}`), 0);
  const reversed = await gw.request('GET', `/api/jobs?from=${today}&to=${yesterday}`, K);
  assert.equal([reversed.status, reversed.json.error.message], [400, 'from must be before to']);
});

/** A package in HLS_PATH/{id} as a run publishes it (two files, 524 000 bytes). */
async function publish(id: number) {
  await mkdir(path.join(gw.hlsPath, String(id), 'high'), { recursive: true });
  await writeFile(path.join(gw.hlsPath, String(id), 'master.m3u8'), 'x'.repeat(1000));
  await writeFile(path.join(gw.hlsPath, String(id), 'high', 'segment000.ts'), Buffer.alloc(523_000));
}

test('GET /api/post/:id never fails on an estimate it cannot represent (an ETA of 1e300 s)', async () => {
  await gw.close();
  const eta = { etaSeconds: 1e300, at: Date.now() };
  gw = await startGateway({}, workerPort({ eta: () => eta }));
  await add(40);
  await gw.store.transition(40, 'processing', { job_name: 'vcs-40-1', started_at: new Date().toISOString(), compression_progress: 50 });
  const res = await gw.request('GET', '/api/post/40');
  assert.equal([res.status, res.json.estimated_completion], [200, null]);
});

test('DELETE /api/post/:id: marks deleted, removes files (space freed), keeps files on request, checks its input', async () => {
  await add(20);
  await complete(20);
  await publish(20);
  const res = await gw.request('DELETE', '/api/post/20', K);
  assert.is(res.status, 200);
  assert.equal(res.json, { success: true, deleted_files: true, space_freed: '524 KB', space_freed_bytes: 524_000, run_stopping: false });
  const gone = await gw.store.get(20);
  assert.equal([gone!.compression_status, gone!.master_playlist_url], ['deleted', null]);
  assert.is((await gw.request('GET', '/storage/hls/20/master.m3u8')).status, 404);
  await add(21);
  await complete(21);
  await publish(21);
  const kept = await gw.request('DELETE', '/api/post/21?delete_files=false', K);
  assert.equal([kept.json.deleted_files, kept.json.space_freed_bytes], [false, 0]);
  assert.ok(await exists(path.join(gw.hlsPath, '21', 'master.m3u8')), 'files kept');
  assert.is((await gw.store.get(21))!.master_playlist_url, 'https://cdn.example/storage/hls/21/master.m3u8', 'and their URLs');
  assert.is((await gw.request('DELETE', '/api/post/21?delete_files=maybe', K)).status, 400);
  assert.is((await gw.request('DELETE', '/api/post/404', K)).status, 404);
});

test('DELETE of a video being compressed: files go only after its run stopped, so what the run published meanwhile goes too', async () => {
  await gw.close();
  const waits: number[] = [];
  // The run, asked to stop, publishes once more before it ends (a run caught between its two renames).
  gw = await startGateway({}, workerPort({ waitForRunToStop: async (id) => (waits.push(id), await publish(id), true) }));
  await add(30);
  await gw.store.transition(30, 'processing', { job_name: 'vcs-30-1', started_at: new Date().toISOString() });
  const res = await gw.request('DELETE', '/api/post/30', K);
  assert.equal([res.status, res.json.run_stopping, res.json.space_freed_bytes], [200, false, 524_000]);
  assert.equal(waits, [30], 'the run was waited for');
  assert.not.ok(await exists(path.join(gw.hlsPath, '30')), 'nothing the run published is left');
});

test('DELETE racing the controller: a run started between the read and the write is seen and waited for', async () => {
  await gw.close();
  const waits: number[] = [];
  gw = await startGateway({}, workerPort({ waitForRunToStop: async (id) => (waits.push(id), await publish(id), true) }));
  await add(31);
  // The controller moves the video to processing right after the API read it as pending.
  const store = gw.store;
  const read = store.get.bind(store);
  let raced = false;
  store.get = async (id) => {
    const video = await read(id);
    if (id === 31 && !raced) {
      raced = true;
      await store.transition(31, 'processing', { job_name: 'vcs-31-1', started_at: new Date().toISOString() }, ['pending']);
    }
    return video;
  };
  const res = await gw.request('DELETE', '/api/post/31', K);
  assert.is(res.status, 200);
  assert.ok(raced);
  assert.equal(waits, [31], 'the read said pending, but the video left processing: its run is waited for');
  assert.is((await read(31))!.compression_status, 'deleted');
  assert.not.ok(await exists(path.join(gw.hlsPath, '31')));
});

test('DELETE in the cluster shape (no controller in the process): answers at once and says the run is still stopping', async () => {
  await add(32);
  await gw.store.transition(32, 'processing', { job_name: 'vcs-32-1', started_at: new Date().toISOString() });
  await publish(32);
  const res = await gw.request('DELETE', '/api/post/32', K);
  assert.equal([res.status, res.json.run_stopping, res.json.space_freed_bytes], [200, true, 524_000]);
  assert.is((await gw.store.get(32))!.compression_status, 'deleted');
});

test('GET /api/stats: totals per status, storage, average time, videos today, success rate', async () => {
  for (const id of [1, 2, 3, 4]) await add(id);
  await complete(1);
  await complete(2);
  await gw.store.transition(3, 'failed', { error_message: 'x', failed_at: new Date().toISOString() });
  const stats = (await gw.request('GET', '/api/stats')).json;
  assert.equal(
    [stats.total_videos, stats.completed, stats.processing, stats.pending, stats.failed, stats.videos_today, stats.success_rate],
    [4, 2, 0, 1, 1, 4, '66.7%'],
  );
  assert.match(stats.average_compression_time, /^1\.5 minutes$/);
  assert.match(stats.total_storage_used, /^\d+(\.\d)? [KMGT]?B$/);
});

test('worker controls through the store: pause, resume, clear queue, cleanup', async () => {
  assert.equal((await gw.request('POST', '/api/worker/pause', K)).json, { success: true, paused: true });
  assert.is(await gw.store.isPaused(), true);
  assert.is((await gw.request('GET', '/api/worker')).json.paused, true);
  assert.equal((await gw.request('POST', '/api/worker/resume', K)).json, { success: true, paused: false });
  assert.is(await gw.store.isPaused(), false);
  for (const id of [1, 2, 3]) await add(id);
  await gw.store.transition(3, 'processing', {});
  assert.equal((await gw.request('POST', '/api/queue/clear', K)).json, { success: true, cancelled: 2 });
  const cancelled = (await gw.store.get(1))!;
  assert.equal([cancelled.compression_status, cancelled.error_code, cancelled.retryable], ['failed', 'VCS_ERR_CANCELLED_BY_USER', false]);
  assert.is((await gw.store.get(3))!.compression_status, 'processing');
  assert.is((await gw.request('POST', '/api/compress/1', K)).status, 202, 'a cancelled video can be queued again');
  const stale = path.join(gw.tempPath, 'work', 'vcs-9-1');
  await mkdir(stale, { recursive: true });
  await writeFile(path.join(stale, 'source'), Buffer.alloc(2000));
  const old = new Date(Date.now() - 2 * 3_600_000);
  await utimes(path.join(stale, 'source'), old, old);
  await utimes(stale, old, old);
  const fresh = path.join(gw.tempPath, 'work', 'vcs-8-1');
  await mkdir(fresh, { recursive: true });
  const cleaned = (await gw.request('POST', '/api/cleanup', K)).json;
  assert.equal([cleaned.success, cleaned.removed, cleaned.space_freed_bytes], [true, 1, 2000]);
});

test('errors: JSON for unknown routes (404) and wrong methods (405); internals are not exposed', async () => {
  const unknown = await gw.request('GET', '/api/nothing');
  assert.equal([unknown.status, unknown.json.error.code], [404, 'VCS_ERR_NOT_FOUND']);
  const method = await gw.request('PUT', '/api/jobs', K);
  assert.equal([method.status, method.json.error.code], [405, 'VCS_ERR_METHOD_NOT_ALLOWED']);
  await gw.store.close(); // every store call now fails unexpectedly
  const broken = await gw.request('GET', '/api/post/1');
  assert.is(broken.status >= 500, true);
  assert.not.match(broken.text, /at .*\.ts|stack/i, 'no stack trace');
  assert.ok(gw.logs.some((l) => l.msg === 'request failed' && (l.err as { stack?: string })?.stack), '5xx logged with the stack');
  assert.ok(gw.logs.some((l) => l.msg === 'request' && l.path === '/api/nothing' && l.status === 404), 'one access log line per request');
});

test('ALLOWED_REFERERS reaches the HLS files: other sites get 403, listed ones and no Referer pass', async () => {
  await gw.close();
  gw = await startGateway({ ALLOWED_REFERERS: 'wp.example,www.wp.example' });
  await mkdir(path.join(gw.hlsPath, '1'), { recursive: true });
  await writeFile(path.join(gw.hlsPath, '1', 'master.m3u8'), '#EXTM3U\n');
  const get = (referer?: string) => gw.request('GET', '/storage/hls/1/master.m3u8', { headers: referer ? { referer } : {} });
  assert.is((await get('https://evil.example/page')).status, 403);
  assert.is((await get('https://www.wp.example/post/1')).status, 200);
  assert.is((await get()).status, 200);
});

test('POST /api/compress with a new upload or title: the title is kept unless given; a queued video keeps its source; the answer says when paused', async () => {
  await add(20);
  await complete(20);
  const again = await gw.request('POST', '/api/compress/20', { ...K, body: { original_video_url: 'https://wp.example/20-v2.mp4' } });
  assert.equal([again.status, again.json.paused], [202, false]);
  const video = (await gw.store.get(20))!;
  assert.equal([video.compression_status, video.original_video_url, video.title], ['pending', 'https://wp.example/20-v2.mp4', 'Video 20']);
  const other = await gw.request('POST', '/api/compress/20', { ...K, body: { original_video_url: 'https://wp.example/20-v3.mp4' } });
  assert.equal([other.status, other.json.error.message], [409, 'video 20 is already queued with another source; delete it first to queue a new upload']);
  await gw.store.setPaused(true);
  const retitled = await gw.request('POST', '/api/compress/20', { ...K, body: { original_video_url: 'https://wp.example/20-v2.mp4', title: 'New title' } });
  assert.equal([retitled.status, retitled.json.message, retitled.json.paused], [202, 'Job already queued', true]);
  assert.is((await gw.store.get(20))!.title, 'New title');
  assert.is((await add(21)).json.paused, true, 'POST /api/jobs says so too');
  assert.is((await gw.request('POST', '/api/compress/20', { ...K, body: { title: 5 } })).status, 400);
});

test('file: sources: refused by default, naming where they are accepted; vcs serve (embedded) takes them from its own machine, not through a proxy', async () => {
  const file = { wp_post_id: 30, title: 'Local', original_video_url: 'file:///srv/clip.mp4' };
  const refused = await gw.request('POST', '/api/jobs', { ...K, body: file });
  assert.is(refused.status, 400);
  assert.match(refused.json.error.message, /got file:; local files are accepted only by vcs serve with the embedded store from calls made on its machine, or with ALLOW_LOCAL_SOURCES/);
  await gw.close();
  gw = await startGateway({}, undefined, { localSourcesFromThisMachine: true });
  assert.is((await gw.request('POST', '/api/jobs', { ...K, body: file })).status, 201);
  const proxied = await gw.request('POST', '/api/jobs', { ...K, body: { ...file, wp_post_id: 31 }, headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.is(proxied.status, 400, 'a forwarded call is not this machine’s');
  for (const [header, value] of [['Forwarded', 'for=203.0.113.9'], ['X-Real-IP', '203.0.113.9'], ['Via', '1.1 proxy'], ['X-FORWARDED-FOR', '203.0.113.9']] as const) {
    const res = await gw.request('POST', '/api/jobs', { ...K, body: { ...file, wp_post_id: 32 }, headers: { [header]: value } });
    assert.is(res.status, 400, `${header}: forwarded`);
  }
});

test('GET /api/post/:id/logs: the runs’ own logs with the API key, newest first; 404 unknown; 401 without a key', async () => {
  await add(40);
  const dir = path.join(gw.tempPath, 'logs', '40');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'vcs-40-1.log'), '{"msg":"first"}\n');
  await writeFile(path.join(dir, 'vcs-40-2.log'), '{"msg":"second"}\n');
  await utimes(path.join(dir, 'vcs-40-1.log'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const logs = await gw.request('GET', '/api/post/40/logs', K);
  assert.is(logs.status, 200);
  assert.equal(logs.json.runs.map((r: { job: string; lines: string[] }) => [r.job, r.lines]), [['vcs-40-2', ['{"msg":"second"}']], ['vcs-40-1', ['{"msg":"first"}']]]);
  assert.is((await gw.request('GET', '/api/post/41/logs', K)).status, 404);
  assert.is((await gw.request('GET', '/api/post/40/logs')).status, 401);
});

test.run();
