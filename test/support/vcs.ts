/** Runs the real `vcs` command as a child process, as a user or a runner would. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const VCS_BIN = path.join(ROOT, 'bin/vcs.ts');
/** `node` and its arguments that run the `vcs` sources through tsx (found from here, whatever the working folder). */
export const VCS = [process.execPath, '--import', import.meta.resolve('tsx'), VCS_BIN] as const;

export interface VcsRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runVcs(args: string[], env: Record<string, string> = {}, opts: { cwd?: string; onSpawn?: (pid: number) => void; /** A daemon that starts instead of failing is stopped (SIGTERM) after this. */ timeoutMs?: number } = {}): Promise<VcsRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(VCS[0], [...VCS.slice(1), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    if (child.pid && opts.onSpawn) opts.onSpawn(child.pid);
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The result JSON a transcode prints on stdout. */
export function resultOf(run: VcsRun): any {
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`no result JSON (exit ${run.code}); stderr:\n${run.stderr.slice(-2000)}`);
  }
}

export interface VcsDaemon {
  child: import('node:child_process').ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A long-running `vcs <command>` (serve, controller, gateway) with its output collected.
 * `group`: it leads a process group of its own, which its children join, so a test can kill the
 * whole group at once as systemd, a container runtime or the OOM killer of a cgroup would.
 */
export function spawnVcs(command: string, env: Record<string, string>, opts: { group?: boolean } = {}): VcsDaemon {
  const child = spawn(VCS[0], [...VCS.slice(1), command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.group ?? false,
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}
