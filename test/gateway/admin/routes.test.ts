/**
 * The admin dashboard's HTTP side (src/gateway/admin/routes.ts) on the public app as the roots
 * build it: sign-in, the session cookie's flags, the session endpoint, the API with the session
 * (CSRF on state-changing calls, Bearer keys unchanged), the live feed, assets, sign-out, and the
 * dashboard's own rate-limit budget.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { newSession, sealSession } from '../../../src/gateway/admin/session.ts';
import { API_KEY, startGateway, type GatewayUnderTest } from '../../support/gateway.ts';

const test = suite('admin routes');
let gw: GatewayUnderTest;

test.before(async () => {
  gw = await startGateway({ ADMIN_SESSION_SECRET: 'routes-test', TRUST_PROXY: 'true', RATE_LIMIT_MAX_REQUESTS: '3' });
});
test.after(() => gw?.close());

const form = (key: string, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/admin/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ key }).toString() });

async function signIn(headers: Record<string, string> = {}): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await form(API_KEY, headers);
  assert.is(res.status, 303);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const session = await (await fetch(`${gw.url}/admin/session`, { headers: { cookie } })).json();
  return { cookie, csrf: session.csrf, setCookie };
}

test('signed out: the page sends to the sign-in page; the session and the live feed answer 401', async () => {
  const page = await fetch(`${gw.url}/admin/`, { redirect: 'manual' });
  assert.equal([page.status, page.headers.get('location')], [302, '/admin/login']);
  assert.is((await fetch(`${gw.url}/admin/session`)).status, 401);
  assert.is((await fetch(`${gw.url}/admin/events`)).status, 401);
  const login = await fetch(`${gw.url}/admin/login`);
  assert.is(login.status, 200);
  assert.match(login.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.not.match(await login.text(), /<script>|\son[a-z]+=/, 'no inline script');
});

test('a wrong or missing key is refused without a cookie; the right one gets a 24-hour HttpOnly SameSite=Strict cookie', async () => {
  for (const key of ['wrong', '', 'x'.repeat(600)]) {
    const res = await form(key);
    assert.equal([res.status, res.headers.get('location'), res.headers.get('set-cookie')], [302, '/admin/login?failed=key', null], key);
  }
  const { setCookie } = await signIn();
  assert.match(setCookie, /^vcs_admin=v1\./);
  assert.match(setCookie, /path=\//);
  assert.match(setCookie, /samesite=strict/);
  assert.match(setCookie, /httponly/);
  assert.not.match(setCookie, /secure/, 'plain HTTP');
  const expires = Date.parse(/expires=([^;]+)/.exec(setCookie)![1]!);
  assert.ok(Math.abs(expires - Date.now() - 24 * 3600_000) < 60_000);
  assert.ok(gw.logs.some((l) => l.msg === 'admin signed in'));
  assert.not.ok(JSON.stringify(gw.logs).includes(API_KEY), 'the key is never logged');
});

test('behind a TLS proxy the cookie is Secure; a cross-site sign-in post is refused', async () => {
  const { setCookie } = await signIn({ 'x-forwarded-proto': 'https' });
  assert.match(setCookie, /secure/);
  assert.is((await form(API_KEY, { 'sec-fetch-site': 'cross-site' })).status, 403);
});

test('the API with the session: reads work, changes need the CSRF token, a forged cookie is nobody', async () => {
  const { cookie, csrf } = await signIn();
  assert.is((await fetch(`${gw.url}/api/jobs`, { headers: { cookie } })).status, 200);
  const refused = await fetch(`${gw.url}/api/worker/pause`, { method: 'POST', headers: { cookie } });
  assert.is(refused.status, 403);
  assert.is((await refused.json()).error.code, 'VCS_ERR_FORBIDDEN');
  assert.is(await gw.store.isPaused(), false);
  const wrong = await fetch(`${gw.url}/api/worker/pause`, { method: 'POST', headers: { cookie, 'x-csrf-token': `${csrf}x` } });
  assert.is(wrong.status, 403);
  const ok = await fetch(`${gw.url}/api/worker/pause`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
  assert.is(ok.status, 200);
  assert.is(await gw.store.isPaused(), true);
  assert.ok(gw.logs.some((l) => l.msg === 'admin action' && String(l.admin).startsWith('api-key:') && l.path === '/api/worker/pause'));
  // Kept in the audit journal on the volume, with who, when and what.
  const journal = (await readdir(path.join(gw.dir, 'audit'))).filter((n) => n.endsWith('.jsonl'));
  const entries = (await readFile(path.join(gw.dir, 'audit', journal[0]!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(entries.some((e) => /^api-key:[0-9a-f]{8}$/.test(e.actor) && e.call === 'POST /api/worker/pause' && e.action.endsWith('paused the worker') && Date.parse(e.at) > 0));
  assert.not.ok(entries.some((e) => e.call.includes('csrf')), 'refused calls are not actions');
  await gw.store.setPaused(false);
  const [name, value] = cookie.split('=') as [string, string];
  const [v, payload, sig] = value.split('.') as [string, string, string];
  const forged = `${name}=${v}.${payload.slice(0, -2)}${payload.at(-2) === 'x' ? 'y' : 'x'}${payload.at(-1)}.${sig}`;
  assert.is((await fetch(`${gw.url}/api/jobs`, { headers: { cookie: forged } })).status, 401);
  // A Bearer key still decides alone.
  assert.is((await fetch(`${gw.url}/api/jobs`, { headers: { cookie, authorization: 'Bearer wrong' } })).status, 401);
});

test('the dashboard’s API calls spend the dashboard’s budget, not the API clients’ (RATE_LIMIT_MAX_REQUESTS=3)', async () => {
  const { cookie } = await signIn({ 'x-forwarded-for': '203.0.113.9' });
  const withSession = [];
  for (let i = 0; i < 5; i++) withSession.push((await fetch(`${gw.url}/api/stats`, { headers: { cookie, 'x-forwarded-for': '203.0.113.9' } })).status);
  assert.equal(withSession, [200, 200, 200, 200, 200]);
  const withKey = [];
  for (let i = 0; i < 5; i++) withKey.push((await fetch(`${gw.url}/api/stats`, { headers: { authorization: `Bearer ${API_KEY}`, 'x-forwarded-for': '203.0.113.10' } })).status);
  assert.equal(withKey, [200, 200, 200, 429, 429]);
});

test('the live feed streams snapshots of counts and progress', async () => {
  await gw.store.create({ wp_post_id: 77, title: 'Live', original_video_url: 'https://example.com/77.mp4' });
  const { cookie } = await signIn();
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/admin/events`, { headers: { cookie }, signal: controller.signal });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value);
  while (!/event: snapshot\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  const data = JSON.parse(/event: snapshot\ndata: (.*)\n\n/.exec(text)![1]!);
  assert.is(data.counts.pending, 1);
  assert.equal([data.paused, data.processing], [false, []]);
  controller.abort();
});

test('a video’s run logs: newest first, the tail of each; a bad id is 400, signed out 401; deleting the video removes them', async () => {
  const dir = path.join(gw.tempPath, 'logs', '88');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'vcs-88-1.log'), `${JSON.stringify({ level: 30, msg: 'first attempt' })}\n`);
  const long = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ level: 30, msg: `line ${i}` })).join('\n');
  await writeFile(path.join(dir, 'vcs-88-2.log'), `${long}\n`);
  await utimes(path.join(dir, 'vcs-88-1.log'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  const { cookie, csrf } = await signIn();
  assert.is((await fetch(`${gw.url}/admin/videos/88/logs`)).status, 401);
  for (const bad of ['0', '-1', 'x', '1e3', '99999999999999999']) assert.is((await fetch(`${gw.url}/admin/videos/${bad}/logs`, { headers: { cookie } })).status, 400, bad);
  const body = await (await fetch(`${gw.url}/admin/videos/88/logs`, { headers: { cookie } })).json();
  assert.equal(body.runs.map((r: { job: string }) => r.job), ['vcs-88-2', 'vcs-88-1']);
  const tail: string[] = body.runs[0].lines;
  assert.is(JSON.parse(tail.at(-1)!).msg, 'line 3999');
  assert.ok(tail.length < 4000 && tail.every((l) => JSON.parse(l)), 'a tail of whole lines');
  assert.equal((await (await fetch(`${gw.url}/admin/videos/89/logs`, { headers: { cookie } })).json()).runs, []);
  await gw.store.create({ wp_post_id: 88, title: 'Logged', original_video_url: 'https://example.com/88.mp4' });
  const del = await fetch(`${gw.url}/api/post/88`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.is(del.status, 200);
  assert.is(await stat(dir).then(() => true, () => false), false, 'the logs went with the video’s files');
});

test('downloads: a rendition as one MPEG-TS file in playlist order, the package as a tar, the source URL', async () => {
  const pkg = path.join(gw.hlsPath, '55');
  await mkdir(path.join(pkg, 'high'), { recursive: true });
  await writeFile(path.join(pkg, 'master.m3u8'), '#EXTM3U\n');
  await writeFile(path.join(pkg, 'high', 'playlist.m3u8'), '#EXTM3U\n#EXTINF:10,\nsegment001.ts\n#EXTINF:4,\nsegment000.ts\n#EXT-X-ENDLIST\n');
  await writeFile(path.join(pkg, 'high', 'segment000.ts'), Buffer.alloc(376, 0x47));
  await writeFile(path.join(pkg, 'high', 'segment001.ts'), Buffer.alloc(188, 0x11));
  await gw.store.create({ wp_post_id: 55, title: 'Down', original_video_url: 'https://uploads.example.com/55.mp4' });
  const { cookie } = await signIn();
  assert.is((await fetch(`${gw.url}/admin/videos/55/high.ts`)).status, 401);
  const ts = await fetch(`${gw.url}/admin/videos/55/high.ts`, { headers: { cookie } });
  assert.equal([ts.status, ts.headers.get('content-type'), ts.headers.get('content-length'), ts.headers.get('content-disposition')], [200, 'video/mp2t', '564', 'attachment; filename="video-55-high.ts"']);
  const bytes = Buffer.from(await ts.arrayBuffer());
  assert.equal([bytes[0], bytes[187], bytes[188], bytes.length], [0x11, 0x11, 0x47, 564], 'in playlist order');
  for (const bad of ['/admin/videos/55/low.ts', '/admin/videos/55/..%2Fhigh.ts', '/admin/videos/56/high.ts', '/admin/videos/0/high.ts']) assert.ok([400, 404].includes((await fetch(`${gw.url}${bad}`, { headers: { cookie } })).status), bad);
  const tar = await fetch(`${gw.url}/admin/videos/55/package.tar`, { headers: { cookie } });
  assert.is(tar.status, 200);
  const file = path.join(gw.dir, 'got.tar');
  await writeFile(file, Buffer.from(await tar.arrayBuffer()));
  const { stdout } = await promisify(execFile)('tar', ['-tf', file]);
  assert.equal(stdout.trim().split('\n').sort(), ['55/', '55/high/', '55/high/playlist.m3u8', '55/high/segment000.ts', '55/high/segment001.ts', '55/master.m3u8']);
  assert.is((await fetch(`${gw.url}/admin/videos/57/package.tar`, { headers: { cookie } })).status, 404);
  assert.equal(await (await fetch(`${gw.url}/admin/videos/55/files`, { headers: { cookie } })).json(), {
    original_video_url: 'https://uploads.example.com/55.mp4',
    renditions: [{ name: 'high', segments: 2, bytes: 564 + Buffer.byteLength('#EXTM3U\n#EXTINF:10,\nsegment001.ts\n#EXTINF:4,\nsegment000.ts\n#EXT-X-ENDLIST\n') }],
  });
});

test('assets: the two built files, nothing else', async () => {
  const js = await fetch(`${gw.url}/admin/assets/app.js`);
  assert.is(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.ok((await js.text()).length > 1000);
  for (const bad of ['/admin/assets/index.js', '/admin/assets/..%2F..%2Fpackage.json', '/admin/assets/constructor', '/admin/assets/__proto__']) assert.is((await fetch(`${gw.url}${bad}`)).status, 404, bad);
});

test('an expired session is nobody: the page sends to sign-in, the API refuses it', async () => {
  const secret = createHash('sha256').update('routes-test').digest(); // as the wiring derives it from ADMIN_SESSION_SECRET
  const valid = newSession('api-key:0123abcd', 'api-key', Date.now());
  const expired = { ...valid, expires: Date.now() - 1 };
  const ok = `vcs_admin=${sealSession(valid, secret)}`;
  const old = `vcs_admin=${sealSession(expired, secret)}`;
  assert.is((await fetch(`${gw.url}/admin/session`, { headers: { cookie: ok } })).status, 200, 'the same secret signs what the service accepts');
  assert.is((await fetch(`${gw.url}/admin/session`, { headers: { cookie: old } })).status, 401);
  assert.is((await fetch(`${gw.url}/admin/`, { headers: { cookie: old }, redirect: 'manual' })).headers.get('location'), '/admin/login');
  assert.is((await fetch(`${gw.url}/api/jobs`, { headers: { cookie: old } })).status, 401);
});

test('sign-out needs the CSRF token and clears the cookie', async () => {
  const { cookie, csrf } = await signIn();
  assert.is((await fetch(`${gw.url}/admin/logout`, { method: 'POST', headers: { cookie } })).status, 403);
  const out = await fetch(`${gw.url}/admin/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
  assert.is(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /vcs_admin=;.*expires=Thu, 01 Jan 1970/);
});

test('ADMIN_ENABLED=false serves nothing under ADMIN_PATH and ignores session cookies on the API', async () => {
  const off = await startGateway({ ADMIN_ENABLED: 'false' });
  try {
    assert.is((await fetch(`${off.url}/admin/login`)).status, 404);
    assert.is((await fetch(`${off.url}/api/jobs`, { headers: { cookie: 'vcs_admin=v1.x.y' } })).status, 401);
  } finally {
    await off.close();
  }
});

test.run();
