/**
 * The HTTP side as a Koa app built from its dependencies (STYLE 1): tests use `app.callback()`
 * without a port. Order: errors and the access log, metrics, rate limits, then the routes
 * (health, metrics, the API, the transcoders' internal endpoints) and the HLS files.
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import type { ProgressReceiver } from '../controller/progress.ts';
import type { Logger } from '../log.ts';
import { HLS_ROUTE } from '../jobs/urls.ts';
import { apiRouter, type ApiDeps } from './api.ts';
import { errorHandler } from './error-handler.ts';
import type { HealthReporter } from './health.ts';
import { OPENAPI } from './openapi.ts';
import { rateLimit } from './rate-limit.ts';

export interface AppDeps {
  log: Logger;
  /** TRUST_PROXY: the client address comes from X-Forwarded-For. */
  trustProxy: boolean;
  health: HealthReporter;
  api: ApiDeps;
  /** The HLS file server for /storage/hls/. */
  hls: Middleware;
  limits: { hlsPerMinute: number; apiMax: number; apiWindowMs: number; dashboardPerHour: number; adminPath: string };
  metrics?: { http: Middleware; handler: Middleware };
  /** Present when this process runs the controller (serve, controller). */
  progress?: ProgressReceiver;
}

export const PROGRESS_ROUTE = '/internal/progress';
export const POKE_ROUTE = '/internal/poke';

/** Only the paths under `prefix` go through `mw`. */
const under = (prefix: string, mw: Middleware): Middleware => (ctx, next) =>
  ctx.path === prefix || ctx.path.startsWith(`${prefix}/`) ? mw(ctx, next) : next();

function systemRouter(deps: AppDeps): Router {
  const router = new Router();
  router.get('/health', async (ctx) => {
    const report = await deps.health.report();
    ctx.status = report.status === 'healthy' ? 200 : 503;
    ctx.body = report;
  });
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'alive' };
  });
  router.get('/health/ready', async (ctx) => {
    const ready = await deps.health.ready();
    ctx.status = ready.ready ? 200 : 503;
    ctx.body = ready;
  });
  if (deps.metrics) router.get('/metrics', deps.metrics.handler);
  router.get('/api/openapi.json', (ctx) => {
    ctx.body = OPENAPI;
  });
  if (deps.progress) {
    const progress = deps.progress;
    router.post(PROGRESS_ROUTE, async (ctx) => {
      const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
      const outcome = await progress.receive(ctx.request.body, token);
      ctx.status = outcome === 'invalid' ? 400 : outcome === 'unauthorized' ? 401 : 204;
    });
  }
  if (deps.api.poke) {
    const poke = deps.api.poke;
    // Harmless to anyone: it only makes the controller look at the store a little earlier.
    router.post(POKE_ROUTE, (ctx) => {
      poke();
      ctx.status = 204;
    });
  }
  return router;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
  const { log, limits } = deps;
  const api = apiRouter(deps.api);
  const system = systemRouter(deps);

  app.use(errorHandler(log));
  if (deps.metrics) app.use(deps.metrics.http);
  app.use(under(HLS_ROUTE, rateLimit({ name: 'hls', max: limits.hlsPerMinute, windowMs: 60_000 }, log)));
  app.use(under('/api', rateLimit({ name: 'api', max: limits.apiMax, windowMs: limits.apiWindowMs }, log)));
  app.use(under(limits.adminPath, rateLimit({ name: 'dashboard', max: limits.dashboardPerHour, windowMs: 3_600_000 }, log)));
  // HLS files first: the hottest path skips the body parser and the routers.
  app.use(under(HLS_ROUTE, deps.hls));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }));
  app.use(system.routes());
  app.use(system.allowedMethods());
  app.use(api.routes());
  app.use(api.allowedMethods());
  // A player that hangs up mid-download is not an error worth a stack trace.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes(err.code ?? '')) return;
    log.error({ err }, 'unhandled HTTP error');
  });
  return app;
}

/** Every route of the app as "METHOD /path/{param}", for the OpenAPI coverage test. */
export function routeList(app: { system: Router; api: Router }): string[] {
  return [app.system, app.api].flatMap((r) =>
    r.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:([a-z_]+)/g, '{$1}')}`)),
  );
}

export { apiRouter, systemRouter };
