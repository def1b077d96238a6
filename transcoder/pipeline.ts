/**
 * One transcode, start to finish: download → probe (with an idet sample unless the stream says it
 * is interlaced) → poster → one-decode ladder (or, for a long source with chunking on, the chunks
 * and their copy pass, docs/adr/0022) → measured master playlist → self-check → atomic publish. Everything it needs comes in as arguments (conventions 12); the work folder is removed
 * whatever happens.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobSpec, TranscodeOutput } from '../src/contract.ts';
import { VcsError, vcsError } from '../src/errors.ts';
import { folderBytes } from '../src/files.ts';
import type { Logger } from '../src/log.ts';
import type { Step } from '../src/steps.ts';
import { chunksFor, type Chunk } from './chunk-plan.ts';
import { encodeInChunks, type ChunkRun } from './chunked.ts';
import { buildLadderArgs, buildPosterArgs } from './ffmpeg-args.ts';
import { detectScan } from './interlace.ts';
import { planEncode, posterSize, type EncodePlan } from './ladder.ts';
import { interpretProbe, probeArgs, probeFailure, type SourceInfo } from './probe.ts';
import { describeFailure, progressSeconds, runProcess, stderrSummary, throwIfKilled } from './process.ts';
import type { ProgressSink } from './progress.ts';
import { publishPackage } from './publish.ts';
import { renderPackageMaster } from './playlist.ts';
import { checkMaster, measureRendition, selfCheck } from './self-check.ts';
import { checkLocalFile, fetchSource, parseSource, redact, type FetchOptions } from './source.ts';

export interface TranscodeDeps {
  ffmpeg: string;
  ffprobe: string;
  fetch: FetchOptions;
  allowLocalSources: boolean;
  log: Logger;
  progress: ProgressSink;
  signal: AbortSignal;
  now?: () => number;
}

/** Where a run is: the step reached (for failed_at_step) and how long each step took. */
export class RunState {
  step: Step = 'queued';
  readonly timings: Record<string, number> = {};
  #stepStarted = 0;

  constructor(private readonly now: () => number) {}

