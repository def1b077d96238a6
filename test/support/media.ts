/**
 * Test clips generated with FFmpeg's lavfi sources (no binary fixtures, DESIGN 4). Encoded with
 * ultrafast x264 so making them costs little next to the encodes under test.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClipOptions {
  width: number;
  height: number;
  seconds: number;
  fps?: number;
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

/** An audio-only M4A (passes the demuxer allow-list, has no video stream). */
export async function makeAudioOnly(file: string, seconds = 2): Promise<string> {
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=duration=${seconds}`, '-c:a', 'aac', file]);
  return file;
}

export async function ffprobeJson(args: string[]): Promise<any> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args]);
  return JSON.parse(stdout);
}
