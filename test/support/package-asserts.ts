/**
 * The HLS rules of docs/adr/0001, 0002 as assertions over a published package, shared by the transcoder,
 * controller and service end-to-end tests.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ffprobeJson } from './media.ts';
import { inspectPackage, rfcPeak, type InspectedPackage } from './hls-inspect.ts';

/**
 * The small ladder the chunking tests encode a 320x180 clip with (fast: seconds per encode), and
 * the renditions it gives.
 */
export const SMALL_LADDER = { VIDEO_PRESET: 'veryfast', MEDIUM_RESOLUTION: '160', LOW_RESOLUTION: '144' };
export const SMALL_RENDITIONS = [
  { name: 'high', width: 320, height: 180 },
  { name: 'medium', width: 284, height: 160 },
  { name: 'low', width: 256, height: 144 },
];

export interface PackageExpectation {
  renditions: { name: string; width: number; height: number }[];
  audio: boolean;
  frameRate: number;
  sourceSeconds: number;
  segmentSeconds?: number;
  poster: { width: number; height: number };
}

export async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

export async function assertPackage(dir: string, exp: PackageExpectation): Promise<InspectedPackage> {
  const pkg = await inspectPackage(dir);
  const seg = exp.segmentSeconds ?? 10;
  assert.ok(pkg.independentSegments, 'master has EXT-X-INDEPENDENT-SEGMENTS');
  assert.equal(
    pkg.renditions.map((r) => [r.uri, r.resolution?.width, r.resolution?.height]),
    exp.renditions.map((r) => [`${r.name}/playlist.m3u8`, r.width, r.height]),
    'renditions and their RESOLUTION',
  );
  const expectedFiles = ['manifest.json', 'master.m3u8', 'poster.jpg'];
  for (const r of pkg.renditions) {
    const name = path.dirname(r.uri);
    expectedFiles.push(r.uri, ...r.segments.map((s) => `${name}/${s.uri}`));
    assert.is(r.playlistType, 'VOD', `${r.uri} is VOD`);
    assert.ok(r.endlist, `${r.uri} has EXT-X-ENDLIST`);
    assert.ok(r.codecs?.startsWith('avc1.64'), `${r.uri} CODECS ${r.codecs} is H.264 High`);
    assert.is(r.codecs?.includes('mp4a.40.2') ?? false, exp.audio, `${r.uri} CODECS ${r.codecs} audio`);
    assert.is(r.hasAudio, exp.audio, `${r.uri} audio stream present`);
    assert.ok(Math.abs((r.frameRate ?? 0) - exp.frameRate) < 0.01, `${r.uri} FRAME-RATE ${r.frameRate}`);
    r.segments.forEach((s, i) => {
      assert.is(s.uri, `segment${String(i).padStart(3, '0')}.ts`);
      assert.ok(s.firstFrame.key && s.firstFrame.pict === 'I', `${r.uri} ${s.uri} starts with a keyframe`);
      assert.is(s.firstFrame.pixFmt, 'yuv420p', `${s.uri} is 8-bit 4:2:0`);
      assert.is(s.firstFrame.profile, 'High', `${s.uri} profile`);
      assert.is(`${s.firstFrame.width}x${s.firstFrame.height}`, `${r.resolution?.width}x${r.resolution?.height}`);
      if (i < r.segments.length - 1) assert.ok(Math.abs(s.duration - seg) < 0.05, `${s.uri} lasts ${s.duration}, expected ${seg}`);
    });
    const covered = r.segments.reduce((sum, s) => sum + s.duration, 0);
    assert.ok(Math.abs(covered - exp.sourceSeconds) < 0.2, `${r.uri} covers ${covered} s of ${exp.sourceSeconds}`);
    const peak = Math.ceil(rfcPeak(r.segments, r.targetDuration));
    const avg = Math.ceil((r.segments.reduce((s, x) => s + x.bytes * 8, 0)) / covered);
    assert.ok(Math.abs(r.bandwidth - peak) <= 1, `${r.uri} BANDWIDTH ${r.bandwidth} is the measured peak ${peak}`);
    assert.ok(Math.abs((r.averageBandwidth ?? 0) - avg) <= 1, `${r.uri} AVERAGE-BANDWIDTH ${r.averageBandwidth} is the measured average ${avg}`);
    assert.ok(r.bandwidth >= (r.averageBandwidth ?? 0));
  }
  // Renditions switch cleanly: segment k starts at the same instant everywhere.
  const [first, ...rest] = pkg.renditions;
  for (const r of rest) {
    assert.is(r.segments.length, first!.segments.length, 'same number of segments');
    r.segments.forEach((s, i) => assert.ok(Math.abs(s.firstFrame.pts - first!.segments[i]!.firstFrame.pts) < 0.001, `segment ${i} aligned`));
  }
  assert.equal(pkg.files, expectedFiles.sort(), 'nothing but the package in the folder');
  const poster = await ffprobeJson(['-show_entries', 'stream=width,height,codec_name', path.join(dir, 'poster.jpg')]);
  assert.is(poster.streams[0].codec_name, 'mjpeg');
  assert.is(`${poster.streams[0].width}x${poster.streams[0].height}`, `${exp.poster.width}x${exp.poster.height}`, 'poster size');
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  assert.is(manifest.renditions.length, exp.renditions.length);
  return pkg;
}

