/**
 * The local runner: each run is a child process (`vcs transcode` with the job contract's
 * environment). A small record file per run (pid, video, result path) lets a restarted service tell
 * what became of runs started before it died:
 * - the child has an IPC channel to the service; when the service dies the child gets
 *   `disconnect`, stops FFmpeg and cleans up (transcoder/main.ts), so no orphan keeps encoding;
 * - a run that finished while the service was down reports its result (a completed package is not
 *   encoded again); one that was cut short by the service's death, or whose process is simply gone,
 *   is reported `lost`, and the controller runs it again as a new attempt. A lost run's work folder
 *   (its download and staging, possibly gigabytes) is removed here: when the whole process group
 *   was killed (systemd, a container runtime, the OOM killer), the transcoder could not do it.
 *   A run the service stopped while shutting down gracefully is marked so in its record before the
 *   SIGTERM, and comes back `interrupted` (its restart is not counted as a retry).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jobEnvironment, type JobSpec, type TranscodeResult } from '../contract.ts';
import { eachLine, type Logger } from '../log.ts';
import { removeWorkFolder } from '../volume/cleanup.ts';
import type { RunPhase, Runner, RunStatus } from './runner.ts';

export interface LocalRunnerOptions {
  /** How to start the transcoder: the program and its arguments before the job environment. */
  command: { bin: string; args: string[] };
  /** Environment every child inherits (PATH, settings), without secrets. */
  baseEnv: Record<string, string>;
  /** Where run records and result files live (TEMP_PATH/runs). */
  runsDir: string;
  /** MAX_CONCURRENT_JOBS: a start beyond it is refused (the controller never asks for one). */
  maxRunning: number;
  log: Logger;
  /** Receives each line the child logs (its pino JSON on stderr). */
  childLog?: (line: string) => void;
  now?: () => number;
}

interface RunRecord {
  jobName: string;
  videoId: number;
  pid: number;
  startedAt: number;
  resultPath: string;
  workDir: string;
  /** Set when this service stopped the run because it was shutting down gracefully. */
  shutdown?: boolean;
}

interface LocalRun extends RunStatus {
  record: RunRecord;
  child?: ChildProcess;
  /** Resolves when the child process has exited (set for runs this process started). */
  exited?: Promise<void>;
  stopping?: string;
}

/** Only this service's own cancellation code; any other failure is a real outcome. */
const INTERRUPTED = 'VCS_ERR_CANCELLED';

