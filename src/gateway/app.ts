/**
 * The HTTP side as a Koa app built from its dependencies (STYLE 1): tests use `app.callback()`
 * without a port. Routes: health, the transcoder's progress reports, the HLS files.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { ProgressReceiver } from '../controller/progress.ts';
import type { Logger } from '../log.ts';
import { hlsFiles } from './hls-files.ts';
import type { HealthReporter } from './health.ts';

export interface AppDeps {
  log: Logger;
  hlsPath: string;
  health: HealthReporter;
  /** Present when this process runs the controller (serve, controller). */
  progress?: ProgressReceiver;
  /** Asks the controller for a pass now (after a job was added by another process). */
  poke?: () => void;
}

export const PROGRESS_ROUTE = '/internal/progress';
export const POKE_ROUTE = '/internal/poke';

async function readJson(req: NodeJS.ReadableStream, limit = 16 * 1024): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > limit) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
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

  if (deps.progress) {
    const progress = deps.progress;
    router.post(PROGRESS_ROUTE, async (ctx) => {
      const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
      const outcome = await progress.receive(await readJson(ctx.req), token);
      ctx.status = outcome === 'invalid' ? 400 : outcome === 'unauthorized' ? 401 : 204;
    });
  }

  if (deps.poke) {
    const poke = deps.poke;
    // Harmless to anyone: it only makes the controller look at the store a little earlier.
    router.post(POKE_ROUTE, (ctx) => {
      poke();
      ctx.status = 204;
    });
  }

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } catch (err) {
      const e = err as { status?: number; expose?: boolean; message: string; code?: string };
      ctx.status = e.status && e.status >= 400 && e.status < 600 ? e.status : 500;
      ctx.body = { error: { code: e.code ?? 'VCS_ERR_INTERNAL', message: e.expose ? e.message : 'internal error' } };
      if (ctx.status >= 500) deps.log.error({ err }, 'request failed');
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!ctx.path.startsWith('/storage/')) deps.log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use(hlsFiles(deps.hlsPath));
  return app;
}
