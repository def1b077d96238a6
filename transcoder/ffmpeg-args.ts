/**
 * FFmpeg command lines as pure functions (conventions 2): the one-decode ladder and the poster.
 * Shapes and the measurements behind them: docs/adr/0001 (the ladder, the poster) and 0003 (hardened input).
 */
import type { DeinterlaceOutput, Ladder } from '../src/contract.ts';
import type { FirstField } from './interlace.ts';
import type { Deinterlace, EncodePlan, PlannedRendition } from './ladder.ts';
import { hardenedInput } from './probe.ts';

/**
 * PQ/HLG → BT.709 SDR: linearise, tone-map (hable keeps highlights), back to BT.709 limited range.
 * https://ffmpeg.org/ffmpeg-filters.html#tonemap-1
 */
const TONE_MAP = 'zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv';

const BWDIF_MODE: Record<DeinterlaceOutput, string> = { frame: 'send_frame', field: 'send_field' };
const BWDIF_PARITY: Record<FirstField, string> = { auto: 'auto', top: 'tff', bottom: 'bff' };

/**
 * bwdif (motion-adaptive, Bob Weaver): a picture per frame or per field. deint=all: every frame,
 * also those the decoder marks progressive (woven fields found only by the idet sample); their field
 * order then comes from the sample, since an unmarked frame says nothing about it.
 * https://ffmpeg.org/ffmpeg-filters.html#bwdif
 */
export const deinterlaceFilter = (d: Deinterlace): string => `bwdif=mode=${BWDIF_MODE[d.output]}:parity=${BWDIF_PARITY[d.firstField]}:deint=all`;

/**
 * Filters applied once, before the split: deinterlacing, HDR conversion, the frame rate cap, the
 * held last picture. Deinterlacing comes first, on the fields as decoded: a scaler before it would
 * blend the two fields of a frame into ghosting that nothing can separate again.
 */
function commonFilters(plan: Pick<EncodePlan, 'deinterlace' | 'toneMap' | 'frameRateCap' | 'padVideoSeconds'>): string[] {
  const filters: string[] = [];
  if (plan.deinterlace) filters.push(deinterlaceFilter(plan.deinterlace));
  if (plan.toneMap) filters.push(TONE_MAP);
  if (plan.frameRateCap !== null) filters.push(`fps=${plan.frameRateCap}`);
  // After the rate cap, so the copies of the last picture come at the output rate.
  if (plan.padVideoSeconds > 0) filters.push(`tpad=stop_mode=clone:stop_duration=${plan.padVideoSeconds}`);
  return filters;
}

/**
 * The filter graph: decode once, split, one scaler per rendition, 8-bit 4:2:0 out. `endSeconds`
 * (a chunk that is not the last, docs/adr/0022) keeps only the pictures before that time, first,
 * on the source's own timestamps: trim's end is exclusive, so a picture belongs to one chunk only.
 */
