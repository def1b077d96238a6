/**
 * Chunked encoding, the plan (pure; docs/adr/0022): which time ranges of the source are encoded as
 * separate FFmpeg processes. The same plan is computed wherever a chunk is encoded (a local child
 * process today, one index of an Indexed Job later), so a chunk is fully described by the source
 * duration, the ladder and its index.
 */
import type { Chunking } from '../src/contract.ts';

export interface Chunk {
  index: number;
  /** Seconds from the start of the source: the chunk covers [start, end). */
  start: number;
  end: number;
  /** The last chunk runs to the end of the source (its end is not cut, padding goes there). */
  last: boolean;
}

/**
 * Chunk k covers [k·C, min((k+1)·C, D)). C must be a multiple of the segment length, so every
 * chunk boundary is a segment boundary (and, since segments are a multiple of the keyframe
 * interval, a keyframe of the absolute grid). A source shorter than `minSeconds` gets no chunks
 * ([]): one process encodes it, as before. A remainder shorter than one segment is folded into the
 * chunk before it: a chunk of a few frames would cost a process start and an x264 warm-up for
 * nothing, and the package's last segment would be the same either way.
 */
export function planChunks(durationSeconds: number, chunkSeconds: number, segmentSeconds: number, minSeconds: number): Chunk[] {
  if (!(chunkSeconds > 0) || chunkSeconds % segmentSeconds !== 0) {
    throw new RangeError(`chunk length must be a positive multiple of the segment length (${segmentSeconds} s), got ${chunkSeconds}`);
  }
  if (!(durationSeconds > 0) || durationSeconds < minSeconds) return [];
  let count = Math.ceil(durationSeconds / chunkSeconds);
  if (count > 1 && durationSeconds - (count - 1) * chunkSeconds < segmentSeconds) count -= 1;
  if (count < 2) return [];
  return Array.from({ length: count }, (_, index) => {
    const last = index === count - 1;
    return { index, start: index * chunkSeconds, end: last ? durationSeconds : (index + 1) * chunkSeconds, last };
  });
}

/**
 * Whether a run encodes in chunks: the ladder asks for it (a controller that predates chunking sends
 * none), more than one chunk process may run, and the source is long enough to be cut.
 */
export function chunksFor(durationSeconds: number, segmentSeconds: number, chunking: Chunking | undefined): Chunk[] {
  if (!chunking || chunking.parallelism < 2) return [];
  return planChunks(durationSeconds, chunking.chunkSeconds, segmentSeconds, chunking.minSeconds);
}
