/**
 * Inputs that can never succeed: `vcs transcode` exits 2 with a clear message, publishes nothing
 * and leaves no work files. Also: a source over HTTP with progress POSTs to VCS_PROGRESS_URL.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { ladderFromSettings } from '../../src/contract.ts';
import { makeAudioOnly, makeClip } from '../support/media.ts';
import { startServer, type TestServer } from '../support/http-server.ts';
import { exists } from '../support/package-asserts.ts';
import { resultOf, runVcs } from '../support/vcs.ts';

const test = suite('vcs transcode rejections');
let tmp = '';
let clip = '';
let server: TestServer;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-reject-'));
  clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 640, height: 360, seconds: 4, audio: 2, faststart: true });
  server = await startServer((req, res) => {
    if (req.url === '/clip.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      if (req.method === 'HEAD') return void res.end();
      return void createReadStream(clip).pipe(res);
    }
    if (req.url === '/progress') return void res.writeHead(204).end();
    res.writeHead(404).end();
  });
});
test.after(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

async function rejected(name: string, source: string, env: Record<string, string> = {}) {
  const output = path.join(tmp, 'hls', name);
  const run = await runVcs(['transcode', '--source', source, '--output', output], { STORAGE_PATH: path.join(tmp, 'storage'), VIDEO_PRESET: 'veryfast', ...env });
  assert.is(run.code, 2, `exit 2 expected, got ${run.code}: ${run.stderr.slice(-1500)}`);
  const result = resultOf(run);
  assert.is(result.ok, false);
  assert.is(result.error.permanent, true);
  assert.not.ok(await exists(output), 'nothing published');
  const left = (await readdir(path.join(tmp, 'hls')).catch(() => [] as string[])).filter((n) => n.startsWith('.'));
  assert.equal(left, [], 'no work files left');
  return result.error as { code: string; message: string; step: string };
}

test('truncated upload (moov first, cut in half) → SOURCE_TRUNCATED after the encode, nothing published', async () => {
  const cut = path.join(tmp, 'cut.mp4');
  await copyFile(clip, cut);
  await truncate(cut, Math.floor((await stat(cut)).size / 2));
  const err = await rejected('cut', cut);
  assert.is(err.code, 'VCS_ERR_SOURCE_TRUNCATED');
  assert.match(err.message, /truncated or corrupt: it claims 4.0 s but only/);
});

test('truncated upload (moov at the end) → unreadable at probe', async () => {
  const plain = await makeClip(path.join(tmp, 'plain.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 });
  await truncate(plain, Math.floor((await stat(plain)).size / 2));
  const err = await rejected('cut2', plain);
  assert.equal([err.code, err.step], ['VCS_ERR_SOURCE_UNREADABLE', 'probing']);
});

test('not a video (a text file named .mp4)', async () => {
  const file = path.join(tmp, 'notes.mp4');
  await writeFile(file, 'hello, this is not a video\n'.repeat(100));
  const err = await rejected('text', file);
  assert.match(err.message, /not a readable video file|not a supported video container/);
});

test('zero bytes', async () => {
  const file = path.join(tmp, 'empty.mp4');
  await writeFile(file, '');
  const err = await rejected('empty', file);
  assert.equal([err.code, err.step], ['VCS_ERR_SOURCE_EMPTY', 'downloading']);
});

test('audio-only', async () => {
  const err = await rejected('audio', await makeAudioOnly(path.join(tmp, 'song.m4a')));
  assert.is(err.code, 'VCS_ERR_NOT_A_VIDEO');
  assert.match(err.message, /audio-only/);
});

test('an HLS playlist dressed up as .avi pointing at file:///etc/passwd and a sibling file', async () => {
  const sibling = await makeClip(path.join(tmp, 'other_user.ts'), { width: 320, height: 240, seconds: 1 });
  const file = path.join(tmp, 'evil.avi');
  await writeFile(file, `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXTINF:10,\n${path.basename(sibling)}\n#EXT-X-ENDLIST\n`);
  const err = await rejected('evil', file);
  assert.is(err.code, 'VCS_ERR_NOT_A_VIDEO');
  assert.match(err.message, /not a supported video container/);
  const concat = path.join(tmp, 'concat.mp4');
  await writeFile(concat, `ffconcat version 1.0\nfile ${path.basename(sibling)}\n`);
  assert.is((await rejected('concat', concat)).code, 'VCS_ERR_NOT_A_VIDEO');
});

test('a URL on a private address (loopback) without ALLOW_PRIVATE_SOURCES', async () => {
  const err = await rejected('private', `${server.url}/clip.mp4`);
  assert.is(err.code, 'VCS_ERR_SOURCE_FORBIDDEN');
  assert.match(err.message, /127.0.0.1 is a loopback address; set ALLOW_PRIVATE_SOURCES=true/);
  assert.is(server.requests.length, 0, 'no request was made');
});

test('a 404 URL', async () => {
  const err = await rejected('missing', `${server.url}/missing.mp4`, { ALLOW_PRIVATE_SOURCES: 'true' });
  assert.is(err.code, 'VCS_ERR_SOURCE_NOT_FOUND');
});

test('a local path from the job environment needs ALLOW_LOCAL_SOURCES', async () => {
  const output = path.join(tmp, 'hls', 'envjob');
  const env = {
    STORAGE_PATH: path.join(tmp, 'storage'),
    VCS_JOB_NAME: 'vcs-5-1', VCS_VIDEO_ID: '5', VCS_SOURCE_URL: clip, VCS_OUTPUT_DIR: output,
    VCS_WORK_DIR: path.join(tmp, 'work', 'vcs-5-1'), VCS_LADDER: JSON.stringify({ ...ladderFromSettings(loadConfig({})), renditions: [{ name: 'high', height: 360, crf: 30, maxBitrate: 1e6 }] }),
    VCS_RESULT_PATH: path.join(tmp, 'result.json'),
  };
  const run = await runVcs(['transcode'], env);
  assert.is(run.code, 2);
  const written = JSON.parse(await readFile(env.VCS_RESULT_PATH, 'utf8'));
  assert.is(written.error.code, 'VCS_ERR_SOURCE_FORBIDDEN');
  assert.match(written.error.message, /ALLOW_LOCAL_SOURCES/);
});

test('a job whose contract is incomplete writes a permanent VCS_ERR_BAD_JOB result naming what is wrong', async () => {
  const env = { STORAGE_PATH: path.join(tmp, 'storage'), VCS_JOB_NAME: 'vcs-6-1', VCS_VIDEO_ID: '6', VCS_LADDER: '{"renditions": []}', VCS_RESULT_PATH: path.join(tmp, 'bad-job.json') };
  const run = await runVcs(['transcode'], env);
  assert.is(run.code, 2);
  const written = JSON.parse(await readFile(env.VCS_RESULT_PATH, 'utf8'));
  assert.equal([written.ok, written.jobName, written.videoId, written.error.code, written.error.permanent], [false, 'vcs-6-1', 6, 'VCS_ERR_BAD_JOB', true]);
  assert.match(written.error.message, /VCS_SOURCE_URL is required/);
  assert.match(written.error.message, /VCS_LADDER\.renditions must be a non-empty array/);
});

test('over HTTP (private allowed): downloaded with progress, progress POSTed with the token, result file written', async () => {
  const output = path.join(tmp, 'hls', 'http');
  const resultFile = path.join(tmp, 'http-result.json');
  const before = server.requests.length;
  const run = await runVcs(['transcode', '--source', `${server.url}/clip.mp4`, '--output', output, '--id', '9', '--result', resultFile], {
    STORAGE_PATH: path.join(tmp, 'storage'),
    VIDEO_PRESET: 'veryfast',
    ALLOW_PRIVATE_SOURCES: 'true',
    VCS_PROGRESS_URL: `${server.url}/progress`,
    VCS_PROGRESS_TOKEN: 'secret-token',
  });
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.ok(await exists(path.join(output, 'master.m3u8')));
  assert.is(JSON.parse(await readFile(resultFile, 'utf8')).ok, true);
  const posts = server.requests.slice(before).filter((r) => r.url === '/progress');
  assert.ok(posts.every((p) => p.headers.authorization === 'Bearer secret-token'));
  const steps = posts.map((p) => JSON.parse(p.body).step);
  assert.equal([...new Set(steps)], ['downloading', 'probing', 'creating_poster', 'compressing', 'finalizing', 'completed']);
  const last = JSON.parse(posts.at(-1)!.body);
  assert.equal([last.progress, last.videoId], [100, 9]);
  assert.not.match(run.stderr, /secret-token/, 'the token is never logged');
});

test.run();
