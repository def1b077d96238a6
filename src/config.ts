/**
 * The one module that reads the environment. Every setting is declared once in `SETTINGS`
 * (name, default, parser, one-line description); `loadConfig()` validates them all and throws a
 * single `ConfigError` that names every bad variable and what was expected. `.env.example` and the
 * README's configuration table are checked against this table by test/config.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string, env: Env) => T;

interface Setting<T> {
  /** Default as written in .env.example; `undefined` means "unset". */
  default: string | undefined;
  parse: Parser<T>;
  description: string;
  /** Settings whose default is derived from other settings say so in .env.example. */
  derivedDefault?: (env: Env) => string | undefined;
}

class Invalid extends Error {}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Invalid(`an integer ${min}–${max}`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Invalid(`an integer ${min}–${max}`);
    return n;
  };

const boolean: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new Invalid('true or false');
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!values.includes(v)) throw new Invalid(`one of ${values.join(', ')}`);
    return v;
  };

const text: Parser<string> = (raw) => raw.trim();

const optionalText: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());

const absoluteOrRelativePath: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Invalid('a path');
  return path.resolve(raw.trim());
};

const httpUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Invalid('an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Invalid('an absolute http(s) URL');
  return url.href.replace(/\/+$/, '');
};

const optionalHttpUrl: Parser<string | undefined> = (raw, env) => (raw.trim() === '' ? undefined : httpUrl(raw, env));

/** "5000k", "5M" or "5000000" → bits per second. */
export function parseBitrate(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(raw);
  if (!m) throw new Invalid('a bit rate such as 5000k, 5M or 5000000');
  const factor = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1_000 : 1_000_000;
  const bps = Math.round(Number(m[1]) * factor);
  if (bps < 16_000 || bps > 200_000_000) throw new Invalid('a bit rate between 16k and 200M');
  return bps;
}

const bitrate: Parser<number> = (raw) => parseBitrate(raw);

/** Comma-separated list; empty → []. */
const list =
  (item: (v: string) => string): Parser<string[]> =>
  (raw) =>
    raw
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
      .map(item);

const sha256Hex = (v: string): string => {
  if (!/^[0-9a-f]{64}$/i.test(v)) throw new Invalid('comma-separated SHA-256 hashes (64 hex characters each; see vcs apikey generate)');
  return v.toLowerCase();
};

const hostName = (v: string): string => {
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(v)) throw new Invalid('comma-separated host names such as example.com,www.example.com');
  return v.toLowerCase();
};

const urlPath: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^\/[A-Za-z0-9/_-]*$/.test(v)) throw new Invalid('a URL path starting with /');
  return v.replace(/\/+$/, '') || '/';
};

const s = <T>(setting: Setting<T>): Setting<T> => setting;

/**
 * Every setting. Order and grouping are those of the original plan's .env, then this service's
 * additions. The keys are the environment variable names.
 */
