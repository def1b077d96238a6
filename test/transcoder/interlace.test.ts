import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectScan, IDET_SAMPLE_SECONDS, idetSampleArgs, parseIdet, scanFromFieldOrder, scanFromIdet, type IdetCounts, type Scan } from '../../transcoder/interlace.ts';
import type { SourceInfo } from '../../transcoder/probe.ts';

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('field order: any interlaced order settles it (field order from each frame); progressive and unknown need a sample', () => {
  for (const order of ['tt', 'bb', 'tb', 'bt'] as const) assert.equal(scanFromFieldOrder(order), { interlaced: true, firstField: 'auto' }, order);
  assert.is(scanFromFieldOrder('progressive'), null);
  assert.is(scanFromFieldOrder('unknown'), null);
});

const counts = (tff: number, bff: number, progressive: number, undetermined = 0): IdetCounts => ({ tff, bff, progressive, undetermined });

// Counts measured with FFmpeg 5.1's idet (intl_thres=1.5) over 2-second samples, then edge cases.
const idetTable: [string, IdetCounts, Scan][] = [
  ['woven fields, top first (PAL capture)', counts(52, 0, 0), { interlaced: true, firstField: 'top' }],
  ['woven fields of a Mandelbrot zoom, some undecided', counts(45, 0, 0, 7), { interlaced: true, firstField: 'top' }],
  ['hard-telecined film (3:2 pulldown)', counts(58, 0, 4), { interlaced: true, firstField: 'top' }],
  ['progressive camera video', counts(0, 0, 62), { interlaced: false }],
  ['progressive fine moving detail (testsrc2 400x240)', counts(0, 0, 59, 3), { interlaced: false }],
  ['woven fields, bottom first (DV)', counts(0, 50, 1), { interlaced: true, firstField: 'bottom' }],
  ['calls split between both orders', counts(56, 49, 15), { interlaced: false }],
  ['a few combed-looking frames in progressive video', counts(12, 0, 50), { interlaced: false }],
  ['a still picture: nothing moves, nothing decided', counts(0, 0, 0, 4), { interlaced: false }],
  ['too few frames to tell (two thirds, but under 10)', counts(8, 0, 1), { interlaced: false }],
  ['exactly two thirds', counts(20, 0, 10), { interlaced: true, firstField: 'top' }],
];

for (const [name, c, expected] of idetTable) {
  test(`idet verdict: ${name}`, () => assert.equal(scanFromIdet(c), expected));
}

test('idet output: the multi-frame counts, the last summary if there are several', () => {
  const stderr = [
    'Input #0, mov,mp4,m4a,3gp,3g2,mj2, from \'file:/w/source\':',
    '[Parsed_idet_0 @ 0x55] Repeated Fields: Neither:    51 Top:     0 Bottom:     0',
    '[Parsed_idet_0 @ 0x55] Single frame detection: TFF:    48 BFF:     0 Progressive:     2 Undetermined:     1',
    '[Parsed_idet_0 @ 0x55] Multi frame detection: TFF:    51 BFF:     0 Progressive:     0 Undetermined:     0',
  ].join('\n');
  assert.equal(parseIdet(stderr), counts(51, 0, 0, 0));
  assert.is(parseIdet('[mov @ 0x1] moov atom not found'), null);
});

test('sample: hardened input, input seek to near the middle, first video stream only, a fixed length, idet counts at info level', () => {
  const args = idetSampleArgs('/w/source', 600);
  const input = args.indexOf('-i');
  assert.is(args[input + 1], 'file:/w/source');
  assert.is(valueOf(args, '-protocol_whitelist'), 'file');
  assert.ok(args.indexOf('-format_whitelist') < input);
  assert.ok(args.indexOf('-ss') < input, 'input seek: jumps near the time instead of decoding up to it');
  assert.is(valueOf(args, '-ss'), (300 - IDET_SAMPLE_SECONDS / 2).toFixed(3));
  assert.ok(args.indexOf('-noaccurate_seek') < input, 'from the keyframe before the time: no decoding up to it');
  assert.is(valueOf(args, '-t'), String(IDET_SAMPLE_SECONDS));
  assert.is(valueOf(args, '-map'), '0:v:0');
  assert.is(valueOf(args, '-vf'), 'idet=intl_thres=1.5');
  assert.is(valueOf(args, '-loglevel'), 'info');
  assert.equal(args.slice(-3), ['-f', 'null', '-']);
  assert.is(valueOf(idetSampleArgs('/w/source', 1), '-ss'), '0.000', 'a clip shorter than the sample starts at 0');
});

const source = (fieldOrder: SourceInfo['fieldOrder']) => ({ fieldOrder, durationSeconds: 10 }) as SourceInfo;
const signal = new AbortController().signal;

test('a stream flagged interlaced is settled without running FFmpeg', async () => {
  const found = await detectScan('/nonexistent/ffmpeg', '/w/source', source('bb'), signal);
  assert.equal(found, { verdict: { interlaced: true, firstField: 'auto' }, by: 'field_order', idet: null, sampleMs: 0 });
});

test('a sample FFmpeg cannot decode counts as progressive (the encode reports the damage)', async () => {
  const found = await detectScan('/bin/false', '/w/source', source('progressive'), signal);
  assert.equal([found.verdict, found.by, found.idet], [{ interlaced: false }, 'idet', null]);
});

test.run();
