import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ladder } from '../../src/contract.ts';
import { buildLadderArgs, buildPosterArgs, jpegQScale, ladderFilterGraph } from '../../transcoder/ffmpeg-args.ts';
import type { EncodePlan } from '../../transcoder/ladder.ts';

const ladder = { segmentSeconds: 10, keyframeSeconds: 2, preset: 'fast', audioBitrate: 128_000 } as Ladder;
const plan = (over: Partial<EncodePlan> = {}): EncodePlan => ({
  renditions: [
    { name: 'high', width: 1920, height: 1080, crf: 23, maxBitrate: 5_000_000, bufferBits: 10_000_000 },
    { name: 'medium', width: 854, height: 480, crf: 28, maxBitrate: 2_500_000, bufferBits: 5_000_000 },
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

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('one input, hardened: protocol and demuxer allow-lists come before -i, the path behind file:', () => {
  const args = buildLadderArgs({ input: '/w/source', outDir: '/w/staging', plan: plan(), ladder });
  assert.is(args.filter((a) => a === '-i').length, 1, 'decoded once');
  const i = args.indexOf('-i');
  assert.is(args[i + 1], 'file:/w/source');
  assert.is(valueOf(args, '-protocol_whitelist'), 'file');
  assert.ok(args.indexOf('-format_whitelist') < i);
  assert.not.ok(valueOf(args, '-format_whitelist')!.split(',').some((d) => ['hls', 'concat', 'dash', 'image2'].includes(d)));
});

test('filter graph: split into one scaler per rendition, 8-bit 4:2:0', () => {
  assert.is(
    ladderFilterGraph(plan()),
    '[0:v:0]split=3[s0][s1][s2];[s0]scale=1920:1080:flags=bicubic,setsar=1,format=yuv420p[v0];' +
      '[s1]scale=854:480:flags=bicubic,setsar=1,format=yuv420p[v1];[s2]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[v2]',
  );
  assert.match(ladderFilterGraph(plan({ frameRateCap: 60 })), /^\[0:v:0\]fps=60,split=3/);
  assert.match(ladderFilterGraph(plan({ toneMap: true })), /^\[0:v:0\]zscale=t=linear.*tonemap=tonemap=hable.*,split=3/);
});

test('the shorter stream is padded: last picture held before the split, or silence after the audio', () => {
  assert.match(ladderFilterGraph(plan({ padVideoSeconds: 3 })), /^\[0:v:0\]tpad=stop_mode=clone:stop_duration=3,split=3/);
  assert.match(ladderFilterGraph(plan({ frameRateCap: 60, padVideoSeconds: 1.5 })), /^\[0:v:0\]fps=60,tpad=stop_mode=clone:stop_duration=1.5,split=3/);
  const padded = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan({ padAudioSeconds: 3 }), ladder });
  assert.is(valueOf(padded, '-af'), 'apad=pad_dur=3');
  assert.not.ok(buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder }).includes('-af'));
  assert.not.ok(buildLadderArgs({ input: '/s', outDir: '/o', plan: plan({ padAudioSeconds: 3, hasAudio: false }), ladder }).includes('-af'));
});

test('deinterlacing comes first, on the decoded fields: before HDR, the rate cap, the scalers and the split', () => {
  assert.match(ladderFilterGraph(plan({ deinterlace: { output: 'frame', firstField: 'auto' } })), /^\[0:v:0\]bwdif=mode=send_frame:parity=auto:deint=all,split=3\[s0\]/);
  assert.match(
    ladderFilterGraph(plan({ deinterlace: { output: 'field', firstField: 'top' }, toneMap: true, frameRateCap: 30, padVideoSeconds: 2 })),
    /^\[0:v:0\]bwdif=mode=send_field:parity=tff:deint=all,zscale=t=linear.*,fps=30,tpad=stop_mode=clone:stop_duration=2,split=3/,
  );
  assert.match(ladderFilterGraph(plan({ deinterlace: { output: 'frame', firstField: 'bottom' } })), /bwdif=mode=send_frame:parity=bff:deint=all/);
  assert.not.ok(ladderFilterGraph(plan()).includes('bwdif'), 'progressive sources are left alone');
});

