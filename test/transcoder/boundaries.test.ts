/** transcoder/boundaries.ts: the boundary rules over packet lists built by hand. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundaryProblems, lengthTolerance, parsePacketLines, type Packet } from '../../transcoder/boundaries.ts';

const FPS = 30;
const AAC = 1024 / 48_000;
const SEGMENT_BYTES = 1_000_000;

/**
 * `segments` segments of `seconds` each: video at 30 fps (a keyframe first in each), AAC frames
 * running on across boundaries; `edit` may change any packet (by segment and kind).
 */
function packageOf(segments: number, seconds: number, edit: (p: Packet, segment: number) => Packet | null = (p) => p) {
  const packets: Packet[] = [];
  for (let s = 0; s < segments; s++) {
    const pos = s * SEGMENT_BYTES;
    const frames = Math.round(seconds * FPS);
    const list: Packet[] = [];
    for (let f = 0; f < frames; f++) list.push({ kind: 'video', pts: 1.4 + s * seconds + f / FPS, duration: 1 / FPS, key: f === 0, pos: pos + f * 10 });
    const firstAudio = Math.ceil((s * seconds) / AAC - 1e-9);
    const lastAudio = Math.ceil(((s + 1) * seconds) / AAC - 1e-9);
    for (let a = firstAudio; a < lastAudio; a++) list.push({ kind: 'audio', pts: 1.4 + a * AAC, duration: AAC, key: true, pos: pos + 5 + (a - firstAudio) * 10 });
    for (const p of list.sort((x, y) => x.pos - y.pos)) {
      const edited = edit(p, s);
      if (edited) packets.push(edited);
    }
  }
  return {
    rendition: 'high',
    segments: Array.from({ length: segments }, (_, i) => ({ uri: `segment${String(i).padStart(3, '0')}.ts`, bytes: SEGMENT_BYTES })),
    packets,
    frameRate: FPS,
    sourceSeconds: segments * seconds,
  };
}

test('a seamless package passes', () => {
  assert.equal(boundaryProblems(packageOf(5, 10)), []);
});

test('a segment whose timestamps are shifted by more than a frame: a gap before it, an overlap after it', () => {
  const shifted = packageOf(5, 10, (p, s) => (s === 2 && p.kind === 'video' ? { ...p, pts: p.pts + 0.1 } : p));
  assert.equal(boundaryProblems(shifted), [
    'high/segment002.ts: video starts 0.100 s after the previous segment\'s ends (a gap)',
    'high/segment003.ts: video starts 0.100 s before the previous segment\'s ends (an overlap)',
  ]);
});

test('up to one frame off is tolerated (timestamp rounding, a frame rate that does not divide the boundary)', () => {
  const nudged = packageOf(4, 10, (p, s) => (s === 2 && p.kind === 'video' ? { ...p, pts: p.pts + 0.03 } : p));
  assert.equal(boundaryProblems(nudged), []);
});

test('pictures at a boundary encoded twice (two chunks both taking them): two frames of overlap fail', () => {
  const twoFramesEarly = packageOf(4, 10, (p, s) => (s >= 2 && p.kind === 'video' ? { ...p, pts: p.pts - 2 / FPS } : p));
  assert.match(boundaryProblems(twoFramesEarly).join(), /segment002\.ts: video starts 0\.067 s before/);
});

test('the same instant encoded twice inside a segment (chunks overlapping, the boundary smoothed over by the muxer)', () => {
  const repeated = packageOf(3, 10, (p, s) => (s === 1 && p.kind === 'video' && Math.abs(p.pts - 16.4) < 1e-6 ? { ...p, pts: p.pts - 1 / FPS } : p));
  assert.equal(boundaryProblems(repeated), ['high/segment001.ts: two pictures at 16.367 s (an overlap)']);
});

test('packets come out of the demuxer in the order their streams complete them, not in file order', () => {
  const pkg = packageOf(3, 10);
  // At 1 fps the first audio of segment k+1 comes before the last picture of segment k.
  const packets = [...pkg.packets];
  for (const s of [1, 2]) {
    const audio = packets.findIndex((p) => p.kind === 'audio' && p.pos >= s * SEGMENT_BYTES);
    const [early] = packets.splice(audio, 1);
    const lastPicture = packets.length - 1 - [...packets].reverse().findIndex((p) => p.kind === 'video' && p.pos < s * SEGMENT_BYTES);
    packets.splice(lastPicture, 0, early!);
  }
  assert.equal(boundaryProblems({ ...pkg, packets }), []);
});

test('a segment that does not start with a keyframe', () => {
  const open = packageOf(3, 10, (p, s) => (s === 1 && p.kind === 'video' && p.key ? { ...p, key: false } : p));
  assert.equal(boundaryProblems(open), ['high/segment001.ts does not start with a keyframe']);
});

test('audio cut at a boundary: missing frames are a gap', () => {
  let dropped = 0;
  const cut = packageOf(3, 10, (p, s) => (s === 2 && p.kind === 'audio' && dropped++ < 3 ? null : p));
  assert.equal(boundaryProblems(cut), ['high/segment002.ts: audio starts 0.064 s after the previous segment\'s ends (a gap)']);
});

test('a segment with no video at all', () => {
  const empty = packageOf(3, 10, (p, s) => (s === 1 && p.kind === 'video' ? null : p));
  assert.equal(boundaryProblems(empty)[0], 'high/segment001.ts has no video');
});

test('the package lasts as long as the source, within a tenth of a second and a frame', () => {
  assert.equal(boundaryProblems({ ...packageOf(3, 10), sourceSeconds: 30.1 }), []);
  assert.equal(boundaryProblems({ ...packageOf(3, 10), sourceSeconds: 31 }), ['high lasts 30.016 s, the source 31.000 s'], 'the audio\'s last frame runs 16 ms on');
  assert.ok(Math.abs(lengthTolerance(30) - (0.1 + 1 / 30)) < 1e-12);
});

test('a video-only package: only the video rules', () => {
  const silent = packageOf(3, 10, (p) => (p.kind === 'audio' ? null : p));
  assert.equal(boundaryProblems(silent), []);
});

test('ffprobe compact lines → packets; other lines and streams are skipped', () => {
  const text = [
    'codec_type=video|pts_time=1.400000|duration_time=0.033333|pos=564|flags=K_',
    'codec_type=audio|pts_time=1.379000|duration_time=0.021333|pos=1128|flags=K_',
    'codec_type=video|pts_time=N/A|duration_time=N/A|pos=2000|flags=__',
    'codec_type=data|pts_time=1.0|duration_time=0|pos=3000|flags=K_',
    'codec_type=video|pts_time=1.466667|duration_time=N/A|pos=4000|flags=__',
    'codec_type=audio|pts_time=1.400333|duration_time=0.021333|pos=N/A|flags=K_',
    '',
  ].join('\n');
  assert.equal(parsePacketLines(text), [
    { kind: 'video', pts: 1.4, duration: 0.033333, key: true, pos: 564 },
    { kind: 'audio', pts: 1.379, duration: 0.021333, key: true, pos: 1128 },
    { kind: 'video', pts: 1.466667, duration: 0, key: false, pos: 4000 },
    { kind: 'audio', pts: 1.400333, duration: 0.021333, key: true, pos: 1128 },
  ], 'an AAC frame without a position is from the PES of the one before');
});

test.run();
