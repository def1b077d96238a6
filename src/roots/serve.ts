/**
 * `vcs serve`: the store, the local runner, the controller and the HTTP side in one process
 * (docs/adr/0012, the embedded and single-server shapes), built from the shared wiring.
 *
 * Ports: PORT (BIND_ADDRESS) for the public side — API, health, HLS files; INTERNAL_PORT
 * (INTERNAL_BIND_ADDRESS, loopback by default) for /metrics, /healthz and the local transcoders'
 * progress reports and pokes.
 *
 * Start: the runner reads the records of runs a previous process left (recover), the work folders
 * no running run owns are removed, then the loop starts. Shutdown (SIGTERM/SIGINT): the controller
 * stops taking work, the servers close, and running transcoders get SIGTERM: each stops FFmpeg,
 * removes its work folder and exits within seconds. Their videos stay `processing`; the next start
 * finds those runs lost (interrupted, not counted as retries) and runs them again. Nothing is
 * published half-done, because a package only ever appears by an atomic rename after its self-check.
 */
import { systemEnvironment, transcoderSettingsEnvironment, type Env, type Settings } from '../config.ts';
import type { Controller } from '../controller/controller.ts';
import { createLocalRunner } from '../controller/local-runner.ts';
import { createProgressTokens } from '../controller/progress.ts';
import type { Runner } from '../controller/runner.ts';
import type { WorkerPort } from '../gateway/ports.ts';
import type { Listening } from '../http/listen.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Logger, Logging } from '../log.ts';
import { runsDir, workRoot } from '../volume/layout.ts';
import {
  accessRecorder,
  controllerParts,
  ensureFolders,
  healthOf,
  instrumented,
  listenInternal,
  listenPublic,
  localAddress,
  openStore,
  requireFfmpeg,
  publicApp,
  runningRuns,
  scheduleCleanup,
  storeLabel,
  startUpCleanup,
  vcsCommand,
  warnUnusedSettings,
} from './wiring.ts';

export interface RunningService {
  publicServer: Listening;
  internalServer: Listening;
  controller: Controller;
  store: JobStore;
  close(): Promise<void>;
}

/** The worker port of the gateway, answered by this process's controller and runner. */
function workerPort(controller: Controller, runner: Runner, eta: WorkerPort['eta']): WorkerPort {
  return {
    status: () => controller.status(),
    poke: () => controller.poke(),
    eta,
    async waitForRunToStop(videoId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!(await runner.list()).some((r) => r.videoId === videoId && r.phase === 'running')) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    activeRuns: () => runningRuns(runner),
  };
}

/** `logging`: the transcoders' lines go to its outputs, failed videos to its reporter. */
export async function startService(settings: Settings, env: Env, log: Logger, logging?: Pick<Logging, 'forward' | 'reporter'>): Promise<RunningService> {
  if (settings.RUNNER !== 'local') throw new Error('RUNNER=kubernetes runs as vcs controller (plus vcs gateway); vcs serve runs encodes as local processes (RUNNER=local)');
  warnUnusedSettings(env, log);
  await requireFfmpeg(settings);
  const now = Date.now;
  await ensureFolders(settings);
  const rawStore = await openStore(settings, now);
  // The metrics read health and the controller only at scrape time, after both exist.
  const { metrics, store } = instrumented(rawStore, { worker: () => controller.status(), storage: () => health.storage(), ffmpeg: () => health.ffmpeg() }, settings);
  const health = await healthOf(settings, store, () => controller.status());
  const runner = createLocalRunner({
    command: vcsCommand('transcode'),
    baseEnv: {
      ...systemEnvironment(env),
      ...transcoderSettingsEnvironment(settings, 'local'),
      // A file: URL in the embedded store is one of this machine's users' own files: its API takes
      // them only from calls made on this machine (`vcs enqueue ./clip.mp4`; README, "Local files").
      ALLOW_LOCAL_SOURCES: String(settings.ALLOW_LOCAL_SOURCES || settings.STORE === 'sqlite'),
    },
    runsDir: runsDir(settings.TEMP_PATH),
    maxRunning: settings.MAX_CONCURRENT_JOBS,
    log: log.child({ part: 'runner' }),
    childLog: logging ? (line) => logging.forward(line, 'transcoder') : (line) => process.stdout.write(`${line}\n`),
    now,
  });
  await runner.recover();
  await startUpCleanup(runner, store, settings, log);
  const internalUrl = `http://${localAddress(settings.INTERNAL_BIND_ADDRESS)}:${settings.INTERNAL_PORT}`;
  const { controller, progress } = controllerParts(settings, { store, runner, log, metrics, tokens: createProgressTokens(), progressUrl: internalUrl, podResults: false, now, reporter: logging?.reporter });
  const internalServer = await listenInternal(settings, {
    log: log.child({ part: 'internal' }),
    metrics: { http: metrics.httpMiddleware(), handler: metrics.handler },
    health: async () => ({ healthy: controller.status().status !== 'stopped', worker: controller.status() }),
    controller: { receiveProgress: progress.receive, poke: controller.poke },
  });
  const access = accessRecorder(store, log);
  // Its runs read local files with the embedded store, so its API takes them from this machine's users (`vcs enqueue ./clip.mp4`).
  const app = publicApp(settings, { store, log, health, metrics, access, worker: workerPort(controller, runner, progress.eta), localSourcesFromThisMachine: settings.STORE === 'sqlite' });
  const publicServer = await listenPublic(settings, app).catch((err: Error) => {
    internalServer.close();
    throw err;
  });
  controller.start();
  const stopCleanup = scheduleCleanup(settings, runner, store, log);
  log.info(
    { port: settings.PORT, bind: settings.BIND_ADDRESS, internalPort: settings.INTERNAL_PORT, publicUrl: settings.PUBLIC_URL, store: storeLabel(settings), hls: settings.HLS_PATH, workDir: workRoot(settings.TEMP_PATH) },
    'service started',
  );

  return {
    publicServer,
    internalServer,
    controller,
    store,
    async close() {
      stopCleanup();
      await controller.stop();
      publicServer.close();
      await access.close();
      await runner.close();
      internalServer.close();
      await store.close();
    },
  };
}
