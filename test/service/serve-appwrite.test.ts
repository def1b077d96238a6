/**
 * `vcs serve` with STORE=appwrite, end to end: a child process on the fake Appwrite server, the
 * real transcoder on a small generated clip. A document the publisher writes (four fields) is
 * picked up, encoded, and ends completed with its playback URLs; health shows Appwrite.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appwriteServeEnv, heldRow, publish, setUpSchema } from '../support/appwrite-fixtures.ts';
import { startAppwriteServer, type FakeAppwrite } from '../support/appwrite-server.ts';
import { startServer, type TestServer } from '../support/http-server.ts';
import { makeClip } from '../support/media.ts';
import { freePort, startServe, waitFor } from '../support/service.ts';

const test = suite('vcs serve on Appwrite');
let tmp = '';
let appwrite: FakeAppwrite;
let sources: TestServer;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-serve-appwrite-'));
  appwrite = await startAppwriteServer({ buildMs: 100 });
  await setUpSchema(appwrite, 'tablesdb');
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 640, height: 360, seconds: 3, audio: 2 }));
  sources = await startServer((req, res) => res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': clip.byteLength }).end(req.method === 'HEAD' ? undefined : clip));
});
test.after(async () => {
  await sources.close();
  await appwrite.close();
  await rm(tmp, { recursive: true, force: true });
});

test('a publisher’s document becomes completed with its URLs', async () => {
  const port = await freePort();
  const doc = await publish(appwrite, { wp_post_id: 4242, title: 'From WordPress', original_video_url: `${sources.url}/uploads/4242.mp4` });
  const serve = await startServe(
    appwriteServeEnv(appwrite, { STORAGE_PATH: path.join(tmp, 'storage'), PORT: String(port), INTERNAL_PORT: String(await freePort()), PUBLIC_URL: `http://127.0.0.1:${port}`, WORKER_INTERVAL: '500', VIDEO_PRESET: 'veryfast', APPWRITE_TIMEOUT: '2000' }),
  );
  try {
    const done = await waitFor(() => {
      const v = heldRow(appwrite, 4242);
      return (v?.compression_status === 'completed' || v?.compression_status === 'failed') && v;
    }, 60_000, 'the document to be completed');
    assert.is(done.compression_status, 'completed', done.error_message ?? '');
    const base = `${serve.url}/storage/hls/4242`;
    assert.equal([done.master_playlist_url, done.poster_url, done.hls_high_url], [`${base}/master.m3u8`, `${base}/poster.jpg`, `${base}/high/playlist.m3u8`]);
    for (const url of [done.master_playlist_url, done.poster_url, done.hls_high_url, done.hls_medium_url, done.hls_low_url].filter((u) => u !== null)) {
      assert.is((await fetch(url!)).status, 200, url!);
    }
    assert.equal([done.compression_step, done.compression_progress, done.retry_count, done.priority, done.title], ['completed', 100, 0, 'normal', 'From WordPress']);
    assert.is(done.created_at, new Date(doc.$createdAt).toISOString());
    assert.ok((done.total_size ?? 0) > 0 && Math.abs((done.duration_seconds ?? 0) - 3) < 0.1);
    assert.ok(done.started_at! <= done.completed_at!);

    const health = await (await fetch(`${serve.url}/health`)).json();
    assert.equal([health.status, health.store.kind, health.store.connected, health.appwrite.connected], ['healthy', 'appwrite', true, true]);
    assert.ok(Date.parse(health.appwrite.lastPing) > Date.parse(done.completed_at!));
    const api = await (await fetch(`${serve.url}/api/post/4242`)).json();
    assert.is(api.status ?? api.compression_status, 'completed');
  } finally {
    serve.child.kill('SIGTERM');
    assert.is(await serve.exited, 0, `SIGTERM stops the service cleanly\n${serve.output().slice(-2000)}`);
  }
});

test('a wrong key stops the service at start with one clear message', async () => {
  const port = await freePort();
  const { runVcs } = await import('../support/vcs.ts');
  const run = await runVcs(['serve'], appwriteServeEnv(appwrite, { STORAGE_PATH: path.join(tmp, 'wrong-key'), PORT: String(port), INTERNAL_PORT: String(await freePort()), APPWRITE_API_KEY: 'revoked' }));
  assert.is(run.code, 1);
  const fatal = run.stdout.split('\n').filter((l) => l.includes('"level":60'));
  assert.is(fatal.length, 1, run.stdout);
  assert.match(fatal[0]!, /Appwrite API key rejected.*check APPWRITE_API_KEY and APPWRITE_PROJECT_ID/);
});

test.run();
