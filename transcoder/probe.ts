/**
 * What the upload is: ffprobe run with the hardened input flags, and a pure interpretation of its
 * JSON into `SourceInfo` (display size after rotation and pixel aspect, frame rate, codecs, audio),
 * refusing what cannot be encoded.
 */
import { vcsError } from '../src/errors.ts';

/**
 * Demuxers an upload may use. Playlists and scripts (hls, concat, dash), images and bare audio
 * demuxers are not on it, so a playlist dressed up as a video is refused before it can make
 * FFmpeg open another file (docs/adr/0003). `mov` covers mp4/m4v/3gp, `matroska` covers webm.
 */
export const ALLOWED_DEMUXERS = 'mov,matroska,avi,mpegts,mpeg,flv,asf,ogg,mxf';

/** Input options put before `-i` on every ffprobe and ffmpeg run over an upload. */
export function hardenedInput(file: string): string[] {
  // `file:` prefix: a path is never read as another protocol (e.g. a file named "concat:a|b").
  return ['-protocol_whitelist', 'file', '-format_whitelist', ALLOWED_DEMUXERS, '-i', `file:${file}`];
}

export function probeArgs(file: string): string[] {
  return [
    '-v', 'error',
    '-show_entries',
    'format=duration,start_time,format_name:stream=index,codec_type,codec_name,profile,width,height,avg_frame_rate,r_frame_rate,pix_fmt,color_transfer,color_primaries,sample_aspect_ratio,field_order,channels,start_time,duration:stream_disposition=attached_pic:stream_side_data=rotation:stream_tags=rotate,DURATION',
    '-of', 'json',
    ...hardenedInput(file),
  ];
}

/**
 * How the stream says its picture is scanned: progressive, or interlaced with the field order as
 * FFmpeg names it (tt, bb: top or bottom field first; tb, bt: coded in one order, shown in the
 * other). unknown when the stream does not say.
 */
export type FieldOrder = 'progressive' | 'tt' | 'bb' | 'tb' | 'bt' | 'unknown';

const FIELD_ORDERS: readonly FieldOrder[] = ['progressive', 'tt', 'bb', 'tb', 'bt'];

export interface SourceInfo {
  durationSeconds: number;
  /** Display size: after rotation and pixel aspect ratio. */
  width: number;
  height: number;
  rotation: number;
  frameRate: number;
  videoCodec: string;
  pixelFormat: string;
  /** PQ or HLG transfer: needs tone mapping to SDR. */
  hdr: boolean;
  fieldOrder: FieldOrder;
  audio: { codec: string; channels: number } | null;
  container: string;
  /** Where the video and the audio stop, in seconds from the start of the file; null when the container does not say. */
  streamEnds: { video: number | null; audio: number | null };
}

/** Sizes beyond these are refused rather than tried (8K is the largest real upload). */
export const LIMITS = { maxSide: 8192, maxPixels: 8192 * 4320, maxDurationSeconds: 24 * 3600, minDurationSeconds: 0.1 };

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  color_transfer?: string;
  sample_aspect_ratio?: string;
  field_order?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  start_time?: string;
  duration?: string;
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string; DURATION?: string };
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { duration?: string; start_time?: string; format_name?: string };
}

export function parseRatio(value: string | undefined): number {
  if (!value) return 0;
  const [n, d] = value.split(/[/:]/).map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  if (d === undefined) return n;
  return d > 0 && Number.isFinite(d) ? n / d : 0;
}

/** "01:02:03.5" → 3723.5; NaN when it is not a clock time. */
const clockSeconds = (value: string | undefined): number => {
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value?.trim() ?? '');
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
};

/**
 * Where a stream stops on the file's clock: its start plus its duration (MP4, MPEG-TS), or the
 * DURATION tag Matroska muxers write per track (already the end on the file's clock, which starts
 * at 0). Null when neither is there, e.g. Matroska from muxers that write no such tag.
 */
function streamEnd(s: ProbeStream | undefined, fileStart: number): number | null {
  if (!s) return null;
  const start = Number(s.start_time ?? NaN);
  const duration = Number(s.duration ?? NaN);
  if (Number.isFinite(start) && Number.isFinite(duration)) return start + duration - fileStart;
  const tagged = clockSeconds(s.tags?.DURATION);
  return Number.isFinite(tagged) ? tagged - fileStart : null;
}

