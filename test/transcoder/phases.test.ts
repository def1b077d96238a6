/**
 * The phases of a run spread over Jobs (docs/adr/0022), as the pods run them: `vcs transcode` with
 * the job contract's environment and VCS_PHASE, JOB_COMPLETION_INDEX for the encode phase. A 30 s
 * clip in three 10 s chunks: prepare → encode 0, 1, 2 (two at once) → assemble gives the package a
 * single process gives; the prepared state refuses what is not its own; a short source is published
 * by the prepare phase alone; a failed prepare leaves nothing.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jobEnvironment, ladderFromSettings, type JobSpec } from '../../src/contract.ts';
import { loadConfig } from '../../src/config.ts';
import { PREPARED_FILE } from '../../transcoder/phases.ts';
import { makeClip } from '../support/media.ts';
import { assertPackage, assertPlaysThrough, exists, SMALL_LADDER, SMALL_RENDITIONS } from '../support/package-asserts.ts';
import { resultOf, runVcs } from '../support/vcs.ts';

const test = suite('transcoder phases');
let tmp = '';
let clip = '';
let shortClip = '';

const SECONDS = 30;
const SETTINGS = { ...SMALL_LADDER, CHUNK_PARALLELISM: '2', CHUNK_DURATION: '10', CHUNK_MIN_DURATION: '20' };
const RENDITIONS = SMALL_RENDITIONS;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-phases-'));
  clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 180, seconds: SECONDS, audio: 2 });
  shortClip = await makeClip(path.join(tmp, 'short.mp4'), { width: 320, height: 180, seconds: 12, audio: 2 });
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function jobFor(name: string, source: string, videoId = 7): JobSpec {
  const ladder = ladderFromSettings(loadConfig({ STORAGE_PATH: tmp, ...SETTINGS }));
  return {
    jobName: name,
    videoId,
    sourceUrl: `file://${source}`,
    outputDir: path.join(tmp, 'hls', name),
    workDir: path.join(tmp, 'work', name),
    ladder,
    resultPath: path.join(tmp, `${name}.result.json`),
  };
}

/** One phase as a pod runs it. */
function phase(job: JobSpec, which: 'prepare' | 'encode' | 'assemble', index?: number) {
  const env = { ...jobEnvironment({ ...job, phase: which }), ALLOW_LOCAL_SOURCES: 'true', STORAGE_PATH: path.join(tmp, 'storage') };
  return runVcs(['transcode'], index === undefined ? env : { ...env, JOB_COMPLETION_INDEX: String(index) });
}

test('prepare → three chunks, two at once → assemble (its poster made again) gives the package of one process; the work folder gone; an assemble run again returns the published output', async () => {
  const job = jobFor('vcs-7-1', clip);
  const prepared = await phase(job, 'prepare');
  assert.is(prepared.code, 0, prepared.stderr.slice(-3000));
  const result = resultOf(prepared);
  assert.equal({ ok: result.ok, phase: result.phase, chunks: result.chunks }, { ok: true, phase: 'prepare', chunks: 3 });
  assert.equal(JSON.parse(await readFile(job.resultPath, 'utf8')), result, 'the result file (the termination message) says the same');
  assert.ok(await exists(path.join(job.workDir, PREPARED_FILE)), 'the prepared state is on the volume');
  assert.ok(await exists(path.join(job.workDir, 'chunks', 'audio.ts')), 'the audio was encoded once, in the prepare phase');
  assert.ok(await exists(path.join(job.workDir, 'staging', 'poster.jpg')));
  assert.not.ok(await exists(job.outputDir), 'nothing published yet');

  const encodes = await Promise.all([phase(job, 'encode', 0), phase(job, 'encode', 1)]);
  encodes.push(await phase(job, 'encode', 2));
  for (const [i, e] of encodes.entries()) {
    assert.is(e.code, 0, e.stderr.slice(-3000));
    assert.equal({ ok: resultOf(e).ok, phase: resultOf(e).phase, chunk: resultOf(e).chunk }, { ok: true, phase: 'encode', chunk: i });
  }
  const files = await readdir(path.join(job.workDir, 'chunks'));
  assert.equal(files.filter((f) => /^\d{3}-/.test(f)).sort(), ['000-high.ts', '000-low.ts', '000-medium.ts', '001-high.ts', '001-low.ts', '001-medium.ts', '002-high.ts', '002-low.ts', '002-medium.ts']);

  // The staging folder (the poster) lost, as when an earlier assemble published and was stopped
  // before its result: the assemble phase makes the poster again.
  await rm(path.join(job.workDir, 'staging'), { recursive: true });
  const assembled = await phase(job, 'assemble');
  assert.is(assembled.code, 0, assembled.stderr.slice(-3000));
  const done = resultOf(assembled);
  assert.is(done.ok, true);
  assert.is(done.step, 'completed');
  assert.is(done.output.renditions.length, 3);
  const expectation = { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: SECONDS, poster: { width: 320, height: 180 } };
  const phased = await assertPackage(job.outputDir, expectation);
  await assertPlaysThrough(job.outputDir, SECONDS);
  assert.not.ok(await exists(job.workDir), 'the work folder is removed once published');
  // Run again after it published (a pod stopped before its result was kept): the same output, at once.
  const again = await phase(job, 'assemble');
  assert.is(again.code, 0, again.stderr.slice(-3000));
  assert.match(again.stderr, /already published by this run/);
  assert.equal(resultOf(again).output, done.output);
  assert.not.ok(await exists(job.workDir));
  // The same clip in one process: the same segments and durations, sizes within 10 %.
  const single = jobFor('vcs-7-2', clip);
  const whole = await runVcs(['transcode'], { ...jobEnvironment({ ...single, ladder: { ...single.ladder, chunking: undefined } }), ALLOW_LOCAL_SOURCES: 'true', STORAGE_PATH: path.join(tmp, 'storage') });
  assert.is(whole.code, 0, whole.stderr.slice(-2000));
  const one = await assertPackage(single.outputDir, expectation);
  for (const [i, r] of phased.renditions.entries()) {
    const name = RENDITIONS[i]!.name;
    const playlist = async (dir: string) => (await readFile(path.join(dir, name, 'playlist.m3u8'), 'utf8')).split('\n').filter((l) => l.startsWith('#EXTINF:'));
    assert.equal(await playlist(job.outputDir), await playlist(single.outputDir), `${name}: the same EXTINF durations`);
    const bytes = (segs: { bytes: number }[]) => segs.reduce((sum, seg) => sum + seg.bytes, 0);
    assert.ok(Math.abs(bytes(r.segments) / bytes(one.renditions[i]!.segments) - 1) < 0.1, `${name}: ${bytes(r.segments)} bytes against ${bytes(one.renditions[i]!.segments)} in one process`);
  }
});

