/**
 * HLS playlists: reading the media playlists ffmpeg wrote, measuring bit rates from the segment
 * files, and writing the master playlist ourselves (docs/adr/0002). ffmpeg 5.1's own master states
 * nominal rates ((maxrate + audio) × 1.1): medium and low overstated ~2x, short clips understated
 * (docs/adr/0002), so players would pick the wrong variant.
 */
import * as HLS from 'hls-parser';

export interface MediaSegment {
  uri: string;
  duration: number;
}

export interface MediaPlaylistInfo {
  targetDuration: number;
  playlistType: string | undefined;
  endlist: boolean;
  segments: MediaSegment[];
}

/** Parses a media playlist; throws with a reason when it is not a complete VOD media playlist. */
export function parseMediaPlaylist(text: string): MediaPlaylistInfo {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('expected a media playlist, found a master playlist');
  const media = parsed as InstanceType<typeof HLS.types.MediaPlaylist>;
  return {
    targetDuration: media.targetDuration,
    playlistType: media.playlistType,
    endlist: media.endlist,
    segments: media.segments.map((s) => ({ uri: s.uri, duration: s.duration })),
  };
}

export interface SizedSegment {
  duration: number;
  bytes: number;
}

/**
 * RFC 8216 §4.3.4.2: BANDWIDTH is the peak segment bit rate — the largest bit rate of any
 * contiguous set of segments whose total duration is between 0.5 and 1.5 times the target
 * duration. When no set qualifies (a clip much shorter than the target), the largest single
 * segment rate is used.
 */
export function peakBitrate(segments: SizedSegment[], targetDuration: number): number {
  let peak = 0;
  let anyQualified = false;
  for (let i = 0; i < segments.length; i++) {
    let bits = 0;
    let seconds = 0;
    for (let j = i; j < segments.length; j++) {
      bits += segments[j]!.bytes * 8;
      seconds += segments[j]!.duration;
      if (seconds > 1.5 * targetDuration) break;
      if (seconds >= 0.5 * targetDuration && seconds > 0) {
        anyQualified = true;
        peak = Math.max(peak, bits / seconds);
      }
    }
  }
  if (!anyQualified) {
    for (const s of segments) if (s.duration > 0) peak = Math.max(peak, (s.bytes * 8) / s.duration);
  }
  return Math.ceil(peak);
}

/** AVERAGE-BANDWIDTH: total bits over total duration. */
export function averageBitrate(segments: SizedSegment[]): number {
  const seconds = segments.reduce((sum, s) => sum + s.duration, 0);
  const bits = segments.reduce((sum, s) => sum + s.bytes * 8, 0);
  return seconds > 0 ? Math.ceil(bits / seconds) : 0;
}

export interface VariantEntry {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  frameRate: number;
  codecs: string;
}

/**
 * The master playlist. Variants are listed tallest first (the order of the ladder); players pick by
 * BANDWIDTH, and the first entry is Safari's starting variant.
 */
export function renderMasterPlaylist(variants: VariantEntry[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${v.bandwidth},AVERAGE-BANDWIDTH=${v.averageBandwidth},` +
        `RESOLUTION=${v.width}x${v.height},FRAME-RATE=${v.frameRate.toFixed(3)},CODECS="${v.codecs}"`,
      v.uri,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A package's master playlist: each measured rendition in its own folder, `{name}/playlist.m3u8`. */
export function renderPackageMaster(renditions: readonly (Omit<VariantEntry, 'uri'> & { name: string })[]): string {
  return renderMasterPlaylist(renditions.map((r) => ({ uri: `${r.name}/playlist.m3u8`, ...r })));
}

/** Parses a master playlist and returns its variant URIs (used by the self-check). */
export function parseMasterPlaylist(text: string): { uri: string; bandwidth: number; codecs: string | undefined }[] {
  const parsed = HLS.parse(text);
  if (!parsed.isMasterPlaylist) throw new Error('expected a master playlist, found a media playlist');
  const master = parsed as InstanceType<typeof HLS.types.MasterPlaylist>;
  return master.variants.map((v) => ({ uri: v.uri, bandwidth: v.bandwidth, codecs: v.codecs }));
}
