/**
 * Reads a published HLS package the way a player and a validator would, for end-to-end asserts:
 * master and media playlists parsed, segment sizes and durations, first frames of every segment,
 * and the RFC 8216 bit rates recomputed independently of the code under test.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as HLS from 'hls-parser';
import { ffprobeJson } from './media.ts';

export interface InspectedSegment {
  uri: string;
  duration: number;
  bytes: number;
  firstFrame: { key: boolean; pict: string; pts: number; width: number; height: number; pixFmt: string; profile: string };
  /** Time span of the segment's audio packets, or null when it carries none. */
  audio: { first: number; last: number } | null;
}

export interface InspectedRendition {
  uri: string;
  bandwidth: number;
  averageBandwidth: number | undefined;
  resolution: { width: number; height: number } | undefined;
  frameRate: number | undefined;
  codecs: string | undefined;
  targetDuration: number;
  playlistType: string | undefined;
  endlist: boolean;
  segments: InspectedSegment[];
  hasAudio: boolean;
}

export interface InspectedPackage {
  masterText: string;
  independentSegments: boolean;
  renditions: InspectedRendition[];
  files: string[];
}

/** Independent RFC 8216 peak: max over contiguous runs lasting 0.5–1.5 × target duration. */
export function rfcPeak(segs: { duration: number; bytes: number }[], target: number): number {
  let peak = 0;
  for (let i = 0; i < segs.length; i++) {
    for (let j = i; j < segs.length; j++) {
      const run = segs.slice(i, j + 1);
      const d = run.reduce((s, x) => s + x.duration, 0);
      const b = run.reduce((s, x) => s + x.bytes * 8, 0);
      if (d >= 0.5 * target && d <= 1.5 * target) peak = Math.max(peak, b / d);
    }
  }
  if (peak === 0) for (const s of segs) peak = Math.max(peak, (s.bytes * 8) / s.duration);
  return peak;
}

export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/**
 * One segment read as what it is (MPEG-TS named, nothing guessed: a two-frame segment of a still
 * image is too small for the format to be recognised). Size and pixel format come from the decoded
 * first frame; ffprobe may read a whole segment of a 1 fps video before it has seen a video packet,
 * so it is given the segment's length to look for the stream's profile.
 */
async function inspectSegment(file: string, uri: string, duration: number): Promise<InspectedSegment> {
  const bytes = (await stat(file)).size;
  const probe = await ffprobeJson(['-analyzeduration', '60M', '-f', 'mpegts', '-read_intervals', '%+#1', '-show_entries', 'frame=key_frame,pict_type,pts_time,width,height,pix_fmt:stream=profile', '-select_streams', 'v:0', file]);
  const all = await ffprobeJson(['-f', 'mpegts', '-show_entries', 'stream=index,codec_type:packet=stream_index,pts_time', file]);
  const audioIndex = all.streams.find((x: { codec_type: string }) => x.codec_type === 'audio')?.index;
  const audioTimes: number[] = all.packets.filter((p: { stream_index: number }) => p.stream_index === audioIndex).map((p: { pts_time: string }) => Number(p.pts_time));
  const f = probe.frames[0];
  return {
    uri,
    duration,
    bytes,
    firstFrame: { key: f.key_frame === 1, pict: f.pict_type, pts: Number(f.pts_time), width: f.width, height: f.height, pixFmt: f.pix_fmt, profile: probe.streams[0].profile },
    audio: audioTimes.length ? { first: Math.min(...audioTimes), last: Math.max(...audioTimes) } : null,
  };
}

export async function inspectPackage(dir: string): Promise<InspectedPackage> {
  const masterText = await readFile(path.join(dir, 'master.m3u8'), 'utf8');
  const master = HLS.parse(masterText) as InstanceType<typeof HLS.types.MasterPlaylist>;
  if (!master.isMasterPlaylist) throw new Error('master.m3u8 is not a master playlist');
  const renditions: InspectedRendition[] = [];
  for (const v of master.variants) {
    const folder = path.join(dir, path.dirname(v.uri));
    const media = HLS.parse(await readFile(path.join(dir, v.uri), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
    const segments: InspectedSegment[] = [];
    for (const s of media.segments) {
      segments.push(await inspectSegment(path.join(folder, s.uri), s.uri, s.duration));
    }
    const hasAudio = segments.length > 0 && segments[0]!.audio !== null;
    renditions.push({
      uri: v.uri,
      bandwidth: v.bandwidth,
      averageBandwidth: v.averageBandwidth,
      resolution: v.resolution,
      frameRate: v.frameRate,
      codecs: v.codecs,
      targetDuration: media.targetDuration,
      playlistType: media.playlistType,
      endlist: media.endlist,
      segments,
      hasAudio,
    });
  }
  return { masterText, independentSegments: master.independentSegments, renditions, files: await listFiles(dir) };
}