test('poster of an interlaced source: one deinterlaced frame, whatever the field setting', () => {
  const args = buildPosterArgs({ input: '/s', output: '/o/poster.jpg', atSeconds: 1, size: { width: 720, height: 576 }, quality: 85, plan: { toneMap: false, deinterlace: { output: 'field', firstField: 'top' } } });
  assert.is(valueOf(args, '-vf'), 'bwdif=mode=send_frame:parity=tff:deint=all,scale=720:576:flags=bicubic,setsar=1');
});

test('rate control per rendition: CRF with -maxrate/-bufsize', () => {
  const args = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder });
  assert.equal([valueOf(args, '-crf:v:0'), valueOf(args, '-maxrate:v:0'), valueOf(args, '-bufsize:v:0')], ['23', '5000k', '10000k']);
  assert.equal([valueOf(args, '-crf:v:2'), valueOf(args, '-maxrate:v:2'), valueOf(args, '-bufsize:v:2')], ['32', '1000k', '2000k']);
  assert.equal([valueOf(args, '-preset'), valueOf(args, '-profile:v'), valueOf(args, '-pix_fmt')], ['fast', 'high', 'yuv420p']);
});

test('x264 runs without delay only when the plan says so (very slow sources)', () => {
  assert.not.ok(buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder }).includes('-tune'));
  assert.is(valueOf(buildLadderArgs({ input: '/s', outDir: '/o', plan: plan({ zeroLatency: true, frameRate: 1 }), ladder }), '-tune'), 'zerolatency');
});

test('keyframes by time at the keyframe interval; HLS VOD with 10 s segments named segment000.ts', () => {
  const args = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder });
  assert.is(valueOf(args, '-force_key_frames'), 'expr:gte(t,n_forced*2)');
  assert.is(valueOf(args, '-hls_time'), '10');
  assert.is(valueOf(args, '-hls_playlist_type'), 'vod');
  assert.is(valueOf(args, '-hls_flags'), 'independent_segments');
  assert.is(valueOf(args, '-hls_segment_filename'), '/o/%v/segment%03d.ts');
  assert.is(args.at(-1), '/o/%v/playlist.m3u8');
});

test('audio: mapped once per rendition, AAC stereo at the bit rate; none without a source track', () => {
  const withAudio = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder });
  assert.is(withAudio.filter((a) => a === '0:a:0').length, 3);
  assert.equal([valueOf(withAudio, '-c:a'), valueOf(withAudio, '-b:a'), valueOf(withAudio, '-ac')], ['aac', '128k', '2']);
  assert.is(valueOf(withAudio, '-var_stream_map'), 'v:0,a:0,name:high v:1,a:1,name:medium v:2,a:2,name:low');
  const silent = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan({ hasAudio: false }), ladder });
  assert.not.ok(silent.includes('0:a:0'));
  assert.not.ok(silent.includes('-c:a'));
  assert.is(valueOf(silent, '-var_stream_map'), 'v:0,name:high v:1,name:medium v:2,name:low');
});

test('metadata (GPS, device) is not copied into the package', () => {
  const args = buildLadderArgs({ input: '/s', outDir: '/o', plan: plan(), ladder });
  assert.is(valueOf(args, '-map_metadata'), '-1');
});

test('poster: input seek to the time, one frame scaled to size, JPEG q', () => {
  const args = buildPosterArgs({ input: '/s', output: '/o/poster.jpg', atSeconds: 1.25, size: { width: 1280, height: 720 }, quality: 85, plan: { toneMap: false, deinterlace: null } });
  assert.ok(args.indexOf('-ss') < args.indexOf('-i'));
  assert.is(valueOf(args, '-ss'), '1.250');
  assert.is(valueOf(args, '-frames:v'), '1');
  assert.is(valueOf(args, '-vf'), 'scale=1280:720:flags=bicubic,setsar=1');
  assert.is(valueOf(args, '-q:v'), '3');
  assert.is(args.at(-1), '/o/poster.jpg');
});

test('JPEG quality maps onto mjpeg q (1 best – 31)', () => {
  assert.equal([100, 95, 85, 50, 1].map(jpegQScale), [1, 1, 3, 10, 20]);
});

test.run();