export const SETTINGS = {
  // Appwrite connection
  APPWRITE_ENDPOINT: s({ default: undefined, parse: optionalHttpUrl, description: 'Appwrite API endpoint, e.g. https://appwrite.example.com/v1 (STORE=appwrite)' }),
  APPWRITE_PROJECT_ID: s({ default: undefined, parse: optionalText, description: 'Appwrite project id (STORE=appwrite)' }),
  APPWRITE_API_KEY: s({ default: undefined, parse: optionalText, description: 'Appwrite API key with databases read/write (STORE=appwrite); never logged' }),
  DATABASE_ID: s({ default: 'video_compression', parse: text, description: 'Appwrite database id' }),
  COLLECTION_ID: s({ default: 'posts', parse: text, description: 'Appwrite collection (table) id holding one document per video' }),

  // Server
  PORT: s({ default: '3000', parse: integer(1, 65535), description: 'HTTP port of the service (API, health, metrics, HLS files)' }),
  NODE_ENV: s({ default: 'production', parse: oneOf('production', 'development', 'test'), description: 'production, development or test' }),
  PUBLIC_URL: s({
    default: undefined,
    derivedDefault: (env) => `http://localhost:${env.PORT ?? '3000'}`,
    parse: httpUrl,
    description: 'Base URL players use to reach the service (or its CDN); playback URLs are built from it',
  }),

  // Storage
  STORAGE_PATH: s({ default: '/var/www/video-compression/storage', parse: absoluteOrRelativePath, description: 'Root of the storage volume (SQLite file, temp and HLS folders)' }),
  TEMP_PATH: s({
    default: undefined,
    derivedDefault: (env) => path.join(env.STORAGE_PATH ?? '/var/www/video-compression/storage', 'temp'),
    parse: absoluteOrRelativePath,
    description: 'Downloads and staging folders; must be on the same filesystem as HLS_PATH',
  }),
  HLS_PATH: s({
    default: undefined,
    derivedDefault: (env) => path.join(env.STORAGE_PATH ?? '/var/www/video-compression/storage', 'hls'),
    parse: absoluteOrRelativePath,
    description: 'Published HLS packages, one folder per wp_post_id',
  }),

  // Worker
  WORKER_INTERVAL: s({ default: '120000', parse: integer(100, 86_400_000), description: 'Milliseconds between controller passes' }),
  MAX_CONCURRENT_JOBS: s({ default: '1', parse: integer(1, 1000), description: 'Videos encoded at the same time across the service' }),
  RETRY_FAILED_AFTER: s({ default: '3600000', parse: integer(0, 2_592_000_000), description: 'Milliseconds before a retryable failure is queued again' }),
  MAX_RETRIES: s({ default: '3', parse: integer(0, 100), description: 'Automatic retries of a retryable failure before it stays failed' }),
  PROCESSING_TIMEOUT: s({ default: '7200000', parse: integer(60_000, 604_800_000), description: 'Milliseconds a video may stay in processing before it is stopped and failed' }),

  // FFmpeg
  FFMPEG_PATH: s({ default: '/usr/bin/ffmpeg', parse: text, description: 'ffmpeg binary (5.0 or newer, with libx264)' }),
  FFPROBE_PATH: s({
    default: undefined,
    derivedDefault: (env) => path.join(path.dirname(env.FFMPEG_PATH ?? '/usr/bin/ffmpeg'), 'ffprobe'),
    parse: text,
    description: 'ffprobe binary',
  }),
  SEGMENT_DURATION: s({ default: '10', parse: integer(2, 30), description: 'HLS segment length in seconds; a multiple of KEYFRAME_INTERVAL' }),
  KEYFRAME_INTERVAL: s({ default: '2', parse: integer(1, 10), description: 'Seconds between keyframes, identical in every rendition' }),
  VIDEO_PRESET: s({
    default: 'fast',
    parse: oneOf('ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'),
    description: 'libx264 preset',
  }),
  MAX_FRAME_RATE: s({ default: '60', parse: integer(1, 120), description: 'Output frame rate cap; slower sources keep their rate' }),
  HIGH_QUALITY_CRF: s({ default: '23', parse: integer(0, 51), description: 'CRF of the high rendition (lower is better)' }),
  MEDIUM_QUALITY_CRF: s({ default: '28', parse: integer(0, 51), description: 'CRF of the medium rendition' }),
  LOW_QUALITY_CRF: s({ default: '32', parse: integer(0, 51), description: 'CRF of the low rendition' }),
  HIGH_RESOLUTION: s({ default: '1080', parse: integer(144, 4320), description: 'Height (short side for portrait) of the high rendition; never upscaled' }),
  MEDIUM_RESOLUTION: s({ default: '480', parse: integer(144, 4320), description: 'Height of the medium rendition' }),
  LOW_RESOLUTION: s({ default: '360', parse: integer(144, 4320), description: 'Height of the low rendition' }),
  HIGH_BITRATE: s({ default: '5000k', parse: bitrate, description: 'Video bit rate cap of the high rendition (-maxrate)' }),
  MEDIUM_BITRATE: s({ default: '2500k', parse: bitrate, description: 'Video bit rate cap of the medium rendition' }),
  LOW_BITRATE: s({ default: '1000k', parse: bitrate, description: 'Video bit rate cap of the low rendition' }),
  AUDIO_BITRATE: s({ default: '128k', parse: bitrate, description: 'AAC stereo bit rate of every rendition' }),
  POSTER_MAX_WIDTH: s({ default: '1280', parse: integer(16, 7680), description: 'Poster width limit (aspect ratio kept, never upscaled)' }),
  POSTER_MAX_HEIGHT: s({ default: '720', parse: integer(16, 4320), description: 'Poster height limit' }),
  POSTER_QUALITY: s({ default: '85', parse: integer(1, 100), description: 'Poster JPEG quality, 1–100' }),

  // Sources
  MAX_SOURCE_BYTES: s({ default: '10737418240', parse: integer(1, Number.MAX_SAFE_INTEGER), description: 'Largest accepted upload in bytes (10 GiB)' }),
  DOWNLOAD_TIMEOUT: s({ default: '3600000', parse: integer(1000, 86_400_000), description: 'Milliseconds a whole download may take' }),
  MAX_REDIRECTS: s({ default: '5', parse: integer(0, 20), description: 'Redirects followed when fetching a source' }),
  ALLOW_LOCAL_SOURCES: s({ default: 'false', parse: boolean, description: 'Accept local file paths as sources (always allowed on the vcs transcode command line)' }),
  ALLOW_PRIVATE_SOURCES: s({ default: 'false', parse: boolean, description: 'Accept URLs that resolve to loopback, private, link-local or metadata addresses' }),

  // Cleanup
  AUTO_CLEANUP_ENABLED: s({ default: 'true', parse: boolean, description: 'Hourly removal of stale temp files' }),
  CLEANUP_TEMP_AFTER: s({ default: '3600000', parse: integer(60_000, 2_592_000_000), description: 'Milliseconds after which a temp file counts as stale' }),
  DELETE_OLD_VIDEOS_AFTER: s({ default: '90', parse: integer(0, 36_500), description: 'Days after which published videos are removed by cleanup; 0 keeps them forever' }),

  // API security
  API_KEY: s({ default: undefined, parse: optionalText, description: 'API key for write calls; hashed at start and never logged' }),
  API_KEY_HASHES: s({ default: '', parse: list(sha256Hex), description: 'More accepted keys, as SHA-256 hex hashes, comma-separated (for rotation; vcs apikey generate prints one)' }),
  REQUIRE_AUTH_FOR_READS: s({ default: 'false', parse: boolean, description: 'Also require the API key for GET /api/post/:id and GET /api/stats' }),
  TRUST_PROXY: s({ default: 'false', parse: boolean, description: 'Take the client address from X-Forwarded-For (behind an ingress or reverse proxy)' }),
  HLS_RATE_LIMIT: s({ default: '100', parse: integer(0, 1_000_000), description: 'HLS file requests per minute per client address; 0 turns the limit off (e.g. behind a CDN)' }),
  DASHBOARD_RATE_LIMIT: s({ default: '1000', parse: integer(0, 1_000_000), description: 'Dashboard requests per hour per client address; 0 turns the limit off' }),
  ALLOWED_REFERERS: s({ default: '', parse: list(hostName), description: 'Hotlink protection: hosts allowed in the Referer of HLS requests, comma-separated; empty allows all' }),
  RATE_LIMIT_WINDOW: s({ default: '900000', parse: integer(1000, 86_400_000), description: 'API rate limit window in milliseconds' }),
  RATE_LIMIT_MAX_REQUESTS: s({ default: '100', parse: integer(1, 1_000_000), description: 'API requests per window per client' }),

  // Monitoring
  ENABLE_LOGGING: s({ default: 'true', parse: boolean, description: 'false silences the logs' }),
  LOG_LEVEL: s({ default: 'info', parse: oneOf('debug', 'info', 'warn', 'error', 'fatal'), description: 'debug, info, warn, error or fatal' }),
  SENTRY_DSN: s({ default: undefined, parse: optionalText, description: 'Optional error tracking DSN (reserved; not used yet)' }),

  // Admin dashboard
  ADMIN_ENABLED: s({ default: 'true', parse: boolean, description: 'Serve the admin dashboard' }),
  ADMIN_PATH: s({ default: '/admin', parse: urlPath, description: 'URL path of the admin dashboard' }),

  // Shapes of the service
  STORE: s({ default: 'sqlite', parse: oneOf('sqlite'), description: 'Job store: sqlite (the embedded file STORAGE_PATH/vcs.sqlite; the Appwrite store is not built yet)' }),
  RUNNER: s({ default: 'local', parse: oneOf('local'), description: 'Where encodes run: local child processes (the Kubernetes runner is not built yet)' }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type Parsed<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]['parse']>;
export type Settings = { readonly [K in SettingName]: Parsed<K> };

/** The default of a setting as documented: literal, derived from other settings, or unset. */
export function defaultOf(name: SettingName, env: Env = {}): string | undefined {
  const setting: Setting<unknown> = SETTINGS[name];
  return setting.derivedDefault ? setting.derivedDefault(env) : setting.default;
}

/** Pure: validates `env` and returns every setting, or throws one ConfigError naming each bad variable. */
export function loadConfig(env: Env): Settings {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const setting: Setting<unknown> = SETTINGS[name];
    const given = env[name];
    const raw = given !== undefined && given !== '' ? given : defaultOf(name, env);
    if (raw === undefined) {
      out[name] = undefined;
      continue;
    }
    try {
      out[name] = setting.parse(raw, env);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      problems.push(`${name} must be ${err.message}, got ${JSON.stringify(raw)}`);
    }
  }
  if (problems.length === 0) problems.push(...crossChecks(out as Settings));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Settings;
}

