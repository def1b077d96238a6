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

/** A Kubernetes object name (DNS-1123 label). */
const dnsLabel: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) || v.length > 63) throw new Invalid('a lowercase DNS-1123 name (a-z, 0-9, -; at most 63 characters)');
  return v;
};
const optionalDnsLabel: Parser<string | undefined> = (raw, env) => (raw.trim() === '' ? undefined : dnsLabel(raw, env));

/** A Kubernetes resource quantity ("500m", "2", "4Gi"); empty or "none" → unset. */
const optionalQuantity: Parser<string | undefined> = (raw) => {
  const v = raw.trim();
  if (v === '' || v === 'none') return undefined;
  if (!/^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(v)) throw new Invalid('a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi (or none)');
  return v;
};

/** "workload=ffmpeg,disk=ssd" → { workload: 'ffmpeg', disk: 'ssd' }. */
const labelMap: Parser<Record<string, string>> = (raw) => {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(pair);
    if (!m) throw new Invalid('comma-separated label pairs such as workload=ffmpeg,disk=ssd');
    out[m[1]!] = m[2]!;
  }
  return out;
};

/** JSON of a given shape (Kubernetes tolerations, affinity); empty → `empty`. */
const json =
  <T>(what: string, empty: T, check: (v: unknown) => boolean): Parser<T> =>
  (raw) => {
    if (raw.trim() === '') return empty;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new Invalid(`${what} as JSON`);
    }
    if (!check(v)) throw new Invalid(`${what} as JSON`);
    return v as T;
  };
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TOLERATION_KEYS = new Set(['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
const AFFINITY_KEYS = new Set(['nodeAffinity', 'podAffinity', 'podAntiAffinity']);

/** Case-sensitive choice (Kubernetes enums such as IfNotPresent). */
const exactly =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new Invalid(`one of ${values.join(', ')}`);
    return v;
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
  APPWRITE_API: s({ default: 'auto', parse: oneOf('auto', 'tablesdb', 'databases'), description: 'Appwrite API family: tablesdb (server 1.8 or later), databases (older servers), or auto: ask the server' }),
  APPWRITE_TIMEOUT: s({ default: '10000', parse: integer(100, 300_000), description: 'Milliseconds one Appwrite request may take before it counts as failed (and is tried again)' }),
  APPWRITE_RETRIES: s({ default: '4', parse: integer(0, 20), description: 'Retries of an Appwrite request that failed transiently (5xx, timeout, connection reset), with exponential backoff and jitter' }),

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
  DEINTERLACE_OUTPUT: s({
    default: 'frame',
    parse: oneOf('frame', 'field'),
    description: 'Interlaced sources: frame keeps the frame rate (50i becomes 25p); field gives a picture per field (50i becomes 50p) when that stays within MAX_FRAME_RATE',
  }),
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
  GATEWAY_WORKERS: s({ default: '1', parse: integer(0, 64), description: 'Processes of vcs gateway behind one port (node:cluster); 0 means one per CPU' }),
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
  STORE: s({ default: 'sqlite', parse: oneOf('sqlite', 'appwrite'), description: 'Job store: sqlite (the embedded file STORAGE_PATH/vcs.sqlite) or appwrite (the publisher’s documents; run vcs appwrite setup once)' }),
  RUNNER: s({ default: 'local', parse: oneOf('local', 'kubernetes'), description: 'Where encodes run: local child processes (vcs serve), or kubernetes: one batch/v1 Job per video (vcs controller)' }),

  // Kubernetes (RUNNER=kubernetes, vcs controller)
  KUBECONFIG: s({ default: undefined, parse: optionalText, description: 'Kubeconfig file of the cluster; unset: the in-cluster service account (or ~/.kube/config)' }),
  KUBE_NAMESPACE: s({ default: undefined, parse: optionalDnsLabel, description: 'Namespace of the transcoder Jobs; unset: the kubeconfig context’s (in a pod: its own) namespace' }),
  KUBE_INSTANCE: s({ default: 'vcs', parse: dnsLabel, description: 'app.kubernetes.io/instance label of the Jobs (the release); the controller only sees Jobs of its own instance' }),
  CONTROLLER_PORT: s({ default: '3001', parse: integer(1, 65535), description: 'vcs controller: HTTP port of /healthz, /metrics and the transcoders’ progress reports' }),
  CONTROLLER_URL: s({
    default: undefined,
    derivedDefault: (env) => `http://vcs-controller:${env.CONTROLLER_PORT ?? '3001'}`,
    parse: httpUrl,
    description: 'URL at which transcoder pods reach the controller’s port (a Service in front of the controllers) to report progress',
  }),
  PROGRESS_SECRET: s({
    default: undefined,
    parse: optionalText,
    description: 'vcs controller: secret the progress tokens are derived from, shared by all replicas; unset: random per process (after a restart or a leader change, running Jobs’ progress is refused until they end; their results are still read)',
  }),
  TRANSCODER_IMAGE: s({ default: 'vcs-transcoder:latest', parse: text, description: 'Image of the transcoder Job pods (runs `vcs transcode`)' }),
  TRANSCODER_IMAGE_PULL_POLICY: s({ default: 'IfNotPresent', parse: exactly('IfNotPresent', 'Always', 'Never'), description: 'imagePullPolicy of the transcoder container' }),
  TRANSCODER_SERVICE_ACCOUNT: s({ default: undefined, parse: optionalDnsLabel, description: 'ServiceAccount of the transcoder pods (its token is never mounted); unset: the namespace default' }),
  TRANSCODER_PVC: s({ default: 'vcs-media', parse: dnsLabel, description: 'PersistentVolumeClaim (ReadWriteMany, shared with the gateway) mounted at STORAGE_PATH in every transcoder pod' }),
  TRANSCODER_CPU_REQUEST: s({ default: '2', parse: optionalQuantity, description: 'CPU request of a transcoder pod; none: no request' }),
  TRANSCODER_MEMORY_REQUEST: s({ default: '2Gi', parse: optionalQuantity, description: 'Memory request of a transcoder pod; none: no request' }),
  TRANSCODER_CPU_LIMIT: s({ default: '', parse: optionalQuantity, description: 'CPU limit of a transcoder pod; empty or none: no limit (FFmpeg uses what the node has)' }),
  TRANSCODER_MEMORY_LIMIT: s({ default: '4Gi', parse: optionalQuantity, description: 'Memory limit of a transcoder pod; none: no limit' }),
  TRANSCODER_TMP_SIZE: s({ default: '1Gi', parse: optionalQuantity, description: 'sizeLimit of the emptyDir at /tmp (the root filesystem is read-only; staging is on the volume); none: no limit' }),
  TRANSCODER_NODE_SELECTOR: s({ default: '', parse: labelMap, description: 'nodeSelector of the transcoder pods, e.g. workload=ffmpeg (FFmpeg nodes); empty: any node' }),
  TRANSCODER_TOLERATIONS: s({
    default: '',
    parse: json<Record<string, unknown>[]>('an array of tolerations', [], (v) => Array.isArray(v) && v.every((t) => isPlainObject(t) && Object.keys(t).every((k) => TOLERATION_KEYS.has(k)))),
    description: 'Tolerations of the transcoder pods as JSON, e.g. [{"key":"dedicated","operator":"Equal","value":"ffmpeg","effect":"NoSchedule"}]',
  }),
  TRANSCODER_AFFINITY: s({
    default: '',
    parse: json<Record<string, unknown> | undefined>('an affinity object (nodeAffinity, podAffinity, podAntiAffinity)', undefined, (v) => isPlainObject(v) && Object.keys(v).every((k) => AFFINITY_KEYS.has(k))),
    description: 'Affinity of the transcoder pods as JSON; empty: none',
  }),
  TRANSCODER_RUN_AS_USER: s({ default: '10001', parse: integer(1, 2_147_483_647), description: 'Non-root uid (and gid, fsGroup) of the transcoder pods; must be able to write the volume' }),
  JOB_BACKOFF_LIMIT: s({ default: '2', parse: integer(0, 100), description: 'Retries of a Job’s retryable pod failures (exit codes other than 0 and 2; disruptions are not counted)' }),
  JOB_ACTIVE_DEADLINE_SECONDS: s({
    default: undefined,
    derivedDefault: (env) => String(Math.ceil(Number(env.PROCESSING_TIMEOUT ?? '7200000') / 1000) || 7200),
    parse: integer(60, 604_800),
    description: 'Wall-clock seconds a Job may run, retries included; the Job then fails with DeadlineExceeded',
  }),
  JOB_TTL_SECONDS_AFTER_FINISHED: s({ default: '3600', parse: integer(0, 2_592_000), description: 'Seconds a finished Job (and its pods, logs) is kept before Kubernetes removes it' }),
  LEADER_ELECTION_LEASE_NAME: s({ default: 'vcs-controller-leader', parse: dnsLabel, description: 'coordination.k8s.io/v1 Lease the controllers elect their leader on' }),
  LEADER_ELECTION_NAMESPACE: s({ default: undefined, parse: optionalDnsLabel, description: 'Namespace of the Lease; unset: KUBE_NAMESPACE' }),
  LEADER_ELECTION_IDENTITY: s({ default: undefined, parse: optionalText, description: 'This controller’s name in the Lease; unset: host name (the pod name) plus a random suffix' }),
  LEADER_ELECTION_LEASE_DURATION: s({ default: '15000', parse: integer(1000, 600_000), description: 'Milliseconds a standby waits after the Lease last changed before it takes over' }),
  LEADER_ELECTION_RENEW_DEADLINE: s({ default: '10000', parse: integer(500, 600_000), description: 'Milliseconds the leader may fail to renew before it stops at once; less than the lease duration' }),
  LEADER_ELECTION_RETRY_PERIOD: s({ default: '2000', parse: integer(100, 60_000), description: 'Milliseconds between Lease renewals and acquisition attempts' }),
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
  if (c.RUNNER === 'kubernetes') problems.push(...kubernetesChecks(c));
  if (c.STORE === 'appwrite') problems.push(...appwriteChecks(c));
  return problems;
}

/** The Appwrite store needs the connection; node-appwrite's endpoint includes the API version. */
function appwriteChecks(c: Settings): string[] {
  const missing = (['APPWRITE_ENDPOINT', 'APPWRITE_PROJECT_ID', 'APPWRITE_API_KEY'] as const).filter((name) => c[name] === undefined);
  if (missing.length) return [`STORE=appwrite needs ${missing.join(', ')}`];
  if (!/\/v1$/.test(c.APPWRITE_ENDPOINT!)) return [`APPWRITE_ENDPOINT must end in /v1 (the API version), got ${JSON.stringify(c.APPWRITE_ENDPOINT)}`];
  return [];
}

/** Transcoder pods see only the volume mounted at STORAGE_PATH; a lease must outlive its renewals. */
function kubernetesChecks(c: Settings): string[] {
  const problems: string[] = [];
  for (const name of ['HLS_PATH', 'TEMP_PATH'] as const) {
    if (!c[name].startsWith(c.STORAGE_PATH + path.sep)) problems.push(`${name} must be inside STORAGE_PATH (${c.STORAGE_PATH}), the volume the transcoder pods mount, got ${c[name]}`);
  }
  const { LEADER_ELECTION_LEASE_DURATION: lease, LEADER_ELECTION_RENEW_DEADLINE: renew, LEADER_ELECTION_RETRY_PERIOD: retry } = c;
  if (!(lease > renew && renew > retry)) {
    problems.push(`LEADER_ELECTION_LEASE_DURATION > LEADER_ELECTION_RENEW_DEADLINE > LEADER_ELECTION_RETRY_PERIOD is expected (a leader stops before a standby may take over), got ${lease}, ${renew}, ${retry}`);
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

/**
 * Variables a child process inherits (PATH, HOME, locale…), without the service's own secrets
 * and without the store's settings: a transcoder never talks to the store (DESIGN 2), and
 * STORE=appwrite without its key would not even validate there.
 */
export function inheritedEnvironment(env: Env): Record<string, string> {
  const secret = /^(APPWRITE_API_KEY|API_KEY|API_KEY_HASHES|SENTRY_DSN|PROGRESS_SECRET)$/;
  const store = /^(STORE|APPWRITE_\w+)$/;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !secret.test(k) && !store.test(k)) out[k] = v;
  return out;
}
