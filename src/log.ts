/**
 * pino loggers. Structured JSON lines; secrets are redacted by path as a second line of defence
 * (the code never logs them on purpose).
 *
 * Where the lines go (`createLogging`): stdout, as JSON or as the readable lines (LOG_FORMAT);
 * with LOG_DIR also the five files (src/log/files.ts); with SENTRY_DSN, errors to Sentry
 * (src/log/sentry.ts). A process started by another of ours — a transcoder run, a gateway
 * worker — is a `child`: it writes JSON only, and its parent reads the lines and `forward`s them
 * to its own outputs, so one process owns a LOG_DIR.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type DestinationStream } from 'pino';
import { SECRET_SETTINGS, type Settings } from './config.ts';
import type { Process } from './config/settings.ts';
import type { LogFiles } from './log/files.ts';
import type { ErrorReporter } from './log/sentry.ts';

export type { Logger, ErrorReporter };

/**
 * Every secret setting wherever a settings object or an environment is logged, plus the request
 * and job fields that carry credentials.
 */
export const REDACT_PATHS = [
  'apiKey',
  'token',
  'progressToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  // The job contract's progress token (src/contract.ts JOB_ENV.progressToken, a layer above this one).
  'env.VCS_PROGRESS_TOKEN',
  ...SECRET_SETTINGS.flatMap((name) => [name, `env.${name}`, `settings.${name}`]),
];

/** A run's own log file is kept to this size (the start and the end of a failure fit). */
export const RUN_LOG_MAX_BYTES = 256 * 1024;

/**
 * Appends every line to `file` (its folder made) until it holds `maxBytes`, then one line saying
 * the rest was left out. Synchronous: a run logs little, and a crash must not lose the last lines.
 * A file that cannot be written is given up on silently (the lines still reach stderr).
 */
export function appendingFile(file: string, maxBytes = RUN_LOG_MAX_BYTES): DestinationStream {
  let fd: number | null = null;
  let written = 0;
  let full = false;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    fd = openSync(file, 'a');
  } catch {
    fd = null;
  }
  return {
    write(line: string) {
      if (fd === null || full) return;
      try {
        const bytes = Buffer.byteLength(line);
        if (written + bytes > maxBytes) {
          full = true;
          writeSync(fd, `${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: `log truncated at ${maxBytes} bytes` })}\n`);
          closeSync(fd);
          fd = null;
          return;
        }
        writeSync(fd, line);
        written += bytes;
      } catch {
        fd = null;
      }
    },
  };
}

