/**
 * Every setting, declared once: its default, parser and description, and what the rest of the
 * service derives from it — which processes read it (`usedBy`), whether it is a secret (hidden by
 * `vcs config`, redacted in logs, never passed to a child process or a Job), whether it travels to
 * the transcoder in its environment (`transcoder`), and whether anything reads it yet
 * (`notUsedYet`). `.env.example` and the README's settings table are rendered from this table
 * (src/reference.ts). The keys are the environment variable names.
 */
import path from 'node:path';
import {
  absoluteOrRelativePath,
  bitrate,
  boolean,
  dnsLabel,
  exactly,
  hostName,
  httpUrl,
  integer,
  Invalid,
  isPlainObject,
  json,
  labelMap,
  list,
  listenAddress,
  oneOf,
  optionalDnsLabel,
  optionalHttpUrl,
  optionalQuantity,
  optionalText,
  sha256Hex,
  shortDnsLabel,
  text,
  urlPath,
  type Env,
  type Parser,
} from './parsers.ts';

/**
 * The processes of the service: `vcs serve`, `vcs controller`, `vcs gateway`, a transcoder run, and
 * `cli`: the everyday commands (`vcs enqueue`, `status`, `list`…), clients of a running service's API.
 */
export type Process = 'serve' | 'controller' | 'gateway' | 'transcoder' | 'cli';

export interface Setting<T> {
  /** Default as written in .env.example; `undefined` means "unset" (or derived, see `derived`). */
  default: string | undefined;
  /** A default computed from other settings, with how the documentation shows it. */
  derived?: { text: string; value: (env: Env) => string | undefined };
  parse: Parser<T>;
  /** One line for .env.example, the README and `vcs config`. */
  description: string;
  /** The processes that read it. */
  usedBy: readonly Process[];
  /** Never shown, logged or passed on to another process. */
  secret?: true;
  /**
   * Passed in the environment of transcoder runs: `everywhere` (local children and Job pods) or
   * `local` (children on this machine only, e.g. a path to this machine's FFmpeg; a pod's image
   * brings its own).
   */
  transcoder?: 'everywhere' | 'local';
  /** Declared because the original plan's .env has it, but nothing reads it yet: why, or which work will. */
  notUsedYet?: string;
  /** The value .env.example sets instead of the default, and why (e.g. a path in the clone). */
  example?: { value: string; why: string };
}

type Grouped<T> = { [K in keyof T]: T[K] & { group: string } };

/** A heading of .env.example and the README table for the settings that follow. */
function group<T extends Record<string, Setting<unknown>>>(title: string, settings: T): Grouped<T> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, { ...v, group: title }])) as Grouped<T>;
}

const s = <T>(setting: Setting<T>): Setting<T> => setting;

const PUBLIC_HTTP: Process[] = ['serve', 'gateway'];
const LOOP: Process[] = ['serve', 'controller'];
const STORE_USERS: Process[] = ['serve', 'controller', 'gateway'];
const EVERY: Process[] = ['serve', 'controller', 'gateway', 'transcoder'];
/** The ladder is built by the process that starts runs, and read by `vcs transcode --source …`. */
const LADDER: Process[] = ['serve', 'controller', 'transcoder'];
const KUBE: Process[] = ['controller'];

/** libx264's presets, fastest first (VIDEO_PRESET; the job contract's `Ladder.preset`). */
export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

const DEFAULT_STORAGE = '/var/www/video-compression/storage';
const storageOf = (env: Env) => env.STORAGE_PATH || DEFAULT_STORAGE;

const TOLERATION_KEYS = new Set(['key', 'operator', 'value', 'effect', 'tolerationSeconds']);
const AFFINITY_KEYS = new Set(['nodeAffinity', 'podAffinity', 'podAntiAffinity']);

