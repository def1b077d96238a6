/**
 * The everyday CLI against a running `vcs serve` (src/roots/service-commands.ts): the README's
 * quick start as two terminals with different settings, then every command — enqueue, status
 * (--watch, plain and in a pseudo-terminal), list, pause, resume, retry, delete, logs — with the
 * API's rules and errors. One service and one tiny clip for the whole file.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../support/media.ts';
import { exists } from '../support/package-asserts.ts';
import { freePort, servicePorts, startServe, waitFor, type ServeProcess } from '../support/service.ts';
import { runVcs, VCS } from '../support/vcs.ts';

const test = suite('vcs CLI against vcs serve');
const API_KEY = 'cli-test-key-'.padEnd(64, 'x');
let tmp = '';
/** The clone the person works in: the clip, and the service's ./storage. */
let clone = '';
let serve: ServeProcess;
/** The second terminal: the configured port and the key, but not the service's STORAGE_PATH. */
let terminal2: Record<string, string>;
let storage = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-cli-'));
  clone = path.join(tmp, 'clone');
  await mkdir(clone);
  storage = path.join(clone, 'storage');
  await makeClip(path.join(clone, 'my-video.mp4'), { width: 320, height: 180, seconds: 2, audio: 2 });
  const ports = await servicePorts();
  // Terminal 1: `STORAGE_PATH=./storage npx vcs serve` (absolute here: the service runs from the repository).
  // The test polls the API every 100 ms while it waits: the default 100 calls per 15 minutes would
  // answer 429 on a slow machine (rate limits have their own tests).
  serve = await startServe({ ...ports, STORAGE_PATH: storage, API_KEY, WORKER_INTERVAL: '1000', VIDEO_PRESET: 'ultrafast', PUBLIC_URL: `http://127.0.0.1:${ports.PORT}`, RATE_LIMIT_MAX_REQUESTS: '100000' });
  // Terminal 2 has no STORAGE_PATH: its store would be the default one, which this folder stands
  // for (so that a CLI that writes its own store never writes outside the test's folder).
  terminal2 = { PORT: ports.PORT, INTERNAL_PORT: ports.INTERNAL_PORT, API_KEY, STORAGE_PATH: path.join(tmp, 'default-store') };
});

test.after(async () => {
  serve.child.kill('SIGTERM');
  await serve.exited;
  await rm(tmp, { recursive: true, force: true });
});

const vcs = (args: string[], env = terminal2) => runVcs(args, env, { cwd: clone });
const api = async (route: string) => {
  const res = await fetch(`${serve.url}${route}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  if (res.status === 429) throw new Error(`${route}: rate-limited`);
  return res.json();
};
const completed = (id: number) => waitFor(async () => (await api(`/api/post/${id}`)).status === 'completed', 120_000, `video ${id} completed\n${serve.output().slice(-2000)}`);

test('quick start: enqueue a local file from a second terminal without STORAGE_PATH, watch it to completed', async () => {
  const queued = await vcs(['enqueue', '--id', '123', '--source', './my-video.mp4', '--title', 'My video']);
  assert.is(queued.code, 0, queued.stderr);
  const answer = JSON.parse(queued.stdout);
  assert.equal([answer.success, answer.wp_post_id, answer.paused], [true, 123, false]);
  const watched = await vcs(['status', '--id', '123', '--watch']);
  assert.is(watched.code, 0, `${watched.stdout}\n${watched.stderr}`);
  const lines = watched.stdout.trim().split('\n');
  assert.match(lines.at(-1)!, new RegExp(`^video 123: completed · ${serve.url}/storage/hls/123/master\\.m3u8$`));
  assert.not.match(watched.stdout, /\r|\x1b/, 'plain lines when not a terminal');
  assert.ok(await exists(path.join(storage, 'hls', '123', 'master.m3u8')), 'the service published it in its own storage');
  assert.not.ok(await exists(path.join(terminal2.STORAGE_PATH!, 'vcs.sqlite')), 'the CLI wrote no store of its own');
});

test('no key, or no service: refused loudly, with what to do', async () => {
  const [noKey, noService] = await Promise.all([
    vcs(['enqueue', '--id', '5', '--source', './my-video.mp4'], { ...terminal2, API_KEY: '' }),
    vcs(['status', '--id', '123'], { ...terminal2, VCS_URL: `http://127.0.0.1:${await freePort()}` }),
  ]);
  assert.is(noKey.code, 2, noKey.stdout);
  assert.match(noKey.stderr, /^vcs enqueue: an API key is required: send Authorization: Bearer <key> — set API_KEY/);
  assert.is(noService.code, 69);
  assert.match(noService.stderr, /^vcs status: no service answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it \(vcs serve\), or set VCS_URL/);
  assert.not.ok(await exists(path.join(terminal2.STORAGE_PATH!, 'vcs.sqlite')));
});

