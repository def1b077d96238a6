/**
 * transcoder/self-check.ts `measureRendition` on staging folders built by hand: a media playlist,
 * a real first segment (the codec reader opens it) and further segments of chosen sizes, so the
 * bit rates are known exactly; and the ways a rendition fails the check.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VcsError } from '../../src/errors.ts';
import type { EncodePlan, PlannedRendition } from '../../transcoder/ladder.ts';
import { measureRendition, segmentProbeArgs } from '../../transcoder/self-check.ts';
import { makeTsSegment } from '../support/media.ts';

const HIGH: PlannedRendition = { name: 'high', width: 320, height: 240, crf: 23, maxBitrate: 5_000_000, bufferBits: 10_000_000 };
const PLAN: EncodePlan = { renditions: [HIGH], frameRateCap: null, frameRate: 25, hasAudio: true, toneMap: false, deinterlace: null, zeroLatency: false, padVideoSeconds: 0, padAudioSeconds: 0 };

let tmp = '';
/** A real MPEG-TS with H.264 High 4.0 and AAC-LC, and one without audio. */
let withAudio: Buffer;
let videoOnly: Buffer;
test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-self-check-'));
  withAudio = await readFile(await makeTsSegment(path.join(tmp, 'av.ts'), { profile: 'high', level: '4.0' }));
  videoOnly = await readFile(await makeTsSegment(path.join(tmp, 'v.ts'), { profile: 'high', level: '4.0', audio: false }));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface StagedSegment {
  duration: number;
  /** File content, or a size in bytes to fill; null leaves the file out. */
  content: Buffer | number | null;
  uri?: string;
}

