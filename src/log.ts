/**
 * pino loggers. Structured JSON lines; secrets are redacted by path as a second line of defence
 * (the code never logs them on purpose).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type DestinationStream } from 'pino';
import { SECRET_SETTINGS, type Settings } from './config.ts';

export type { Logger };

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
