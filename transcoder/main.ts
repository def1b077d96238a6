/**
 * The transcoder program: `vcs transcode --source … --output …`, or, with no arguments, the job
 * contract's environment (a Job pod or a local run). It reports progress, writes the result JSON
 * to VCS_RESULT_PATH and stdout, and exits 0 (done), 2 (the input can never succeed) or another
 * code (retryable). SIGTERM, SIGINT, or the loss of the parent's IPC channel (local runs) stop
 * FFmpeg promptly and clean up.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Settings } from '../src/config.ts';
import { DEFAULT_RESULT_PATH, EXIT, JOB_ENV, ladderFromSettings, parseJobEnvironment, serializeResult, type JobSpec, type PhaseResult, type TranscodeOutput, type TranscodeResult } from '../src/contract.ts';
import { asVcsError, vcsError, type VcsError } from '../src/errors.ts';
import type { Env } from '../src/config.ts';
import type { Logger } from '../src/log.ts';
import { transcode, RunState, type TranscodeDeps } from './pipeline.ts';
import { runAssemble, runChunk, runPrepare } from './phases.ts';
import { createProgressSink } from './progress.ts';

export interface TranscodeCommand {
  source?: string;
  output?: string;
  id?: number;
  workDir?: string;
  result?: string;
  /** Replace a package already published in the output folder (refused without it). */
  force?: boolean;
}

/** Pure: the job a command line describes (local paths allowed: the caller owns the machine). */
export function jobFromCommandLine(cmd: Required<Pick<TranscodeCommand, 'source' | 'output'>> & TranscodeCommand, settings: Settings, env: Env): JobSpec {
  const output = path.resolve(cmd.output);
  const name = `cli-${cmd.id ?? 0}-${randomBytes(4).toString('hex')}`;
  return {
    jobName: name,
    videoId: cmd.id ?? 0,
    sourceUrl: cmd.source,
    outputDir: output,
    // Beside the output, so staging and output share a filesystem and the final rename is atomic.
    workDir: path.resolve(cmd.workDir ?? path.join(path.dirname(output), `.vcs-work-${path.basename(output)}-${name}`)),
    ladder: ladderFromSettings(settings),
    progressUrl: env.VCS_PROGRESS_URL || undefined,
    progressToken: env.VCS_PROGRESS_TOKEN || undefined,
    resultPath: cmd.result ?? env.VCS_RESULT_PATH ?? '',
  };
}

/** Refuses work folders whose removal would hurt (the run deletes its work folder at the end). */
export function checkWorkDir(job: JobSpec): void {
  const work = path.resolve(job.workDir);
  const out = path.resolve(job.outputDir);
  if (work.split(path.sep).filter(Boolean).length < 2) throw vcsError('VCS_ERR_BAD_JOB', `work folder ${work} is too close to the filesystem root`);
  if (out === work || out.startsWith(work + path.sep)) throw vcsError('VCS_ERR_BAD_JOB', `work folder ${work} must not contain the output folder`);
}

/**
 * A package already published in `outputDir` (its master playlist is there): what its manifest
 * says about it, or null when the folder holds none. A service may be serving it, and its store
 * describes it; a command line run must not replace it unnoticed.
 */
