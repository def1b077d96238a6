/**
 * Running ffmpeg/ffprobe: no shell, stdin closed, a lower CPU priority, the tail of stderr kept
 * for the error message, and prompt termination when the run is cancelled (SIGTERM, then SIGKILL
 * after a grace period).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { vcsError } from '../src/errors.ts';

export interface RunOptions {
  signal?: AbortSignal;
  /** Called for each line of stdout (ffmpeg's -progress output). */
  onLine?: (line: string) => void;
  collectStdout?: boolean;
  /** Encodes yield the CPU to the API and the controller on a shared machine. */
  nice?: number;
  killGraceMs?: number;
  /** Working folder: lets arguments name the run's own files by short relative paths. */
  cwd?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const STDERR_TAIL = 16 * 1024;

export function runProcess(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason ?? new Error('aborted'));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (opts.collectStdout) stdout += chunk;
      if (!opts.onLine) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) opts.onLine(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 5000);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('spawn', () => {
      if (opts.nice && child.pid) {
        try {
          os.setPriority(child.pid, opts.nice);
        } catch {
          // Not permitted in some containers; the encode runs at normal priority then.
        }
      }
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT') reject(vcsError('VCS_ERR_FFMPEG_MISSING', `${bin} not found; install FFmpeg 5 or newer or set FFMPEG_PATH`));
      else reject(err);
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (pending && opts.onLine) opts.onLine(pending);
      if (opts.signal?.aborted) return reject(opts.signal.reason ?? new Error('aborted'));
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The last few meaningful lines of ffmpeg's stderr, for an error message. */
export function stderrSummary(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' | ')
    .slice(0, 600);
}

/**
 * Pure: why a run of `bin` failed, for the error message. A signal here came from outside (a
 * cancelled run rejects instead of returning a result), and SIGKILL is most often the kernel's OOM
 * killer, which leaves nothing on stderr. An empty stderr is said so, never left as a bare ": ".
 */
export function describeFailure(bin: string, result: Pick<RunResult, 'code' | 'signal' | 'stderr'>): string {
  const name = path.basename(bin);
  const summary = stderrSummary(result.stderr);
  const detail = summary ? `: ${summary}` : '';
  if (result.signal === 'SIGKILL') return `${name} was killed by SIGKILL (out of memory? the machine or container may need more memory)${detail}`;
  if (result.signal) return `${name} was killed by ${result.signal}${detail}`;
  return `${name} failed (exit ${result.code})${detail || ' with no error output'}`;
}

/**
 * Throws a retryable VCS_ERR_FFMPEG_FAILED when the process was killed by a signal from outside
 * (the out-of-memory killer, an operator): that says nothing about the source, so it must never
 * be read as "the source is unreadable" (permanent). Our own cancellation never gets here
 * (runProcess rejects with the cancellation instead).
 */
export function throwIfKilled(bin: string, result: Pick<RunResult, 'code' | 'signal' | 'stderr'>): void {
  if (result.signal) throw vcsError('VCS_ERR_FFMPEG_FAILED', describeFailure(bin, result));
}

/** ffmpeg's -progress key=value lines → seconds of output written (or null for other keys). */
export function progressSeconds(line: string): number | null {
  const m = /^out_time_(us|ms)=(\d+)$/.exec(line.trim());
  // out_time_ms is in microseconds as well (a long-standing ffmpeg quirk).
  return m ? Number(m[2]) / 1e6 : null;
}
