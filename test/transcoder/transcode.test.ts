/**
 * End to end: `vcs transcode` as a child process on clips the test generates, with real FFmpeg.
 * Every package is read back and checked against the HLS rules (test/support/package-asserts.ts).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { idetCounts, makeClip, makeInterlaced, makeStill, psnrAgainst } from '../support/media.ts';
import { assertAudioWithItsVideo, assertPackage, assertPlaysThrough, exists, keyframeTimes } from '../support/package-asserts.ts';
import { resultOf, runVcs } from '../support/vcs.ts';

const test = suite('vcs transcode');
let tmp = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-transcode-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** veryfast keeps the High profile and halves the test's encode time; one case runs the default preset. */
const FAST = { VIDEO_PRESET: 'veryfast' };

async function transcode(name: string, source: string, env: Record<string, string> = FAST, extra: string[] = []) {
  const output = path.join(tmp, 'hls', name);
  const run = await runVcs(['transcode', '--source', source, '--output', output, '--id', '7', ...extra], { STORAGE_PATH: path.join(tmp, 'storage'), ...env });
  return { run, output, result: resultOf(run) };
}

async function noLeftovers(): Promise<void> {
  const hls = await readdir(path.join(tmp, 'hls')).catch(() => [] as string[]);
  assert.equal(hls.filter((n) => n.startsWith('.')), [], 'no work or staging folders left beside the output');
}

test('1080p landscape with 5.1 audio: three renditions, default preset, keyframes every 2 s in step', async () => {
  const src = await makeClip(path.join(tmp, 'land.mp4'), { width: 1920, height: 1080, seconds: 12, audio: 6 });
  const { run, output, result } = await transcode('land', src, {});
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.ok(result.ok);
  const pkg = await assertPackage(output, {
    renditions: [
      { name: 'high', width: 1920, height: 1080 },
      { name: 'medium', width: 854, height: 480 },
      { name: 'low', width: 640, height: 360 },
    ],
    audio: true,
    frameRate: 30,
    sourceSeconds: 12,
    poster: { width: 1280, height: 720 },
  });
  assert.is(pkg.renditions[0]!.codecs, 'avc1.640028,mp4a.40.2');
  const segs = pkg.renditions[0]!.segments.map((s) => s.uri);
  const times = await Promise.all(['high', 'medium', 'low'].map((r) => keyframeTimes(output, r, segs)));
  for (const t of [0, 2, 4, 6, 8, 10]) assert.ok(times[0]!.includes(t), `keyframe at ${t} s (got ${times[0]})`);
  assert.equal(times[1], times[0], 'medium keyframes at the same times as high');
  assert.equal(times[2], times[0], 'low keyframes at the same times as high');
  assert.equal(result.output.renditions.map((r: { name: string }) => r.name), ['high', 'medium', 'low']);
  await noLeftovers();
});

test('a source smaller than 480p is never upscaled: one rendition at its own size', async () => {
  const src = await makeClip(path.join(tmp, 'small.mp4'), { width: 400, height: 240, seconds: 3, audio: 2 });
  const { run, output } = await transcode('small', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, { renditions: [{ name: 'high', width: 400, height: 240 }], audio: true, frameRate: 30, sourceSeconds: 3, poster: { width: 400, height: 240 } });
  // Progressive, though its fast fine pattern fools idet at its default threshold (frames called
  // interlaced, 81 % of them top field first in the sample's window).
  const { scan } = JSON.parse(await readFile(path.join(output, 'manifest.json'), 'utf8'));
  assert.equal([scan.by, scan.verdict], ['idet', { interlaced: false }]);
  assert.is(scan.idet.tff + scan.idet.bff, 0);
});