export function ladderFilterGraph(plan: EncodePlan, endSeconds?: number): string {
  const n = plan.renditions.length;
  const cut = endSeconds === undefined ? [] : [`trim=end=${endSeconds}`];
  const head = [...cut, ...commonFilters(plan), `split=${n}${plan.renditions.map((_, i) => `[s${i}]`).join('')}`].join(',');
  const branches = plan.renditions.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p[v${i}]`);
  return [`[0:v:0]${head}`, ...branches].join(';');
}

const kbit = (bps: number): string => `${Math.round(bps / 1000)}k`;

export interface LadderCommand {
  input: string;
  /** Staging folder; ffmpeg creates one sub-folder per rendition name. */
  outDir: string;
  plan: EncodePlan;
  ladder: Ladder;
}

export function buildLadderArgs({ input, outDir, plan, ladder }: LadderCommand): string[] {
  const args = [...RUN_FLAGS, '-progress', 'pipe:1', '-y'];
  args.push(...hardenedInput(input));
  args.push('-filter_complex', ladderFilterGraph(plan));
  plan.renditions.forEach((_, i) => {
    args.push('-map', `[v${i}]`);
    if (plan.hasAudio) args.push('-map', '0:a:0');
  });
  args.push(...x264Args(plan, ladder));
  plan.renditions.forEach((r, i) => args.push(...rateControlArgs(r, `v:${i}`)));
  args.push(...keyframeArgs(ladder));
  if (plan.hasAudio) args.push(...aacArgs(plan, ladder));
  args.push(...NO_METADATA, ...hlsOutputArgs(outDir, plan, ladder));
  return args;
}

/** Every FFmpeg run of an encode: no stdin, errors only, progress (if any) on stdout. */
export const RUN_FLAGS = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-nostats'];

/** Uploads carry GPS positions and device names; players need none of it. */
export const NO_METADATA = ['-map_metadata', '-1', '-map_chapters', '-1', '-max_muxing_queue_size', '1024'];

/** The encoder, shared by every video output. */
export function x264Args(plan: Pick<EncodePlan, 'zeroLatency'>, ladder: Pick<Ladder, 'preset'>): string[] {
  const args = ['-c:v', 'libx264', '-preset', ladder.preset, '-profile:v', 'high', '-pix_fmt', 'yuv420p'];
  if (plan.zeroLatency) args.push('-tune', 'zerolatency');
  return args;
}

/**
 * CRF decides quality, -maxrate/-bufsize cap the peaks: both of the plan's settings hold.
 * https://trac.ffmpeg.org/wiki/Encode/H.264#AdditionalInformationTips
 */
export function rateControlArgs(r: PlannedRendition, stream: string): string[] {
  return [`-crf:${stream}`, String(r.crf), `-maxrate:${stream}`, kbit(r.maxBitrate), `-bufsize:${stream}`, kbit(r.bufferBits)];
}

/**
 * Keyframes by time, not by frame count, so they fall at the same instants in every rendition
 * and every segment boundary (a multiple of the keyframe interval) starts on one.
 */
export const keyframeArgs = (ladder: Pick<Ladder, 'keyframeSeconds'>): string[] => ['-force_key_frames', `expr:gte(t,n_forced*${ladder.keyframeSeconds})`];

/** AAC stereo; silence at the end until the audio is as long as the video. */
export function aacArgs(plan: Pick<EncodePlan, 'padAudioSeconds'>, ladder: Pick<Ladder, 'audioBitrate'>): string[] {
  const args = ['-c:a', 'aac', '-b:a', kbit(ladder.audioBitrate), '-ac', '2'];
  // Applies to each audio output stream.
  if (plan.padAudioSeconds > 0) args.push('-af', `apad=pad_dur=${plan.padAudioSeconds}`);
  return args;
}

/** The HLS muxer: one folder per rendition, `segmentNNN.ts` and `playlist.m3u8` in it. */
export function hlsOutputArgs(outDir: string, plan: Pick<EncodePlan, 'renditions' | 'hasAudio'>, ladder: Pick<Ladder, 'segmentSeconds'>): string[] {
  return [
    '-f', 'hls',
    '-hls_time', String(ladder.segmentSeconds),
    // VOD: players show the full duration and can seek anywhere.
    '-hls_playlist_type', 'vod',
    '-hls_flags', 'independent_segments',
    '-hls_segment_type', 'mpegts',
    '-hls_segment_filename', `${outDir}/%v/segment%03d.ts`,
    '-var_stream_map', plan.renditions.map((r, i) => (plan.hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`)).join(' '),
    `${outDir}/%v/playlist.m3u8`,
  ];
}

/**
 * ffmpeg's mjpeg encoder has no 0–100 scale: -q:v runs 1 (best) to 31. Quality 85 maps to 3, which
 * gives files within ~5 % of libjpeg's quality 85 (docs/adr/0001).
 */
export const jpegQScale = (quality: number): number => Math.min(31, Math.max(1, Math.round((100 - quality) / 5)));

export interface PosterCommand {
  input: string;
  output: string;
  atSeconds: number;
  size: { width: number; height: number };
  quality: number;
  plan: Pick<EncodePlan, 'deinterlace' | 'toneMap'>;
}

export function buildPosterArgs({ input, output, atSeconds, size, quality, plan }: PosterCommand): string[] {
  const filters = [
    // One picture: a frame's worth, whatever the ladder's field setting.
    ...(plan.deinterlace ? [deinterlaceFilter({ ...plan.deinterlace, output: 'frame' })] : []),
    ...(plan.toneMap ? [TONE_MAP] : []),
    `scale=${size.width}:${size.height}:flags=bicubic`,
    'setsar=1',
  ];
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    // Input seeking: jumps to the nearest keyframe before the time and decodes from there (fast).
    '-ss', atSeconds.toFixed(3),
    ...hardenedInput(input),
    '-frames:v', '1',
    '-vf', filters.join(','),
    '-map_metadata', '-1',
    '-c:v', 'mjpeg', '-q:v', String(jpegQScale(quality)), '-pix_fmt', 'yuvj420p',
    '-f', 'image2', '-update', '1',
    output,
  ];
}
