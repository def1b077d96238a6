/**
 * What the runner and controller tests share around test/support/fake-transcoder.mjs: the command
 * that starts it, its environment, its event log, and polling with deadlines (never fixed sleeps).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Ladder } from '../../src/contract.ts';
import type { Logger } from '../../src/log.ts';

export const FAKE_TRANSCODER = fileURLToPath(new URL('./fake-transcoder.mjs', import.meta.url));

/** How a runner starts the fake: `node fake-transcoder.mjs`. */
export const FAKE_COMMAND = { bin: process.execPath, args: [FAKE_TRANSCODER] };

export type FakeBehaviour = 'succeed' | 'fail-permanent' | 'fail-retryable' | 'hang' | 'crash';

export interface FakeOptions {
  delayMs?: number;
  renditions?: string[];
  /** A file the work waits for (FAKE_WAIT_FOR): the run finishes only once the test creates it. */
  gate?: string;
  /** The event log file (FAKE_LOG). */
  log?: string;
}

/** The runner's baseEnv for a fake run. */
export function fakeEnv(behaviour: FakeBehaviour, opts: FakeOptions = {}): Record<string, string> {
  const env: Record<string, string> = { FAKE_BEHAVIOUR: behaviour, FAKE_DELAY_MS: String(opts.delayMs ?? 0) };
  if (opts.renditions) env.FAKE_RENDITIONS = opts.renditions.join(',');
  if (opts.log) env.FAKE_LOG = opts.log;
  if (opts.gate) env.FAKE_WAIT_FOR = opts.gate;
  return env;
}

export interface FakeEvent {
  event: 'start' | 'sigterm' | 'disconnect' | 'exit';
  job: string;
  videoId: number;
  pid: number;
  at: number;
  code?: number;
  behaviour?: string;
}

/** Every event the fakes appended to `file`, in order (none when the file does not exist yet). */
export async function readEvents(file: string): Promise<FakeEvent[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FakeEvent);
}

/** A ladder for job specs; the fake only checks that VCS_LADDER is set. */
export const TEST_LADDER: Ladder = {
  renditions: [
    { name: 'high', height: 720, crf: 23, maxBitrate: 3_000_000 },
    { name: 'medium', height: 480, crf: 26, maxBitrate: 1_500_000 },
    { name: 'low', height: 360, crf: 28, maxBitrate: 800_000 },
  ],
  segmentSeconds: 10,
  keyframeSeconds: 2,
  preset: 'veryfast',
  maxFrameRate: 30,
  deinterlaceOutput: 'frame',
  audioBitrate: 128_000,
  poster: { maxWidth: 1280, maxHeight: 720, quality: 85 },
};

export const silentLog = (): Logger => pino({ level: 'silent' });

/**
 * Polls `probe` until it returns something other than undefined/false, and returns that; throws
 * naming `what` after `timeoutMs`. `between` runs before each retry (e.g. a controller poke).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; everyMs?: number; between?: () => void } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? 20));
    opts.between?.();
  }
}

/**
 * Whether the process `pid` has ended. A process whose parent died is re-parented to PID 1, which
 * in some containers never reaps it: a zombie counts as ended (it runs no code).
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
