/**
 * A run spread over Kubernetes Jobs (docs/adr/0022): the same steps as a whole run (pipeline.ts),
 * cut where the chunks can go to many pods at once.
 *
 * - prepare: download, probe, poster. A source with no chunks is then encoded and published as
 *   without phases (the run ends here). A chunked one gets its audio, once for the whole source,
 *   and its state written to `prepared.json` in the run's work folder on the shared volume; the
 *   work folder is kept for the next phases.
 * - encode: one chunk, the index Kubernetes gave the pod, from the prepared state.
 * - assemble: the copy pass into the staging folder, then the checks and the atomic publication of
 *   a whole run; the work folder is removed once published.
 *
 * A phase that fails leaves the work folder as it is: its retry needs it (the source, the audio,
 * the chunks), and the controller removes it once the run is over (forgotten), as for every run.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobSpec, TranscodeOutput } from '../src/contract.ts';
import { vcsError } from '../src/errors.ts';
import { folderBytes } from '../src/files.ts';
import type { Chunk } from './chunk-plan.ts';
import { encodeAudio, encodeChunk, stitchChunks } from './chunked.ts';
import {
  chunkRun,
  encodeWhole,
  finishPackage,
  makePoster,
  prepareSource,
  startEncodeProgress,
  stagingDir,
  type PreparedSource,
  type RunState,
  type TranscodeDeps,
} from './pipeline.ts';

/** The prepared state's file in the work folder. */
export const PREPARED_FILE = 'prepared.json';
const VERSION = 1;

export const preparedPath = (job: Pick<JobSpec, 'workDir'>): string => path.join(job.workDir, PREPARED_FILE);

export type PrepareOutcome = { kind: 'published'; output: TranscodeOutput } | { kind: 'prepared'; chunks: number };

/** Written whole or not at all (a rename), so a phase never reads half a plan. */
async function writePrepared(job: JobSpec, prepared: PreparedSource): Promise<void> {
  const file = preparedPath(job);
  const text = `${JSON.stringify({ version: VERSION, jobName: job.jobName, ...prepared })}\n`;
  await writeFile(`${file}.part`, text);
  await rename(`${file}.part`, file);
}

/** The work folder is not what the prepare phase left: retryable, the video's next attempt prepares again. */
const lostPlan = (job: JobSpec, why: string) =>
  vcsError('VCS_ERR_WORK_LOST', `the prepared state of ${job.jobName} (${preparedPath(job)}) ${why}: the prepare phase writes it, and a new attempt makes it again`);

const isChunk = (c: unknown, i: number): c is Chunk => {
  const v = c as Partial<Chunk>;
  return typeof v === 'object' && v !== null && v.index === i && typeof v.start === 'number' && typeof v.end === 'number' && v.end > v.start && typeof v.last === 'boolean';
};

/**
 * The prepared state of this run. Missing (the prepare phase did not finish here, the folder was
 * removed) or not what the prepare phase writes (another run's, a hand edit): VCS_ERR_WORK_LOST,
 * retryable; the index's own retries will not help, the video's next attempt prepares again.
 */