function crossChecks(c: Settings): string[] {
  const problems: string[] = [];
  if (c.SEGMENT_DURATION % c.KEYFRAME_INTERVAL !== 0) {
    problems.push(
      `SEGMENT_DURATION must be a multiple of KEYFRAME_INTERVAL (${c.KEYFRAME_INTERVAL}) so every segment starts on a keyframe, got ${c.SEGMENT_DURATION}`,
    );
  }
  if (!(c.HIGH_RESOLUTION > c.MEDIUM_RESOLUTION && c.MEDIUM_RESOLUTION > c.LOW_RESOLUTION)) {
    problems.push(
      `HIGH_RESOLUTION > MEDIUM_RESOLUTION > LOW_RESOLUTION is expected, got ${c.HIGH_RESOLUTION}, ${c.MEDIUM_RESOLUTION}, ${c.LOW_RESOLUTION}`,
    );
  }
  return problems;
}

/**
 * The process environment merged over `.env` in the working directory (the real environment wins,
 * as with dotenv). The only place `process.env` is read.
 */
export function readEnvironment(cwd = process.cwd()): Env {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(path.join(cwd, '.env'), 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { ...fromFile, ...process.env };
}

/** Variables a child process inherits (PATH, HOME, locale…), without the service's own secrets. */
export function inheritedEnvironment(env: Env): Record<string, string> {
  const secret = /^(APPWRITE_API_KEY|API_KEY|API_KEY_HASHES|SENTRY_DSN)$/;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !secret.test(k)) out[k] = v;
  return out;
}