test('portrait keeps its orientation; odd sizes become even', async () => {
  const src = await makeClip(path.join(tmp, 'portrait.mp4'), { width: 721, height: 1281, seconds: 3, audio: 2 });
  const { run, output } = await transcode('portrait', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, {
    renditions: [
      { name: 'high', width: 720, height: 1280 },
      { name: 'medium', width: 480, height: 852 },
      { name: 'low', width: 360, height: 640 },
    ],
    audio: true,
    frameRate: 30,
    sourceSeconds: 3,
    poster: { width: 406, height: 720 },
  });
});

test('a rotated phone clip (display matrix 90°) comes out upright and portrait', async () => {
  const src = await makeClip(path.join(tmp, 'rotated.mp4'), { width: 854, height: 480, seconds: 3, audio: 2, rotate: 90 });
  const { run, output } = await transcode('rotated', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, {
    renditions: [
      { name: 'high', width: 480, height: 854 },
      { name: 'low', width: 360, height: 640 },
    ],
    audio: true,
    frameRate: 30,
    sourceSeconds: 3,
    poster: { width: 404, height: 720 },
  });
});

test('no audio: video-only renditions with video-only CODECS', async () => {
  const src = await makeClip(path.join(tmp, 'silent.mkv'), { width: 640, height: 360, seconds: 3, audio: false, container: 'mkv' });
  const { run, output } = await transcode('silent', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: false, frameRate: 30, sourceSeconds: 3, poster: { width: 640, height: 360 } });
  assert.match(pkg.renditions[0]!.codecs ?? '', /^avc1\.64[0-9a-f]{4}$/);
});

test('a 3-second clip: one short segment, BANDWIDTH still the measured peak', async () => {
  const src = await makeClip(path.join(tmp, 'short.mp4'), { width: 1280, height: 720, seconds: 3, audio: 2 });
  const { run, output } = await transcode('short', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  const pkg = await assertPackage(output, {
    renditions: [
      { name: 'high', width: 1280, height: 720 },
      { name: 'medium', width: 854, height: 480 },
      { name: 'low', width: 640, height: 360 },
    ],
    audio: true,
    frameRate: 30,
    sourceSeconds: 3,
    poster: { width: 1280, height: 720 },
  });
  assert.is(pkg.renditions[0]!.segments.length, 1);
  assert.is(pkg.renditions[0]!.targetDuration, 3);
});

test('a still-image podcast (a cover picture once a second beside its audio) is published, audio with its video', async () => {
  const src = await makeStill(path.join(tmp, 'podcast.mp4'), { width: 640, height: 360, seconds: 25, audioSeconds: 25 });
  // The default preset: its lookahead is what delays a 1 fps video by half a minute.
  const { run, output, result } = await transcode('podcast', src, {});
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.ok(result.ok);
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: true, frameRate: 1, sourceSeconds: 25, poster: { width: 640, height: 360 } });
  assertAudioWithItsVideo(pkg);
});

test('a still without sound: its last segment is two frames of about 1 KB, still read as MPEG-TS', async () => {
  const src = await makeStill(path.join(tmp, 'cover.mp4'), { width: 640, height: 360, seconds: 22, audioSeconds: false });
  const { run, output } = await transcode('cover', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: false, frameRate: 1, sourceSeconds: 22, poster: { width: 640, height: 360 } });
  const last = pkg.renditions[0]!.segments.at(-1)!;
  assert.is(last.duration, 2);
  assert.ok(last.bytes < 4096, `the last segment is tiny (${last.bytes} bytes), as a still image's are`);
});

test('audio 3 s longer than the video: the last picture is held until the audio ends', async () => {
  const src = await makeClip(path.join(tmp, 'audio-longer.mp4'), { width: 320, height: 180, seconds: 9, audioSeconds: 12, audio: 2 });
  const { run, output, result } = await transcode('audio-longer', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.ok(result.ok);
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 320, height: 180 }], audio: true, frameRate: 30, sourceSeconds: 12, poster: { width: 320, height: 180 } });
  assertAudioWithItsVideo(pkg);
  await assertPlaysThrough(output, 12);
});

