/**
 * `vcs gateway` (docs/adr/0012, the cluster shape): the public HTTP side alone — API, health, HLS
 * files on PORT — and /healthz and /metrics on INTERNAL_PORT; the controller runs elsewhere and
 * acts on what the API writes to the store at its next pass. With GATEWAY_WORKERS > 1 the primary
 * process supervises the workers and answers INTERNAL_PORT with their metrics added up; each
 * worker serves PORT (src/gateway/workers.ts, src/metrics/cluster.ts).
 */
import type { Env, Settings } from '../config.ts';
import { superviseWorkers } from '../gateway/workers.ts';
import type { Listening } from '../http/listen.ts';
import { clusterMetricsHandler, shareWithPrimary } from '../metrics/cluster.ts';
import type { Logger, Logging } from '../log.ts';
import { accessRecorder, checkReadFolders, healthOf, instrumented, listenInternal, listenPublic, openStore, publicApp, warnUnusedSettings } from './wiring.ts';

export interface RunningGateway {
  publicServer: Listening;
  /** Absent in a worker of a multi-process gateway: the primary answers INTERNAL_PORT. */
  internalServer?: Listening;
  close(): Promise<void>;
}

/** `worker`: one of several processes (GATEWAY_WORKERS); its metrics go to the primary. */
export async function startGateway(settings: Settings, env: Env, log: Logger, opts: { worker?: boolean } = {}): Promise<RunningGateway> {
  warnUnusedSettings(env, log);
  await checkReadFolders(settings, log);
  const rawStore = await openStore(settings);
  const { metrics, store } = instrumented(rawStore, { storage: () => health.storage(), ffmpeg: () => health.ffmpeg() }, settings);
  const health = await healthOf(settings, store);
  if (opts.worker) shareWithPrimary(metrics.registry);
  const internalServer = opts.worker
    ? undefined
    : await listenInternal(settings, {
        log: log.child({ part: 'internal' }),
        metrics: { http: metrics.httpMiddleware(), handler: metrics.handler },
        health: async () => {
          const ready = await health.ready();
          return { healthy: ready.ready, reasons: ready.reasons };
        },
      });
  const access = accessRecorder(store, log);
  const publicServer = await listenPublic(settings, publicApp(settings, { store, log, health, metrics, access })).catch((err: Error) => {
    internalServer?.close();
    throw err;
  });
  log.info({ port: settings.PORT, bind: settings.BIND_ADDRESS, internalPort: settings.INTERNAL_PORT, hls: settings.HLS_PATH }, 'gateway started');
  return {
    publicServer,
    internalServer,
    async close() {
      publicServer.close();
      internalServer?.close();
      await access.close();
      await store.close();
    },
  };
}

/** The primary of a multi-process gateway: its workers, and INTERNAL_PORT with their metrics added up. */
export async function startGatewayPrimary(settings: Settings, env: Env, logging: Logging, count: number): Promise<{ close(): Promise<void> }> {
  const { log } = logging;
  warnUnusedSettings(env, log);
  const workers = superviseWorkers(count, log, logging.collects ? logging.forward : undefined);
  const internalServer = await listenInternal(settings, {
    log: log.child({ part: 'internal' }),
    metrics: { http: (_ctx, next) => next(), handler: clusterMetricsHandler() },
    health: async () => ({ healthy: workers.alive() > 0, workers: workers.alive(), expected: count }),
  }).catch(async (err: Error) => {
    await workers.close();
    throw err;
  });
  return {
    async close() {
      internalServer.close();
      await workers.close();
    },
  };
}
