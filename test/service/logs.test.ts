/**
 * `vcs serve` with every secret setting configured, LOG_DIR and LOG_LEVEL=debug, SENTRY_DSN at a
 * fake ingest: one video from a signed source URL completes, one fails, one with a password is refused,
 * an admin acts. Then no secret is in stdout, in any file of LOG_DIR (rotated ones included) or
 * in a run's own log on the volume, nor in anything sent to Sentry; the lines are in the plan's
 * five files; the failed video reached Sentry tagged with its id.
 */
import { readdir, readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from '../support/http-server.ts';
import { makeClip } from '../support/media.ts';
import { startSentryIngest } from '../support/sentry-ingest.ts';
import { servicePorts, startServe, waitFor } from '../support/service.ts';

const SECRETS = {
  API_KEY: 'apikey-5ecret-0f-the-test-0123456789abcdef',
  PROGRESS_SECRET: 'progress-5ecret-of-the-test',
  ADMIN_SESSION_SECRET: 'session-5ecret-of-the-test',
  WEBHOOK_SECRET: 'webhook-5ecret-of-the-test',
  APPWRITE_API_KEY: 'appwrite-5ecret-key-of-the-test',
  sourcePassword: 'source-pa55word-of-the-test',
  sourceSignature: 'sig-5ecret-of-the-signed-url',
  hookToken: 'hook-path-5ecret-token',
  callbackToken: 'callback-5ecret-token',
  sentryKey: 'sentrykey5ecret0123',
};

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const textOf = async (file: string) => {
  const bytes = await readFile(file);
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
};

test('a full run logs no secret anywhere; the five files get their lines; a failed video reaches Sentry', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-logs-'));
  const clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 });
  const junk = path.join(tmp, 'junk.mp4');
  await writeFile(junk, 'not a video\n'.repeat(100));
  const bodies: Record<string, Buffer> = { '/uploads/clip.mp4': await readFile(clip), '/uploads/junk.mp4': await readFile(junk) };
  const source = await startServer((req, res) => {
    if (!req.url?.includes(SECRETS.sourceSignature)) return void res.writeHead(403).end();
    const body = bodies[req.url.split('?')[0]!];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
  });
  const receiver = await startServer((req, res) => req.on('end', () => res.writeHead(204).end()));
  const sentry = await startSentryIngest(SECRETS.sentryKey);
  const ports = await servicePorts();
  const logDir = path.join(tmp, 'logs');
  const storage = path.join(tmp, 'storage');
  const serve = await startServe({
    ...ports,
    STORAGE_PATH: storage,
    LOG_DIR: logDir,
    LOG_LEVEL: 'debug',
    RATE_LIMIT_MAX_REQUESTS: '10000',
    WORKER_INTERVAL: '1000',
    VIDEO_PRESET: 'ultrafast',
    ALLOW_PRIVATE_SOURCES: 'true',
    API_KEY: SECRETS.API_KEY,
    PROGRESS_SECRET: SECRETS.PROGRESS_SECRET,
    ADMIN_SESSION_SECRET: SECRETS.ADMIN_SESSION_SECRET,
    WEBHOOK_SECRET: SECRETS.WEBHOOK_SECRET,
    WEBHOOK_URLS: `${receiver.url}/hooks/${SECRETS.hookToken}`,
    PUBLISHER_CALLBACK_URL: `${receiver.url}/callback?token=${SECRETS.callbackToken}`,
    APPWRITE_API_KEY: SECRETS.APPWRITE_API_KEY,
    SENTRY_DSN: sentry.dsn,
  });
  try {
    const auth = { authorization: `Bearer ${SECRETS.API_KEY}`, 'content-type': 'application/json' };
    const sourceUrl = `http://127.0.0.1:${source.port}/uploads/clip.mp4?X-Amz-Expires=600&X-Amz-Signature=${SECRETS.sourceSignature}`;
    // A URL with a password is refused (and the refusal logs none of it).
    const withPassword = sourceUrl.replace('http://', `http://uploader:${SECRETS.sourcePassword}@`);
    const refused = await fetch(`${serve.url}/api/jobs`, { method: 'POST', headers: auth, body: JSON.stringify({ wp_post_id: 3, title: 'v', original_video_url: withPassword }) });
    assert.is(refused.status, 400);
    for (const [id, url] of [[1, sourceUrl], [2, sourceUrl.replace('clip.mp4', 'junk.mp4')]] as const) {
      const res = await fetch(`${serve.url}/api/jobs`, { method: 'POST', headers: auth, body: JSON.stringify({ wp_post_id: id, title: `video ${id}`, original_video_url: url }) });
      assert.is(res.status, 201, await res.text());
    }
    const statusOf = async (id: number) => (await (await fetch(`${serve.url}/api/post/${id}`)).json()).status;
    await waitFor(async () => (await statusOf(1)) === 'completed' && (await statusOf(2)) === 'failed', 60_000, 'video 1 completed and video 2 failed').catch((err) => {
      throw new Error(`${err.message}: ${serve.output().split("\n").filter((l) => !l.includes(`"channel":"access"`)).join("\n").slice(-4000)}`);
    });
    // An admin signs in with the key and acts.
    const signIn = await fetch(`${serve.url}/admin/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: SECRETS.API_KEY }).toString() });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrf } = await (await fetch(`${serve.url}/admin/session`, { headers: { cookie } })).json();
    assert.is((await fetch(`${serve.url}/api/worker/pause`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status, 200);
    const failure = await waitFor(() => sentry.events().find((e) => (e.tags as Record<string, string> | undefined)?.video_id === '2'), 15_000, 'the failed video at Sentry');
    assert.match(String(failure.message ?? JSON.stringify(failure)), /video 2 failed at probing/);
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
    await Promise.all([source.close(), receiver.close(), sentry.close()]);
  }
  try {
    const logFiles = await filesUnder(logDir);
    const runLogs = (await filesUnder(storage)).filter((f) => f.endsWith('.log'));
    assert.ok(runLogs.length > 0, 'the runs’ own logs exist');
    const places: [string, string][] = [['stdout', serve.output()], ...(await Promise.all([...logFiles, ...runLogs].map(async (f) => [f, await textOf(f)] as [string, string])))];
    for (const [where, text] of places) {
      for (const [name, secret] of Object.entries(SECRETS)) assert.not.ok(text.includes(secret), `${name} is in ${where}`);
    }
    // Sentry gets its own key in the envelope header (that is how it knows the project); nothing else.
    for (const envelope of sentry.envelopes) {
      const body = envelope.items.map((i) => JSON.stringify(i.payload)).join('\n');
      for (const [name, secret] of Object.entries(SECRETS)) assert.not.ok(body.includes(secret), `${name} sent to Sentry`);
    }
    const file = async (name: string) => textOf(path.join(logDir, name));
    assert.match(await file('worker.log'), /\[INFO\] \[Service\] service started/);
    assert.match(await file('worker.log'), /\[Runner\] run finished/);
    assert.match(await file('compression.log'), /\[Transcoder\] download complete/);
    assert.not.match(await file('compression.log'), /\[Runner\]/);
    assert.match(await file('access.log'), /\[INFO\] \[Http\] request method=POST path=\/api\/jobs status=201/);
    assert.not.match(await file('worker.log'), /\] request method=/);
    assert.match(await file('audit.log'), /admin action .*path=\/api\/worker\/pause/);
    assert.equal((await file('error.log')).split('\n').filter((l) => /^\[\S+ \S+\] \[(INFO|DEBUG|WARN)\]/.test(l)), [], 'only errors in error.log');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
