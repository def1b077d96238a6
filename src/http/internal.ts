/**
 * The app on INTERNAL_PORT, the same in every process that has one (conventions 1: wiring only):
 * /healthz and /metrics everywhere, and where the controller runs (`vcs serve`, `vcs controller`)
 * the transcoders' progress reports and the poke. None of it is on the public port.
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { Logger } from '../log.ts';
import { errorHandler } from './error-handler.ts';
import { HEALTHZ_ROUTE, METRICS_ROUTE, POKE_ROUTE, PROGRESS_ROUTE } from './routes.ts';

export type ProgressOutcome = 'recorded' | 'throttled' | 'ignored' | 'unauthorized' | 'invalid';

/** What the internal routes need from the controller that runs in this process. */
export interface ControllerPort {
  /** A progress report with the run's bearer token. */
  receiveProgress(body: unknown, token: string | undefined): Promise<ProgressOutcome>;
  /** A pass soon; the controller coalesces pokes. */
  poke(): void;
}

export interface InternalAppDeps {
  log: Logger;
  /** 200 when healthy, else 503; the details are the body. */
  health: () => Promise<{ healthy: boolean; [detail: string]: unknown }>;
  metrics: { http: Middleware; handler: Middleware };
  controller?: ControllerPort;
}

/** Progress reports are a few hundred bytes. */
const BODY_LIMIT = '16kb';

const STATUS_OF: Record<ProgressOutcome, number> = { recorded: 204, throttled: 204, ignored: 204, unauthorized: 401, invalid: 400 };

export function createInternalApp(deps: InternalAppDeps): Koa {
  const app = new Koa();
  const router = new Router({ sensitive: true });
  router.get(HEALTHZ_ROUTE, async (ctx) => {
    const report = await deps.health();
    ctx.status = report.healthy ? 200 : 503;
    ctx.body = report;
  });
  router.get(METRICS_ROUTE, deps.metrics.handler);
  const controller = deps.controller;
  if (controller) {
    router.post(PROGRESS_ROUTE, async (ctx) => {
      const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
      ctx.status = STATUS_OF[await controller.receiveProgress(ctx.request.body, token)];
    });
    router.post(POKE_ROUTE, (ctx) => {
      controller.poke();
      ctx.status = 204;
    });
  }
  app.use(errorHandler(deps.log));
  app.use(deps.metrics.http);
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT, encoding: 'utf-8' }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