export async function publishedPackage(outputDir: string): Promise<{ videoId?: number; jobName?: string; createdAt?: string } | null> {
  if (!(await stat(path.join(outputDir, 'master.m3u8')).then((s) => s.isFile(), () => false))) return null;
  const manifest = await readFile(path.join(outputDir, 'manifest.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}) as Record<string, unknown>);
  const pick = <T>(v: unknown, type: string) => (typeof v === type ? (v as T) : undefined);
  return { videoId: pick<number>(manifest.videoId, 'number'), jobName: pick<string>(manifest.jobName, 'string'), createdAt: pick<string>(manifest.createdAt, 'string') };
}

async function writeResult(file: string, text: string, log: Logger): Promise<void> {
  if (!file) return;
  try {
    await writeFile(file, text);
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, 'result file not written');
  }
}

/**
 * A run started as a job (its runner set VCS_JOB_NAME) whose contract is incomplete still writes
 * a result, so its runner records why (VCS_ERR_BAD_JOB, permanent) instead of "no result".
 */
async function reportBadJob(env: Env, problems: string[], log: Logger, stdout: (text: string) => void): Promise<void> {
  if (!env[JOB_ENV.jobName]) return;
  const message = `the job contract is incomplete: ${problems.join('; ')}`;
  const videoId = Number(env[JOB_ENV.videoId]);
  const result: TranscodeResult = {
    ok: false,
    jobName: env[JOB_ENV.jobName] ?? '',
    videoId: Number.isSafeInteger(videoId) ? videoId : 0,
    step: 'queued',
    error: { step: 'queued', code: 'VCS_ERR_BAD_JOB', message, permanent: true },
    timings: {},
  };
  const text = serializeResult(result);
  await writeResult(env[JOB_ENV.resultPath] || DEFAULT_RESULT_PATH, text, log);
  stdout(`${text}\n`);
}

export async function runTranscoder(
  cmd: TranscodeCommand,
  settings: Settings,
  env: Env,
  log: Logger,
  stdout: (text: string) => void,
): Promise<number> {
  let job: JobSpec;
  let allowLocal = settings.ALLOW_LOCAL_SOURCES;
  if (cmd.source || cmd.output) {
    if (!cmd.source || !cmd.output) {
      log.error('vcs transcode needs both --source and --output (or the VCS_* job environment)');
      return EXIT.permanent;
    }
    job = jobFromCommandLine({ ...cmd, source: cmd.source, output: cmd.output }, settings, env);
    allowLocal = true;
    const published = await publishedPackage(job.outputDir);
    if (published) {
      const which = { output: job.outputDir, publishedVideo: published.videoId, publishedBy: published.jobName, publishedAt: published.createdAt };
      if (!cmd.force) {
        const again = published.videoId ? `; to have the service encode video ${published.videoId} again, run vcs retry ${published.videoId}` : '';
        log.error(which, `${job.outputDir} already holds a published HLS package: a service may be serving it and its store describes it${again}; pass --force to replace it anyway`);
        return EXIT.permanent;
      }
      log.warn(which, 'replacing the published package (--force): a store that describes it is not updated');
    }
  } else {
    const parsed = parseJobEnvironment(env);
    if ('problems' in parsed) {
      log.error({ problems: parsed.problems }, 'no job: pass --source and --output, or the job contract environment');
      await reportBadJob(env, parsed.problems, log, stdout);
      return EXIT.permanent;
    }
    job = parsed;
  }

  const controller = new AbortController();
  const stop = (why: string) => () => {
    if (controller.signal.aborted) return;
    log.warn({ why }, 'stopping: cancelling FFmpeg and cleaning up');
    controller.abort(vcsError('VCS_ERR_CANCELLED', `transcode cancelled (${why})`));
  };
  const onTerm = stop('SIGTERM');
  const onInt = stop('SIGINT');
  const onDisconnect = stop('parent process gone');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  // A local run has an IPC channel to the service; if the service dies, so does this run.
  process.on('disconnect', onDisconnect);

  const jobLog = log.child({ job: job.jobName, videoId: job.videoId });
  const progress = createProgressSink({ jobName: job.jobName, videoId: job.videoId, url: job.progressUrl, token: job.progressToken, log: jobLog });
  const state = new RunState(Date.now);
  const started = Date.now();
  /** A phase that does not end the run (docs/adr/0022) writes its own small result. */
  let result: TranscodeResult | PhaseResult;
  try {
    checkWorkDir(job);
    const deps: TranscodeDeps = {
      ffmpeg: settings.FFMPEG_PATH,
      ffprobe: settings.FFPROBE_PATH,
      fetch: {
        maxBytes: settings.MAX_SOURCE_BYTES,
        timeoutMs: settings.DOWNLOAD_TIMEOUT,
        idleTimeoutMs: settings.DOWNLOAD_IDLE_TIMEOUT,
        maxRedirects: settings.MAX_REDIRECTS,
        allowPrivate: settings.ALLOW_PRIVATE_SOURCES,
      },
      allowLocalSources: allowLocal,
      log: jobLog,
      progress,
      signal: controller.signal,
    };
    const ids = { jobName: job.jobName, videoId: job.videoId };
    let output: TranscodeOutput | undefined;
    let phaseDone: PhaseResult | undefined;
    if (job.phase === 'prepare') {
      const outcome = await runPrepare(job, deps, state);
      if (outcome.kind === 'published') output = outcome.output;
      else phaseDone = { ok: true, ...ids, phase: 'prepare', chunks: outcome.chunks, timings: state.timings };
    } else if (job.phase === 'encode') {
      await runChunk(job, deps, state, job.chunkIndex!);
      phaseDone = { ok: true, ...ids, phase: 'encode', chunk: job.chunkIndex!, timings: state.timings };
    } else if (job.phase === 'assemble') {
      output = await runAssemble(job, deps, state);
    } else {
      output = await transcode(job, deps, state);
    }
    state.timings.total = (Date.now() - started) / 1000;
    if (output) {
      result = { ok: true, ...ids, step: 'completed', output, timings: state.timings };
      jobLog.info({ totalBytes: output.totalBytes, seconds: state.timings.total }, 'package published');
    } else {
      result = phaseDone!;
      jobLog.info({ phase: job.phase, seconds: state.timings.total }, `${job.phase} phase done`);
    }
  } catch (thrown) {
    const err: VcsError = controller.signal.aborted ? asVcsError(controller.signal.reason) : asVcsError(thrown);
    state.timings.total = (Date.now() - started) / 1000;
    result = {
      ok: false,
      jobName: job.jobName,
      videoId: job.videoId,
      step: state.step,
      error: { step: state.step, code: err.code, message: err.message, permanent: err.permanent },
      timings: state.timings,
    };
    const level = err.code === 'VCS_ERR_INTERNAL' ? 'error' : 'warn';
    jobLog[level]({ code: err.code, step: state.step, err: level === 'error' ? thrown : undefined }, `transcode failed: ${err.message}`);
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('disconnect', onDisconnect);
  }
  await progress.flush();
  const text = 'phase' in result ? JSON.stringify(result) : serializeResult(result);
  await writeResult(job.resultPath, text, jobLog);
  stdout(`${text}\n`);
  if (result.ok) return EXIT.ok;
  if (result.error.code === 'VCS_ERR_CANCELLED') return EXIT.cancelled;
  return result.error.permanent ? EXIT.permanent : EXIT.retryable;
}
