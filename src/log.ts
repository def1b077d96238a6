/**
 * pino loggers. Structured JSON lines; secrets are redacted by path as a second line of defence
 * (the code never logs them on purpose).
 */
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

export function createLogger(
  settings: Pick<Settings, 'LOG_LEVEL' | 'ENABLE_LOGGING'>,
  options: { name?: string; destination?: DestinationStream | number } = {},
): Logger {
  const destination = typeof options.destination === 'number' ? quiet(pino.destination({ fd: options.destination, sync: true })) : options.destination;
  return pino(
    {
      name: options.name ?? 'vcs',
      level: settings.ENABLE_LOGGING ? settings.LOG_LEVEL : 'silent',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    destination ?? quiet(pino.destination({ fd: 1, sync: false })),
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
