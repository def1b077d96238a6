/**
 * Chunked encoding end to end (docs/adr/0022): `vcs transcode` with chunking on, on a generated
 * 50-second clip cut into 20-second chunks, two chunk processes at once, against a single-process
 * encode of the same clip; a package broken on purpose at a boundary; SIGTERM in the middle.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../support/media.ts';
import { assertPackage, exists, SMALL_LADDER, SMALL_RENDITIONS } from '../support/package-asserts.ts';
import { resultOf, runVcs } from '../support/vcs.ts';
import { boundaryCheck, measureRendition } from '../../transcoder/self-check.ts';

const run = promisify(execFile);
const test = suite('vcs transcode in chunks');
let tmp = '';
let clip = '';

const SECONDS = 50;
/** Three small renditions (the clip is 320x180), veryfast: the encodes take seconds. */
const LADDER = SMALL_LADDER;
const CHUNKED = { ...LADDER, CHUNK_PARALLELISM: '2', CHUNK_DURATION: '20', CHUNK_MIN_DURATION: '30' };
const RENDITIONS = SMALL_RENDITIONS;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-chunked-'));
  clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 180, seconds: SECONDS, audio: 2 });
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function transcode(name: string, env: Record<string, string>) {
  const output = path.join(tmp, 'hls', name);
  const vcs = await runVcs(['transcode', '--source', clip, '--output', output, '--id', '7'], { STORAGE_PATH: path.join(tmp, 'storage'), ...env });
  assert.is(vcs.code, 0, vcs.stderr.slice(-3000));
  return { output, stderr: vcs.stderr, result: resultOf(vcs) };
}

async function playlistOf(dir: string, rendition: string) {
  const text = await readFile(path.join(dir, rendition, 'playlist.m3u8'), 'utf8');
  return text.split('\n').filter((l) => l.startsWith('#EXTINF:')).map((l) => Number(l.slice(8, -1)));
}

/**
 * A player's view: FFmpeg reads master.m3u8 (every variant) through every boundary without a single
 * complaint; per stream, the times of its decoded pictures or audio frames.
 */
async function decodedTimes(dir: string): Promise<{ type: string; times: number[] }[]> {
  const { stdout, stderr } = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=index,codec_type:frame=stream_index,pts_time', '-of', 'json', path.join(dir, 'master.m3u8')],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  assert.is(stderr.trim(), '', 'every variant decodes through every boundary without an error');
  const json = JSON.parse(stdout) as { streams: { index: number; codec_type: string }[]; frames: { stream_index: number; pts_time: string }[] };
  return json.streams.map((st) => ({ type: st.codec_type, times: json.frames.filter((f) => f.stream_index === st.index).map((f) => Number(f.pts_time)) }));
}

test('a chunked package: seamless at every boundary, and like a single-process encode in segments, durations and size', async () => {
  const [chunked, single] = [await transcode('chunked', CHUNKED), await transcode('single', LADDER)];
  assert.match(chunked.stderr, /"chunks":3[,}].*"msg":"encoding in chunks"/, 'encoded in three chunks');
  assert.not.match(single.stderr, /encoding in chunks/);
  const expectation = { renditions: RENDITIONS, audio: true, frameRate: 30, sourceSeconds: SECONDS, poster: { width: 320, height: 180 } };
  const [a, b] = [await assertPackage(chunked.output, expectation), await assertPackage(single.output, expectation)];
  for (const [i, r] of a.renditions.entries()) {
    const name = RENDITIONS[i]!.name;
    const other = b.renditions[i]!;
    assert.is(r.segments.length, other.segments.length, `${name}: as many segments`);
    assert.equal(await playlistOf(chunked.output, name), await playlistOf(single.output, name), `${name}: the same EXTINF durations`);
    const [bytes, singleBytes] = [r.segments, other.segments].map((segs) => segs.reduce((sum, s) => sum + s.bytes, 0)) as [number, number];
    assert.ok(Math.abs(bytes / singleBytes - 1) < 0.1, `${name}: ${bytes} bytes against ${singleBytes} in one process`);
  }
  const start = a.renditions[0]!.segments[0]!.firstFrame.pts;
  assert.equal(a.renditions[0]!.segments.map((s) => Math.round((s.firstFrame.pts - start) * 1000) / 1000), [0, 10, 20, 30, 40], 'segments start every 10 s');
  const streams = await decodedTimes(chunked.output);
  assert.equal(streams.map((s) => s.type), ['video', 'audio', 'video', 'audio', 'video', 'audio'], 'three variants, each with its audio');
  for (const [k, { type, times }] of streams.entries()) {
    const step = type === 'video' ? 1 / 30 : 1024 / 48_000;
    const steps = times.slice(1).map((t, j) => t - times[j]!);
    const off = steps.findIndex((d) => Math.abs(d - step) > 0.002);
    assert.is(off, -1, `stream ${k} (${type}): a frame every ${step.toFixed(4)} s, across the chunk boundaries at 20 and 40 s too; at ${times[off]} s the step is ${steps[off]}`);
    if (type === 'video') assert.is(times.length, SECONDS * 30, `stream ${k}: every picture once`);
    assert.ok(Math.abs(times.at(-1)! + step - times[0]! - SECONDS) < 0.05, `stream ${k} (${type}) lasts ${SECONDS} s`);
  }
});

