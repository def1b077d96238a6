/**
 * Wiring for `vcs serve`: the store, the local runner, the controller and the HTTP side in one
 * process. Everything is built here from the settings and passed down (STYLE 12, 13).
 *
 * Shutdown (SIGTERM/SIGINT): the controller stops taking work, the HTTP server stops accepting
 * connections, and running transcoders get SIGTERM: each stops FFmpeg, removes its work folder and
 * exits within seconds. Their videos stay `processing`; the next start finds those runs `lost` and
 * runs them again as new attempts. Nothing is published half-done, because a package only ever
 * appears by an atomic rename after its self-check.
 */
import { mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { inheritedEnvironment, type Env, type Settings } from './config.ts';
import { ladderFromSettings } from './contract.ts';
import { localJobSpec } from './controller/apply.ts';
import { createController, reconcileSettings, type Controller } from './controller/controller.ts';
import { createLocalRunner } from './controller/local-runner.ts';
import { createProgressReceiver, createProgressTokens } from './controller/progress.ts';
import type Koa from 'koa';
import type { ProgressReceiver } from './controller/progress.ts';
import type { ApiDeps } from './gateway/api.ts';
import { createApp, PROGRESS_ROUTE, type AppDeps } from './gateway/app.ts';
import { apiKeyAuth, createKeyring } from './gateway/auth.ts';
import { createHealth, type HealthReporter } from './gateway/health.ts';
import { hlsFiles } from './gateway/hls-files.ts';
import { createMetrics, type Metrics } from './gateway/metrics.ts';
import { instrumentStore } from './jobs/instrumented-store.ts';
import { sweepTemp } from './maintenance/files.ts';
import { appwriteStoreOptions, createAppwriteStore } from './jobs/appwrite-store.ts';
import { createSqliteStore } from './jobs/sqlite-store.ts';
import type { JobStore } from './jobs/store.ts';
import type { Logger } from './log.ts';

export const VCS_BIN = path.resolve(import.meta.dirname, '../bin/vcs.js');

export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function storeFile(settings: Settings): string {
  return path.join(settings.STORAGE_PATH, 'vcs.sqlite');
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

export async function ensureFolders(settings: Settings): Promise<void> {
  for (const dir of [settings.STORAGE_PATH, settings.TEMP_PATH, settings.HLS_PATH]) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create ${dir} (${(err as NodeJS.ErrnoException).code}); set STORAGE_PATH to a writable folder`);
    }
  }
}

/** The original plan's temp cleanup runs every hour. */
const CLEANUP_EVERY_MS = 3_600_000;

export async function listen(app: Koa, port: number): Promise<http.Server> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`PORT ${port} is already in use`) : err));
    server.listen(port, resolve);
  });
  return server;
}

/** The gateway's dependencies from the settings; `extras` are what only a controller process has. */
export function gatewayDeps(
  settings: Settings,
  store: JobStore,
  log: Logger,
  health: HealthReporter,
  extras: Pick<ApiDeps, 'eta' | 'poke' | 'waitForRunToStop' | 'activeRuns'> & { progress?: ProgressReceiver; metrics?: Metrics } = {},
): AppDeps {
  const httpLog = log.child({ part: 'http' });
  const { metrics, progress, ...apiExtras } = extras;
  const keyring = createKeyring(settings.API_KEY, settings.API_KEY_HASHES);
  if (keyring.size === 0) httpLog.warn('no API key configured (API_KEY or API_KEY_HASHES): calls that need one are refused');
  return {
    log: httpLog,
    trustProxy: settings.TRUST_PROXY,
    health,
    hls: hlsFiles({ root: settings.HLS_PATH, allowedReferers: settings.ALLOWED_REFERERS }),
    limits: {
      hlsPerMinute: settings.HLS_RATE_LIMIT,
      apiMax: settings.RATE_LIMIT_MAX_REQUESTS,
      apiWindowMs: settings.RATE_LIMIT_WINDOW,
      dashboardPerHour: settings.DASHBOARD_RATE_LIMIT,
      adminPath: settings.ADMIN_PATH,
    },
    progress,
    metrics: metrics ? { http: metrics.httpMiddleware(), handler: metrics.handler } : undefined,
    api: {
      store,
      log: httpLog,
      now: Date.now,
      hlsPath: settings.HLS_PATH,
      tempPath: settings.TEMP_PATH,
      cleanupTempAfterMs: settings.CLEANUP_TEMP_AFTER,
      allowLocalSources: settings.ALLOW_LOCAL_SOURCES,
      requireKey: apiKeyAuth(keyring, httpLog, true),
      readKey: apiKeyAuth(keyring, httpLog, settings.REQUIRE_AUTH_FOR_READS),
      storageUsed: async () => (await health.storage()).usedBytes,
      ...apiExtras,
    },
  };
}

export interface RunningService {
  server: http.Server;
  controller: Controller;
  store: JobStore;
  close(): Promise<void>;
}

export async function startService(settings: Settings, env: Env, log: Logger): Promise<RunningService> {
  if (settings.RUNNER !== 'local') throw new Error('RUNNER=kubernetes runs as vcs controller (plus vcs gateway); vcs serve runs encodes as local processes (RUNNER=local)');
  const now = Date.now;
  await ensureFolders(settings);
  const rawStore = await openStore(settings, now);
  // The metrics read health and the controller only at scrape time, after both exist.
  const metrics = createMetrics({
    store: rawStore,
    worker: () => controller.status(),
    workerIntervalMs: settings.WORKER_INTERVAL,
    storage: () => health.storage(),
    ffmpeg: () => health.ffmpeg(),
  });
  const store = instrumentStore(rawStore, metrics.storeObserver);
  const tokens = createProgressTokens();
  const runner = createLocalRunner({
    command: { bin: process.execPath, args: [VCS_BIN, 'transcode'] },
    baseEnv: {
      ...inheritedEnvironment(env),
      // Sources in the embedded store come from this machine's users (`vcs enqueue`); a file: URL
      // there is one of their own files (see README, "Local files").
      ALLOW_LOCAL_SOURCES: String(settings.ALLOW_LOCAL_SOURCES || settings.STORE === 'sqlite'),
    },
    runsDir: path.join(settings.TEMP_PATH, 'runs'),
    maxRunning: settings.MAX_CONCURRENT_JOBS,
    log: log.child({ part: 'runner' }),
    childLog: (line) => process.stdout.write(`${line}\n`),
    now,
  });
  await runner.recover();
  const controller = createController({
    store,
    runner,
    log: log.child({ part: 'controller' }),
    now,
    intervalMs: settings.WORKER_INTERVAL,
    settings: reconcileSettings(settings),
    apply: {
      publicUrl: settings.PUBLIC_URL,
      jobSpec: localJobSpec(
        { hlsPath: settings.HLS_PATH, tempPath: settings.TEMP_PATH },
        ladderFromSettings(settings),
        { url: `http://127.0.0.1:${settings.PORT}${PROGRESS_ROUTE}`, token: tokens.issue },
      ),
      ...metrics.jobHooks,
    },
  });
  const progress = createProgressReceiver({ store, tokens, log, now });
  const health = createHealth({
    store,
    storeKind: settings.STORE,
    hlsPath: settings.HLS_PATH,
    ffmpegPath: settings.FFMPEG_PATH,
    version: await packageVersion(),
    worker: controller.status,
    startedAt: now(),
  });
  const app = createApp(
    gatewayDeps(settings, store, log, health, {
      metrics,
      progress,
      eta: progress.eta,
      poke: controller.poke,
      waitForRunToStop: async (videoId) => {
        // The deleting pass stops the run; wait (bounded) until its process has exited.
        const deadline = now() + 15_000;
        while (now() < deadline && (await runner.list()).some((r) => r.videoId === videoId && r.phase === 'running')) {
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      activeRuns: async () => new Set((await runner.list()).filter((r) => r.phase === 'running').map((r) => r.jobName)),
    }),
  );
  const server = await listen(app, settings.PORT);
  controller.start();
  const sweep = settings.AUTO_CLEANUP_ENABLED ? setInterval(() => void sweepNow(), CLEANUP_EVERY_MS) : undefined;
  async function sweepNow() {
    const active = new Set((await runner.list()).filter((r) => r.phase === 'running').map((r) => r.jobName));
    const { removed, bytesFreed } = await sweepTemp({ tempPath: settings.TEMP_PATH, hlsPath: settings.HLS_PATH, olderThanMs: settings.CLEANUP_TEMP_AFTER, now: now(), active });
    if (removed.length) log.info({ removed: removed.length, bytesFreed }, 'stale temp files removed');
  }
  log.info({ port: settings.PORT, publicUrl: settings.PUBLIC_URL, store: storeLabel(settings), hls: settings.HLS_PATH }, 'service started');

  return {
    server,
    controller,
    store,
    async close() {
      clearInterval(sweep);
      await controller.stop();
      server.close();
      server.closeAllConnections();
      await runner.close();
      await store.close();
    },
  };
}

/** `vcs gateway`: the HTTP side alone (cluster shape); the controller runs elsewhere. */
export async function startGateway(settings: Settings, log: Logger): Promise<{ server: http.Server; close(): Promise<void> }> {
  await ensureFolders(settings);
  const rawStore = await openStore(settings);
  const metrics = createMetrics({ store: rawStore, storage: () => health.storage(), ffmpeg: () => health.ffmpeg() });
  const store = instrumentStore(rawStore, metrics.storeObserver);
  const health = createHealth({
    store,
    storeKind: settings.STORE,
    hlsPath: settings.HLS_PATH,
    ffmpegPath: settings.FFMPEG_PATH,
    version: await packageVersion(),
    startedAt: Date.now(),
  });
  const server = await listen(createApp(gatewayDeps(settings, store, log, health, { metrics })), settings.PORT);
  log.info({ port: settings.PORT, hls: settings.HLS_PATH }, 'gateway started');
  return {
    server,
    async close() {
      server.close();
      server.closeAllConnections();
      await store.close();
    },
  };
}
