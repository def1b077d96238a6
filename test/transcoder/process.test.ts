/**
 * How a failed ffmpeg/ffprobe run is described (transcoder/process.ts), table-tested, and once end
 * to end: an encode killed from outside, as the OOM killer does, reaches the result with that cause.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../../src/contract.ts';
import { describeFailure, type RunResult } from '../../transcoder/process.ts';
import { makeClip } from '../support/media.ts';
import { exists } from '../support/package-asserts.ts';
import { resultOf, runVcs } from '../support/vcs.ts';

const test = suite('process');
let tmp = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-process-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const OOM = 'ffmpeg was killed by SIGKILL (out of memory? the machine or container may need more memory)';

const table: [string, Pick<RunResult, 'code' | 'signal' | 'stderr'>, string][] = [
  ['signal, no stderr', { code: null, signal: 'SIGKILL', stderr: '' }, OOM],
  ['signal, blank stderr', { code: null, signal: 'SIGKILL', stderr: ' \n\n' }, OOM],
  ['SIGKILL after some output', { code: null, signal: 'SIGKILL', stderr: 'frame=  120 fps= 30\n' }, `${OOM}: frame=  120 fps= 30`],
  ['another signal', { code: null, signal: 'SIGSEGV', stderr: '' }, 'ffmpeg was killed by SIGSEGV'],
  ['another signal with stderr', { code: null, signal: 'SIGTERM', stderr: 'Exiting normally, received signal 15.\n' }, 'ffmpeg was killed by SIGTERM: Exiting normally, received signal 15.'],
  ['exit code with stderr', { code: 1, signal: null, stderr: 'a\nb\nError while opening encoder\nConversion failed!\n' }, 'ffmpeg failed (exit 1): b | Error while opening encoder | Conversion failed!'],
  ['exit code, no stderr', { code: 187, signal: null, stderr: '' }, 'ffmpeg failed (exit 187) with no error output'],
];

for (const [name, result, expected] of table) {
  test(`describeFailure: ${name}`, () => {
    assert.is(describeFailure('/usr/bin/ffmpeg', result), expected);
  });
}

test('describeFailure names the binary by its file name', () => {
  assert.is(describeFailure('/opt/ffmpeg-5.1/bin/ffprobe', { code: 1, signal: null, stderr: 'Invalid data found\n' }), 'ffprobe failed (exit 1): Invalid data found');
});

test('vcs transcode: an encode killed by SIGKILL fails as retryable with the cause, publishes nothing', async () => {
  // ffmpeg, except that the ladder encode (the only run writing HLS) dies as the OOM killer leaves it.
  const fake = path.join(tmp, 'ffmpeg');
  await writeFile(fake, '#!/bin/sh\ncase " $* " in *" -f hls "*) kill -KILL $$ ;; esac\nexec ffmpeg "$@"\n', { mode: 0o755 });
  const clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2 });
  const output = path.join(tmp, 'hls', 'killed');
  const run = await runVcs(['transcode', '--source', clip, '--output', output], {
    STORAGE_PATH: path.join(tmp, 'storage'),
    FFMPEG_PATH: fake,
    FFPROBE_PATH: 'ffprobe',
    VIDEO_PRESET: 'veryfast',
  });
  const result = resultOf(run);
  assert.equal([result.error.code, result.error.step, result.error.permanent], ['VCS_ERR_FFMPEG_FAILED', 'compressing', false]);
  assert.is(result.error.message, OOM);
  assert.is(run.code, EXIT.retryable);
  assert.not.ok(await exists(output), 'nothing published');
  assert.equal((await readdir(path.join(tmp, 'hls'))).filter((n) => n.startsWith('.')), [], 'no work files left');
});

test('vcs transcode: an ffprobe or a poster run killed from outside is retryable, never "the source is unreadable"', async () => {
  const clip = await makeClip(path.join(tmp, 'clip-probe.mp4'), { width: 320, height: 240, seconds: 2 });
  const cases: [what: string, env: Record<string, string>, step: string][] = [];
  const probe = path.join(tmp, 'ffprobe-killed');
  await writeFile(probe, '#!/bin/sh\nkill -KILL $$\n', { mode: 0o755 });
  cases.push(['ffprobe', { FFPROBE_PATH: probe }, 'probing']);
  // ffmpeg, except that the poster run (the only one writing image2) dies.
  const poster = path.join(tmp, 'ffmpeg-poster-killed');
  await writeFile(poster, '#!/bin/sh\ncase " $* " in *" -f image2 "*) kill -KILL $$ ;; esac\nexec ffmpeg "$@"\n', { mode: 0o755 });
  cases.push(['poster', { FFMPEG_PATH: poster, FFPROBE_PATH: 'ffprobe' }, 'creating_poster']);
  for (const [what, env, step] of cases) {
    const run = await runVcs(['transcode', '--source', clip, '--output', path.join(tmp, 'hls', `killed-${what}`)], { STORAGE_PATH: path.join(tmp, 'storage'), VIDEO_PRESET: 'veryfast', ...env });
    const result = resultOf(run);
    assert.equal([result.error.code, result.error.step, result.error.permanent], ['VCS_ERR_FFMPEG_FAILED', step, false], what);
    assert.match(result.error.message, /was killed by SIGKILL \(out of memory\?/, what);
    assert.is(run.code, EXIT.retryable, what);
  }
});

test.run();
