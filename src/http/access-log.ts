/**
 * The access log (LOG_DIR's access.log): one line per request once its answer is sent — client,
 * method, path, status, bytes and milliseconds. Never the query string (signed URLs, tokens) and
 * never a header (API keys, session cookies).
 */
import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';

export function accessLog(log: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // Once the body is sent (or the client gone): the status and size the client got.
      const done = () => {
        const ms = Math.round(performance.now() - started);
        log.info({ channel: 'access', ip: ctx.ip, method: ctx.method, path: ctx.path, status: ctx.status, bytes: ctx.response.length, ms }, `${ctx.method} ${ctx.path} ${ctx.status}`);
      };
      if (ctx.res.writableFinished || ctx.res.destroyed) done();
      else ctx.res.once('close', done);
    }
  };
}