export function createLogger(
  settings: Pick<Settings, 'LOG_LEVEL' | 'ENABLE_LOGGING'>,
  options: { name?: string; destination?: DestinationStream | number; copyTo?: DestinationStream } = {},
): Logger {
  const primary = typeof options.destination === 'number' ? quiet(pino.destination({ fd: options.destination, sync: true })) : options.destination;
  const main = primary ?? quiet(pino.destination({ fd: 1, sync: false }));
  const level = settings.ENABLE_LOGGING ? settings.LOG_LEVEL : 'silent';
  const destination = options.copyTo ? pino.multistream([{ stream: main, level: 'trace' }, { stream: options.copyTo, level: 'trace' }]) : main;
  return pino(
    {
      name: options.name ?? 'vcs',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    destination,
  );
}

/**
 * When the reader of our output is gone (a transcoder whose service was killed), writes fail with
 * EPIPE; the logs are lost but the process must go on to stop FFmpeg and clean up.
 */
function quiet<T extends { on(event: 'error', fn: (err: Error) => void): unknown }>(stream: T): T {
  stream.on('error', () => undefined);
  return stream;
}

export interface Logging {
  log: Logger;
  /**
   * A line another process of ours wrote (a transcoder run, a gateway worker): to this process's
   * stdout and files. Not to Sentry: a process with the DSN reports its own errors, and a
   * transcoder's failure reaches Sentry as its failed video. `origin` names a line that is not JSON.
   */
  forward(line: string, origin?: string): void;
  /** True when children's lines need this process (files or readable lines); else children may write to stdout themselves. */
  collects: boolean;
  /** Errors and failed videos to Sentry, when SENTRY_DSN is set. */
  reporter?: ErrorReporter;
  /** Writes what is buffered (stdout, files, Sentry) before an exit. */
  close(): Promise<void>;
}

type LogFormat = Settings['LOG_FORMAT'];

/** Pure: the format of the stdout lines — `auto` is readable for a person at a terminal, JSON for a pipe or a container. */
export const stdoutFormat = (format: LogFormat, isTTY: boolean): 'json' | 'pretty' => (format === 'auto' ? (isTTY ? 'pretty' : 'json') : format);

/** Pure: the format of the LOG_DIR files — read by people (tail, less) unless JSON was asked for. */
export const fileFormat = (format: LogFormat): 'json' | 'pretty' => (format === 'json' ? 'json' : 'pretty');

/** The longest a stopping process waits for its log files and Sentry. */
const CLOSE_WAIT_MS = 3000;

/** pino's error level: these lines go to Sentry. */
const ERROR_LEVEL = 50;

export interface LoggingOptions {
  /** The process, for Sentry's `process` tag. */
  program: Process;
  /** `child`: JSON only, no files (the parent routes the lines). Defaults to `main`. */
  role?: 'main' | 'child';
  /** 1 (stdout, the default), 2 (a transcoder: stdout carries its result), or a test's file. */
  fd?: number;
  /** Whether `fd` is a terminal; defaults to asking it. */
  isTTY?: boolean;
  name?: string;
  copyTo?: DestinationStream;
  /** Tests: rotation of the LOG_DIR files by size or a short interval. */
  rotation?: Parameters<typeof import('./log/files.ts').openLogFiles>[1];
}

/** The logger of a process and where its lines go (see the header). */
export async function createLogging(
  settings: Pick<Settings, 'LOG_LEVEL' | 'ENABLE_LOGGING' | 'LOG_FORMAT' | 'LOG_DIR' | 'SENTRY_DSN'> & Partial<Settings>,
  opts: LoggingOptions,
): Promise<Logging> {
  const fd = opts.fd ?? 1;
  // stdout buffered, as before; stderr (a transcoder) synchronous, so a crash loses no line.
  const out = quiet(pino.destination({ fd, sync: fd !== 1 }));
  const child = opts.role === 'child';
  const isTTY = opts.isTTY ?? (fd === 1 ? process.stdout.isTTY : fd === 2 ? process.stderr.isTTY : false) === true;
  const reporter = settings.SENTRY_DSN ? await (await import('./log/sentry.ts')).startErrorReporter(settings as Settings, opts.program) : undefined;
  const useFiles = !child && settings.ENABLE_LOGGING && settings.LOG_DIR !== undefined;
  const files: LogFiles | undefined = useFiles ? (await import('./log/files.ts')).openLogFiles(settings.LOG_DIR!, opts.rotation) : undefined;
  const pretty = !child && stdoutFormat(settings.LOG_FORMAT, isTTY) === 'pretty';
  const { prettyLines } = pretty || (files && fileFormat(settings.LOG_FORMAT) === 'pretty') ? await import('./log/pretty.ts') : { prettyLines: undefined };
  const toStdout = pretty ? prettyLines!(isTTY) : undefined;
  const toFile = files && fileFormat(settings.LOG_FORMAT) === 'pretty' ? prettyLines!(false) : undefined;
  const route = files ? (await import('./log/files.ts')).routeLine : undefined;

  /** One line, own or a child's, to stdout and the files; own errors to Sentry. */
  const deliver = (text: string, own: boolean, origin = 'vcs') => {
    let line = text.endsWith('\n') ? text : `${text}\n`;
    if (!toStdout && !files && !(own && reporter) && line.startsWith('{')) return void out.write(line);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // A child's line that is not ours (a crash trace): kept, as a warning of that child.
      parsed = { level: 40, time: new Date().toISOString(), name: origin, msg: line.trimEnd() };
      line = `${JSON.stringify(parsed)}\n`;
    }
    out.write(toStdout ? toStdout(parsed) : line);
    if (files) for (const file of route!(parsed)) files.write(file, toFile ? toFile(parsed) : line);
    if (own && reporter && Number(parsed.level) >= ERROR_LEVEL) reporter.logged(parsed);
  };
  const destination: DestinationStream = { write: (text: string) => deliver(text, true) };
  const log = createLogger(settings, { name: opts.name, destination: child && !reporter ? out : destination, ...(opts.copyTo ? { copyTo: opts.copyTo } : {}) });
  return {
    log,
    forward: (text, origin) => deliver(text, false, origin),
    collects: Boolean(files || pretty),
    reporter,
    async close() {
      // Bounded: a full disk or an unreachable Sentry must not keep a stopping process alive.
      await Promise.race([Promise.all([files?.close(), reporter?.flush(CLOSE_WAIT_MS)]), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
      try {
        out.flushSync();
      } catch {
        // stdout gone (EPIPE) or still opening: nothing more can be written there.
      }
    },
  };
}

/** Calls `onLine` with each complete line of a child's output stream (always draining it). */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
}
