/**
 * The one wiring module the three long-running commands share (docs/adr/0012, layer 4): `vcs serve`
 * (roots/serve.ts), `vcs controller` (roots/controller.ts) and `vcs gateway` (roots/gateway.ts) are
 * peers built from these pieces, each turning the settings into the options of the parts below
 * and passing them down (conventions 12). Nothing below this layer reads the settings object whole.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, unusedSettingsGiven, type Env, type Settings } from '../config.ts';
import { ladderFromSettings } from '../contract.ts';
import { jobSpecOn } from '../controller/apply.ts';
import { createController, reconcileSettings, type Controller } from '../controller/controller.ts';
import { deleteOldVideos, msUntilHour } from '../controller/retention.ts';
import { createNotifier } from '../controller/notifier.ts';
import type { NotifyEvent } from '../controller/notify-format.ts';
import { podJobSpec } from '../controller/job-manifest.ts';
import { createProgressReceiver, type ProgressReceiver, type ProgressTokens } from '../controller/progress.ts';
import type { Runner } from '../controller/runner.ts';
import { createAccessRecorder, type AccessRecorder } from '../gateway/access-recorder.ts';
import { journalAdminLog } from '../gateway/admin/activity.ts';
import { createLiveFeed } from '../gateway/admin/live.ts';
import { adminSessionAuth, type AdminDeps } from '../gateway/admin/routes.ts';
import { createApp } from '../gateway/app.ts';
import { apiKeyAuth, createKeyring, type Keyring } from '../gateway/auth.ts';
import { createHealth, type HealthReporter } from '../gateway/health.ts';
import { hlsFiles } from '../gateway/hls-files.ts';
import type { WorkerPort, WorkerState } from '../gateway/ports.ts';
import { createInternalApp, type InternalAppDeps } from '../http/internal.ts';
import { listen, type Listening } from '../http/listen.ts';
import { PROGRESS_ROUTE } from '../http/routes.ts';
import { appwriteStoreOptions, createAppwriteStore } from '../jobs/appwrite-store.ts';
import { appwriteIdentity } from '../jobs/appwrite/identity.ts';
import { createSqliteStore } from '../jobs/sqlite-store.ts';
import type { JobStore } from '../jobs/store.ts';
import { HLS_ROUTE } from '../jobs/urls.ts';
import type { ErrorReporter, Logger } from '../log.ts';
import type { JobHooks } from '../metrics/jobs.ts';
import { createMetrics, type Metrics, type MetricsDeps } from '../metrics/metrics.ts';
import { instrumentStore } from '../metrics/store.ts';
import { appendAudit, recentAudit } from '../volume/audit.ts';
import { removeOrphanWork, removePackage, sweepTemp } from '../volume/cleanup.ts';
import type { VolumePaths } from '../volume/layout.ts';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import { packageRoot, packageVersion } from './package-info.ts';

/** Whether this is the compiled build (dist/, plain node) or the sources (run through tsx, as the tests do). */
const COMPILED = path.extname(import.meta.filename) === '.js';

/**
 * FFmpeg and ffprobe answer `-version`, or the service cannot encode anything: a ConfigError naming
 * the variable, so `vcs serve` refuses to start instead of leaving every video pending.
 */
