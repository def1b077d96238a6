/**
 * Reads a published HLS package the way a player and a validator would, for end-to-end asserts:
 * master and media playlists parsed, segment sizes and durations, first frames of every segment,
 * and the RFC 8216 bit rates recomputed independently of the code under test.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as HLS from 'hls-parser';
import { ffprobeJson } from './media.ts';

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
  segments: { uri: string; duration: number; bytes: number; firstFrame: { key: boolean; pict: string; pts: number; width: number; height: number; pixFmt: string; profile: string } }[];
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

export async function inspectPackage(dir: string): Promise<InspectedPackage> {
  const masterText = await readFile(path.join(dir, 'master.m3u8'), 'utf8');
  const master = HLS.parse(masterText) as InstanceType<typeof HLS.types.MasterPlaylist>;
  if (!master.isMasterPlaylist) throw new Error('master.m3u8 is not a master playlist');
  const renditions: InspectedRendition[] = [];
  for (const v of master.variants) {
    const folder = path.join(dir, path.dirname(v.uri));
    const media = HLS.parse(await readFile(path.join(dir, v.uri), 'utf8')) as InstanceType<typeof HLS.types.MediaPlaylist>;
    const segments = [];
    let hasAudio = false;
    for (const [i, s] of media.segments.entries()) {
      const file = path.join(folder, s.uri);
      const bytes = (await stat(file)).size;
      const probe = await ffprobeJson(['-read_intervals', '%+#1', '-show_entries', 'frame=key_frame,pict_type,pts_time:stream=codec_type,width,height,pix_fmt,profile', '-select_streams', 'v:0', file]);
      if (i === 0) {
        const all = await ffprobeJson(['-show_entries', 'stream=codec_type', file]);
        hasAudio = all.streams.some((x: { codec_type: string }) => x.codec_type === 'audio');
      }
      const f = probe.frames[0];
      const st = probe.streams[0];
      segments.push({
        uri: s.uri,
        duration: s.duration,
        bytes,
        firstFrame: { key: f.key_frame === 1, pict: f.pict_type, pts: Number(f.pts_time), width: st.width, height: st.height, pixFmt: st.pix_fmt, profile: st.profile },
      });
    }
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
