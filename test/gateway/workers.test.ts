import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { workerCount } from '../../src/gateway/workers.ts';
import { freePort, openStoreFile, waitFor } from '../support/service.ts';
import { VCS } from '../support/vcs.ts';

test('GATEWAY_WORKERS: 0 means one per CPU', () => {
  assert.is(workerCount(0), os.availableParallelism());
  assert.is(workerCount(3), 3);
});

const KEY = 'w'.repeat(64);

/** A GET on a connection of its own: node:cluster hands each new connection to the next worker. */
const getOnNewConnection = (url: string) =>
  new Promise<number>((resolve, reject) => http.get(url, { agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));

test('vcs gateway with 2 workers serves on one port, adds up their metrics, replaces a worker that dies, records last accesses in every worker, and stops cleanly on SIGTERM', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-workers-'));
  const port = await freePort();
  const internal = await freePort();
  for (const id of [1, 2, 3]) {
    await mkdir(path.join(dir, 'hls', String(id)), { recursive: true });
    await writeFile(path.join(dir, 'hls', String(id), 'master.m3u8'), '#EXTM3U\n');
  }
  const child = spawn(VCS[0], [...VCS.slice(1), 'gateway'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', STORAGE_PATH: dir, PORT: String(port), INTERNAL_PORT: String(internal), GATEWAY_WORKERS: '2', HLS_RATE_LIMIT: '0', API_KEY: KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false), 20_000, 'the gateway');
    for (let i = 0; i < 20; i++) assert.is((await fetch(`http://127.0.0.1:${port}/storage/hls/1/master.m3u8`)).status, 200);
    await waitFor(() => (out.match(/"msg":"gateway started"/g) ?? []).length === 2, 10_000, 'two workers');
    assert.match(out, /"workers":2,"msg":"gateway workers started"/);
    // The primary answers /metrics with both workers' series: counters summed, store facts once.
    for (const id of [1, 2, 3]) {
      const body = JSON.stringify({ wp_post_id: id, title: `v${id}`, original_video_url: `https://wp.example/${id}.mp4` });
      assert.is((await fetch(`http://127.0.0.1:${port}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body })).status, 201);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${internal}/metrics`)).text();
    assert.match(metrics, /^vcs_http_requests_total\{route="\/storage\/hls",method="GET",status="200"\} 20$/m, 'all 20 requests, whichever worker served them');
    assert.match(metrics, /^vcs_queue_depth 3$/m, 'three pending videos, not three per worker');
    assert.match(metrics, /^vcs_store_up 1$/m);
    // A worker dies (an OOM kill, a crash): the primary starts another, and the port keeps answering.
    const pids = [...out.matchAll(/"pid":(\d+)[^\n]*"msg":"gateway started"/g)].map((m) => Number(m[1]));
    assert.is(pids.length, 2);
    process.kill(pids[0]!, 'SIGKILL');
    await waitFor(() => /"msg":"gateway worker died; starting another"/.test(out), 10_000, 'the primary to notice');
    await waitFor(() => (out.match(/"msg":"gateway started"/g) ?? []).length === 3, 20_000, 'a replacement worker');
    for (let i = 0; i < 10; i++) assert.is((await fetch(`http://127.0.0.1:${port}/storage/hls/1/master.m3u8`)).status, 200);
    assert.is((await fetch(`http://127.0.0.1:${internal}/healthz`)).status, 200, 'the internal port too');
    // Players of three videos, each on a connection of its own, so both workers serve some.
    const watchedFrom = Date.now();
    for (const id of [1, 2, 3]) assert.is(await getOnNewConnection(`http://127.0.0.1:${port}/storage/hls/${id}/master.m3u8`), 200);
    child.kill('SIGTERM');
    assert.is(await exited, 0);
    // Each worker wrote its notes when it stopped (the minute's flush had not come yet).
    const store = await openStoreFile(path.join(dir, 'vcs.sqlite'));
    try {
      for (const id of [1, 2, 3]) {
        const at = (await store.get(id))!.last_accessed_at;
        assert.ok(at !== null && Date.parse(at) >= watchedFrom - 1000, `video ${id}: ${at}`);
      }
    } finally {
      await store.close();
    }
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0);
    await rm(dir, { recursive: true, force: true });
  }
});

test('workers that cannot start exit, are replaced with a growing delay, and the primary’s /healthz says none serves', async () => {
  const port = await freePort();
  const internal = await freePort();
  // A storage folder that cannot be created (a path through a file): every worker fails at start.
  const child = spawn(VCS[0], [...VCS.slice(1), 'gateway'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', STORAGE_PATH: '/etc/hostname/vcs-not-a-folder', PORT: String(port), INTERNAL_PORT: String(internal), GATEWAY_WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => (out.match(/"msg":"gateway worker died; starting another"/g) ?? []).length >= 4, 90_000, 'workers to die and be replaced'); // each start takes seconds on a loaded machine
    assert.match(out, /"msg":"gateway could not start"/);
    const delays = [...out.matchAll(/"restartInMs":(\d+)[^\n]*"msg":"gateway worker died/g)].map((m) => Number(m[1]));
    assert.ok(delays.at(-1)! > delays[0]!, `growing delays: ${delays.join(', ')}`);
    const health = await fetch(`http://127.0.0.1:${internal}/healthz`);
    assert.is(health.status, 503);
    assert.equal((await health.json()).workers, 0);
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0);
  }
});

test('with LOG_DIR, the workers log to the primary, which alone writes the files (readable lines), while stdout stays JSON', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-workers-logs-'));
  const [port, internal] = [await freePort(), await freePort()];
  const logDir = path.join(dir, 'logs');
  const child = spawn(VCS[0], [...VCS.slice(1), 'gateway'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', STORAGE_PATH: dir, PORT: String(port), INTERNAL_PORT: String(internal), GATEWAY_WORKERS: '2', HLS_RATE_LIMIT: '0', LOG_DIR: logDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => (out.match(/"msg":"gateway started"/g) ?? []).length === 2, 30_000, 'two workers');
    for (let i = 0; i < 10; i++) assert.is((await fetch(`http://127.0.0.1:${port}/storage/hls/none/master.m3u8`)).status, 404);
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0);
  }
  try {
    const access = (await readFile(path.join(logDir, 'access.log'), 'utf8')).trim().split('\n');
    assert.is(access.length, 10);
    for (const line of access) assert.match(line, /^\[[^\]]+\] \[INFO\] \[Http\] request method=GET path=\/storage\/hls\/none\/master\.m3u8 status=404 /);
    assert.is((await readFile(path.join(logDir, 'worker.log'), 'utf8')).match(/\] gateway started /g)?.length, 2);
    for (const line of out.trim().split('\n')) JSON.parse(line);
    assert.equal((await readdir(logDir)).filter((n) => !n.startsWith('.')).sort(), ['access.log', 'audit.log', 'compression.log', 'error.log', 'worker.log'], 'one set of files');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a gateway that cannot start exits at once with 1', async () => {
  const child = spawn(VCS[0], [...VCS.slice(1), 'gateway'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', STORAGE_PATH: '/etc/hostname/vcs-not-a-folder', PORT: String(await freePort()), INTERNAL_PORT: String(await freePort()) },
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.is(code, 1);
});

test.run();