const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

/** Pure: ffprobe's JSON → SourceInfo, or a permanent error saying why it cannot be a video. */
export function interpretProbe(json: ProbeJson): SourceInfo {
  const streams = json.streams ?? [];
  // Cover art in audio files shows up as a one-frame "video" stream flagged attached_pic.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video) {
    throw vcsError('VCS_ERR_NOT_A_VIDEO', audio ? 'source is audio-only: it has no video stream' : 'source has no video stream');
  }
  const coded = { w: video.width ?? 0, h: video.height ?? 0 };
  if (coded.w <= 0 || coded.h <= 0) throw vcsError('VCS_ERR_SOURCE_UNREADABLE', 'source video stream has no picture size');
  const rotationRaw = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(video.tags?.rotate ?? 0);
  const rotation = ((Math.round(rotationRaw) % 360) + 360) % 360;
  const sar = parseRatio(video.sample_aspect_ratio) || 1;
  // Non-square pixels: the displayed width is the coded width times the pixel aspect ratio.
  const displayW = Math.round(coded.w * (sar > 0 ? sar : 1));
  const quarterTurn = rotation === 90 || rotation === 270;
  const width = quarterTurn ? coded.h : displayW;
  const height = quarterTurn ? displayW : coded.h;
  const durationSeconds = Number(json.format?.duration ?? NaN);
  if (!Number.isFinite(durationSeconds) || durationSeconds < LIMITS.minDurationSeconds) {
    throw vcsError('VCS_ERR_SOURCE_UNREADABLE', 'source has no usable duration (empty, corrupt or a still image)');
  }
  if (durationSeconds > LIMITS.maxDurationSeconds) {
    throw vcsError('VCS_ERR_SOURCE_LIMITS', `source is ${Math.round(durationSeconds)} s long, over the ${LIMITS.maxDurationSeconds} s limit`);
  }
  if (Math.max(width, height) > LIMITS.maxSide || width * height > LIMITS.maxPixels) {
    throw vcsError('VCS_ERR_SOURCE_LIMITS', `source picture ${width}x${height} is larger than ${LIMITS.maxSide} pixels or 8K`);
  }
  if (Math.min(width, height) < 16) throw vcsError('VCS_ERR_SOURCE_LIMITS', `source picture ${width}x${height} is too small to encode`);
  const fileStart = Number(json.format?.start_time ?? 0) || 0;
  // avg_frame_rate is the real rate of variable-rate phone video; r_frame_rate is the fallback.
  const frameRate = parseRatio(video.avg_frame_rate) || parseRatio(video.r_frame_rate) || 30;
  return {
    durationSeconds,
    width,
    height,
    rotation,
    frameRate,
    videoCodec: video.codec_name ?? 'unknown',
    pixelFormat: video.pix_fmt ?? 'unknown',
    hdr: HDR_TRANSFERS.has(video.color_transfer ?? ''),
    fieldOrder: FIELD_ORDERS.find((f) => f === video.field_order) ?? 'unknown',
    audio: audio ? { codec: audio.codec_name ?? 'unknown', channels: audio.channels ?? 0 } : null,
    container: json.format?.format_name ?? 'unknown',
    streamEnds: { video: streamEnd(video, fileStart), audio: streamEnd(audio, fileStart) },
  };
}

/** Pure: ffprobe's failure output → a clear, permanent error. */
export function probeFailure(stderr: string): Error {
  if (/not on whitelist/i.test(stderr)) {
    return vcsError('VCS_ERR_NOT_A_VIDEO', 'source is not a supported video container (playlists, scripts, images and bare audio are refused)');
  }
  if (/moov atom not found|Invalid data found|could not find codec parameters|End of file/i.test(stderr)) {
    return vcsError('VCS_ERR_SOURCE_UNREADABLE', 'source is not a readable video file (corrupt, truncated or not a video)');
  }
  const firstLine = stderr.split('\n').find((l) => l.trim() !== '') ?? 'no output';
  return vcsError('VCS_ERR_SOURCE_UNREADABLE', `source could not be read: ${firstLine.replace(/file:\S+/g, 'source').slice(0, 200)}`);
}