/**
 * Every segment carries the audio of its own time span: its first audio packet is within a second
 * of its first video frame, and the last segment's audio runs to within a second of the end. A
 * segment without audio, or with audio from seconds later, makes players stall after a seek.
 */
export function assertAudioWithItsVideo(pkg: InspectedPackage): void {
  for (const r of pkg.renditions) {
    r.segments.forEach((s, i) => {
      assert.ok(s.audio, `${r.uri} ${s.uri} carries audio`);
      assert.ok(Math.abs(s.audio!.first - s.firstFrame.pts) < 1, `${r.uri} ${s.uri}: audio starts at ${s.audio!.first} s, video at ${s.firstFrame.pts} s`);
      if (i === r.segments.length - 1) {
        const end = s.firstFrame.pts + s.duration;
        assert.ok(s.audio!.last > end - 1, `${r.uri} ${s.uri}: audio ends at ${s.audio!.last} s, video at ${end} s`);
      }
    });
  }
}

/**
 * A player's view: FFmpeg reads master.m3u8 (every variant) from start to end without a single
 * complaint, and the decoded video and audio of every variant each last `seconds`.
 */
export async function assertPlaysThrough(dir: string, seconds: number): Promise<void> {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=index,codec_type:frame=stream_index,pts_time,duration_time', '-of', 'json', path.join(dir, 'master.m3u8')],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, out, errText) => (err ? reject(err) : resolve({ stdout: out, stderr: errText })),
    );
  });
  assert.is(stderr.trim(), '', 'no decoding errors');
  const json = JSON.parse(stdout) as { streams: { index: number; codec_type: string }[]; frames: { stream_index: number; pts_time: string; duration_time?: string }[] };
  for (const st of json.streams) {
    const frames = json.frames.filter((f) => f.stream_index === st.index);
    const start = Math.min(...frames.map((f) => Number(f.pts_time)));
    const end = Math.max(...frames.map((f) => Number(f.pts_time) + Number(f.duration_time ?? 0)));
    assert.ok(Math.abs(end - start - seconds) < 0.2, `stream ${st.index} (${st.codec_type}) lasts ${(end - start).toFixed(3)} s, expected ${seconds}`);
  }
}

/** Keyframe times (relative to the first frame) of one rendition, from every packet of every segment. */
export async function keyframeTimes(dir: string, rendition: string, segments: string[]): Promise<number[]> {
  const times: number[] = [];
  for (const s of segments) {
    const json = await ffprobeJson(['-f', 'mpegts', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', path.join(dir, rendition, s)]);
    for (const p of json.packets) if (String(p.flags).startsWith('K')) times.push(Number(p.pts_time));
  }
  const t0 = times[0] ?? 0;
  return times.map((t) => Math.round((t - t0) * 1000) / 1000);
}
