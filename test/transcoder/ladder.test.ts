import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ladder } from '../../src/contract.ts';
import { endPadding, planEncode, posterSize } from '../../transcoder/ladder.ts';
import type { Scan } from '../../transcoder/interlace.ts';
import type { SourceInfo } from '../../transcoder/probe.ts';

const ladder: Ladder = {
  renditions: [
    { name: 'high', height: 1080, crf: 23, maxBitrate: 5_000_000 },
    { name: 'medium', height: 480, crf: 28, maxBitrate: 2_500_000 },
    { name: 'low', height: 360, crf: 32, maxBitrate: 1_000_000 },
  ],
  segmentSeconds: 10,
  keyframeSeconds: 2,
  preset: 'fast',
  maxFrameRate: 60,
  deinterlaceOutput: 'frame',
  audioBitrate: 128_000,
  poster: { maxWidth: 1280, maxHeight: 720, quality: 85 },
};

const source = (width: number, height: number, extra: Partial<SourceInfo> = {}): SourceInfo => ({
  durationSeconds: 10, width, height, rotation: 0, frameRate: 30, videoCodec: 'h264', pixelFormat: 'yuv420p',
  hdr: false, fieldOrder: 'progressive', audio: { codec: 'aac', channels: 2 }, container: 'mov', streamEnds: { video: 10, audio: 10 }, ...extra,
});

const PROGRESSIVE: Scan = { interlaced: false };

const sizes = (s: SourceInfo) => planEncode(s, ladder, PROGRESSIVE).renditions.map((r) => `${r.name} ${r.width}x${r.height}`);

const table: [string, SourceInfo, string[]][] = [
  ['1080p landscape', source(1920, 1080), ['high 1920x1080', 'medium 854x480', 'low 640x360']],
  ['4K is capped at 1080p', source(3840, 2160), ['high 1920x1080', 'medium 854x480', 'low 640x360']],
  ['720p: high capped to the source', source(1280, 720), ['high 1280x720', 'medium 854x480', 'low 640x360']],
  ['exactly 480p: medium would repeat high', source(854, 480), ['high 854x480', 'low 640x360']],
  ['400p: between the rungs', source(712, 400), ['high 712x400', 'low 640x360']],
  ['360p: one rendition', source(640, 360), ['high 640x360']],
  ['below every rung', source(320, 240), ['high 320x240']],
  ['portrait 1080x1920', source(1080, 1920), ['high 1080x1920', 'medium 480x854', 'low 360x640']],
  ['rotated phone clip (probe already swapped)', source(1080, 1920, { rotation: 90 }), ['high 1080x1920', 'medium 480x854', 'low 360x640']],
  ['odd screen recording 1163x767', source(1163, 767), ['high 1162x766', 'medium 728x480', 'low 546x360']],
  ['odd tiny 101x57', source(101, 57), ['high 100x56']],
  ['square', source(1080, 1080), ['high 1080x1080', 'medium 480x480', 'low 360x360']],
  ['ultra-wide 2560x1080', source(2560, 1080), ['high 2560x1080', 'medium 1138x480', 'low 854x360']],
];

for (const [name, src, expected] of table) {
  test(`ladder: ${name}`, () => assert.equal(sizes(src), expected));
}

test('every dimension is even and nothing is upscaled', () => {
  for (const [, src] of table) {
    for (const r of planEncode(src, ladder, PROGRESSIVE).renditions) {
      assert.is(r.width % 2, 0);
      assert.is(r.height % 2, 0);
      assert.ok(Math.min(r.width, r.height) <= Math.min(src.width, src.height));
    }
  }
});

test('rate settings come from the ladder; VBV buffer is two seconds of the cap', () => {
  const [high] = planEncode(source(1920, 1080), ladder, PROGRESSIVE).renditions;
  assert.equal({ crf: high!.crf, max: high!.maxBitrate, buf: high!.bufferBits }, { crf: 23, max: 5_000_000, buf: 10_000_000 });
});

test('frame rate: kept up to the cap, capped above it', () => {
  assert.equal([planEncode(source(640, 360, { frameRate: 29.97 }), ladder, PROGRESSIVE).frameRateCap, planEncode(source(640, 360, { frameRate: 29.97 }), ladder, PROGRESSIVE).frameRate], [null, 29.97]);
  assert.is(planEncode(source(640, 360, { frameRate: 60 }), ladder, PROGRESSIVE).frameRateCap, null);
  assert.equal([planEncode(source(640, 360, { frameRate: 120 }), ladder, PROGRESSIVE).frameRateCap, planEncode(source(640, 360, { frameRate: 120 }), ladder, PROGRESSIVE).frameRate], [60, 60]);
});

test('below 10 fps (stills, slide shows) the encoder runs without delay, so audio stays with its video', () => {
  const zeroLatency = (frameRate: number) => planEncode(source(640, 360, { frameRate }), ladder, PROGRESSIVE).zeroLatency;
  assert.equal([1, 0.5, 9.99, 10, 25, 120].map(zeroLatency), [true, true, true, false, false, false]);
});