test('29.97 fps, whose chunk boundaries fall between two pictures: every picture keeps its source time, segments as in one process', async () => {
  // 30 s of 29.97 fps in 10 s chunks: the boundaries at 10 s and 20 s are 0.6 of a frame before a picture.
  const ntsc = await makeClip(path.join(tmp, 'ntsc.mp4'), { width: 320, height: 180, seconds: 30, fps: '30000/1001', audio: 2 });
  const env = { ...LADDER, CHUNK_PARALLELISM: '2', CHUNK_DURATION: '10', CHUNK_MIN_DURATION: '20' };
  const encode = async (name: string, extra: Record<string, string>) => {
    const output = path.join(tmp, 'hls', name);
    const vcs = await runVcs(['transcode', '--source', ntsc, '--output', output, '--id', '8'], { STORAGE_PATH: path.join(tmp, 'storage'), ...extra });
    assert.is(vcs.code, 0, vcs.stderr.slice(-3000));
    return { output, stderr: vcs.stderr };
  };
  const chunked = await encode('ntsc-chunked', env);
  assert.match(chunked.stderr, /"chunks":3[,}].*"msg":"encoding in chunks"/);
  // 900 pictures: 300 per segment, each starting on the picture a single encode starts it on
  // (10.01 s, the first at or after 10 s); one process writes these same EXTINF.
  for (const r of RENDITIONS) assert.equal(await playlistOf(chunked.output, r.name), [10.01, 10.01, 10.01], `${r.name}: segments as in one process`);
  // Every picture on the source's frame grid (k × 1001/30000 s from the first), within 0.1 ms.
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', `concat:${(await readdir(path.join(chunked.output, 'high'))).filter((f) => f.endsWith('.ts')).sort().map((f) => path.join(chunked.output, 'high', f)).join('|')}`]);
  const times = stdout.split('\n').map((l) => parseFloat(l)).filter(Number.isFinite).sort((a, b) => a - b);
  const frame = 1001 / 30000;
  const off = times.map((t) => Math.abs(((t - times[0]!) / frame) - Math.round((t - times[0]!) / frame)) * frame);
  assert.ok(Math.max(...off) < 1e-4, `a picture ${(Math.max(...off) * 1000).toFixed(2)} ms off the source's grid`);
  assert.is(times.length, Math.ceil(30 / frame), 'no picture lost or doubled at a boundary');
});

test('the boundary check refuses a package whose segment was shifted by a tenth of a second', async () => {
  const dir = path.join(tmp, 'broken');
  await cp(path.join(tmp, 'hls', 'chunked'), dir, { recursive: true });
  const low = { name: 'low' as const, width: 256, height: 144 };
  const check = async () => boundaryCheck({ dir, rendition: await measureRendition(dir, low, { hasAudio: true, frameRate: 30 }), sourceSeconds: SECONDS, ffprobe: 'ffprobe', signal: new AbortController().signal });
  await check();
  // Segment 2 (20–30 s, the first of chunk 1) rewritten 0.1 s later: what a chunk timestamped wrongly gives.
  const segment = path.join(dir, 'low', 'segment002.ts');
  await run('ffmpeg', ['-v', 'error', '-y', '-copyts', '-i', segment, '-map', '0', '-c', 'copy', '-output_ts_offset', '0.1', '-mpegts_copyts', '1', '-f', 'mpegts', `${segment}.shifted`]);
  await writeFile(segment, await readFile(`${segment}.shifted`));
  await rm(`${segment}.shifted`);
  const error = await check().then(() => null, (err: Error) => err);
  assert.ok(error, 'the shifted segment is found');
  assert.match(error!.message, /low\/segment002\.ts: video starts 0\.1\d\d s after the previous segment's ends \(a gap\)/);
});

test('SIGTERM while the chunks encode stops every chunk process, publishes nothing and leaves nothing', async () => {
  const output = path.join(tmp, 'hls', 'term');
  let pid = 0;
  const pending = runVcs(['transcode', '--source', clip, '--output', output], { STORAGE_PATH: path.join(tmp, 'storage'), ...CHUNKED }, { onSpawn: (p) => (pid = p) });
  const chunksDir = async () => {
    const work = (await readdir(path.join(tmp, 'hls')).catch(() => [] as string[])).find((n) => n.startsWith('.vcs-work-term'));
    return work ? path.join(tmp, 'hls', work, 'chunks') : null;
  };
  const deadline = Date.now() + 30_000;
  let dir: string | null = null;
  while (Date.now() < deadline) {
    dir = await chunksDir();
    if (dir && (await readdir(dir).catch(() => [] as string[])).some((f) => f.startsWith('001-'))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(dir, 'the chunks started');
  const { stdout: before } = await run('ps', ['-eo', 'args']);
  assert.ok(before.split('\n').filter((l) => /^\S*ffmpeg /.test(l) && l.includes(dir!)).length >= 2, 'chunk processes run at once');
  const sent = Date.now();
  process.kill(pid, 'SIGTERM');
  const vcs = await pending;
  assert.ok(Date.now() - sent < 8000, `stopped in ${Date.now() - sent} ms`);
  assert.is(vcs.code, 143);
  assert.is(resultOf(vcs).error.code, 'VCS_ERR_CANCELLED');
  const { stdout: after } = await run('ps', ['-eo', 'args']);
  assert.equal(after.split('\n').filter((l) => l.includes(dir!)), [], 'no FFmpeg process of the run is left');
  assert.not.ok(await exists(output), 'nothing published');
  assert.equal((await readdir(path.join(tmp, 'hls'))).filter((n) => n.startsWith('.')), [], 'no work folder left');
});

test.run();