export async function requireFfmpeg(settings: Pick<Settings, 'FFMPEG_PATH' | 'FFPROBE_PATH'>): Promise<void> {
  const problems: string[] = [];
  for (const name of ['FFMPEG_PATH', 'FFPROBE_PATH'] as const) {
    try {
      await promisify(execFile)(settings[name], ['-hide_banner', '-version'], { timeout: 10_000 });
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such program' : (err as Error).message.split('\n')[0];
      problems.push(`${name}=${settings[name]}: ${why} (install FFmpeg — scripts/install.sh does — or point ${name} at it)`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The `vcs` entry beside these modules: dist/bin/vcs.js when compiled, bin/vcs.ts in the sources. */
export const VCS_BIN = path.resolve(import.meta.dirname, '../../bin', `vcs${path.extname(import.meta.filename)}`);

/** How to run `vcs <args>` as a child of this process, the way this process itself runs. */
export function vcsCommand(...args: string[]): { bin: string; args: string[] } {
  // The sources need tsx (a development dependency: only the tests run them), found from here.
  return { bin: process.execPath, args: [...(COMPILED ? [] : ['--import', import.meta.resolve('tsx')]), VCS_BIN, ...args] };
}

export const storeFile = (settings: Pick<Settings, 'STORAGE_PATH'>): string => path.join(settings.STORAGE_PATH, 'vcs.sqlite');

/** The public health report of a process that serves the API (serve, gateway). */
export async function healthOf(settings: Settings, store: JobStore, worker?: () => WorkerState): Promise<HealthReporter> {
  return createHealth({ store, storeKind: settings.STORE, hlsPath: settings.HLS_PATH, ffmpegPath: settings.FFMPEG_PATH, version: await packageVersion(), worker, startedAt: Date.now() });
}

/** Where the videos live, for logs: the SQLite file, or the Appwrite table. */
export function storeLabel(settings: Settings): string {
  return settings.STORE === 'appwrite' ? `${settings.APPWRITE_ENDPOINT} ${settings.DATABASE_ID}/${settings.COLLECTION_ID}` : storeFile(settings);
}

export async function openStore(settings: Settings, now: () => number = Date.now): Promise<JobStore> {
  const store = settings.STORE === 'appwrite' ? createAppwriteStore(appwriteStoreOptions(settings)) : createSqliteStore({ file: storeFile(settings), now });
  await store.init();
  return store;
}

export async function ensureFolders(settings: Pick<Settings, 'STORAGE_PATH' | 'TEMP_PATH' | 'HLS_PATH'>): Promise<void> {
  for (const dir of [settings.STORAGE_PATH, settings.TEMP_PATH, settings.HLS_PATH]) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create ${dir} (${(err as NodeJS.ErrnoException).code}); set STORAGE_PATH to a writable folder`);
    }
  }
}

/**
 * The gateway only reads the volume (the chart mounts it read-only): STORAGE_PATH must be there;
 * HLS_PATH may not exist yet on a new volume — the controller makes it — and is served as empty
 * until it does.
 */
export async function checkReadFolders(settings: Pick<Settings, 'STORAGE_PATH' | 'HLS_PATH'>, log: Logger): Promise<void> {
  const info = await stat(settings.STORAGE_PATH).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read STORAGE_PATH ${settings.STORAGE_PATH} (${err.code}); mount the volume there or set STORAGE_PATH`);
  });
  if (!info.isDirectory()) throw new Error(`STORAGE_PATH ${settings.STORAGE_PATH} is not a folder`);
  if (!(await stat(settings.HLS_PATH).then((s) => s.isDirectory(), () => false))) {
    log.warn({ hls: settings.HLS_PATH }, 'HLS_PATH does not exist yet (the controller creates it with the first video): nothing to serve until then');
  }
}

export const volumeOf = (settings: Pick<Settings, 'HLS_PATH' | 'TEMP_PATH'>): VolumePaths => ({ hlsPath: settings.HLS_PATH, tempPath: settings.TEMP_PATH });

/** Settings the plan's .env has but nothing reads yet are said so at start, never silently ignored. */
export function warnUnusedSettings(env: Env, log: Logger): void {
  for (const { name, message } of unusedSettingsGiven(env)) log.warn({ setting: name }, message);
}

/** The metrics of a process and its store, wrapped once so that every store call is observed once. */
export function instrumented(rawStore: JobStore, deps: Omit<MetricsDeps, 'videos' | 'routePrefixes' | 'workerIntervalMs'>, settings: Pick<Settings, 'WORKER_INTERVAL'>): { metrics: Metrics; store: JobStore } {
  const metrics = createMetrics({
    ...deps,
    videos: async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() }),
    routePrefixes: [HLS_ROUTE],
    workerIntervalMs: settings.WORKER_INTERVAL,
  });
  const store = instrumentStore(rawStore, metrics.storeObserver);
  return { metrics, store };
}

