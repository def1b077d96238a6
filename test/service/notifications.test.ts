/**
 * `vcs serve` with webhooks and the publisher callback: a video that completes and one that fails
 * reach a receiver as signed JSON events (started, completed, failed), the publisher callback gets
 * the outcomes, and /metrics counts the deliveries.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifySignature } from '../../src/controller/notify-format.ts';
import { startServer } from '../support/http-server.ts';
import { makeClip } from '../support/media.ts';
import { enqueueVia, servicePorts, startServe, waitFor } from '../support/service.ts';

test('completed and failed videos are announced, signed; the deliveries are counted', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-notify-'));
  const got: { path: string; event: string; signature: string; body: string }[] = [];
  const receiver = await startServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', event: String(req.headers['x-vcs-event']), signature: String(req.headers['x-vcs-signature']), body });
      res.writeHead(204).end();
    });
  });
  const clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 });
  const junk = path.join(tmp, 'junk.mp4');
  await writeFile(junk, 'not a video\n'.repeat(100));
  const ports = await servicePorts();
  const serve = await startServe({
    ...ports,
    STORAGE_PATH: path.join(tmp, 'storage'),
    WORKER_INTERVAL: '1000',
    VIDEO_PRESET: 'ultrafast',
    ALLOW_LOCAL_SOURCES: 'true',
    API_KEY: 'notifications-test-key',
    WEBHOOK_URLS: `${receiver.url}/hook`,
    WEBHOOK_EVENTS: 'started,completed,failed',
    WEBHOOK_SECRET: 'hook-secret',
    PUBLISHER_CALLBACK_URL: `${receiver.url}/publisher`,
  });
  try {
    await enqueueVia({ ...ports, API_KEY: 'notifications-test-key' }, 1, clip);
    await enqueueVia({ ...ports, API_KEY: 'notifications-test-key' }, 2, junk);
    await waitFor(() => got.filter((g) => g.path === '/publisher').length === 2, 60_000, 'both outcomes at the publisher callback');
    await waitFor(() => got.filter((g) => g.path === '/hook').length === 4, 10_000, 'four webhook events');
    const now = Math.floor(Date.now() / 1000);
    for (const g of got) assert.ok(verifySignature('hook-secret', g.signature, g.body, now), `${g.path} ${g.event} is signed`);
    const hook = got.filter((g) => g.path === '/hook').map((g) => JSON.parse(g.body));
    assert.equal(hook.map((e) => `${e.event} ${e.video.wp_post_id}`).sort(), ['video.completed 1', 'video.failed 2', 'video.started 1', 'video.started 2']);
    const done = hook.find((e) => e.event === 'video.completed');
    assert.match(done.video.master_playlist_url, /\/storage\/hls\/1\/master\.m3u8$/);
    const failed = hook.find((e) => e.event === 'video.failed');
    assert.equal([failed.video.failed_at_step, failed.video.retryable], ['probing', false]);
    assert.equal(got.filter((g) => g.path === '/publisher').map((g) => g.event).sort(), ['video.completed', 'video.failed']);
    const metrics = await (await fetch(`${serve.internalUrl}/metrics`)).text();
    assert.match(metrics, /^vcs_notifications_total\{target="generic",result="delivered"\} 4$/m);
    assert.match(metrics, /^vcs_notifications_total\{target="publisher",result="delivered"\} 2$/m);
    assert.not.match(serve.output(), /hook-secret/, 'the secret is never logged');
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
    await receiver.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
