/**
 * Test clips generated with FFmpeg's lavfi sources (no binary fixtures, docs/adr/0014). Encoded with
 * ultrafast x264 so making them costs little next to the encodes under test.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClipOptions {
  width: number;
  height: number;
  seconds: number;
  /** Frames per second, or a rational such as '30000/1001' (29.97). */
  fps?: number | string;
  /** Audio channels (2 = stereo, 6 = 5.1) or false for a video-only clip. */
  audio?: number | false;
  /** Display-matrix rotation written into the MP4 (as phones do). */
  rotate?: 90 | 180 | 270;
  /** 10-bit PQ (HDR10-like) instead of 8-bit SDR. */
  hdr?: boolean;
  /** moov atom at the start (so a truncated copy still probes). */
  faststart?: boolean;
  /** Length of the audio track when it differs from the video's (screen recorders, edits). */
  audioSeconds?: number;
  container?: 'mp4' | 'mkv' | 'mov';
}

export async function makeClip(file: string, o: ClipOptions): Promise<string> {
  const fps = o.fps ?? 30;
  // testsrc2 (YUV) rounds odd sizes down; testsrc (RGB) into 4:4:4 keeps them, like screen recordings.
  const odd = o.width % 2 === 1 || o.height % 2 === 1;
  const pattern = odd ? 'testsrc' : 'testsrc2';
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${pattern}=size=${o.width}x${o.height}:rate=${fps}:duration=${o.seconds}`];
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${o.audioSeconds ?? o.seconds}`);
  args.push('-map', '0:v');
  if (o.audio) args.push('-map', '1:a', '-c:a', 'aac', '-ac', String(o.audio));
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(fps));
  if (o.hdr) {
    args.push('-pix_fmt', 'yuv420p10le', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  } else {
    args.push('-pix_fmt', odd ? 'yuv444p' : 'yuv420p');
  }
  if (o.faststart) args.push('-movflags', '+faststart');
  const tmp = o.rotate ? `${file}.plain.${o.container ?? 'mp4'}` : file;
  await run('ffmpeg', [...args, tmp]);
  if (o.rotate) {
    // Stream copy with a rotate tag writes the display matrix, as a phone camera does.
    await run('ffmpeg', ['-v', 'error', '-y', '-i', tmp, '-map', '0', '-c', 'copy', '-metadata:s:v:0', `rotate=${o.rotate}`, file]);
  }
  return file;
}

export interface StillOptions {
  width: number;
  height: number;
  seconds: number;
  /** Stereo audio of this length, or false for a picture without sound. */
  audioSeconds: number | false;
}

/**
 * A still-image video as podcast tools make it: one cover picture repeated once a second. Colour
 * bars compress to an I-frame of about 1 KB and near-empty P-frames, like a flat cover.
 */
export async function makeStill(file: string, o: StillOptions): Promise<string> {
  // The first second's frame, repeated: `seconds` frames in all (whole seconds only).
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `smptebars=size=${o.width}x${o.height}:rate=1:duration=1,loop=loop=${o.seconds - 1}:size=1`];
  if (o.audioSeconds !== false) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.audioSeconds}`);
  args.push('-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (o.audioSeconds !== false) args.push('-map', '1:a', '-c:a', 'aac', '-ac', '2');
  await run('ffmpeg', [...args, file]);
  return file;
}

export interface InterlacedOptions {
  width: number;
  height: number;
  seconds: number;
  /**
   * flagged: MPEG-2 coded as interlaced (field order tt) in MPEG-TS, as DVDs and broadcast captures
   * are. unflagged: the same woven picture coded as progressive H.264 in MP4, as a re-encode that
   * lost the flags leaves it (the stream says progressive; only the picture shows the combing).
   */
  coding: 'flagged' | 'unflagged';
}

/**
 * 25 interlaced frames a second, top field first: testsrc2 moving at 50 pictures a second, each
 * pair woven into one frame (tinterlace), so every frame holds two moments 20 ms apart.
 */
export async function makeInterlaced(file: string, o: InterlacedOptions): Promise<string> {
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=50:duration=${o.seconds}`];
  args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`);
  args.push('-map', '0:v', '-map', '1:a', '-vf', 'tinterlace=mode=interleave_top,setfield=tff');
  if (o.coding === 'flagged') {
    args.push('-c:v', 'mpeg2video', '-flags', '+ildct+ilme', '-top', '1', '-b:v', '6M', '-c:a', 'mp2', '-f', 'mpegts');
  } else {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2');
  }
  await run('ffmpeg', [...args, file]);
  return file;
}

export interface IdetCounts {
  tff: number;
  bff: number;
  progressive: number;
  undetermined: number;
}

/** FFmpeg's interlace detector over a whole input (multi-frame detection): frames per verdict. */
export async function idetCounts(input: string): Promise<IdetCounts> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-v', 'info', '-i', input, '-map', '0:v:0', '-vf', 'idet', '-f', 'null', '-']);
  const m = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/.exec(stderr);
  if (!m) throw new Error(`idet printed no summary for ${input}`);
  return { tff: Number(m[1]), bff: Number(m[2]), progressive: Number(m[3]), undetermined: Number(m[4]) };
}

/**
 * Average PSNR (dB) of `input`'s pictures against the lavfi source `reference`, picture by picture
 * from the start: how close the output is to the pictures the test clip was woven from.
 */
export async function psnrAgainst(input: string, reference: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner', '-nostats', '-v', 'info', '-i', input, '-f', 'lavfi', '-i', reference,
    '-filter_complex', '[0:v:0]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]psnr', '-f', 'null', '-',
  ]);
  const m = /PSNR y:[\d.]+ u:[\d.]+ v:[\d.]+ average:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`psnr printed no summary for ${input}`);
  return Number(m[1]);
}

/** An audio-only M4A (passes the demuxer allow-list, has no video stream). */
export async function makeAudioOnly(file: string, seconds = 2): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=duration=${seconds}`, '-c:a', 'aac', file]);
  return file;
}

export async function ffprobeJson(args: string[]): Promise<any> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args]);
  return JSON.parse(stdout);
}

export interface SegmentOptions {
  /** x264 profile and level (-profile:v, -level). Defaults to x264's own choice. */
  profile?: 'baseline' | 'main' | 'high';
  level?: string;
  /** x264 preset. ultrafast turns off CABAC and 8x8 transforms, so it signals Constrained Baseline whatever the profile. Defaults to veryfast. */
  preset?: string;
  /** AAC profile of FFmpeg's native encoder, or false for a video-only segment. Defaults to aac_low. */
  audio?: 'aac_low' | 'aac_main' | false;
  /** Defaults to 0.2 s: a few frames are all a codec reader needs. */
  seconds?: number;
}

/** A small MPEG-TS segment of H.264 (+ AAC in ADTS), as the HLS muxer writes them. */
export async function makeTsSegment(file: string, o: SegmentOptions = {}): Promise<string> {
  const seconds = o.seconds ?? 0.2;
  const audio = o.audio ?? 'aac_low';
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:a', 'aac', '-profile:a', audio);
  args.push('-c:v', 'libx264', '-preset', o.preset ?? 'veryfast', '-pix_fmt', 'yuv420p');
  if (o.profile) args.push('-profile:v', o.profile);
  if (o.level) args.push('-level', o.level);
  await run('ffmpeg', [...args, '-f', 'mpegts', file]);
  return file;
}
