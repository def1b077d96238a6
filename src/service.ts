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
import { createController, type Controller } from './controller/controller.ts';
import { createLocalRunner } from './controller/local-runner.ts';
import { createProgressReceiver, createProgressTokens } from './controller/progress.ts';
import { createApp, PROGRESS_ROUTE } from './gateway/app.ts';
import { createHealth } from './gateway/health.ts';
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

export async function openStore(settings: Settings, now: () => number = Date.now): Promise<JobStore> {
  const store = createSqliteStore({ file: storeFile(settings), now });
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

export interface RunningService {
  server: http.Server;
  controller: Controller;
  store: JobStore;
  close(): Promise<void>;
}

export async function startService(settings: Settings, env: Env, log: Logger): Promise<RunningService> {
  const now = Date.now;
  await ensureFolders(settings);
  const store = await openStore(settings, now);
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
    settings: {
      maxConcurrentJobs: settings.MAX_CONCURRENT_JOBS,
      processingTimeoutMs: settings.PROCESSING_TIMEOUT,
      retryFailedAfterMs: settings.RETRY_FAILED_AFTER,
      maxRetries: settings.MAX_RETRIES,
    },
    apply: {
      publicUrl: settings.PUBLIC_URL,
      jobSpec: localJobSpec(
        { hlsPath: settings.HLS_PATH, tempPath: settings.TEMP_PATH },
        ladderFromSettings(settings),
        { url: `http://127.0.0.1:${settings.PORT}${PROGRESS_ROUTE}`, token: tokens.issue },
      ),
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
  const app = createApp({ log: log.child({ part: 'http' }), hlsPath: settings.HLS_PATH, health, progress, poke: controller.poke });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`PORT ${settings.PORT} is already in use`) : err));
    server.listen(settings.PORT, resolve);
  });
  controller.start();
  log.info({ port: settings.PORT, publicUrl: settings.PUBLIC_URL, store: storeFile(settings), hls: settings.HLS_PATH }, 'service started');

  return {
    server,
    controller,
    store,
    async close() {
      await controller.stop();
      server.close();
      server.closeAllConnections();
      await runner.close();
      await store.close();
    },
  };
}