test('paused: enqueue says nothing starts; status --watch in a pseudo-terminal redraws one line until completed', async () => {
  assert.is(JSON.parse((await vcs(['pause'])).stdout).paused, true);
  const queued = await vcs(['enqueue', '--id', '124', '--source', './my-video.mp4', '--title', 'Second']);
  assert.is(queued.code, 0, queued.stderr);
  assert.is(JSON.parse(queued.stdout).paused, true);
  assert.match(queued.stderr, /the service is paused: video 124 waits until vcs resume/);
  // util-linux script(1) gives the command a pseudo-terminal.
  const command = [...VCS, 'status', '--id', '124', '--watch'].map((a) => `'${a}'`).join(' ');
  const pty = spawn('script', ['-qfec', command, '/dev/null'], { cwd: clone, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...terminal2 }, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  pty.stdout.on('data', (d) => (screen += d));
  pty.stderr.on('data', (d) => (screen += d));
  const exited = new Promise<number | null>((resolve) => pty.on('close', resolve));
  await waitFor(() => screen.includes('the worker is paused'), 60_000, `the paused line\n${screen}`);
  assert.is((await vcs(['resume'])).code, 0);
  assert.is(await exited, 0, screen);
  const redraws = screen.split('\r\x1b[2K');
  assert.ok(redraws.length >= 3, `the line is redrawn in place: ${JSON.stringify(screen)}`);
  assert.match(redraws[1]!, /^video 124: queued · position 1 in the queue · the worker is paused/);
  assert.match(redraws.at(-1)!, /^video 124: completed · http:\/\/127\.0\.0\.1:\d+\/storage\/hls\/124\/master\.m3u8\r?\n$/);
});

test('enqueue again keeps the title; retry, list, logs and delete follow the API’s rules', async () => {
  const again = await vcs(['enqueue', '--id', '123', '--source', './my-video.mp4']);
  assert.is(again.code, 0, again.stderr);
  assert.is(JSON.parse(again.stdout).message, 'Job queued for processing');
  const status = await vcs(['status', '--id', '123']);
  assert.is(JSON.parse(status.stdout).title, 'My video', 'the title is kept');
  await completed(123);

  const [unknown, badId, table, search, badStatus, logs] = await Promise.all([
    vcs(['retry', '999']),
    vcs(['delete', 'abc']),
    vcs(['list', '--status', 'completed']),
    vcs(['list', '--search', 'My video', '--json']),
    vcs(['list', '--from', 'yesterday']),
    vcs(['logs', '123']),
  ]);
  assert.equal([unknown.code, unknown.stderr], [2, 'vcs retry: no video with wp_post_id 999\n']);
  assert.equal([badId.code, badId.stderr], [2, 'vcs delete: wp_post_id must be a positive integer, got "abc"\n']);
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ID +STATUS +STEP +TITLE +CREATED\n/);
  assert.match(table.stdout, /^123 +completed +completed +My video +\d{4}-\d\d-\d\d \d\d:\d\d$/m);
  assert.match(table.stdout, /\npage 1 of 1 · 2 videos\n$/);
  assert.equal(JSON.parse(search.stdout).jobs.map((j: { wp_post_id: number }) => j.wp_post_id), [123]);
  assert.equal([badStatus.code, badStatus.stderr], [2, 'vcs list: from must be a date (YYYY-MM-DD) or an ISO time, got "yesterday"\n']);
  assert.is(logs.code, 0, logs.stderr);
  // Two runs of video 123 (the first and the re-compression), the latest last.
  assert.match(logs.stdout, /^== vcs-123-1 · [^\n]+ ==\n(.+\n)+== vcs-123-2 · [^\n]+ ==\n/);
  assert.match(logs.stdout, /"msg":"step downloading"/);

  const retried = await vcs(['retry', '124', '--priority', 'high']);
  assert.is(retried.code, 0, retried.stderr);
  assert.equal([JSON.parse(retried.stdout).message, JSON.parse(retried.stdout).wp_post_id], ['Job queued for processing', 124]);
  await completed(124);
  const kept = await vcs(['delete', '124', '--keep-files']);
  assert.is(kept.code, 0, kept.stderr);
  assert.is(JSON.parse(kept.stdout).deleted_files, false);
  assert.ok(await exists(path.join(storage, 'hls', '124', 'master.m3u8')), '--keep-files keeps the package');
  const gone = await vcs(['delete', '123']);
  assert.is(gone.code, 0, gone.stderr);
  assert.is(JSON.parse(gone.stdout).deleted_files, true);
  assert.not.ok(await exists(path.join(storage, 'hls', '123')), 'the package is removed');
  assert.is((await api('/api/post/123')).status, 'deleted');
});

test.run();