const paddingTable: [string, { video: number | null; audio: number | null }, { video: number; audio: number }][] = [
  ['equal ends', { video: 10, audio: 10 }, { video: 0, audio: 0 }],
  ['audio 3 s longer: hold the last picture', { video: 9, audio: 12 }, { video: 3, audio: 0 }],
  ['video 3 s longer: silence after the audio', { video: 13, audio: 10 }, { video: 0, audio: 3 }],
  ['ordinary camera slack (AAC frames) is left alone', { video: 10, audio: 10.043 }, { video: 0, audio: 0 }],
  ['just over the slack', { video: 10, audio: 10.15 }, { video: 0.15, audio: 0 }],
  ['no audio', { video: 10, audio: null }, { video: 0, audio: 0 }],
  ['ends unknown (Matroska without DURATION tags)', { video: null, audio: 12 }, { video: 0, audio: 0 }],
];

for (const [name, ends, expected] of paddingTable) {
  test(`end padding: ${name}`, () => assert.equal(endPadding(ends), expected));
}

test('the plan carries the padding of the shorter stream', () => {
  const p = planEncode(source(640, 360, { streamEnds: { video: 9, audio: 12 } }), ladder, PROGRESSIVE);
  assert.equal([p.padVideoSeconds, p.padAudioSeconds], [3, 0]);
});

const TOP_FIRST: Scan = { interlaced: true, firstField: 'top' };
const FLAGGED: Scan = { interlaced: true, firstField: 'auto' };
const deinterlaceTable: [string, { frameRate: number; scan: Scan; output: 'frame' | 'field'; maxFrameRate?: number }, { deinterlace: unknown; frameRate: number; frameRateCap: number | null }][] = [
  ['progressive: nothing to do', { frameRate: 25, scan: PROGRESSIVE, output: 'frame' }, { deinterlace: null, frameRate: 25, frameRateCap: null }],
  ['progressive with field output set: still nothing', { frameRate: 25, scan: PROGRESSIVE, output: 'field' }, { deinterlace: null, frameRate: 25, frameRateCap: null }],
  ['50i flagged, frame output: 25p, field order from each frame', { frameRate: 25, scan: FLAGGED, output: 'frame' }, { deinterlace: { output: 'frame', firstField: 'auto' }, frameRate: 25, frameRateCap: null }],
  ['50i flagged, field output: 50p', { frameRate: 25, scan: FLAGGED, output: 'field' }, { deinterlace: { output: 'field', firstField: 'auto' }, frameRate: 50, frameRateCap: null }],
  ['60i found by idet, field output: 59.94p', { frameRate: 30000 / 1001, scan: TOP_FIRST, output: 'field' }, { deinterlace: { output: 'field', firstField: 'top' }, frameRate: 60000 / 1001, frameRateCap: null }],
  ['50i, field output over a 30 fps cap: a picture per frame instead, 25p', { frameRate: 25, scan: FLAGGED, output: 'field', maxFrameRate: 30 }, { deinterlace: { output: 'frame', firstField: 'auto' }, frameRate: 25, frameRateCap: null }],
  ['50i, field output at a 50 fps cap: just fits', { frameRate: 25, scan: FLAGGED, output: 'field', maxFrameRate: 50 }, { deinterlace: { output: 'field', firstField: 'auto' }, frameRate: 50, frameRateCap: null }],
  ['60i, frame output under a 24 fps cap: capped like any 30 fps source', { frameRate: 30, scan: FLAGGED, output: 'frame', maxFrameRate: 24 }, { deinterlace: { output: 'frame', firstField: 'auto' }, frameRate: 24, frameRateCap: 24 }],
];

for (const [name, c, expected] of deinterlaceTable) {
  test(`deinterlace: ${name}`, () => {
    const p = planEncode(source(720, 576, { frameRate: c.frameRate }), { ...ladder, deinterlaceOutput: c.output, maxFrameRate: c.maxFrameRate ?? 60 }, c.scan);
    assert.equal({ deinterlace: p.deinterlace, frameRate: p.frameRate, frameRateCap: p.frameRateCap }, expected);
  });
}

test('audio and HDR flags follow the source', () => {
  assert.is(planEncode(source(640, 360, { audio: null }), ladder, PROGRESSIVE).hasAudio, false);
  assert.is(planEncode(source(640, 360, { hdr: true }), ladder, PROGRESSIVE).toneMap, true);
});

test('poster: fitted into 1280x720, aspect kept, never upscaled', () => {
  const fit = (w: number, h: number) => posterSize({ width: w, height: h }, { maxWidth: 1280, maxHeight: 720 });
  assert.equal(fit(1920, 1080), { width: 1280, height: 720 });
  assert.equal(fit(1080, 1920), { width: 406, height: 720 });
  assert.equal(fit(640, 360), { width: 640, height: 360 });
  assert.equal(fit(2560, 1080), { width: 1280, height: 540 });
});

test.run();