export async function readPrepared(job: JobSpec): Promise<PreparedSource> {
  let text: string;
  try {
    text = await readFile(preparedPath(job), 'utf8');
  } catch (err) {
    throw lostPlan(job, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let v: Partial<PreparedSource> & { version?: unknown; jobName?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    throw lostPlan(job, 'is not JSON');
  }
  if (v.version !== VERSION || v.jobName !== job.jobName) throw lostPlan(job, `belongs to ${JSON.stringify(v.jobName)} (version ${JSON.stringify(v.version)})`);
  const chunks = v.chunks;
  if (!Array.isArray(chunks) || chunks.length < 2 || !chunks.every(isChunk)) throw lostPlan(job, 'has no valid chunk list');
  if (typeof v.input !== 'string' || !v.source || !v.plan || !Array.isArray(v.plan.renditions) || typeof v.posterBytes !== 'number' || !v.scan) throw lostPlan(job, 'is incomplete');
  return v as PreparedSource;
}

/**
 * The prepare phase. Starts from an empty work folder (a retried prepare downloads again: a half
 * download cannot be told from a whole one).
 */
export async function runPrepare(job: JobSpec, deps: TranscodeDeps, state: RunState): Promise<PrepareOutcome> {
  const staging = stagingDir(job);
  await rm(job.workDir, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  let keep = false;
  try {
    const prepared = await prepareSource(job, deps, state, staging);
    if (prepared.chunks.length === 0) {
      // Too short to be cut: encoded and published here, as a run without phases.
      await encodeWhole(job, deps, prepared, staging, startEncodeProgress(deps, state));
      return { kind: 'published', output: await finishPackage(job, deps, state, prepared, staging) };
    }
    startEncodeProgress(deps, state);
    const run = chunkRun(job, deps, prepared);
    await mkdir(run.chunksDir, { recursive: true });
    if (prepared.plan.hasAudio) await encodeAudio(run);
    await writePrepared(job, prepared);
    keep = true;
    deps.log.info({ chunks: prepared.chunks.length, chunkSeconds: job.ladder.chunking?.chunkSeconds }, 'prepared: the chunks go to the encode Job');
    return { kind: 'prepared', chunks: prepared.chunks.length };
  } finally {
    if (!keep) await rm(job.workDir, { recursive: true, force: true });
  }
}

/** The encode phase: chunk `index` of every video rendition. Progress: the chunk's share, reported as a part. */
export async function runChunk(job: JobSpec, deps: TranscodeDeps, state: RunState, index: number): Promise<void> {
  state.enter('compressing');
  const prepared = await readPrepared(job);
  const chunk = prepared.chunks[index];
  // The Job's completions and the plan disagree: a hand-made or mismatched Job, never right on a retry.
  if (!chunk) throw vcsError('VCS_ERR_BAD_JOB', `chunk ${index} asked for, but the prepared plan of ${job.jobName} has ${prepared.chunks.length} chunks (indexes 0–${prepared.chunks.length - 1})`);
  const count = prepared.chunks.length;
  deps.progress.part(index, count, 0);
  const run = chunkRun(job, deps, prepared);
  await mkdir(run.chunksDir, { recursive: true });
  await encodeChunk(run, chunk, (seconds) => deps.progress.part(index, count, seconds / (chunk.end - chunk.start)));
  deps.progress.part(index, count, 1);
}

/**
 * The assemble phase: the copy pass, then the end of a whole run. The poster is made again if it
 * is missing (an earlier assemble published the staging folder and was stopped before its result).
 */
export async function runAssemble(job: JobSpec, deps: TranscodeDeps, state: RunState): Promise<TranscodeOutput> {
  // Published by an earlier attempt of this phase that was stopped before its result: done.
  const published = await publishedBy(job);
  if (published) {
    deps.log.info({ output: job.outputDir }, 'already published by this run: an earlier assemble attempt was stopped after publishing');
    await removeWorkFolder(job, deps);
    state.enter('completed');
    return published;
  }
  state.enter('compressing');
  deps.progress.update('compressing', 1);
  const prepared = await readPrepared(job);
  const staging = stagingDir(job);
  await mkdir(staging, { recursive: true });
  const poster = path.join(staging, 'poster.jpg');
  if (!(await stat(poster).then((s) => s.size > 0, () => false))) {
    prepared.posterBytes = await makePoster(job, deps, prepared.input, prepared.source, prepared.plan, poster);
  }
  await stitchChunks(chunkRun(job, deps, prepared), prepared.chunks, staging);
  const output = await finishPackage(job, deps, state, prepared, staging);
  await removeWorkFolder(job, deps);
  return output;
}

/** Best effort once published: the controller removes what is left when it forgets the run. */
async function removeWorkFolder(job: JobSpec, deps: TranscodeDeps): Promise<void> {
  await rm(job.workDir, { recursive: true, force: true }).catch((err: Error) => deps.log.warn({ err: err.message, dir: job.workDir }, 'work folder not removed'));
}

/** The output of the package in the output folder when this very run published it (its manifest says so). */
async function publishedBy(job: JobSpec): Promise<TranscodeOutput | null> {
  const manifest = await readFile(path.join(job.outputDir, 'manifest.json'), 'utf8').then((t) => JSON.parse(t) as Partial<TranscodeOutput> & { jobName?: string }, () => null);
  if (!manifest || manifest.jobName !== job.jobName || !Array.isArray(manifest.renditions)) return null;
  const { renditions, posterBytes, durationSeconds } = manifest;
  if (typeof posterBytes !== 'number' || typeof durationSeconds !== 'number') return null;
  return { renditions, posterBytes, totalBytes: await folderBytes(job.outputDir), durationSeconds };
}