/** The address to reach a local listener at (a wildcard listens on loopback too). */
export function localAddress(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export interface ControllerParts {
  controller: Controller;
  progress: ProgressReceiver;
}

/**
 * The controller loop and its progress receiver, the same for both shapes; `progressUrl` is where
 * this shape's transcoders reach INTERNAL_PORT, `podResults` says their result is a termination
 * message (a Job pod) rather than a file.
 */
export function controllerParts(
  settings: Settings,
  deps: { store: JobStore; runner: Runner; log: Logger; metrics: Metrics; tokens: ProgressTokens; progressUrl: string; podResults: boolean; now: () => number; reporter?: ErrorReporter },
): ControllerParts {
  const volume = volumeOf(settings);
  const progress = { url: `${deps.progressUrl}${PROGRESS_ROUTE}`, token: deps.tokens.issue };
  const jobSpec = (deps.podResults ? podJobSpec : jobSpecOn)(volume, ladderFromSettings(settings), progress);
  const hooks = reportingFailures(notifyingHooks(settings, deps.metrics, deps.log), deps.reporter);
  const controller = createController({
    store: deps.store,
    runner: deps.runner,
    log: deps.log.child({ part: 'controller' }),
    now: deps.now,
    intervalMs: settings.WORKER_INTERVAL,
    settings: reconcileSettings(settings),
    apply: {
      publicUrl: settings.PUBLIC_URL,
      volume,
      jobSpec,
      ...hooks,
    },
  });
  return { controller, progress: createProgressReceiver({ store: deps.store, tokens: deps.tokens, log: deps.log, now: deps.now }) };
}

/** SENTRY_DSN: each failed video is reported too. */
function reportingFailures(hooks: JobHooks, reporter: ErrorReporter | undefined): JobHooks {
  return reporter ? { ...hooks, onFailed: (video) => (hooks.onFailed(video), reporter.videoFailed(video)) } : hooks;
}

/** The metrics' job hooks, and — with WEBHOOK_URLS or PUBLISHER_CALLBACK_URL — notifications beside them. */
function notifyingHooks(settings: Settings, metrics: Metrics, log: Logger): JobHooks {
  if (settings.WEBHOOK_URLS.length === 0 && !settings.PUBLISHER_CALLBACK_URL) return metrics.jobHooks;
  const notifier = createNotifier({
    webhooks: settings.WEBHOOK_URLS,
    events: new Set(settings.WEBHOOK_EVENTS.map((e) => `video.${e}` as NotifyEvent)),
    publisherUrl: settings.PUBLISHER_CALLBACK_URL,
    secret: settings.WEBHOOK_SECRET,
    log: log.child({ part: 'notify' }),
    record: metrics.recordNotification,
  });
  return {
    onStarted: (video) => (metrics.jobHooks.onStarted(video), notifier.notify('video.started', video)),
    onCompleted: (video, seconds) => (metrics.jobHooks.onCompleted(video, seconds), notifier.notify('video.completed', video)),
    onFailed: (video) => (metrics.jobHooks.onFailed(video), notifier.notify('video.failed', video)),
  };
}

/** The internal port: /healthz, /metrics and, where the controller runs, progress and pokes. */
export function listenInternal(settings: Settings, deps: InternalAppDeps): Promise<Listening> {
  return listen(createInternalApp(deps), settings.INTERNAL_PORT, settings.INTERNAL_BIND_ADDRESS, 'INTERNAL_PORT/INTERNAL_BIND_ADDRESS');
}

/** Noted accesses are written about once a minute (and at shutdown): a crash loses at most that. */
const ACCESS_FLUSH_MS = 60_000;
/** A video's last access is precise to an hour: plenty for a cleanup counted in days (access-recorder.ts). */
const ACCESS_RESOLUTION_MS = 3_600_000;

/** The last-access record of a process that serves the HLS files; closed (flushed) by its root before the store. */
export function accessRecorder(store: JobStore, log: Logger): AccessRecorder {
  return createAccessRecorder({ store, now: Date.now, log: log.child({ part: 'access' }), flushEveryMs: ACCESS_FLUSH_MS, resolutionMs: ACCESS_RESOLUTION_MS });
}

/** The public app (API, health, HLS files) from the settings; `worker` when a controller runs in this process. */
export function publicApp(settings: Settings, deps: { store: JobStore; log: Logger; health: HealthReporter; metrics: Metrics; access: AccessRecorder; worker?: WorkerPort; localSourcesFromThisMachine?: boolean }): Koa {
  const log = deps.log.child({ part: 'http' });
  const keyring = createKeyring(settings.API_KEY, settings.API_KEY_HASHES);
  if (keyring.size === 0) log.warn('no API key configured (API_KEY or API_KEY_HASHES): calls that need one are refused');
  const admin = settings.ADMIN_ENABLED ? adminDeps(settings, deps.store, keyring, log) : undefined;
  const withAdmin = (mw: Middleware): Middleware => (admin ? adminSessionAuth(admin, mw) : mw);
  return createApp({
    admin,
    log,
    proxy: { trust: settings.TRUST_PROXY, hops: settings.TRUSTED_PROXY_HOPS },
    health: deps.health,
    hls: hlsFiles({ root: settings.HLS_PATH, allowedReferers: settings.ALLOWED_REFERERS, onPlaylistServed: deps.access.record }),
    limits: {
      hlsPerMinute: settings.HLS_RATE_LIMIT,
      apiMax: settings.RATE_LIMIT_MAX_REQUESTS,
      apiWindowMs: settings.RATE_LIMIT_WINDOW,
      dashboardPerHour: settings.DASHBOARD_RATE_LIMIT,
      adminPath: settings.ADMIN_PATH,
    },
    httpMetrics: deps.metrics.httpMiddleware(),
    api: {
      store: deps.store,
      log,
      now: Date.now,
      hlsPath: settings.HLS_PATH,
      tempPath: settings.TEMP_PATH,
      cleanupTempAfterMs: settings.CLEANUP_TEMP_AFTER,
      allowLocalSources: settings.ALLOW_LOCAL_SOURCES,
      localSourcesFromThisMachine: deps.localSourcesFromThisMachine,
      requireKey: withAdmin(apiKeyAuth(keyring, log, true)),
      readKey: withAdmin(apiKeyAuth(keyring, log, settings.REQUIRE_AUTH_FOR_READS)),
      storageUsed: async () => (await deps.health.storage()).usedBytes,
      worker: deps.worker,
    },
  });
}

/** The admin dashboard's parts: its session secret, its live feed over the store, its built assets. */
function adminDeps(settings: Settings, store: JobStore, keyring: Keyring, log: Logger): AdminDeps {
  let secret: Buffer;
  if (settings.ADMIN_SESSION_SECRET) secret = createHash('sha256').update(settings.ADMIN_SESSION_SECRET).digest();
  else {
    secret = randomBytes(32);
    log.info('ADMIN_SESSION_SECRET is not set: admin sessions last as long as this process (set it where several gateways serve the dashboard)');
  }
  return {
    path: settings.ADMIN_PATH,
    secret,
    keyring,
    live: createLiveFeed({ store, log, intervalMs: 2000, now: Date.now }),
    log,
    now: Date.now,
    assetsDir: path.join(packageRoot(), 'dist/ui/admin'),
    actions: journalAdminLog({ append: (entry) => appendAudit(settings.STORAGE_PATH, entry), recent: (limit) => recentAudit(settings.STORAGE_PATH, limit) }),
    store,
    tempPath: settings.TEMP_PATH,
    hlsPath: settings.HLS_PATH,
    ...(settings.STORE === 'appwrite' ? { google: appwriteIdentity(appwriteStoreOptions(settings).connection, { emails: settings.ADMIN_EMAILS, teamId: settings.ADMIN_TEAM_ID }) } : {}),
  };
}

export function listenPublic(settings: Settings, app: Koa): Promise<Listening> {
  return listen(app, settings.PORT, settings.BIND_ADDRESS, 'PORT/BIND_ADDRESS');
}

/** Job names of the runs that are still running. */
export async function runningRuns(runner: Runner): Promise<Set<string>> {
  return new Set((await runner.list()).filter((r) => r.phase === 'running').map((r) => r.jobName));
}

/**
 * Once the runner knows its runs: removes the work folder of every run that is not running (a
 * lost run's download and staging; the runner already removed those it knew of).
 */
async function sweepOrphanWork(runner: Runner, settings: Pick<Settings, 'TEMP_PATH'>, log: Logger): Promise<void> {
  const { removed, bytesFreed, failed } = await removeOrphanWork(settings.TEMP_PATH, await runningRuns(runner));
  if (removed.length) log.info({ removed: removed.map((p) => path.basename(p)), bytesFreed }, 'work folders no running run owns removed');
  if (failed.length) log.warn({ failed: failed.map((p) => path.basename(p)) }, 'work folders that could not be removed now (the hourly cleanup tries again)');
}

/** Deleted videos looked at when a controller starts, most recently changed first. */
const PURGE_SCAN_MAX = 10_000;

/**
 * Removes the packages of deleted videos (deleted with their files: URLs cleared). The gateway
 * removed them at DELETE time and the controller removes what a stopping run publishes after; this
 * catches what a run published while no controller watched (it died meanwhile), at start.
 */
export async function purgeDeletedPackages(store: JobStore, settings: Pick<Settings, 'HLS_PATH'>, log: Logger): Promise<void> {
  let removed = 0;
  let bytesFreed = 0;
  for (let offset = 0; offset < PURGE_SCAN_MAX; offset += 100) {
    const { jobs } = await store.list({ status: 'deleted', limit: 100, offset, sort: 'updated_at', order: 'desc' });
    for (const video of jobs.filter((v) => v.master_playlist_url === null)) {
      const freed = await removePackage(settings.HLS_PATH, video.wp_post_id);
      if (freed > 0) {
        removed += 1;
        bytesFreed += freed;
      }
    }
    if (jobs.length < 100) break;
  }
  if (removed) log.warn({ removed, bytesFreed }, 'packages of deleted videos removed');
}

/**
 * What a controller cleans up when it starts, once its runner knows the runs: work folders nobody
 * owns and packages of deleted videos. Best effort: a failure is logged, and the start goes on.
 */
export async function startUpCleanup(runner: Runner, store: JobStore, settings: Pick<Settings, 'TEMP_PATH' | 'HLS_PATH'>, log: Logger): Promise<void> {
  for (const [what, work] of [
    ['work folders', () => sweepOrphanWork(runner, settings, log)],
    ['packages of deleted videos', () => purgeDeletedPackages(store, settings, log)],
  ] as const) {
    await work().catch((err: Error) => log.warn({ err: err.message }, `start-up clean-up of ${what} failed; the next start (or the hourly cleanup) tries again`));
  }
}

/** The original plan's temp cleanup runs every hour. */
const CLEANUP_EVERY_MS = 3_600_000;

/**
 * The plan's automatic cleanup (AUTO_CLEANUP_ENABLED), where the controller runs (vcs serve, the
 * leading vcs controller): the hourly temp sweep, sparing running runs, and — with
 * DELETE_OLD_VIDEOS_AFTER set — the daily old-video cleanup at CLEANUP_HOUR. Stuck jobs need no
 * sweep of their own: every controller pass fails runs past PROCESSING_TIMEOUT (reconcile.ts).
 * Returns the stop function.
 */
export function scheduleCleanup(settings: Settings, runner: Runner, store: JobStore, log: Logger): () => void {
  if (!settings.AUTO_CLEANUP_ENABLED) return () => undefined;
  const sweep = async () => {
    const { removed, bytesFreed } = await sweepTemp({ ...volumeOf(settings), olderThanMs: settings.CLEANUP_TEMP_AFTER, now: Date.now(), active: await runningRuns(runner) });
    if (removed.length) log.info({ removed: removed.length, bytesFreed }, 'stale temp files removed');
  };
  const timer = setInterval(() => void sweep().catch((err: Error) => log.warn({ err: err.message }, 'temp cleanup failed')), CLEANUP_EVERY_MS);
  timer.unref();
  let daily: NodeJS.Timeout | undefined;
  const nextDaily = () => {
    daily = setTimeout(() => {
      void deleteOldVideos({ store, volume: volumeOf(settings), days: settings.DELETE_OLD_VIDEOS_AFTER, keepWatchedDays: settings.KEEP_WATCHED_VIDEOS_DAYS, now: Date.now(), log })
        .catch((err: Error) => log.warn({ err: err.message }, 'old-video cleanup failed; it runs again tomorrow'))
        .finally(nextDaily);
    }, msUntilHour(new Date(), settings.CLEANUP_HOUR));
    daily.unref();
  };
  if (settings.DELETE_OLD_VIDEOS_AFTER > 0) nextDaily();
  return () => {
    clearInterval(timer);
    clearTimeout(daily);
  };
}