test('the encode phase: a prepared state missing or not its own is VCS_ERR_WORK_LOST (retryable, exit 1); a chunk the plan lacks is VCS_ERR_BAD_JOB (exit 2)', async () => {
  const job = jobFor('vcs-8-1', clip, 8);
  const missing = await phase(job, 'encode', 0);
  assert.is(missing.code, 1);
  assert.equal([resultOf(missing).error.code, resultOf(missing).error.permanent, resultOf(missing).error.step], ['VCS_ERR_WORK_LOST', false, 'compressing']);
  assert.match(resultOf(missing).error.message, /prepared state of vcs-8-1 .* cannot be read/);

  const prepared = await phase(job, 'prepare');
  assert.is(prepared.code, 0, prepared.stderr.slice(-2000));
  const beyond = await phase(job, 'encode', 5);
  assert.is(beyond.code, 2);
  assert.equal([resultOf(beyond).error.code, resultOf(beyond).error.permanent], ['VCS_ERR_BAD_JOB', true]);
  assert.match(resultOf(beyond).error.message, /chunk 5 asked for, but the prepared plan of vcs-8-1 has 3 chunks \(indexes 0–2\)/);

  const other = jobFor('vcs-8-2', clip, 8);
  await rm(other.workDir, { recursive: true, force: true });
  await cp(job.workDir, other.workDir, { recursive: true });
  const foreign = await phase(other, 'encode', 0);
  assert.is(foreign.code, 1);
  assert.match(resultOf(foreign).error.message, /belongs to "vcs-8-1"/);

  await writeFile(path.join(job.workDir, PREPARED_FILE), '{"version":1,');
  const garbage = await phase(job, 'encode', 0);
  assert.is(garbage.code, 1);
  assert.match(resultOf(garbage).error.message, /is not JSON/);

  const bad = await runVcs(['transcode'], { ...jobEnvironment({ ...job, phase: 'encode' }), STORAGE_PATH: path.join(tmp, 'storage') });
  assert.is(bad.code, 2, 'no JOB_COMPLETION_INDEX');
  assert.match(resultOf(bad).error.message, /JOB_COMPLETION_INDEX must be the pod's index/);
});

test('a source shorter than CHUNK_MIN_DURATION is published by the prepare phase alone', async () => {
  const job = jobFor('vcs-9-1', shortClip, 9);
  const run = await phase(job, 'prepare');
  assert.is(run.code, 0, run.stderr.slice(-3000));
  const result = resultOf(run);
  assert.is(result.ok, true);
  assert.is(result.step, 'completed', 'the whole result, not a phase result');
  assert.is(result.phase, undefined);
  await assertPackage(job.outputDir, { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: 12, poster: { width: 320, height: 180 } });
  assert.not.ok(await exists(job.workDir));
});

test('a failed prepare leaves no work folder', async () => {
  const broken = jobFor('vcs-11-1', path.join(tmp, 'no-such-file.mp4'), 11);
  const failed = await phase(broken, 'prepare');
  assert.is(failed.code, 2);
  assert.is(resultOf(failed).error.code, 'VCS_ERR_SOURCE_NOT_FOUND');
  assert.not.ok(await exists(broken.workDir), 'a failed prepare leaves nothing for the next attempt to trip on');
});

test.run();
