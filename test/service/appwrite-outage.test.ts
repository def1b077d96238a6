/**
 * Appwrite goes away in the middle of a job (issue 6): for 30 s it answers 500s, then does not
 * answer at all, then drops connections. `vcs serve` (a child process, the real transcoder) must
 * finish the job anyway: the encode runs on, nothing is marked failed because of the outage, the
 * outage shows in /health (503 with the reason) and in /metrics while it lasts, and once Appwrite
 * is back the video is completed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appwriteServeEnv, heldRow, publish, setUpSchema } from '../support/appwrite-fixtures.ts';
import { startAppwriteServer, type FaultKind } from '../support/appwrite-server.ts';
import { startServer } from '../support/http-server.ts';
import { makeClip } from '../support/media.ts';
import { freePort, startServe, waitFor } from '../support/service.ts';

/** The 30 s, in three kinds of failure. */
const OUTAGE: { kind: FaultKind; ms: number }[] = [
  { kind: 'error', ms: 10_000 },
  { kind: 'hang', ms: 10_000 },
  { kind: 'reset', ms: 10_000 },
];
const VIDEO = 777;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a 30 s Appwrite outage in the middle of a job: the job completes, nothing fails, health and metrics show it', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-appwrite-outage-'));
  const appwrite = await startAppwriteServer({ buildMs: 0 });
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 640, height: 360, seconds: 4, audio: 2 }));
  const sources = await startServer((req, res) => res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': clip.byteLength }).end(req.method === 'HEAD' ? undefined : clip));
  const port = await freePort();
  const storage = path.join(tmp, 'storage');
  await setUpSchema(appwrite, 'tablesdb');
  const serve = await startServe(
    // A short request timeout, so a hung Appwrite is noticed in a second rather than ten.
    appwriteServeEnv(appwrite, { STORAGE_PATH: storage, PORT: String(port), INTERNAL_PORT: String(await freePort()), PUBLIC_URL: `http://127.0.0.1:${port}`, WORKER_INTERVAL: '500', VIDEO_PRESET: 'veryfast', APPWRITE_TIMEOUT: '1000' }),
  );
  // Every status the document goes through, read in-process (the HTTP side is what fails).
  const statuses = new Set<string>();
  const watcher = setInterval(() => {
    const s = heldRow(appwrite, VIDEO)?.compression_status;
    if (s) statuses.add(s);
  }, 20);
  try {
    await publish(appwrite, { wp_post_id: VIDEO, title: 'Outage', original_video_url: `${sources.url}/uploads/${VIDEO}.mp4` });
    await waitFor(() => heldRow(appwrite, VIDEO)?.compression_status === 'processing', 30_000, 'the job to start');

    const started = Date.now();
    const health: { status: number; body: any }[] = [];
    const storeUp: string[] = [];
    let encodedDuringOutage = false;
    appwrite.faults.outages(OUTAGE);
    const end = started + OUTAGE.reduce((sum, p) => sum + p.ms, 0);
    // A probe takes up to APPWRITE_TIMEOUT while Appwrite hangs: the last one starts well before the end.
    while (Date.now() < end - 2500) {
      const [res, metrics] = await Promise.all([fetch(`${serve.url}/health`), fetch(`${serve.internalUrl}/metrics`).then((r) => r.text())]);
      health.push({ status: res.status, body: await res.json() });
      storeUp.push(/^vcs_store_up (\d)/m.exec(metrics)?.[1] ?? 'absent');
      encodedDuringOutage ||= existsSync(path.join(storage, 'hls', String(VIDEO), 'master.m3u8'));
      await sleep(500);
    }
    assert.is(heldRow(appwrite, VIDEO)?.compression_status, 'processing', 'nothing could be written during the outage');
    // Timers may fire a millisecond early by the wall clock: wait until the clock says so.
    while (Date.now() < end) await sleep(end - Date.now() + 1);
    const outageEnded = Date.now();
    assert.ok(outageEnded - started >= 30_000);
    assert.ok(encodedDuringOutage, 'the encode finished while Appwrite was down');
    assert.ok(health.length >= 5, `${health.length} health probes`);
    for (const h of health) {
      assert.is(h.status, 503, JSON.stringify(h.body));
      assert.equal([h.body.status, h.body.store.connected, h.body.appwrite.connected], ['unhealthy', false, false]);
      assert.match(h.body.reasons.join(' '), /store unreachable: Appwrite unavailable \(ping\)/);
    }
    assert.ok(health.some((h) => /500 general_unknown/.test(h.body.reasons[0])) && health.some((h) => /no answer in time/.test(h.body.reasons[0])), 'the reason says what failed');
    assert.ok(storeUp.includes('0'), `vcs_store_up during the outage: ${storeUp.join(',')}`);

    const done = await waitFor(() => {
      const v = heldRow(appwrite, VIDEO);
      return v?.compression_status !== 'processing' && v;
    }, 30_000, 'the job to finish after the outage');
    assert.is(done.compression_status, 'completed', done.error_message ?? '');
    assert.equal([done.retry_count, done.error_message, done.error_code, done.job_name], [0, null, null, `vcs-${VIDEO}-1`], 'one attempt, no failure recorded');
    assert.ok(Date.parse(done.completed_at!) >= outageEnded - 1000, 'completed once Appwrite was back');
    assert.ok([...statuses].every((s) => ['pending', 'processing', 'completed'].includes(s)), `never failed; statuses seen: ${[...statuses].join(', ')}`);
    const after = await fetch(`${serve.url}/health`);
    assert.equal([after.status, (await after.json()).appwrite.connected], [200, true]);
    assert.match(await (await fetch(`${serve.internalUrl}/metrics`)).text(), /^vcs_store_up 1/m);
    assert.not.match(serve.output(), /video failed/);
  } finally {
    clearInterval(watcher);
    serve.child.kill('SIGTERM');
    await serve.exited;
    await sources.close();
    await appwrite.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