/** Order and grouping are those of the original plan's .env, then this service's additions. */
export const SETTINGS = {
  ...group('Appwrite connection', {
    APPWRITE_ENDPOINT: s({ default: undefined, parse: optionalHttpUrl, usedBy: STORE_USERS, description: 'Appwrite API endpoint, e.g. https://appwrite.example.com/v1 (STORE=appwrite)' }),
    APPWRITE_PROJECT_ID: s({ default: undefined, parse: optionalText, usedBy: STORE_USERS, description: 'Appwrite project id (STORE=appwrite)' }),
    APPWRITE_API_KEY: s({ default: undefined, parse: optionalText, usedBy: STORE_USERS, secret: true, description: 'Appwrite API key with databases read/write (STORE=appwrite); never logged' }),
    DATABASE_ID: s({ default: 'video_compression', parse: text, usedBy: STORE_USERS, description: 'Appwrite database id' }),
    COLLECTION_ID: s({ default: 'posts', parse: text, usedBy: STORE_USERS, description: 'Appwrite collection (table) id holding one document per video' }),
    APPWRITE_API: s({ default: 'auto', parse: oneOf('auto', 'tablesdb', 'databases'), usedBy: STORE_USERS, description: 'Appwrite API family: tablesdb (server 1.8 or later), databases (older servers), or auto: ask the server' }),
    APPWRITE_TIMEOUT: s({ default: '10000', parse: integer(100, 300_000), usedBy: STORE_USERS, description: 'Milliseconds one Appwrite request may take before it counts as failed (and is tried again)' }),
    APPWRITE_RETRIES: s({ default: '4', parse: integer(0, 20), usedBy: STORE_USERS, description: 'Retries of an Appwrite request that failed transiently (5xx, timeout, connection reset), with exponential backoff and jitter' }),
  }),

  ...group('Server', {
    PORT: s({ default: '3000', parse: integer(1, 65535), usedBy: PUBLIC_HTTP, description: 'Public HTTP port: API, health, dashboard and HLS files' }),
    BIND_ADDRESS: s({ default: '0.0.0.0', parse: listenAddress, usedBy: PUBLIC_HTTP, description: 'Address PORT listens on: 0.0.0.0 (or ::) for every interface, 127.0.0.1 behind a reverse proxy on the same machine' }),
    INTERNAL_PORT: s({
      default: '3001',
      parse: integer(1, 65535),
      usedBy: ['serve', 'controller', 'gateway'],
      description: 'Internal HTTP port: /metrics, /healthz and, where the controller runs, the transcoders’ progress reports and pokes; never route it through the ingress',
    }),
    INTERNAL_BIND_ADDRESS: s({
      default: '127.0.0.1',
      parse: listenAddress,
      usedBy: ['serve', 'controller', 'gateway'],
      description: 'Address INTERNAL_PORT listens on: 127.0.0.1 keeps it on this machine; in a cluster 0.0.0.0, so Prometheus and the transcoder pods reach it',
    }),
    NODE_ENV: s({
      default: 'production',
      parse: oneOf('production', 'development', 'test'),
      usedBy: [],
      notUsedYet: 'the service behaves the same in every environment; kept because the original plan’s .env has it',
      description: 'production, development or test',
    }),
    PUBLIC_URL: s({
      default: undefined,
      derived: { text: 'http://localhost:$PORT', value: (env) => `http://localhost:${env.PORT || '3000'}` },
      parse: httpUrl,
      usedBy: LOOP,
      description: 'Base URL players use to reach the service (or its CDN); playback URLs are built from it',
    }),
    VCS_URL: s({
      default: undefined,
      // Derived only from a valid PORT: a bad one is reported once, under its own name.
      derived: { text: 'http://127.0.0.1:$PORT', value: (env) => (/^\d+$/.test(env.PORT || '3000') ? `http://127.0.0.1:${env.PORT || '3000'}` : undefined) },
      parse: httpUrl,
      usedBy: ['cli'],
      description: 'The running service the CLI commands (vcs enqueue, status, list, pause…) call, with API_KEY; they never write a store themselves',
    }),
  }),

  ...group('Storage', {
    STORAGE_PATH: s({
      default: DEFAULT_STORAGE,
      parse: absoluteOrRelativePath,
      usedBy: EVERY,
      description: 'Root of the storage volume (SQLite file, temp and HLS folders)',
      example: { value: './storage', why: 'a .env made from this file keeps everything in the clone, for the service and the vcs commands run there alike' },
    }),
    TEMP_PATH: s({
      default: undefined,
      derived: { text: '$STORAGE_PATH/temp', value: (env) => path.join(storageOf(env), 'temp') },
      parse: absoluteOrRelativePath,
      usedBy: EVERY,
      description: 'Downloads and staging folders; must be on the same filesystem as HLS_PATH',
    }),
    HLS_PATH: s({
      default: undefined,
      derived: { text: '$STORAGE_PATH/hls', value: (env) => path.join(storageOf(env), 'hls') },
      parse: absoluteOrRelativePath,
      usedBy: EVERY,
      description: 'Published HLS packages, one folder per wp_post_id',
    }),
  }),

  ...group('Worker', {
    WORKER_INTERVAL: s({ default: '120000', parse: integer(100, 86_400_000), usedBy: LOOP, description: 'Milliseconds between controller passes' }),
    MAX_CONCURRENT_JOBS: s({ default: '1', parse: integer(1, 1000), usedBy: LOOP, description: 'Videos encoded at the same time across the service' }),
    RETRY_FAILED_AFTER: s({ default: '3600000', parse: integer(0, 2_592_000_000), usedBy: LOOP, description: 'Milliseconds before a retryable failure is queued again' }),
    MAX_RETRIES: s({
      default: '3',
      parse: integer(0, 100),
      usedBy: LOOP,
      description: 'Automatic retries of a retryable failure before it stays failed; a run lost with its service or node counts as one',
    }),
    PROCESSING_TIMEOUT: s({
      default: '7200000',
      parse: integer(60_000, 604_800_000),
      usedBy: LOOP,
      description: 'Milliseconds a video may stay in processing (restarts of lost runs included) before it is stopped and failed',
    }),
  }),

  ...group('FFmpeg', {
    FFMPEG_PATH: s({ default: '/usr/bin/ffmpeg', parse: text, usedBy: EVERY, transcoder: 'local', description: 'ffmpeg binary (5.0 or newer, with libx264)' }),
    FFPROBE_PATH: s({
      default: undefined,
      derived: { text: '`ffprobe` beside `FFMPEG_PATH`', value: (env) => path.join(path.dirname(env.FFMPEG_PATH || '/usr/bin/ffmpeg'), 'ffprobe') },
      parse: text,
      usedBy: ['transcoder'],
      transcoder: 'local',
      description: 'ffprobe binary',
    }),
    SEGMENT_DURATION: s({ default: '10', parse: integer(2, 30), usedBy: LADDER, description: 'HLS segment length in seconds; a multiple of KEYFRAME_INTERVAL' }),
    KEYFRAME_INTERVAL: s({ default: '2', parse: integer(1, 10), usedBy: LADDER, description: 'Seconds between keyframes, identical in every rendition' }),
    VIDEO_PRESET: s({
      default: 'fast',
      parse: oneOf(...X264_PRESETS),
      usedBy: LADDER,
      description: 'libx264 preset',
    }),
    MAX_FRAME_RATE: s({ default: '60', parse: integer(1, 120), usedBy: LADDER, description: 'Output frame rate cap; slower sources keep their rate' }),
    DEINTERLACE_OUTPUT: s({
      default: 'frame',
      parse: oneOf('frame', 'field'),
      usedBy: LADDER,
      description: 'Interlaced sources: frame keeps the frame rate (50i becomes 25p); field gives a picture per field (50i becomes 50p) when that stays within MAX_FRAME_RATE',
    }),
    HIGH_QUALITY_CRF: s({ default: '23', parse: integer(0, 51), usedBy: LADDER, description: 'CRF of the high rendition (lower is better)' }),
    MEDIUM_QUALITY_CRF: s({ default: '28', parse: integer(0, 51), usedBy: LADDER, description: 'CRF of the medium rendition' }),
    LOW_QUALITY_CRF: s({ default: '32', parse: integer(0, 51), usedBy: LADDER, description: 'CRF of the low rendition' }),
    HIGH_RESOLUTION: s({ default: '1080', parse: integer(144, 4320), usedBy: LADDER, description: 'Height (short side for portrait) of the high rendition; never upscaled' }),
    MEDIUM_RESOLUTION: s({ default: '480', parse: integer(144, 4320), usedBy: LADDER, description: 'Height of the medium rendition' }),
    LOW_RESOLUTION: s({ default: '360', parse: integer(144, 4320), usedBy: LADDER, description: 'Height of the low rendition' }),
    HIGH_BITRATE: s({ default: '5000k', parse: bitrate, usedBy: LADDER, description: 'Video bit rate cap of the high rendition (-maxrate)' }),
    MEDIUM_BITRATE: s({ default: '2500k', parse: bitrate, usedBy: LADDER, description: 'Video bit rate cap of the medium rendition' }),
    LOW_BITRATE: s({ default: '1000k', parse: bitrate, usedBy: LADDER, description: 'Video bit rate cap of the low rendition' }),
    AUDIO_BITRATE: s({ default: '128k', parse: bitrate, usedBy: LADDER, description: 'AAC stereo bit rate of every rendition' }),
    POSTER_MAX_WIDTH: s({ default: '1280', parse: integer(16, 7680), usedBy: LADDER, description: 'Poster width limit (aspect ratio kept, never upscaled)' }),
    POSTER_MAX_HEIGHT: s({ default: '720', parse: integer(16, 4320), usedBy: LADDER, description: 'Poster height limit' }),
    POSTER_QUALITY: s({ default: '85', parse: integer(1, 100), usedBy: LADDER, description: 'Poster JPEG quality, 1–100' }),
    CHUNK_PARALLELISM: s({
      default: '1',
      parse: integer(1, 64),
      usedBy: LADDER,
      description:
        'Chunks of one video encoded at once: local FFmpeg processes (vcs serve), or pods of the video’s Indexed Job (Kubernetes: prepare Job, encode Job, assemble Job). 1 keeps every video in one process or pod (the right choice on a small machine: x264 already fills its cores). Above 1, sources of at least CHUNK_MIN_DURATION are encoded in CHUNK_DURATION pieces and stitched into one package',
    }),
    CHUNK_MIN_DURATION: s({ default: '600', parse: integer(0, 86_400), usedBy: LADDER, description: 'Seconds a source must last to be encoded in chunks (with CHUNK_PARALLELISM above 1)' }),
    CHUNK_DURATION: s({ default: '60', parse: integer(2, 86_400), usedBy: LADDER, description: 'Seconds of source per chunk; a multiple of SEGMENT_DURATION (checked when CHUNK_PARALLELISM is above 1), so every chunk boundary is a segment boundary' }),
  }),

  ...group('Sources', {
    MAX_SOURCE_BYTES: s({ default: '10737418240', parse: integer(1, Number.MAX_SAFE_INTEGER), usedBy: ['transcoder'], transcoder: 'everywhere', description: 'Largest accepted upload in bytes (10 GiB)' }),
    DOWNLOAD_TIMEOUT: s({
      default: '3600000',
      parse: integer(1000, 86_400_000),
      usedBy: ['transcoder'],
      transcoder: 'everywhere',
      description: 'Milliseconds a whole source fetch may take (HEAD check, redirects and download)',
    }),
    DOWNLOAD_IDLE_TIMEOUT: s({
      default: '60000',
      parse: integer(1000, 3_600_000),
      usedBy: ['transcoder'],
      transcoder: 'everywhere',
      description: 'Milliseconds a source connection may stay silent (no byte received) before the fetch fails',
    }),
    MAX_REDIRECTS: s({ default: '5', parse: integer(0, 20), usedBy: ['transcoder'], transcoder: 'everywhere', description: 'Redirects followed when fetching a source' }),
    ALLOW_LOCAL_SOURCES: s({
      default: 'false',
      parse: boolean,
      usedBy: ['serve', 'gateway', 'transcoder'],
      transcoder: 'everywhere',
      description: 'Accept local file paths as sources (always allowed on the vcs transcode command line)',
    }),
    ALLOW_PRIVATE_SOURCES: s({
      default: 'false',
      parse: boolean,
      usedBy: ['transcoder'],
      transcoder: 'everywhere',
      description: 'Accept URLs that resolve to addresses other than global unicast: loopback, private, link-local, metadata, reserved, or IPv6 forms that embed those',
    }),
  }),

  ...group('Cleanup', {
    AUTO_CLEANUP_ENABLED: s({ default: 'true', parse: boolean, usedBy: LOOP, description: 'Hourly removal of stale temp files' }),
    CLEANUP_TEMP_AFTER: s({ default: '3600000', parse: integer(60_000, 2_592_000_000), usedBy: STORE_USERS, description: 'Milliseconds after which a temp file counts as stale' }),
    DELETE_OLD_VIDEOS_AFTER: s({
      default: '0',
      parse: integer(0, 36_500),
      usedBy: LOOP,
      description:
        'Days after which completed videos are deleted by the daily cleanup (HLS folder and run logs removed, document marked deleted); 0 keeps them forever. Off by default: the plan calls this cleanup optional (its example value is 90)',
    }),
    KEEP_WATCHED_VIDEOS_DAYS: s({
      default: '0',
      parse: integer(0, 36_500),
      usedBy: LOOP,
      description:
        'The old-video cleanup keeps a video whose playlists a gateway served within this many days (last_accessed_at: requests that reach the gateway, so more than a CDN’s cache time); 0 deletes by age alone',
    }),
    CLEANUP_HOUR: s({ default: '3', parse: integer(0, 23), usedBy: LOOP, description: 'Hour of the day (the server’s time zone, TZ) at which the daily old-video cleanup runs' }),
  }),

  ...group('API security', {
    API_KEY: s({
      default: undefined,
      parse: optionalText,
      usedBy: [...PUBLIC_HTTP, 'cli'],
      secret: true,
      description: 'API key for write calls; hashed at start and never logged. The CLI commands send it to VCS_URL as their key',
    }),
    API_KEY_HASHES: s({
      default: '',
      parse: list(sha256Hex),
      usedBy: PUBLIC_HTTP,
      secret: true,
      description: 'More accepted keys, as SHA-256 hex hashes, comma-separated (for rotation; vcs apikey generate prints one)',
    }),
    REQUIRE_AUTH_FOR_READS: s({ default: 'false', parse: boolean, usedBy: PUBLIC_HTTP, description: 'Also require the API key for GET /api/post/:id, /api/stats and /api/worker' }),
    TRUST_PROXY: s({ default: 'false', parse: boolean, usedBy: PUBLIC_HTTP, description: 'Take the client address from X-Forwarded-For (behind an ingress or reverse proxy)' }),
    TRUSTED_PROXY_HOPS: s({
      default: '1',
      parse: integer(1, 10),
      usedBy: PUBLIC_HTTP,
      description: 'With TRUST_PROXY: proxies in front of the service that add to X-Forwarded-For (an ingress: 1; a CDN before the ingress: 2); the client address is read that many entries from the right, so a client cannot choose it',
    }),
    GATEWAY_WORKERS: s({ default: '1', parse: integer(0, 64), usedBy: ['gateway'], description: 'Processes of vcs gateway behind one port (node:cluster); 0 means one per CPU' }),
    HLS_RATE_LIMIT: s({ default: '100', parse: integer(0, 1_000_000), usedBy: PUBLIC_HTTP, description: 'HLS file requests per minute per client address; 0 turns the limit off (e.g. behind a CDN)' }),
    DASHBOARD_RATE_LIMIT: s({ default: '1000', parse: integer(0, 1_000_000), usedBy: PUBLIC_HTTP, description: 'Dashboard requests per hour per client address; 0 turns the limit off' }),
    ALLOWED_REFERERS: s({
      default: '',
      parse: list(hostName),
      usedBy: PUBLIC_HTTP,
      description: 'Hotlink protection: hosts allowed in the Referer of HLS requests, comma-separated; empty allows all',
    }),
    RATE_LIMIT_WINDOW: s({ default: '900000', parse: integer(1000, 86_400_000), usedBy: PUBLIC_HTTP, description: 'API rate limit window in milliseconds' }),
    RATE_LIMIT_MAX_REQUESTS: s({ default: '100', parse: integer(1, 1_000_000), usedBy: PUBLIC_HTTP, description: 'API requests per window per client' }),
  }),

  ...group('Monitoring', {
    ENABLE_LOGGING: s({ default: 'true', parse: boolean, usedBy: EVERY, transcoder: 'everywhere', description: 'false silences the logs' }),
    LOG_LEVEL: s({ default: 'info', parse: oneOf('debug', 'info', 'warn', 'error', 'fatal'), usedBy: EVERY, transcoder: 'everywhere', description: 'debug, info, warn, error or fatal' }),
    LOG_FORMAT: s({
      default: 'auto',
      parse: oneOf('auto', 'json', 'pretty'),
      usedBy: ['serve', 'controller', 'gateway'],
      description: 'json (one JSON object a line), pretty (the readable "[time] [LEVEL] [Part] message" lines, coloured on a terminal) or auto: pretty on a terminal and in LOG_DIR files, JSON on a pipe or in a container. A transcoder run always logs JSON (its parent reads it)',
    }),
    LOG_DIR: s({
      default: undefined,
      parse: (raw, env) => (raw.trim() === '' ? undefined : absoluteOrRelativePath(raw, env)),
      usedBy: ['serve', 'controller', 'gateway'],
      description: 'Also write worker.log, compression.log, error.log, access.log and audit.log here, rotated daily (audit.log weekly) and gzipped, kept 30 days (audit 12 weeks); one process per folder. Unset: stdout only',
    }),
    WEBHOOK_URLS: s({
      default: '',
      parse: list((v) => {
        if (!/^https?:\/\/[^\s,]+$/.test(v) || !URL.canParse(v)) throw new Invalid('comma-separated http(s) URLs');
        return v;
      }),
      usedBy: LOOP,
      secret: true,
      description: 'Webhooks told when a video completes or fails (WEBHOOK_EVENTS): Slack and Discord hook URLs get chat messages, any other URL the signed JSON event',
    }),
    WEBHOOK_EVENTS: s({ default: 'completed,failed', parse: list((v) => {
        if (!['started', 'completed', 'failed'].includes(v)) throw new Invalid('comma-separated events: started, completed, failed');
        return v;
      }), usedBy: LOOP, description: 'Which events the webhooks get: completed, failed, started' }),
    WEBHOOK_SECRET: s({ default: undefined, parse: optionalText, usedBy: LOOP, secret: true, description: 'Signs the JSON events (X-VCS-Signature: t=<unix>,v1=HMAC-SHA256 of "<t>.<body>"); unset: unsigned' }),
    PUBLISHER_CALLBACK_URL: s({
      default: undefined,
      parse: optionalHttpUrl,
      usedBy: LOOP,
      secret: true,
      description: 'Called (POST, the signed JSON event) when a video completes or fails, e.g. a WordPress REST endpoint, so the site need not poll',
    }),
    SENTRY_DSN: s({
      default: undefined,
      parse: optionalText,
      usedBy: EVERY,
      secret: true,
      description: 'Sentry DSN: errors and failed videos (tagged with the video id) go to Sentry, secrets scrubbed. A secret, so it never travels to transcoder runs: their failures reach Sentry as failed videos',
    }),
  }),

  ...group('Admin dashboard', {
    ADMIN_ENABLED: s({ default: 'true', parse: boolean, usedBy: PUBLIC_HTTP, description: 'Serve the admin dashboard under ADMIN_PATH (sign-in with an API key)' }),
    ADMIN_PATH: s({ default: '/admin', parse: urlPath, usedBy: PUBLIC_HTTP, description: 'URL path of the admin dashboard (rate-limited by DASHBOARD_RATE_LIMIT)' }),
    ADMIN_EMAILS: s({
      default: '',
      parse: list((v) => {
        if (!/^[^\s@,]+@[^\s@,]+$/.test(v)) throw new Invalid('comma-separated e-mail addresses such as admin@example.com');
        return v.toLowerCase();
      }),
      usedBy: PUBLIC_HTTP,
      description: 'STORE=appwrite: Google accounts (by e-mail) allowed into the admin dashboard, beside accounts labelled admin and members of ADMIN_TEAM_ID',
    }),
    ADMIN_TEAM_ID: s({ default: undefined, parse: optionalText, usedBy: PUBLIC_HTTP, description: 'STORE=appwrite: the Appwrite team whose confirmed members may use the admin dashboard' }),
    ADMIN_SESSION_SECRET: s({
      default: undefined,
      parse: optionalText,
      usedBy: PUBLIC_HTTP,
      secret: true,
      description: 'Secret the admin sessions (24 h cookies) are signed with, the same on every gateway replica; unset: random per process (a restart or another replica signs the admin out)',
    }),
  }),

  ...group('Shapes of the service', {
    STORE: s({
      default: 'sqlite',
      parse: oneOf('sqlite', 'appwrite'),
      usedBy: STORE_USERS,
      description: 'Job store: sqlite (the embedded file STORAGE_PATH/vcs.sqlite) or appwrite (the publisher’s documents; run vcs appwrite setup once)',
    }),
    RUNNER: s({
      default: 'local',
      parse: oneOf('local', 'kubernetes'),
      usedBy: LOOP,
      description: 'Where encodes run: local child processes (vcs serve), or kubernetes: one batch/v1 Job per video (vcs controller)',
    }),
  }),

  ...group('Kubernetes (RUNNER=kubernetes, vcs controller)', {
    KUBECONFIG: s({ default: undefined, parse: optionalText, usedBy: KUBE, description: 'Kubeconfig file of the cluster; unset: the in-cluster service account (or ~/.kube/config)' }),
    KUBE_NAMESPACE: s({ default: undefined, parse: optionalDnsLabel, usedBy: KUBE, description: 'Namespace of the transcoder Jobs; unset: the kubeconfig context’s (in a pod: its own) namespace' }),
    KUBE_INSTANCE: s({
      default: 'vcs',
      parse: shortDnsLabel(29),
      usedBy: KUBE,
      description: 'The installation (the Helm release): app.kubernetes.io/instance label of its Jobs and the prefix of their names (<instance>-<wp_post_id>-<attempt>); the controller only sees Jobs of its own instance. At most 29 characters',
    }),
    CONTROLLER_URL: s({
      default: undefined,
      derived: { text: 'http://vcs-controller:$INTERNAL_PORT', value: (env) => `http://vcs-controller:${env.INTERNAL_PORT || '3001'}` },
      parse: httpUrl,
      usedBy: KUBE,
      description: 'URL at which transcoder pods reach the controllers’ INTERNAL_PORT (a Service in front of them) to report progress',
    }),
    PROGRESS_SECRET: s({
      default: undefined,
      parse: optionalText,
      usedBy: KUBE,
      secret: true,
      description: 'vcs controller: secret the progress tokens are derived from, shared by all replicas; unset: random per process (after a restart or a leader change, running Jobs’ progress is refused until they end; their results are still read)',
    }),
    TRANSCODER_IMAGE: s({ default: 'vcs:latest', parse: text, usedBy: KUBE, description: 'Image of the transcoder Job pods: the service’s own image (its entrypoint runs `vcs`; the Job passes `transcode`)' }),
    TRANSCODER_IMAGE_PULL_POLICY: s({ default: 'IfNotPresent', parse: exactly('IfNotPresent', 'Always', 'Never'), usedBy: KUBE, description: 'imagePullPolicy of the transcoder container' }),
    TRANSCODER_SERVICE_ACCOUNT: s({ default: undefined, parse: optionalDnsLabel, usedBy: KUBE, description: 'ServiceAccount of the transcoder pods (its token is never mounted); unset: the namespace default' }),
    TRANSCODER_PVC: s({
      default: 'vcs-media',
      parse: dnsLabel,
      usedBy: KUBE,
      description: 'PersistentVolumeClaim (ReadWriteMany, shared with the gateway and the controller) mounted at STORAGE_PATH in every transcoder pod',
    }),
    TRANSCODER_CPU_REQUEST: s({ default: '2', parse: optionalQuantity, usedBy: KUBE, description: 'CPU request of a transcoder pod; none: no request' }),
    TRANSCODER_MEMORY_REQUEST: s({ default: '2Gi', parse: optionalQuantity, usedBy: KUBE, description: 'Memory request of a transcoder pod; none: no request' }),
    TRANSCODER_CPU_LIMIT: s({ default: '', parse: optionalQuantity, usedBy: KUBE, description: 'CPU limit of a transcoder pod; empty or none: no limit (FFmpeg uses what the node has)' }),
    TRANSCODER_MEMORY_LIMIT: s({ default: '4Gi', parse: optionalQuantity, usedBy: KUBE, description: 'Memory limit of a transcoder pod; none: no limit' }),
    TRANSCODER_TMP_SIZE: s({
      default: '1Gi',
      parse: optionalQuantity,
      usedBy: KUBE,
      description: 'sizeLimit of the emptyDir at /tmp (the root filesystem is read-only; staging is on the volume); none: no limit',
    }),
    TRANSCODER_NODE_SELECTOR: s({ default: '', parse: labelMap, usedBy: KUBE, description: 'nodeSelector of the transcoder pods, e.g. workload=ffmpeg (FFmpeg nodes); empty: any node' }),
    TRANSCODER_TOLERATIONS: s({
      default: '',
      parse: json<Record<string, unknown>[]>('an array of tolerations', [], (v) => Array.isArray(v) && v.every((t) => isPlainObject(t) && Object.keys(t).every((k) => TOLERATION_KEYS.has(k)))),
      usedBy: KUBE,
      description: 'Tolerations of the transcoder pods as JSON, e.g. [{"key":"dedicated","operator":"Equal","value":"ffmpeg","effect":"NoSchedule"}]',
    }),
    TRANSCODER_AFFINITY: s({
      default: '',
      parse: json<Record<string, unknown> | undefined>('an affinity object (nodeAffinity, podAffinity, podAntiAffinity)', undefined, (v) => isPlainObject(v) && Object.keys(v).every((k) => AFFINITY_KEYS.has(k))),
      usedBy: KUBE,
      description: 'Affinity of the transcoder pods as JSON; empty: none',
    }),
    TRANSCODER_PRIORITY_CLASS_NAME: s({ default: undefined, parse: optionalDnsLabel, usedBy: KUBE, description: 'priorityClassName of the transcoder pods (e.g. a class below the web tier, so encodes yield to it); unset: the cluster default' }),
    TRANSCODER_RUN_AS_USER: s({ default: '10001', parse: integer(1, 2_147_483_647), usedBy: KUBE, description: 'Non-root uid (and gid, fsGroup) of the transcoder pods; must be able to write the volume' }),
    JOB_BACKOFF_LIMIT: s({ default: '2', parse: integer(0, 100), usedBy: KUBE, description: 'Retries of a Job’s retryable pod failures (exit codes other than 0 and 2; disruptions are not counted)' }),
    JOB_ACTIVE_DEADLINE_SECONDS: s({
      default: undefined,
      derived: { text: 'PROCESSING_TIMEOUT in seconds', value: (env) => String(Math.ceil(Number(env.PROCESSING_TIMEOUT || '7200000') / 1000) || 7200) },
      parse: integer(60, 604_800),
      usedBy: KUBE,
      description: 'Wall-clock seconds a Job may run, retries included; the Job then fails with DeadlineExceeded',
    }),
    JOB_TTL_SECONDS_AFTER_FINISHED: s({ default: '3600', parse: integer(0, 2_592_000), usedBy: KUBE, description: 'Seconds a finished Job (and its pods, logs) is kept before Kubernetes removes it' }),
    LEADER_ELECTION_LEASE_NAME: s({ default: 'vcs-controller-leader', parse: dnsLabel, usedBy: KUBE, description: 'coordination.k8s.io/v1 Lease the controllers elect their leader on' }),
    LEADER_ELECTION_NAMESPACE: s({ default: undefined, parse: optionalDnsLabel, usedBy: KUBE, description: 'Namespace of the Lease; unset: KUBE_NAMESPACE' }),
    LEADER_ELECTION_IDENTITY: s({ default: undefined, parse: optionalText, usedBy: KUBE, description: 'This controller’s name in the Lease; unset: host name (the pod name) plus a random suffix' }),
    LEADER_ELECTION_LEASE_DURATION: s({ default: '15000', parse: integer(1000, 600_000), usedBy: KUBE, description: 'Milliseconds a standby waits after the Lease last changed before it takes over' }),
    LEADER_ELECTION_RENEW_DEADLINE: s({ default: '10000', parse: integer(500, 600_000), usedBy: KUBE, description: 'Milliseconds the leader may fail to renew before it stops at once; less than the lease duration' }),
    LEADER_ELECTION_RETRY_PERIOD: s({ default: '2000', parse: integer(100, 60_000), usedBy: KUBE, description: 'Milliseconds between Lease renewals and acquisition attempts' }),
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type Parsed<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]['parse']>;
export type Settings = { readonly [K in SettingName]: Parsed<K> };

/** A setting with its metadata, whatever its type (for code that walks the table). */
export type AnySetting = Setting<unknown> & { group: string };

export const settingNames = (): SettingName[] => Object.keys(SETTINGS) as SettingName[];

export const settingOf = (name: SettingName): AnySetting => SETTINGS[name] as AnySetting;
