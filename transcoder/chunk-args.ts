/**
 * Chunked encoding, the FFmpeg command lines (pure; docs/adr/0022): one chunk of every video
 * rendition, the audio of the whole source, and the copy pass that stitches them into the HLS
 * package. Each chunk and the audio write MPEG-TS files on the source's own clock (plus a lead), so
 * their concatenation is one continuous stream; the copy pass cuts it into segments with the same
 * muxer and settings as a single-process encode.
 */
import type { Ladder } from '../src/contract.ts';
import type { Chunk } from './chunk-plan.ts';
import { aacArgs, hlsOutputArgs, keyframeArgs, ladderFilterGraph, NO_METADATA, rateControlArgs, RUN_FLAGS, x264Args } from './ffmpeg-args.ts';
import type { EncodePlan } from './ladder.ts';
import { hardenedInput } from './probe.ts';

/**
 * Seconds added to every timestamp a chunk or the audio writes. x264's B-frames give the first
 * pictures a decode time before their presentation time (two frames at preset fast); at 0 s that is
 * negative, and the muxer then shifts that file, and only that one, to make it positive. Measured
 * without the lead: chunk 0 came out two frames late against chunk 1 (a picture time shown twice at
 * the boundary, "Non-monotonous DTS" in the copy pass, segments of 11.93 and 8 s) and the audio
 * 21 ms late (its encoder delay shifted away). With the lead nothing is negative, so no file is
 * shifted, and -mpegts_copyts keeps the muxer from adding its own delay (1.4 s): a chunk file's
 * time is exactly the source's plus the lead. The copy pass takes the lead off again.
 */
export const TIMESTAMP_LEAD_SECONDS = 10;

/** A chunk's file of one rendition, in the chunks folder: `004-high.ts`. */
export const chunkFileName = (index: number, rendition: string): string => `${String(index).padStart(3, '0')}-${rendition}.ts`;

/** The whole source's audio, encoded once, in the chunks folder. */
export const AUDIO_FILE = 'audio.ts';

/**
 * MPEG-TS on the source's clock: `offsetSeconds` is where the output's time 0 sits in the source.
 * initial_discontinuity flags each file's first packets, so a reader of the concatenated files
 * expects the continuity counters to start again there instead of marking the packets corrupt.
 * The lead (above) keeps the decode times far enough above 0 for the PCR, which mpegts puts
 * max_delay (0.7 s) before them.
 */
const timestampedTs = (offsetSeconds: number): string[] => [
  '-output_ts_offset', String(offsetSeconds + TIMESTAMP_LEAD_SECONDS),
  '-f', 'mpegts', '-mpegts_flags', '+initial_discontinuity', '-mpegts_copyts', '1',
];

/**
 * The encoder's time base for chunks: MPEG-TS's 90 kHz clock instead of one tick per frame. The
 * chunk's clock starts at k·C, a whole second, which for 29.97 fps falls between two pictures;
 * on a per-frame clock FFmpeg rounded every picture of the chunk onto a grid starting there (the
 * picture at 20.02 s went out at 20.033 s: 13 ms late against the audio and the single encode).
 * At 90 kHz every picture keeps its source time (measured: 20.020, as in one process).
 */
export const CHUNK_TIME_BASE = ['-enc_time_base:v', '1/90000'];

export interface ChunkCommand {
  input: string;
  /** The chunks folder; the files are named by chunkFileName. */
  outDir: string;
  chunk: Chunk;
  plan: EncodePlan;
  ladder: Ladder;
}

/**
 * One chunk, every rendition, video only: one FFmpeg process, one decode of the chunk's range, one
 * output file per rendition. Input seeking (-ss before -i) jumps to the keyframe before the start
 * and decodes from there, dropping the pictures before it (FFmpeg's accurate seek); the filter
 * graph's trim drops those from the end on. Keyframes are forced on the chunk's clock, whose 0 is
 * the chunk's start: a multiple of the keyframe interval, so the grid is the whole source's.
 */
export function buildChunkArgs({ input, outDir, chunk, plan, ladder }: ChunkCommand): string[] {
  const args = [...RUN_FLAGS, '-progress', 'pipe:1', '-y'];
  if (chunk.start > 0) args.push('-ss', String(chunk.start));
  args.push(...hardenedInput(input));
  // Padding the last picture belongs at the end of the source, so to the last chunk only.
  const chunkPlan = chunk.last ? plan : { ...plan, padVideoSeconds: 0 };
  args.push('-filter_complex', ladderFilterGraph(chunkPlan, chunk.last ? undefined : chunk.end - chunk.start));
  plan.renditions.forEach((r, i) => {
    args.push('-map', `[v${i}]`, ...x264Args(plan, ladder), ...rateControlArgs(r, 'v:0'), ...keyframeArgs(ladder), ...CHUNK_TIME_BASE, '-an', ...NO_METADATA);
    args.push(...timestampedTs(chunk.start), `${outDir}/${chunkFileName(chunk.index, r.name)}`);
  });
  return args;
}

/** The audio of the whole source, once (a single-process encode makes one copy per rendition). */
export function buildAudioArgs({ input, outDir, plan, ladder }: Omit<ChunkCommand, 'chunk'>): string[] {
  return [
    ...RUN_FLAGS, '-progress', 'pipe:1', '-y',
    ...hardenedInput(input),
    '-map', '0:a:0', '-vn', ...aacArgs(plan, ladder), ...NO_METADATA,
    ...timestampedTs(0), `${outDir}/${AUDIO_FILE}`,
  ];
}

export interface StitchCommand {
  /** The chunks folder, the run's working folder: the concat lists name files relative to it. */
  chunksDir: string;
  /** Staging folder; FFmpeg creates one sub-folder per rendition name. */
  outDir: string;
  chunks: readonly Chunk[];
  plan: EncodePlan;
  ladder: Ladder;
}

/**
 * The copy pass: each rendition's chunk files read as one stream (the concat protocol joins the
 * bytes; MPEG-TS files join end to end), the audio beside it, nothing re-encoded, into the same HLS
 * muxer as a single-process encode, so segment boundaries, durations and numbering come out as they
 * would there. -copyts keeps every input on the shared clock (each input shifted to start at 0 would
 * move the audio by its encoder delay against the video). Our own files only: the demuxer is
 * named, and only the concat and file protocols may be opened, with relative names (run it in
 * `chunksDir`) so no path can be read as a list separator.
 */
export function buildStitchArgs({ outDir, chunks, plan, ladder }: StitchCommand): string[] {
  const args = [...RUN_FLAGS, '-y'];
  const own = (url: string) => ['-protocol_whitelist', 'concat,file', '-f', 'mpegts', '-format_whitelist', 'mpegts', '-i', url];
  for (const r of plan.renditions) args.push(...own(`concat:${chunks.map((c) => chunkFileName(c.index, r.name)).join('|')}`));
  if (plan.hasAudio) args.push(...own(`file:${AUDIO_FILE}`));
  const audioInput = plan.renditions.length;
  plan.renditions.forEach((_, i) => {
    args.push('-map', `${i}:v:0`);
    if (plan.hasAudio) args.push('-map', `${audioInput}:a:0`);
  });
  args.push('-c', 'copy', '-copyts', '-output_ts_offset', String(-TIMESTAMP_LEAD_SECONDS));
  args.push(...NO_METADATA, ...hlsOutputArgs(outDir, plan, ladder));
  return args;
}
