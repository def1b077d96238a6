/**
 * Rate limits with koa-ratelimit (original plan, "Rate Limiting"): HLS files per client address per
 * minute, the API per RATE_LIMIT_WINDOW, the dashboard per hour. Over the limit: 429 with
 * Retry-After, the X-RateLimit-* headers and a JSON body; the abuse is logged. The client address
 * is Koa's ctx.ip, which follows X-Forwarded-For only when TRUST_PROXY is set.
 */
import type { Context, Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Logger } from '../log.ts';

export interface LimitSpec {
  name: string;
  max: number;
  windowMs: number;
}

/** One limiter; `max` 0 means no limit. Counters live in this process (memory driver). */
export function rateLimit(spec: LimitSpec, log: Logger, id: (ctx: Context) => string = (ctx) => ctx.ip): Middleware {
  if (spec.max === 0) return (_ctx, next) => next();
  return ratelimit({
    driver: 'memory',
    db: new Map(),
    duration: spec.windowMs,
    max: spec.max,
    id,
    onLimited(ctx: Context) {
      // koa-ratelimit rounds down; never tell a client to retry "in 0 s".
      const after = Math.max(1, Number(ctx.response.get('Retry-After')) || 0);
      ctx.set('Retry-After', String(after));
      ctx.body = { error: { code: 'VCS_ERR_RATE_LIMITED', message: `rate limit of ${spec.max} requests per ${Math.round(spec.windowMs / 1000)} s exceeded; retry in ${after} s` } };
      log.warn({ limit: spec.name, ip: ctx.ip, path: ctx.path, key: ctx.state.keyFingerprint }, 'rate limit exceeded');
    },
  } as Parameters<typeof ratelimit>[0]);
}
