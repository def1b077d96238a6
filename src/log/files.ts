/**
 * LOG_DIR: the original plan's five log files, each line routed by what logged it (`routeLine`),
 * rotated and gzipped by rotating-file-stream — daily and kept 30 days, audit.log weekly and
 * kept 12 weeks. A rotated file is named for the start of its period (`worker-20251022.log.gz`).
 *
 * One process writes a LOG_DIR: rotation renames the files, and two processes rotating the same
 * file would lose lines. So the processes of our own that a service starts never open these
 * files: a transcoder child logs JSON on stderr and a gateway worker on stdout, and the parent
 * routes their lines here (`Logging.forward`, src/log.ts).
 */
import { createStream, type Options, type RotatingFileStream } from 'rotating-file-stream';

export type LogFile = 'worker' | 'compression' | 'error' | 'access' | 'audit';

/** How each file is rotated and how many rotated files are kept (the plan's "Log Rotation"). */
export const ROTATION: Record<LogFile, { interval: string; maxFiles: number }> = {
  // Controller and runner events: videos picked, runs started and finished, cleanups.
  worker: { interval: '1d', maxFiles: 30 },
  // What transcoder runs log: download, probe, each FFmpeg encode and its warnings, the self-check.
  compression: { interval: '1d', maxFiles: 30 },
  // Every line at error or fatal, whatever logged it, with its stack.
  error: { interval: '1d', maxFiles: 30 },
  // One line per HTTP request (src/http/error-handler.ts): method, path (never the query), status, time, client.
  access: { interval: '1d', maxFiles: 30 },
  // Admin actions from the dashboard; weekly, kept 12 weeks.
  audit: { interval: '7d', maxFiles: 12 },
};

export const LOG_FILES = Object.keys(ROTATION) as LogFile[];

/** Lines that say which file they belong to, beside the level; the rest are the worker's. */
export type Channel = 'access' | 'audit';

/** pino's error level: these lines also go to error.log. */
const ERROR_LEVEL = 50;

/** Pure: the files a parsed line goes to. */
export function routeLine(line: { level?: unknown; name?: unknown; channel?: unknown }): LogFile[] {
  const home: LogFile = line.channel === 'access' ? 'access' : line.channel === 'audit' ? 'audit' : line.name === 'transcoder' ? 'compression' : 'worker';
  return Number(line.level) >= ERROR_LEVEL ? [home, 'error'] : [home];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** rotating-file-stream's name generator: `name.log` while written, `name-YYYYMMDD[-n].log.gz` once rotated and gzipped. */
export const rotatedName =
  (file: LogFile) =>
  (time: number | Date | null, index?: number): string => {
    if (!time) return `${file}.log`;
    const d = new Date(time);
    const day = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
    // With a generator, rotating-file-stream compresses into exactly this name (it adds no .gz).
    return `${file}-${day}${index && index > 1 ? `-${index}` : ''}.log.gz`;
  };

export interface LogFiles {
  write(file: LogFile, text: string): void;
  /** Ends every file (what is buffered is written) and resolves once they are closed. */
  close(): Promise<void>;
  /** The streams, for tests that watch rotation. */
  streams: Record<LogFile, RotatingFileStream>;
}

/**
 * Opens the five files in `dir` (made if missing). `override` changes the rotation of all five
 * (tests rotate by size instead of waiting a day).
 */
export function openLogFiles(dir: string, override: Partial<Pick<Options, 'size' | 'interval' | 'maxFiles'>> = {}): LogFiles {
  const streams = Object.fromEntries(
    LOG_FILES.map((file) => {
      // An override of `undefined` drops the setting (rotating-file-stream refuses undefined values).
      const rotation = Object.fromEntries(Object.entries({ ...ROTATION[file], ...override }).filter(([, v]) => v !== undefined));
      const stream = createStream(rotatedName(file), {
        path: dir,
        ...rotation,
        // Periods start at local midnight, and the rotated file is named for that day; a week runs
        // from the midnight the process started. At a start, a file last written in an earlier
        // period is rotated first, so a restart never mixes days (a weekly file restarts then too).
        intervalBoundary: true,
        initialRotation: true,
        compress: 'gzip',
        history: `.${file}.log.history`,
      });
      // A full disk or a removed folder must not stop the service; the lines still reach stdout.
      stream.on('error', () => undefined);
      stream.on('warning', () => undefined);
      return [file, stream];
    }),
  ) as Record<LogFile, RotatingFileStream>;
  return {
    streams,
    write(file, text) {
      streams[file].write(text);
    },
    close: () => Promise.all(LOG_FILES.map((f) => new Promise<void>((resolve) => (streams[f].writableFinished ? resolve() : streams[f].end(resolve))))).then(() => undefined),
  };
}
