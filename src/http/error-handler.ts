/**
 * One error middleware (conventions 11) and the access log, for every HTTP app of the service (the
 * public gateway and the internal port). Errors become
 * `{ "error": { "code", "message" } }` with the status the API documents; messages of unexpected
 * errors and stack traces never reach clients, and 5xx are logged with the stack. Every request
 * gets one access log line (method, path without query, status, time, client, key fingerprint),
 * on the `access` channel (LOG_DIR's access.log).
 */
import type { Middleware } from 'koa';
import { codeForStatus, VcsError } from '../errors.ts';
import { HLS_ROUTE } from '../jobs/urls.ts';
import type { Logger } from '../log.ts';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  headers?: Record<string, string>;
  message: string;
}

export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'VCS_ERR_NOT_FOUND', message: `no route ${ctx.method} ${ctx.path}` } };
      } else if (ctx.status === 405 && (ctx.body === undefined || typeof ctx.body === 'string')) {
        ctx.body = { error: { code: 'VCS_ERR_METHOD_NOT_ALLOWED', message: `${ctx.method} is not allowed on ${ctx.path}` } };
      }
    } catch (thrown) {
      const err = thrown as HttpishError;
      const vcs = thrown instanceof VcsError ? thrown : null;
      const status = vcs?.status ?? err.status ?? err.statusCode ?? 500;
      const safeStatus = status >= 400 && status < 600 ? status : 500;
      const expose = vcs ? vcs.expose : safeStatus < 500 && err.expose !== false;
      ctx.status = safeStatus;
      if (err.headers) ctx.set(err.headers);
      ctx.body = {
        error: {
          code: vcs?.code ?? codeForStatus(safeStatus),
          message: expose ? err.message : 'internal error',
        },
      };
      if (safeStatus >= 500) log.error({ err: thrown, method: ctx.method, path: ctx.path }, 'request failed');
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Successful HLS file hits are the bulk of the traffic (a player fetches a segment every
      // few seconds): they go to debug, everything else (API, errors, refusals) to info.
      const routine = ctx.path.startsWith(`${HLS_ROUTE}/`) && ctx.status < 400;
      log[routine ? 'debug' : 'info']({ channel: 'access', method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, ip: ctx.ip, key: ctx.state.keyFingerprint }, 'request');
    }
  };
}
