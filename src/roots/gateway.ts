/**
 * `vcs gateway` (docs/adr/0012, the cluster shape): the public HTTP side alone — API, health, HLS
 * files on PORT — and /healthz and /metrics on INTERNAL_PORT; the controller runs elsewhere and
 * acts on what the API writes to the store at its next pass. With GATEWAY_WORKERS > 1 this runs
 * in each worker process (src/gateway/workers.ts).
 */
import type { Env, Settings } from '../config.ts';
import type { Listening } from '../http/listen.ts';
import type { Logger } from '../log.ts';
import { ensureFolders, healthOf, instrumented, listenInternal, listenPublic, openStore, publicApp, warnUnusedSettings } from './wiring.ts';

export interface RunningGateway {
  publicServer: Listening;
  internalServer: Listening;
  close(): Promise<void>;
}

export async function startGateway(settings: Settings, env: Env, log: Logger): Promise<RunningGateway> {
  warnUnusedSettings(env, log);
  await ensureFolders(settings);
  const rawStore = await openStore(settings);
  const { metrics, store } = instrumented(rawStore, { storage: () => health.storage(), ffmpeg: () => health.ffmpeg() }, settings);
  const health = await healthOf(settings, store);
  const internalServer = await listenInternal(settings, {
    log: log.child({ part: 'internal' }),
    metrics: { http: metrics.httpMiddleware(), handler: metrics.handler },
    health: async () => {
      const ready = await health.ready();
      return { healthy: ready.ready, reasons: ready.reasons };
    },
  });
  const publicServer = await listenPublic(settings, publicApp(settings, { store, log, health, metrics })).catch((err: Error) => {
    internalServer.close();
    throw err;
  });
  log.info({ port: settings.PORT, bind: settings.BIND_ADDRESS, internalPort: settings.INTERNAL_PORT, hls: settings.HLS_PATH }, 'gateway started');
  return {
    publicServer,
    internalServer,
    async close() {
      publicServer.close();
      internalServer.close();
      await store.close();
    },
  };
}