function mediaPlaylist(targetDuration: number, segments: StagedSegment[], o: { vod?: boolean; endlist?: boolean } = {}): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${targetDuration}`, '#EXT-X-MEDIA-SEQUENCE:0'];
  if (o.vod ?? true) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  segments.forEach((s, i) => lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri ?? `segment${String(i).padStart(3, '0')}.ts`));
  if (o.endlist ?? true) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

let folders = 0;
/** A staging folder holding high/playlist.m3u8 and the segment files; returns the folder. */
async function stage(targetDuration: number, segments: StagedSegment[], o: { vod?: boolean; endlist?: boolean; playlist?: string } = {}): Promise<string> {
  const dir = path.join(tmp, `staging-${++folders}`);
  await mkdir(path.join(dir, 'high'), { recursive: true });
  await writeFile(path.join(dir, 'high/playlist.m3u8'), o.playlist ?? mediaPlaylist(targetDuration, segments, o));
  for (const [i, s] of segments.entries()) {
    if (s.content === null) continue;
    const file = path.join(dir, 'high', s.uri ?? `segment${String(i).padStart(3, '0')}.ts`);
    await writeFile(file, typeof s.content === 'number' ? Buffer.alloc(s.content, 0xff) : s.content);
  }
  return dir;
}

test('bit rates: BANDWIDTH is the RFC 8216 peak over runs lasting 0.5–1.5 x target, AVERAGE-BANDWIDTH the average', async () => {
  const head = withAudio.length;
  // Target 6 s: runs of 3–9 s qualify. Segments 2 (2 s) and 4 (1.5 s) are too short alone, and
  // segments 2–4 together (9.5 s) too long; each of those has a higher rate than the peak.
  const segments: StagedSegment[] = [
    { duration: 6, content: withAudio },
    { duration: 6, content: 300_000 },
    { duration: 2, content: 450_000 },
    { duration: 6, content: 100_000 },
    { duration: 1.5, content: 400_000 },
  ];
  const dir = await stage(6, segments);
  const { result, playlist } = await measureRendition(dir, HIGH, PLAN);
  const rate = (bytes: number, seconds: number) => (bytes * 8) / seconds;
  const qualifying = {
    'segment 0': rate(head, 6),
    'segment 1': rate(300_000, 6),
    'segments 1-2': rate(300_000 + 450_000, 8),
    'segments 2-3': rate(450_000 + 100_000, 8),
    'segment 3': rate(100_000, 6),
    'segments 3-4': rate(100_000 + 400_000, 7.5),
  };
  const peak = Math.ceil(Math.max(...Object.values(qualifying)));
  assert.is(peak, 750_000, 'segments 1-2 are the peak');
  for (const [run, r] of Object.entries({ 'segment 2': rate(450_000, 2), 'segment 4': rate(400_000, 1.5), 'segments 2-4': rate(950_000, 9.5) })) {
    assert.ok(r > peak, `${run} does not qualify, and is above the peak`);
  }
  const totalBytes = head + 300_000 + 450_000 + 100_000 + 400_000;
  const average = Math.ceil((totalBytes * 8) / 21.5);
  assert.equal(result, {
    name: 'high',
    width: 320,
    height: 240,
    frameRate: 25,
    bandwidth: peak,
    averageBandwidth: average,
    codecs: 'avc1.640028,mp4a.40.2',
    segments: 5,
    bytes: totalBytes,
  });
  assert.ok(result.bandwidth > result.averageBandwidth);
  assert.is(playlist.segments.length, 5);
});

test('a clip shorter than half the target: BANDWIDTH is the largest single segment rate', async () => {
  const dir = await stage(10, [
    { duration: 2, content: withAudio },
    { duration: 1, content: 200_000 },
  ]);
  const { result } = await measureRendition(dir, HIGH, PLAN);
  assert.is(result.bandwidth, 1_600_000);
  assert.is(result.averageBandwidth, Math.ceil(((withAudio.length + 200_000) * 8) / 3));
});

const failures: [string, () => Promise<string>, string][] = [
  ['a missing segment', () => stage(6, [{ duration: 6, content: withAudio }, { duration: 6, content: 1000 }, { duration: 2, content: null }]), 'high/segment002.ts is missing'],
  ['an empty segment', () => stage(6, [{ duration: 6, content: withAudio }, { duration: 6, content: 0 }]), 'high/segment001.ts is empty'],
  ['a misnamed segment', () => stage(6, [{ duration: 6, content: withAudio }, { duration: 6, content: 1000, uri: 'segment2.ts' }]), 'high segment 1 is named segment2.ts, expected segment001.ts'],
  ['segments out of order', () => stage(6, [{ duration: 6, content: withAudio, uri: 'segment001.ts' }, { duration: 6, content: 1000, uri: 'segment000.ts' }]), 'high segment 0 is named segment001.ts, expected segment000.ts'],
  ['a segment longer than the target', () => stage(6, [{ duration: 6, content: withAudio }, { duration: 6.6, content: 1000 }]), 'high/segment001.ts lasts 6.6 s, over the target duration'],
  ['no PLAYLIST-TYPE:VOD', () => stage(6, [{ duration: 6, content: withAudio }], { vod: false }), 'high/playlist.m3u8 is not a complete VOD playlist'],
  ['no ENDLIST', () => stage(6, [{ duration: 6, content: withAudio }], { endlist: false }), 'high/playlist.m3u8 is not a complete VOD playlist'],
  ['no segments', () => stage(6, []), 'high has no segments'],
  ['a master playlist in place of the media playlist', () => stage(6, [], { playlist: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhigh/playlist.m3u8\n' }), 'high/playlist.m3u8 does not parse: expected a media playlist, found a master playlist'],
  ['a first segment that is not MPEG-TS', () => stage(6, [{ duration: 6, content: 50_000 }]), 'high has no H.264 stream'],
  ['no audio although the source has some', () => stage(6, [{ duration: 6, content: videoOnly }]), 'high has no AAC stream although the source has audio'],
];

for (const [name, build, message] of failures) {
  test(`fails: ${name}`, async () => {
    const err = (await measureRendition(await build(), HIGH, PLAN).catch((e: unknown) => e)) as VcsError;
    assert.instance(err, Error);
    assert.is(err.code, 'VCS_ERR_SELF_CHECK_FAILED');
    assert.is(err.message, `self-check: ${message}`);
  });
}

test('fails: an audio stream although the source has none', async () => {
  const dir = await stage(6, [{ duration: 6, content: withAudio }]);
  const err = (await measureRendition(dir, HIGH, { ...PLAN, hasAudio: false }).catch((e: unknown) => e)) as VcsError;
  assert.is(err.message, 'self-check: high has an audio stream although the source has none');
  const silent = await stage(6, [{ duration: 6, content: videoOnly }]);
  assert.is((await measureRendition(silent, HIGH, { ...PLAN, hasAudio: false })).result.codecs, 'avc1.640028');
});

test('fails: no playlist at all', async () => {
  const dir = path.join(tmp, 'empty');
  await mkdir(dir);
  const err = (await measureRendition(dir, HIGH, PLAN).catch((e: unknown) => e)) as VcsError;
  assert.is(err.code, 'VCS_ERR_SELF_CHECK_FAILED');
  assert.match(err.message, /^self-check: high\/playlist\.m3u8 does not parse: ENOENT/);
});


const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('our own segments are read as MPEG-TS by name, never guessed, from the file protocol only', () => {
  const args = segmentProbeArgs('/w/staging/high/segment002.ts');
  const input = args.indexOf('file:/w/staging/high/segment002.ts');
  assert.is(input, args.length - 1, 'the path, behind file:, is the last argument');
  assert.is(valueOf(args, '-f'), 'mpegts');
  assert.ok(args.indexOf('-f') < input);
  assert.is(valueOf(args, '-protocol_whitelist'), 'file');
  assert.is(valueOf(args, '-format_whitelist'), 'mpegts');
});

test('size and pixel format come from the first decoded frame, not the stream header', () => {
  const args = segmentProbeArgs('/s.ts');
  assert.is(valueOf(args, '-read_intervals'), '%+#1');
  assert.is(valueOf(args, '-show_entries'), 'frame=key_frame,pict_type,pts_time,width,height,pix_fmt');
});

test.run();