  enter(step: Step): void {
    const t = this.now();
    if (this.step !== 'queued') this.timings[this.step] = (this.timings[this.step] ?? 0) + (t - this.#stepStarted) / 1000;
    this.step = step;
    this.#stepStarted = t;
  }
}

/** The share of the encode done (0–1) as progress, with an ETA from the rate so far. */
function encodeProgress(sink: ProgressSink, startedAt: number, now: () => number) {
  return (done: number) => {
    const fraction = Math.min(1, done);
    const elapsed = (now() - startedAt) / 1000;
    const eta = fraction > 0.01 ? Math.round((elapsed / fraction) * (1 - fraction)) : null;
    sink.update('compressing', fraction, eta);
  };
}

/** What the first half of a run found and made: the source on disk, its probe, the encode plan, the poster. */
export interface PreparedSource {
  input: string;
  source: SourceInfo;
  scan: Awaited<ReturnType<typeof detectScan>>;
  plan: EncodePlan;
  posterBytes: number;
  /** The chunks of a chunked encode; [] for one process. */
  chunks: Chunk[];
}

/** download → probe → poster, into `staging` (the poster). The steps a run of any shape starts with. */
export async function prepareSource(job: JobSpec, deps: TranscodeDeps, state: RunState, staging: string): Promise<PreparedSource> {
  const now = deps.now ?? Date.now;
  const { log, progress, signal } = deps;
  state.enter('downloading');
  progress.update('downloading', 0);
  const input = await obtainSource(job, deps, path.join(job.workDir, 'source'));

  state.enter('probing');
  progress.update('probing', 0);
  const source = await probe(deps.ffprobe, input, signal);
  const scan = await detectScan(deps.ffmpeg, input, source, signal, now);
  const plan = planEncode(source, job.ladder, scan.verdict);
  log.info(
    { source, scan, deinterlace: plan.deinterlace, frameRate: plan.frameRate, renditions: plan.renditions.map((r) => `${r.name} ${r.width}x${r.height}`) },
    'source probed',
  );

  state.enter('creating_poster');
  progress.update('creating_poster', 0);
  const posterBytes = await makePoster(job, deps, input, source, plan, path.join(staging, 'poster.jpg'));
  const chunks = chunksFor(source.durationSeconds, job.ladder.segmentSeconds, job.ladder.chunking);
  return { input, source, scan, plan, posterBytes, chunks };
}

/** The share of the encode done → progress, from now on. */
export function startEncodeProgress(deps: TranscodeDeps, state: RunState): (fraction: number) => void {
  const now = deps.now ?? Date.now;
  state.enter('compressing');
  deps.progress.update('compressing', 0);
  return encodeProgress(deps.progress, now(), now);
}

/** The whole ladder in one FFmpeg process, into `staging`. */
export function encodeWhole(job: JobSpec, deps: TranscodeDeps, prepared: PreparedSource, staging: string, onProgress: (fraction: number) => void): Promise<void> {
  const { input, plan, source } = prepared;
  return encodeSingle(deps, buildLadderArgs({ input, outDir: staging, plan, ladder: job.ladder }), (seconds) => onProgress(seconds / source.durationSeconds));
}

/** measure → self-check → master → manifest → atomic publish: the steps a run of any shape ends with. */
export async function finishPackage(job: JobSpec, deps: TranscodeDeps, state: RunState, prepared: PreparedSource, staging: string): Promise<TranscodeOutput> {
  const now = deps.now ?? Date.now;
  const { progress, signal } = deps;
  const { source, scan, plan, posterBytes } = prepared;
  state.enter('finalizing');
  progress.update('finalizing', 0);
  const measured = [];
  for (const r of plan.renditions) measured.push(await measureRendition(staging, r, plan));
  await selfCheck({ dir: staging, renditions: measured, sourceSeconds: source.durationSeconds, ffprobe: deps.ffprobe, signal });
  const renditions = measured.map((m) => m.result);
  await writeFile(path.join(staging, 'master.m3u8'), renderPackageMaster(renditions));
  await checkMaster(staging, measured);
  const output: TranscodeOutput = {
    renditions,
    posterBytes,
    totalBytes: 0,
    durationSeconds: source.durationSeconds,
  };
  const manifest = { videoId: job.videoId, jobName: job.jobName, createdAt: new Date(now()).toISOString(), source, scan, ladder: job.ladder, ...output };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(path.join(staging, 'manifest.json'), manifestText);
  output.totalBytes = await folderBytes(staging);
  signal.throwIfAborted();
  await publishPackage(staging, job.outputDir, job.workDir);
  state.enter('completed');
  progress.update('completed', 1);
  return output;
}

/** The staging folder of a run: the package grows here until it is published. */
export const stagingDir = (job: JobSpec): string => path.join(job.workDir, 'staging');

/** The chunk runs of a prepared source (their files go to the run's `chunks` folder). */
export function chunkRun(job: JobSpec, deps: TranscodeDeps, prepared: PreparedSource): ChunkRun {
  return { ffmpeg: deps.ffmpeg, input: prepared.input, chunksDir: path.join(job.workDir, 'chunks'), plan: prepared.plan, ladder: job.ladder, signal: deps.signal, log: deps.log };
}

/** A whole run in this process: the chunks, if any, as local processes (docs/adr/0022). */
export async function transcode(job: JobSpec, deps: TranscodeDeps, state: RunState): Promise<TranscodeOutput> {
  const staging = stagingDir(job);
  await rm(job.workDir, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const prepared = await prepareSource(job, deps, state, staging);
    const onProgress = startEncodeProgress(deps, state);
    const { chunks } = prepared;
    if (chunks.length > 0) {
      deps.log.info({ chunks: chunks.length, chunkSeconds: job.ladder.chunking?.chunkSeconds, parallelism: job.ladder.chunking?.parallelism }, 'encoding in chunks');
      await encodeInChunks(chunkRun(job, deps, prepared), { chunks, parallelism: job.ladder.chunking!.parallelism, staging, onProgress });
    } else {
      await encodeWhole(job, deps, prepared, staging, onProgress);
    }
    return await finishPackage(job, deps, state, prepared, staging);
  } finally {
    await rm(job.workDir, { recursive: true, force: true });
  }
}

/** The one-decode ladder in one FFmpeg process. */
async function encodeSingle(deps: TranscodeDeps, args: string[], onSeconds: (seconds: number) => void): Promise<void> {
  const encode = await runProcess(deps.ffmpeg, args, {
    signal: deps.signal,
    nice: 10,
    onLine: (line) => {
      const seconds = progressSeconds(line);
      if (seconds !== null) onSeconds(seconds);
    },
  });
  if (encode.code !== 0) throw vcsError('VCS_ERR_FFMPEG_FAILED', describeFailure(deps.ffmpeg, encode));
  if (encode.stderr.trim()) deps.log.warn({ ffmpeg: stderrSummary(encode.stderr, 5) }, 'ffmpeg reported problems in the source');
}

async function obtainSource(job: JobSpec, deps: TranscodeDeps, dest: string): Promise<string> {
  const ref = parseSource(job.sourceUrl, deps.allowLocalSources);
  if (ref.kind === 'file') {
    await checkLocalFile(ref.path, deps.fetch.maxBytes);
    deps.progress.update('downloading', 1);
    return ref.path;
  }
  deps.log.info({ url: redact(ref.url) }, 'downloading source');
  const bytes = await fetchSource(
    ref.url,
    dest,
    deps.fetch,
    (received, total) => deps.progress.update('downloading', total ? received / total : 0),
    deps.signal,
  );
  deps.log.info({ bytes }, 'download complete');
  return dest;
}

async function probe(ffprobe: string, input: string, signal: AbortSignal): Promise<SourceInfo> {
  const res = await runProcess(ffprobe, probeArgs(input), { signal, collectStdout: true });
  throwIfKilled(ffprobe, res);
  const { code, stdout, stderr } = res;
  if (code !== 0) throw probeFailure(stderr);
  try {
    return interpretProbe(JSON.parse(stdout));
  } catch (err) {
    if (err instanceof VcsError) throw err;
    throw vcsError('VCS_ERR_SOURCE_UNREADABLE', 'ffprobe output could not be read', err);
  }
}

/** The frame at 10 % of the duration; if the container's duration overstates the video, frame 0. */
export async function makePoster(job: JobSpec, deps: TranscodeDeps, input: string, source: SourceInfo, plan: EncodePlan, output: string): Promise<number> {
  const size = posterSize(source, job.ladder.poster);
  for (const atSeconds of [source.durationSeconds * 0.1, 0]) {
    const args = buildPosterArgs({ input, output, atSeconds, size, quality: job.ladder.poster.quality, plan });
    const res = await runProcess(deps.ffmpeg, args, { signal: deps.signal, nice: 10 });
    throwIfKilled(deps.ffmpeg, res);
    const bytes = await stat(output).then((s) => s.size, () => 0);
    if (res.code === 0 && bytes > 0) return bytes;
    deps.log.warn({ atSeconds, ffmpeg: stderrSummary(res.stderr) }, 'poster frame not found, trying the first frame');
  }
  throw vcsError('VCS_ERR_SOURCE_UNREADABLE', 'no frame of the source could be decoded for the poster');
}
