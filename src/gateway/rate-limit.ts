/**
 * Rate limits with koa-ratelimit (the plan’s "Rate Limiting", docs/adr/0015): HLS files per client per minute,
 * the API per RATE_LIMIT_WINDOW, the dashboard per hour. Over the limit: 429 with Retry-After, the
 * X-RateLimit-* headers and a JSON body; the abuse is logged.
 *
 * Who the client is: Koa's ctx.ip, which reads X-Forwarded-For only with TRUST_PROXY, and then
 * only the TRUSTED_PROXY_HOPS entries its own proxies appended (Koa's maxIpsCount), so a client
 * cannot pick its address by sending the header. IPv6 clients are counted per /64: one host
 * usually holds a whole /64 and could otherwise take a fresh budget from each address in it.
 * The counters are kept in memory per process, in a map bounded by MAX_CLIENTS.
 */
import ipaddr from 'ipaddr.js';
import type { Context, Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Logger } from '../log.ts';

export interface LimitSpec {
  name: string;
  max: number;
  windowMs: number;
}

/**
 * Clients remembered per limiter. An entry is ~200 bytes, so the bound is ~20 MB at worst; past
 * it, the windows that started first (and so end first) are dropped first.
 */
export const MAX_CLIENTS = 100_000;

/**
 * koa-ratelimit's memory driver takes a Map: this one forgets its oldest entries past `maxEntries`.
 * Every window lasts as long, so insertion order is expiry order; a renewed window is re-inserted.
 */
export class BoundedWindowMap<K, V> extends Map<K, V> {
  constructor(private readonly maxEntries: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    for (const oldest of this.keys()) {
      if (this.size < this.maxEntries) break;
      super.delete(oldest);
    }
    return super.set(key, value);
  }
}

/** The client a request is counted for: its address, or its /64 for IPv6. */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const parsed = ipaddr.process(ip); // IPv4-mapped IPv6 becomes IPv4
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toRFC5952String()}/64`;
}

/** One limiter; `max` 0 means no limit. */
export function rateLimit(spec: LimitSpec, log: Logger, maxClients = MAX_CLIENTS): Middleware {
  if (spec.max === 0) return (_ctx, next) => next();
  return ratelimit({
    driver: 'memory',
    db: new BoundedWindowMap(maxClients),
    duration: spec.windowMs,
    max: spec.max,
    id: (ctx: Context) => clientKey(ctx.ip),
    onLimited(ctx: Context) {
      // koa-ratelimit rounds down; never tell a client to retry "in 0 s".
      const after = Math.max(1, Number(ctx.response.get('Retry-After')) || 0);
      ctx.set('Retry-After', String(after));
      ctx.body = { error: { code: 'VCS_ERR_RATE_LIMITED', message: `rate limit of ${spec.max} requests per ${Math.round(spec.windowMs / 1000)} s exceeded; retry in ${after} s` } };
      log.warn({ limit: spec.name, ip: ctx.ip, path: ctx.path, key: ctx.state.keyFingerprint }, 'rate limit exceeded');
    },
  } as Parameters<typeof ratelimit>[0]);
}
