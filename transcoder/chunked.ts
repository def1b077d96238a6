/**
 * Chunked encoding, the runs (docs/adr/0022): the audio once, each chunk as its own FFmpeg process
 * (at most `parallelism` at once), then the copy pass into the staging folder. `encodeChunk` is one
 * process invocation described by the plan and a chunk index alone, so the same call can later run
 * as one index of an Indexed Job. The first failure stops every other process; cancelling (the
 * signal) stops them all; either way every process has exited before this returns or throws, so
 * the caller's cleanup never races a writer.
 */
import { mkdir } from 'node:fs/promises';
import type { Ladder } from '../src/contract.ts';
import { vcsError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import { buildAudioArgs, buildChunkArgs, buildStitchArgs } from './chunk-args.ts';
import type { Chunk } from './chunk-plan.ts';
import type { EncodePlan } from './ladder.ts';
import { describeFailure, progressSeconds, runProcess, stderrSummary } from './process.ts';

export interface ChunkRun {
  ffmpeg: string;
  input: string;
  /** Where the chunk files and the audio go (the run's own folder, removed with it). */
  chunksDir: string;
  plan: EncodePlan;
  ladder: Ladder;
  signal: AbortSignal;
  log: Logger;
}

/**
 * Seconds of the chunk written so far, from one line of ffmpeg's -progress output. Its out_time
 * counts from the chunk's own start (measured: 0 to 19.9 s for the chunk at 20–40 s, whatever
 * -output_ts_offset says); capped at the chunk's length.
 */
export function chunkProgressSeconds(line: string, chunk: Chunk): number | null {
  const seconds = progressSeconds(line);
  if (seconds === null) return null;
  return Math.min(chunk.end - chunk.start, Math.max(0, seconds));
}

async function runEncode(run: ChunkRun, args: string[], what: string, onLine?: (line: string) => void, cwd?: string): Promise<void> {
  const res = await runProcess(run.ffmpeg, args, { signal: run.signal, nice: 10, onLine, cwd });
  if (res.code !== 0) throw vcsError('VCS_ERR_FFMPEG_FAILED', `${what}: ${describeFailure(run.ffmpeg, res)}`);
  if (res.stderr.trim()) run.log.warn({ ffmpeg: stderrSummary(res.stderr, 5), what }, 'ffmpeg reported problems in the source');
}

/** One chunk of every video rendition: one FFmpeg process. */
export function encodeChunk(run: ChunkRun, chunk: Chunk, onSeconds: (seconds: number) => void = () => {}): Promise<void> {
  const args = buildChunkArgs({ input: run.input, outDir: run.chunksDir, chunk, plan: run.plan, ladder: run.ladder });
  return runEncode(run, args, `chunk ${chunk.index}`, (line) => {
    const seconds = chunkProgressSeconds(line, chunk);
    if (seconds !== null) onSeconds(seconds);
  });
}

/** The whole source's audio, once. */
export function encodeAudio(run: ChunkRun): Promise<void> {
  return runEncode(run, buildAudioArgs({ input: run.input, outDir: run.chunksDir, plan: run.plan, ladder: run.ladder }), 'audio');
}

/** The copy pass: chunk files and audio into the HLS package in `staging`. */
export function stitchChunks(run: ChunkRun, chunks: readonly Chunk[], staging: string): Promise<void> {
  const args = buildStitchArgs({ chunksDir: run.chunksDir, outDir: staging, chunks, plan: run.plan, ladder: run.ladder });
  return runEncode(run, args, 'stitching the chunks', undefined, run.chunksDir);
}

/**
 * Runs `tasks` with at most `limit` at once. The first failure aborts `stop` (so running processes
 * are killed and no new one starts) and is thrown once every task has settled.
 */
export async function runPool(tasks: readonly (() => Promise<void>)[], limit: number, stop: AbortController): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (next < tasks.length && !stop.signal.aborted) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failure ??= { error };
        if (!stop.signal.aborted) stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  stop.signal.throwIfAborted();
}

export interface ChunkedEncode {
  chunks: readonly Chunk[];
  parallelism: number;
  staging: string;
  /** Called with the share (0–1) of all chunks' seconds written so far. */
  onProgress: (fraction: number) => void;
}

/**
 * The audio and the chunks, at most `parallelism` processes at once, then the copy pass. The audio
 * goes first: it is the longest single task (the whole source) and cheap, so it overlaps the chunks.
 * Progress is the sum over the chunks.
 */
export async function encodeInChunks(run: ChunkRun, { chunks, parallelism, staging, onProgress }: ChunkedEncode): Promise<void> {
  await mkdir(run.chunksDir, { recursive: true });
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(run.signal.reason);
  if (run.signal.aborted) onOuterAbort();
  run.signal.addEventListener('abort', onOuterAbort, { once: true });
  const inner: ChunkRun = { ...run, signal: stop.signal };
  const total = chunks.reduce((sum, c) => sum + (c.end - c.start), 0);
  const done = chunks.map(() => 0);
  const report = (i: number) => (seconds: number) => {
    done[i] = seconds;
    onProgress(done.reduce((a, b) => a + b, 0) / total);
  };
  try {
    const tasks = [...(run.plan.hasAudio ? [() => encodeAudio(inner)] : []), ...chunks.map((c, i) => () => encodeChunk(inner, c, report(i)))];
    await runPool(tasks, parallelism, stop);
  } finally {
    run.signal.removeEventListener('abort', onOuterAbort);
  }
  await stitchChunks(run, chunks, staging);
}
