/** transcoder/chunk-args.ts: the command lines of one chunk, the audio and the copy pass, as arrays. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ladder } from '../../src/contract.ts';
import { AUDIO_FILE, buildAudioArgs, buildChunkArgs, buildStitchArgs, chunkFileName, TIMESTAMP_LEAD_SECONDS } from '../../transcoder/chunk-args.ts';
import { chunkProgressSeconds } from '../../transcoder/chunked.ts';
import { planChunks } from '../../transcoder/chunk-plan.ts';
import { buildLadderArgs } from '../../transcoder/ffmpeg-args.ts';
import type { EncodePlan } from '../../transcoder/ladder.ts';

const ladder = { segmentSeconds: 10, keyframeSeconds: 2, preset: 'fast', audioBitrate: 128_000 } as Ladder;
const plan = (over: Partial<EncodePlan> = {}): EncodePlan => ({
  renditions: [
    { name: 'high', width: 1920, height: 1080, crf: 23, maxBitrate: 5_000_000, bufferBits: 10_000_000 },
    { name: 'low', width: 640, height: 360, crf: 32, maxBitrate: 1_000_000, bufferBits: 2_000_000 },
  ],
  deinterlace: null,
  frameRateCap: null,
  frameRate: 30,
  hasAudio: true,
  toneMap: false,
  zeroLatency: false,
  padVideoSeconds: 0,
  padAudioSeconds: 0,
  ...over,
});
const [first, middle, last] = planChunks(50, 20, 10, 30) as [ReturnType<typeof planChunks>[0], ReturnType<typeof planChunks>[0], ReturnType<typeof planChunks>[0]];
const chunk = (c: typeof first, over: Partial<EncodePlan> = {}) => buildChunkArgs({ input: '/w/source', outDir: '/w/chunks', chunk: c, plan: plan(over), ladder });
const valuesOf = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

test('a chunk seeks to its start on the input and trims at its end: exclusive, on the source clock', () => {
  const args = chunk(middle);
  assert.ok(args.indexOf('-ss') < args.indexOf('-i'), '-ss is an input option (fast, accurate seek)');
  assert.equal(valuesOf(args, '-ss'), ['20']);
  assert.is(valuesOf(args, '-i')[0], 'file:/w/source', 'the hardened input');
  assert.match(valuesOf(args, '-filter_complex')[0]!, /^\[0:v:0\]trim=end=20,split=2\[s0\]\[s1\]/);
  assert.not.ok(chunk(first).includes('-ss'), 'chunk 0 reads from the start, as a single encode does');
  assert.match(valuesOf(chunk(last), '-filter_complex')[0]!, /^\[0:v:0\]split=2/, 'the last chunk runs to the end of the source');
});

test('a chunk writes one video-only MPEG-TS per rendition, timestamped where it sits in the source', () => {
  const args = chunk(middle);
  assert.equal(valuesOf(args, '-map'), ['[v0]', '[v1]']);
  assert.equal(args.filter((a) => a.startsWith('/w/chunks/')), ['/w/chunks/001-high.ts', '/w/chunks/001-low.ts']);
  assert.equal(valuesOf(args, '-output_ts_offset'), [String(20 + TIMESTAMP_LEAD_SECONDS), String(20 + TIMESTAMP_LEAD_SECONDS)]);
  assert.equal(valuesOf(args, '-f'), ['mpegts', 'mpegts']);
  assert.is(args.filter((a) => a === '-an').length, 2, 'no audio in a chunk');
  assert.equal(valuesOf(args, '-crf:v:0'), ['23', '32'], 'each output its own rendition\'s rate control');
  assert.equal(valuesOf(args, '-maxrate:v:0'), ['5000k', '1000k']);
});

test('encoder settings are those of the single-process encode: keyframes on the same 2 s grid', () => {
  const single = buildLadderArgs({ input: '/w/source', outDir: '/w/staging', plan: plan(), ladder });
  const args = chunk(middle);
  for (const flag of ['-preset', '-profile:v', '-pix_fmt', '-force_key_frames', '-c:v']) assert.equal(new Set(valuesOf(args, flag)), new Set(valuesOf(single, flag)), flag);
  assert.equal(valuesOf(args, '-force_key_frames'), ['expr:gte(t,n_forced*2)', 'expr:gte(t,n_forced*2)']);
  assert.equal(valuesOf(chunk(middle, { zeroLatency: true }), '-tune'), ['zerolatency', 'zerolatency']);
});

test('the held last picture goes to the last chunk only; the shared filters to every chunk', () => {
  assert.not.match(valuesOf(chunk(middle, { padVideoSeconds: 3 }), '-filter_complex')[0]!, /tpad/);
  assert.match(valuesOf(chunk(last, { padVideoSeconds: 3 }), '-filter_complex')[0]!, /^\[0:v:0\]tpad=stop_mode=clone:stop_duration=3,split=2/);
  assert.match(valuesOf(chunk(middle, { frameRateCap: 30, toneMap: true }), '-filter_complex')[0]!, /^\[0:v:0\]trim=end=20,zscale=.*,fps=30,split=2/);
});

test('the audio: the whole source once, AAC stereo, padded like the single encode, on the same clock', () => {
  const args = buildAudioArgs({ input: '/w/source', outDir: '/w/chunks', plan: plan({ padAudioSeconds: 2.5 }), ladder });
  assert.equal(valuesOf(args, '-map'), ['0:a:0']);
  assert.not.ok(args.includes('-ss'));
  assert.equal(valuesOf(args, '-af'), ['apad=pad_dur=2.5']);
  assert.equal(valuesOf(args, '-b:a'), ['128k']);
  assert.equal(valuesOf(args, '-output_ts_offset'), [String(TIMESTAMP_LEAD_SECONDS)]);
  assert.is(args.at(-1), `/w/chunks/${AUDIO_FILE}`);
});

test('the copy pass: each rendition\'s chunks joined in order, the audio beside, nothing re-encoded, the HLS muxer of a single encode', () => {
  const chunks = planChunks(50, 20, 10, 30);
  const args = buildStitchArgs({ chunksDir: '/w/chunks', outDir: '/w/staging', chunks, plan: plan(), ladder });
  assert.equal(valuesOf(args, '-i'), ['concat:000-high.ts|001-high.ts|002-high.ts', 'concat:000-low.ts|001-low.ts|002-low.ts', `file:${AUDIO_FILE}`]);
  assert.equal(new Set(valuesOf(args, '-protocol_whitelist')), new Set(['concat,file']));
  assert.equal(new Set(valuesOf(args, '-format_whitelist')), new Set(['mpegts']));
  assert.equal(valuesOf(args, '-map'), ['0:v:0', '2:a:0', '1:v:0', '2:a:0']);
  assert.equal(valuesOf(args, '-c'), ['copy']);
  assert.ok(args.includes('-copyts'));
  assert.equal(valuesOf(args, '-output_ts_offset'), [String(-TIMESTAMP_LEAD_SECONDS)]);
  const single = buildLadderArgs({ input: '/w/source', outDir: '/w/staging', plan: plan(), ladder });
  assert.equal(args.slice(args.indexOf('-f', args.indexOf('-copyts'))), single.slice(single.lastIndexOf('-f')), 'the same HLS output');
  const silent = buildStitchArgs({ chunksDir: '/w/chunks', outDir: '/w/staging', chunks, plan: plan({ hasAudio: false }), ladder });
  assert.equal(valuesOf(silent, '-map'), ['0:v:0', '1:v:0']);
  assert.is(valuesOf(silent, '-var_stream_map')[0], 'v:0,name:high v:1,name:low');
});

test('names: chunk files sort in chunk order', () => {
  assert.is(chunkFileName(7, 'medium'), '007-medium.ts');
  assert.ok(chunkFileName(10, 'high') > chunkFileName(9, 'high'));
});

test('chunk progress: seconds of the chunk from ffmpeg\'s out_time, which counts from the chunk\'s start, capped at its length', () => {
  const at = (seconds: number) => `out_time_us=${Math.round(seconds * 1e6)}`;
  assert.is(chunkProgressSeconds(at(5), middle), 5);
  assert.is(chunkProgressSeconds(at(0), middle), 0);
  assert.is(chunkProgressSeconds(at(20.5), middle), 20);
  assert.is(chunkProgressSeconds('out_time_us=-33333', middle), null, 'not a progress value');
  assert.is(chunkProgressSeconds('frame=12', middle), null);
});

test.run();