export function createLocalRunner(opts: LocalRunnerOptions): Runner & { recover(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const runs = new Map<string, LocalRun>();
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  const recordPath = (name: string) => path.join(opts.runsDir, `${name}.run.json`);

  async function readResult(file: string): Promise<TranscodeResult | undefined> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as TranscodeResult;
    } catch {
      return undefined;
    }
  }

  async function finish(run: LocalRun, exitCode: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const result = await readResult(run.record.resultPath);
    run.exitCode = exitCode;
    run.finishedAt = now();
    run.result = result;
    run.child = undefined;
    const phase: RunPhase = result?.ok && exitCode === 0 ? 'succeeded' : 'failed';
    run.phase = phase;
    if (phase === 'failed' && !result) run.reason = signal ? `transcoder killed by ${signal}` : `transcoder exited with code ${exitCode}`;
    opts.log.info({ job: run.jobName, videoId: run.videoId, phase, exitCode, stopped: run.stopping }, 'run finished');
    changed();
  }

  function forwardLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    // Always drain the pipe: a child blocks on a full stderr pipe nobody reads.
    if (!opts.childLog) return void stream.resume();
    eachLine(stream, opts.childLog);
  }

  return {
    async start(job: JobSpec) {
      if (runs.has(job.jobName)) return;
      const busy = [...runs.values()].filter((r) => r.phase === 'running' && !r.stopping).length;
      if (busy >= opts.maxRunning) throw new Error(`refusing to start ${job.jobName}: ${busy} runs already in flight (MAX_CONCURRENT_JOBS=${opts.maxRunning})`);
      // Reserved before the first await, so concurrent starts of one name spawn one process.
      const record: RunRecord = { jobName: job.jobName, videoId: job.videoId, pid: -1, startedAt: now(), resultPath: job.resultPath, workDir: job.workDir };
      const run: LocalRun = { jobName: job.jobName, videoId: job.videoId, phase: 'running', startedAt: record.startedAt, record };
      runs.set(job.jobName, run);
      try {
        await mkdir(opts.runsDir, { recursive: true });
        await rm(job.resultPath, { force: true });
      } catch (err) {
        runs.delete(job.jobName);
        throw err;
      }
      const child = spawn(opts.command.bin, opts.command.args, {
        env: { ...opts.baseEnv, ...jobEnvironment(job) },
        // The IPC channel is the child's lifeline: it stops when the service goes away.
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      record.pid = child.pid ?? -1;
      run.child = child;
      run.exited = new Promise((resolve) => child.once('exit', () => resolve()));
      forwardLines(child.stderr);
      child.on('error', (err) => opts.log.error({ job: job.jobName, err: err.message }, 'transcoder could not start'));
      child.on('exit', (code, signal) => void finish(run, code, signal));
      await writeFile(recordPath(job.jobName), JSON.stringify(record));
      opts.log.info({ job: job.jobName, videoId: job.videoId, pid: record.pid }, 'run started');
    },

    async list() {
      return [...runs.values()].map(({ record: _r, child: _c, stopping: _s, ...status }) => status);
    },

    async stop(jobName, reason) {
      const run = runs.get(jobName);
      if (!run || run.phase !== 'running' || run.stopping) return;
      run.stopping = reason;
      opts.log.info({ job: jobName, reason }, 'stopping run');
      if (run.child) run.child.kill('SIGTERM');
      else if (isAlive(run.record)) process.kill(run.record.pid, 'SIGTERM');
    },

    async forget(jobName) {
      const run = runs.get(jobName);
      if (run?.phase === 'running') return;
      runs.delete(jobName);
      await rm(recordPath(jobName), { force: true });
      if (run) await rm(run.record.resultPath, { force: true });
    },

    onChange(listener) {
      listeners.push(listener);
    },

    /** Reads the records a previous process left and reports what became of those runs. */
    async recover() {
      const names = await readdir(opts.runsDir).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith('.run.json'))) {
        let record: RunRecord;
        try {
          record = JSON.parse(await readFile(path.join(opts.runsDir, name), 'utf8')) as RunRecord;
        } catch {
          await rm(path.join(opts.runsDir, name), { force: true });
          continue;
        }
        if (runs.has(record.jobName)) continue;
        const run: LocalRun = { jobName: record.jobName, videoId: record.videoId, phase: 'running', startedAt: record.startedAt, record };
        runs.set(record.jobName, run);
        void settleRecovered(run);
      }
    },

    async close() {
      const live = [...runs.values()].filter((r) => r.child && r.exited);
      // Recorded first: if this process dies before its children do, the next start still knows.
      await Promise.all(live.map((r) => writeFile(recordPath(r.jobName), JSON.stringify({ ...r.record, shutdown: true })).catch(() => undefined)));
      for (const r of live) r.child!.kill('SIGTERM');
      await Promise.all(live.map((r) => r.exited));
    },
  };

  /** A run from before a restart: wait for its process to end, then read what it left. */
  async function settleRecovered(run: LocalRun): Promise<void> {
    while (isAlive(run.record)) await new Promise((r) => setTimeout(r, 200));
    const result = await readResult(run.record.resultPath);
    run.result = result;
    run.finishedAt = now();
    if (result?.ok) run.phase = 'succeeded';
    else if (result && result.error.code !== INTERRUPTED) run.phase = 'failed';
    else {
      run.phase = 'lost';
      run.interrupted = run.record.shutdown === true;
      run.reason = run.interrupted ? 'the service was shut down while this run was in progress' : 'the run died with the service (killed, out of memory, power loss)';
      // Records from before this field existed name no work folder; the start-up sweep finds those.
      if (run.record.workDir) {
        const freed = await removeWorkFolder(run.record.workDir);
        if (freed > 0) opts.log.info({ job: run.jobName, bytesFreed: freed }, 'work folder of a lost run removed');
      }
    }
    opts.log.info({ job: run.jobName, videoId: run.videoId, phase: run.phase, reason: run.reason }, 'run from before the restart settled');
    changed();
  }
}

/** Is the record's process still this run's transcoder (not a recycled pid)? */
function isAlive(record: RunRecord): boolean {
  if (record.pid <= 0) return false;
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the run's own environment names its job; a recycled pid will not.
    const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8');
    return environ.split('\0').includes(`VCS_JOB_NAME=${record.jobName}`);
  } catch {
    return true;
  }
}
