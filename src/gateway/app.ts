/**
 * The public HTTP side as a Koa app built from its dependencies (conventions 1): tests use
 * `app.callback()` without a port. Order: errors and the access log, metrics, the HLS files
 * (behind their own limit), then health and the API (behind the API limit).
 *
 * Routing and limiting agree: the routers are case-sensitive and match the path as it was sent
 * (`/API/stats` and `/%61pi/stats` are no route), and each limit guards exactly the prefix its
 * router or file server answers under, spelt the same way — so every request an API route answers
 * (405s and preflights included) is counted, before its body is read. Internal routes (progress, pokes, metrics) are not on this app at all:
 * they live on INTERNAL_PORT (src/http/internal.ts).
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { errorHandler } from '../http/error-handler.ts';
import { HLS_ROUTE } from '../jobs/urls.ts';
import type { Logger } from '../log.ts';
import { adminRouter, sessionOf, type AdminDeps } from './admin/routes.ts';
import { apiRouter, type ApiDeps } from './api.ts';
import type { HealthReporter } from './health.ts';
import { rateLimit } from './rate-limit.ts';

export interface AppDeps {
  log: Logger;
  /** TRUST_PROXY and TRUSTED_PROXY_HOPS: how the client address is read from X-Forwarded-For. */
  proxy: { trust: boolean; hops: number };
  health: HealthReporter;
  api: ApiDeps;
  /** The HLS file server for /storage/hls/. */
  hls: Middleware;
  limits: { hlsPerMinute: number; apiMax: number; apiWindowMs: number; dashboardPerHour: number; adminPath: string };
  /** Counts and times requests (the metrics are served on the internal port). */
  httpMetrics?: Middleware;
  /** The admin dashboard under limits.adminPath (ADMIN_ENABLED); absent: nothing is served there. */
  admin?: AdminDeps;
}

/** Only the paths under `prefix` (exactly as spelt) go through `mw`. */
const under = (prefix: string, mw: Middleware): Middleware => (ctx, next) =>
  ctx.path === prefix || ctx.path.startsWith(`${prefix}/`) ? mw(ctx, next) : next();

function healthRouter(health: HealthReporter): Router {
  const router = new Router({ sensitive: true });
  router.get('/health', async (ctx) => {
    const report = await health.report();
    ctx.status = report.status === 'healthy' ? 200 : 503;
    ctx.body = report;
  });
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'alive' };
  });
  router.get('/health/ready', async (ctx) => {
    const ready = await health.ready();
    ctx.status = ready.ready ? 200 : 503;
    ctx.body = ready;
  });
  return router;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.proxy.trust, maxIpsCount: deps.proxy.hops });
  const { log, limits } = deps;
  const api = apiRouter(deps.api);
  const health = healthRouter(deps.health);

  app.use(errorHandler(log));
  if (deps.httpMetrics) app.use(deps.httpMetrics);
  // HLS files first: the hottest path skips the body parser and the routers.
  const hlsLimit = rateLimit({ name: 'hls', max: limits.hlsPerMinute, windowMs: 60_000 }, log);
  app.use(under(HLS_ROUTE, (ctx, next) => hlsLimit(ctx, () => deps.hls(ctx, next))));
  const dashboardLimit = rateLimit({ name: 'dashboard', max: limits.dashboardPerHour, windowMs: 3_600_000 }, log);
  const apiLimit = rateLimit({ name: 'api', max: limits.apiMax, windowMs: limits.apiWindowMs }, log);
  const admin = deps.admin;
  app.use(under(limits.adminPath, dashboardLimit));
  // The dashboard's own API calls count against the dashboard's budget, not the API clients'.
  app.use(under('/api', (ctx, next) => (admin && !ctx.get('authorization') && sessionOf(ctx, admin) ? dashboardLimit(ctx, next) : apiLimit(ctx, next))));
  // The sign-in form is the only form the service reads; the API takes JSON only.
  if (admin) app.use(under(limits.adminPath, bodyParser({ enableTypes: ['form'], formLimit: '4kb', encoding: 'utf-8' })));
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }));
  app.use(health.routes());
  app.use(health.allowedMethods());
  app.use(api.routes());
  app.use(api.allowedMethods());
  if (admin) {
    const dashboard = adminRouter(admin);
    app.use(dashboard.routes());
    app.use(dashboard.allowedMethods());
  }
  // A player that hangs up mid-download is not an error worth a stack trace.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'].includes(err.code ?? '')) return;
    log.error({ err }, 'unhandled HTTP error');
  });
  return app;
}

export { apiRouter, healthRouter };
