/**
 * The ladder decision (pure): which renditions a source gets and at what size and frame rate.
 * Rules (docs/adr/0001): never upscale; the short side is the "height" so portrait stays portrait;
 * every dimension is even (4:2:0 chroma needs it); a rung that would repeat the one above it is
 * left out; the frame rate is kept up to the cap; an interlaced source becomes a picture per frame
 * or per field.
 */
import type { DeinterlaceOutput, Ladder, RenditionName } from '../src/contract.ts';
import type { FirstField, Scan } from './interlace.ts';
import type { SourceInfo } from './probe.ts';

export interface PlannedRendition {
  name: RenditionName;
  width: number;
  height: number;
  crf: number;
  maxBitrate: number;
  /** VBV buffer: two seconds of the cap, the usual CRF-with-ceiling setting (docs/adr/0001). */
  bufferBits: number;
}

/** An interlaced source's fields made into whole pictures, one per frame or one per field. */
export interface Deinterlace {
  output: DeinterlaceOutput;
  firstField: FirstField;
}

export interface EncodePlan {
  renditions: PlannedRendition[];
  /** null for a progressive source. */
  deinterlace: Deinterlace | null;
  /** Output frame rate, or null to keep the source's timing untouched. */
  frameRateCap: number | null;
  /** Pictures per second in every rendition (FRAME-RATE): twice the source's for field output. */
  frameRate: number;
  hasAudio: boolean;
  toneMap: boolean;
  /** x264 without lookahead or B-frames (a frame out for every frame in); see LOW_FRAME_RATE. */
  zeroLatency: boolean;
  /** Seconds the last picture is held at the end, so the video lasts as long as the audio (0: none). */
  padVideoSeconds: number;
  /** Seconds of silence added at the end, so the audio lasts as long as the video (0: none). */
  padAudioSeconds: number;
}

/**
 * Video and audio that stop this close together are left as they are: a few audio frames (21 ms
 * each) and a video frame or two of difference are ordinary in camera files.
 */
export const STREAM_END_SLACK = 0.1;

/**
 * Pure: how much the shorter of video and audio is padded so that both end together. Screen
 * recorders and edits leave audio running past the last picture (the package would end with the
 * picture, and the self-check would rightly find it seconds short of the source), or a picture past
 * the audio (segments without audio make players stall). Unknown ends pad nothing.
 */
export function endPadding(ends: SourceInfo['streamEnds']): { video: number; audio: number } {
  if (ends.video === null || ends.audio === null) return { video: 0, audio: 0 };
  const gap = ends.audio - ends.video;
  if (Math.abs(gap) <= STREAM_END_SLACK) return { video: 0, audio: 0 };
  const seconds = Math.round(Math.abs(gap) * 1000) / 1000;
  return gap > 0 ? { video: seconds, audio: 0 } : { video: 0, audio: seconds };
}

/**
 * Below this output frame rate the encoder runs without delay. x264 holds back frames, not seconds
 * (preset fast: a lookahead of 30 frames plus B-frames and frame threads; up to ~100 frames for the
 * slow presets on many cores), while the muxer waits at most 10 s for a late stream before it
 * writes the other on its own. At 1 fps (a podcast's cover) the video came half a minute after its
 * audio, so the audio landed in segments ahead of its video and some segments had none.
 * 100 frames take under 10 s from 10 fps up; still images and slide shows fall below.
 */
export const LOW_FRAME_RATE = 10;

/** Largest even number not above x (never below 2). */
export const evenFloor = (x: number): number => Math.max(2, Math.floor(x / 2) * 2);
/** Nearest even number (never below 2). */
export const evenRound = (x: number): number => Math.max(2, Math.round(x / 2) * 2);

/**
 * Field output doubles the rate (50i → 50p). Where the double would pass MAX_FRAME_RATE the output
 * is a picture per frame instead: the cap would then have to drop pictures unevenly (50 → 30 keeps
 * 3 of every 5), which moves less smoothly than the source's own frame rate.
 */
function deinterlaceOutput(source: SourceInfo, ladder: Ladder): DeinterlaceOutput {
  return ladder.deinterlaceOutput === 'field' && source.frameRate * 2 <= ladder.maxFrameRate + 0.01 ? 'field' : 'frame';
}

export function planEncode(source: SourceInfo, ladder: Ladder, scan: Scan): EncodePlan {
  const short = Math.min(source.width, source.height);
  const long = Math.max(source.width, source.height);
  const portrait = source.height > source.width;
  const rungs = [...ladder.renditions].sort((a, b) => b.height - a.height);
  const renditions: PlannedRendition[] = [];
  for (const rung of rungs) {
    const shortSide = evenFloor(Math.min(rung.height, short));
    const previous = renditions.at(-1);
    // A rung as tall as the one above it (the source was smaller than its target) adds nothing.
    if (previous && shortSide >= Math.min(previous.width, previous.height)) continue;
    const longSide = evenRound((long * shortSide) / short);
    renditions.push({
      name: rung.name,
      width: portrait ? shortSide : longSide,
      height: portrait ? longSide : shortSide,
      crf: rung.crf,
      maxBitrate: rung.maxBitrate,
      bufferBits: rung.maxBitrate * 2,
    });
  }
  const deinterlace = scan.interlaced ? { output: deinterlaceOutput(source, ladder), firstField: scan.firstField } : null;
  const pictureRate = deinterlace?.output === 'field' ? source.frameRate * 2 : source.frameRate;
  const capped = pictureRate > ladder.maxFrameRate + 0.01;
  const frameRate = capped ? ladder.maxFrameRate : pictureRate;
  const padding = endPadding(source.streamEnds);
  return {
    renditions,
    deinterlace,
    frameRateCap: capped ? ladder.maxFrameRate : null,
    frameRate,
    hasAudio: source.audio !== null,
    toneMap: source.hdr,
    zeroLatency: frameRate < LOW_FRAME_RATE,
    padVideoSeconds: padding.video,
    padAudioSeconds: padding.audio,
  };
}

/** Poster size: the display size fitted inside the limits, aspect ratio kept, never upscaled. */
export function posterSize(source: Pick<SourceInfo, 'width' | 'height'>, limits: { maxWidth: number; maxHeight: number }): { width: number; height: number } {
  const scale = Math.min(1, limits.maxWidth / source.width, limits.maxHeight / source.height);
  return {
    width: Math.min(evenRound(source.width * scale), evenFloor(limits.maxWidth)),
    height: Math.min(evenRound(source.height * scale), evenFloor(limits.maxHeight)),
  };
}
