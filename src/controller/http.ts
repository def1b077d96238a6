/**
 * The HTTP side of `vcs controller` on CONTROLLER_PORT (STYLE 1: wiring only): liveness,
 * Prometheus metrics, and the two internal endpoints the gateway app also has — the transcoders'
 * progress reports and the poke.
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { POKE_ROUTE, PROGRESS_ROUTE } from '../gateway/app.ts';
import { errorHandler } from '../gateway/error-handler.ts';
import type { Logger } from '../log.ts';
import type { ProgressReceiver } from './progress.ts';

export interface ControllerHealth {
  /** 200 when healthy: the process runs and, as leader, sees the cluster. */
  healthy: boolean;
  [detail: string]: unknown;
}

export interface ControllerAppDeps {
  log: Logger;
  health: () => Promise<ControllerHealth>;
  metrics: { http: Middleware; handler: Middleware };
  progress: ProgressReceiver;
  poke: () => void;
}

export function createControllerApp(deps: ControllerAppDeps): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    const report = await deps.health();
    ctx.status = report.healthy ? 200 : 503;
    ctx.body = report;
  });
  router.get('/metrics', deps.metrics.handler);
  router.post(PROGRESS_ROUTE, async (ctx) => {
    const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    const outcome = await deps.progress.receive(ctx.request.body, token);
    ctx.status = outcome === 'invalid' ? 400 : outcome === 'unauthorized' ? 401 : 204;
  });
  router.post(POKE_ROUTE, (ctx) => {
    deps.poke();
    ctx.status = 204;
  });
  app.use(errorHandler(deps.log));
  app.use(deps.metrics.http);
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