test('video 3 s longer than the audio: silence fills the end, so every segment has audio', async () => {
  const src = await makeClip(path.join(tmp, 'video-longer.mp4'), { width: 320, height: 180, seconds: 13, audioSeconds: 10, audio: 2 });
  const { run, output, result } = await transcode('video-longer', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.ok(result.ok);
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 320, height: 180 }], audio: true, frameRate: 30, sourceSeconds: 13, poster: { width: 320, height: 180 } });
  assertAudioWithItsVideo(pkg);
  await assertPlaysThrough(output, 13);
});

test('60 fps is kept, keyframes stay 2 s apart (120 frames)', async () => {
  const src = await makeClip(path.join(tmp, 'sixty.mp4'), { width: 640, height: 360, seconds: 5, fps: 60, audio: 2 });
  const { run, output } = await transcode('sixty', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  const pkg = await assertPackage(output, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: true, frameRate: 60, sourceSeconds: 5, poster: { width: 640, height: 360 } });
  const times = await keyframeTimes(output, 'high', pkg.renditions[0]!.segments.map((s) => s.uri));
  for (const t of [0, 2, 4]) assert.ok(times.includes(t), `keyframe at ${t} s (got ${times})`);
});

test('a 10-bit HDR (PQ) source is tone-mapped to 8-bit 4:2:0 High profile', async () => {
  const src = await makeClip(path.join(tmp, 'hdr.mp4'), { width: 640, height: 360, seconds: 2, audio: false, hdr: true });
  const { run, output } = await transcode('hdr', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: false, frameRate: 30, sourceSeconds: 2, poster: { width: 640, height: 360 } });
});

/**
 * Share of a rung's frames idet may still call interlaced: the first frame has no earlier field to
 * draw on, and idet's multi-frame verdict changes only after three agreeing frames, so a rung can
 * start with four or five. Without deinterlacing it is every frame.
 */
const IDET_TOLERANCE = 0.05;

async function assertProgressive(output: string, renditions: string[]): Promise<void> {
  for (const r of renditions) {
    const c = await idetCounts(path.join(output, r, 'playlist.m3u8'));
    const frames = c.tff + c.bff + c.progressive + c.undetermined;
    assert.ok(c.tff + c.bff <= IDET_TOLERANCE * frames, `${r}: idet finds ${c.tff} TFF and ${c.bff} BFF frames of ${frames}`);
  }
}

/**
 * The fields come out in the right order: the top rung (the source's own size) is within reach of
 * the 50 pictures a second the clip was woven from. Measured on these clips: 34 dB in the right
 * order, 26.5 dB with the fields swapped, which idet cannot tell apart.
 */
const RIGHT_ORDER_DB = 31;

test('an interlaced PAL capture (MPEG-2, flagged top field first) is deinterlaced before scaling: every rung progressive, 25 fps', async () => {
  const src = await makeInterlaced(path.join(tmp, 'pal.ts'), { width: 720, height: 576, seconds: 5, coding: 'flagged' });
  const source = await idetCounts(src);
  assert.ok(source.tff > 100, `the source is interlaced (${JSON.stringify(source)})`);
  const { run, output } = await transcode('pal', src);
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, {
    renditions: [
      { name: 'high', width: 720, height: 576 },
      { name: 'medium', width: 600, height: 480 },
      { name: 'low', width: 450, height: 360 },
    ],
    audio: true,
    frameRate: 25,
    sourceSeconds: 5,
    poster: { width: 720, height: 576 },
  });
  await assertProgressive(output, ['high', 'medium', 'low']);
  // A picture per frame: the moment of its first (top) field, every other picture of the 50.
  const psnr = await psnrAgainst(path.join(output, 'high', 'playlist.m3u8'), 'testsrc2=size=720x576:rate=50:duration=5,select=not(mod(n\\,2))');
  assert.ok(psnr > RIGHT_ORDER_DB, `high rung PSNR ${psnr} dB against the top-field pictures`);
  assert.is(JSON.parse(await readFile(path.join(output, 'manifest.json'), 'utf8')).scan.by, 'field_order');
});

test('an interlaced picture stored as progressive is caught by the idet sample; DEINTERLACE_OUTPUT=field gives 50 fps', async () => {
  const src = await makeInterlaced(path.join(tmp, 'woven.mp4'), { width: 640, height: 480, seconds: 4, coding: 'unflagged' });
  const { run, output } = await transcode('woven', src, { ...FAST, DEINTERLACE_OUTPUT: 'field' });
  assert.is(run.code, 0, run.stderr.slice(-2000));
  await assertPackage(output, {
    renditions: [
      { name: 'high', width: 640, height: 480 },
      { name: 'low', width: 480, height: 360 },
    ],
    audio: true,
    frameRate: 50,
    sourceSeconds: 4,
    poster: { width: 640, height: 480 },
  });
  await assertProgressive(output, ['high', 'low']);
  const psnr = await psnrAgainst(path.join(output, 'high', 'playlist.m3u8'), 'testsrc2=size=640x480:rate=50:duration=4');
  assert.ok(psnr > RIGHT_ORDER_DB, `high rung PSNR ${psnr} dB against the 50 pictures a second`);
  const { scan } = JSON.parse(await readFile(path.join(output, 'manifest.json'), 'utf8'));
  assert.equal([scan.by, scan.verdict], ['idet', { interlaced: true, firstField: 'top' }]);
});

test('re-compression replaces the old package only once the new one is whole', async () => {
  const a = await makeClip(path.join(tmp, 'v1.mp4'), { width: 640, height: 360, seconds: 2, audio: 2 });
  const b = await makeClip(path.join(tmp, 'v2.mp4'), { width: 320, height: 180, seconds: 2, audio: 2 });
  const first = await transcode('again', a);
  assert.is(first.run.code, 0);
  // By hand, replacing a published package takes --force (without it: refused, see test/src/cli.test.ts).
  const second = await transcode('again', b, FAST, ['--force']);
  assert.is(second.run.code, 0, second.run.stderr.slice(-2000));
  await assertPackage(second.output, { renditions: [{ name: 'high', width: 320, height: 180 }], audio: true, frameRate: 30, sourceSeconds: 2, poster: { width: 320, height: 180 } });
  // A failed re-compression leaves the published package as it was.
  const broken = path.join(tmp, 'broken.mp4');
  await (await import('node:fs/promises')).writeFile(broken, 'not a video');
  const third = await transcode('again', broken, FAST, ['--force']);
  assert.is(third.run.code, 2);
  await assertPackage(second.output, { renditions: [{ name: 'high', width: 320, height: 180 }], audio: true, frameRate: 30, sourceSeconds: 2, poster: { width: 320, height: 180 } });
  await noLeftovers();
});

test('SIGTERM stops FFmpeg promptly, publishes nothing and cleans up', async () => {
  const src = await makeClip(path.join(tmp, 'long.mp4'), { width: 1920, height: 1080, seconds: 30, audio: 2 });
  const output = path.join(tmp, 'hls', 'term');
  let pid = 0;
  const pending = runVcs(['transcode', '--source', src, '--output', output], { STORAGE_PATH: path.join(tmp, 'storage'), ...FAST }, { onSpawn: (p) => (pid = p) });
  // Wait until the encode has started.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const hidden = (await readdir(path.join(tmp, 'hls'))).filter((n) => n.startsWith('.vcs-work-term'));
    if (hidden.length && (await exists(path.join(tmp, 'hls', hidden[0]!, 'staging', 'poster.jpg')))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const sent = Date.now();
  process.kill(pid, 'SIGTERM');
  const run = await pending;
  assert.ok(Date.now() - sent < 8000, `stopped in ${Date.now() - sent} ms`);
  assert.is(run.code, 143);
  assert.is(resultOf(run).error.code, 'VCS_ERR_CANCELLED');
  assert.not.ok(await exists(output), 'nothing published');
  await noLeftovers();
});

test.run();
