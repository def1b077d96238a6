/**
 * HTTP metrics: requests and handler time by route pattern, method and status. The `route` label
 * is read from @koa/router's bookkeeping on the context (the only code that knows it), so it is
 * always a pattern such as `/api/post/:wp_post_id`, never a raw path (each raw path would be a new
 * series).
 */
import type { Middleware } from 'koa';
import { Counter, Histogram, type Registry } from 'prom-client';

/** `route` label for anything no router pattern matched and that is not under a known prefix. */
export const UNMATCHED_ROUTE = 'unmatched';

/** HTTP handlers: API calls in milliseconds, HLS files streamed from disk, a slow health check in seconds. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods kept as they are; anything else a client invents is `other` (label cardinality). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What routeLabel reads from a Koa context that went through @koa/router. */
export interface RoutedContext {
  path: string;
  method: string;
  /** Set by @koa/router to the pattern of the layer running now. */
  _matchedRoute?: unknown;
  /** Every router layer whose pattern matched the path (route and router-level middleware). */
  matched?: ReadonlyArray<{ path: unknown; methods: readonly string[] }>;
}

/**
 * The `route` label: the router's matched pattern, else the first of `prefixes` the path is under
 * (one series for every HLS file), else `unmatched`.
 */
export function routeLabel(ctx: RoutedContext, prefixes: readonly string[] = []): string {
  const pattern = matchedPattern(ctx);
  if (pattern !== undefined) return pattern;
  return prefixes.find((p) => ctx.path.startsWith(`${p}/`)) ?? UNMATCHED_ROUTE;
}

function matchedPattern(ctx: RoutedContext): string | undefined {
  let pattern = ctx._matchedRoute;
  // @koa/router sets _matchedRoute once per layer it runs, router-level middleware (`router.use`)
  // included: when such a middleware ends the request (a 401 before the route runs), the value
  // left is the middleware's prefix pattern. The route is the last matched layer with methods,
  // the same choice @koa/router makes before running the chain.
  const layers = ctx.matched ?? [];
  const mine = layers.filter((l) => l.path === pattern);
  if (mine.length > 0 && mine.every((l) => l.methods.length === 0)) {
    pattern = [...layers].reverse().find((l) => l.methods.includes(ctx.method))?.path ?? pattern;
  }
  if (typeof pattern === 'string' && pattern !== '') return pattern;
  if (pattern instanceof RegExp) return String(pattern);
  return undefined;
}

/**
 * A handler that writes the response itself (`ctx.respond = false`, e.g. the in-memory HLS files)
 * says here how many body bytes it wrote, since Koa's response does not know them.
 */
export const BODY_BYTES_STATE = 'vcsBodyBytes';

const methodLabel = (method: string): string => (METHODS.has(method) ? method : 'other');

/**
 * A middleware that counts and times every request; `app.use` it first, so it sees the final
 * status. `prefixes` are paths served without a router (the HLS files) that get one label each.
 */
export function httpMetrics(registry: Registry, prefixes: readonly string[]): () => Middleware {
  const requests = new Counter({
    name: 'vcs_http_requests_total',
    help: 'HTTP requests, by matched route pattern, method and response status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'vcs_http_request_duration_seconds',
    help: 'Time to produce HTTP responses (handlers, not the transfer to the client), by matched route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'vcs_http_response_bytes_total',
    help: 'Response body bytes of HTTP responses sent in full, by route pattern (route="/storage/hls": the HLS bytes served).',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  for (const route of prefixes) bytes.inc({ route }, 0);
  return () => async (ctx, next) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      // Nothing below turned the error into a response; Koa's default handler will use its status.
      const e = err as { status?: unknown; statusCode?: unknown };
      const s = e.status ?? e.statusCode;
      status = typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
      throw err;
    } finally {
      const labels = { route: routeLabel(ctx, prefixes), method: methodLabel(ctx.method) };
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      requests.inc({ ...labels, status: String(status) });
      // Counted once the whole body went out ('finish'; a handler that wrote the response itself
      // may have finished already); an aborted transfer counts nothing.
      const written = ctx.state[BODY_BYTES_STATE] as number | undefined;
      const length = ctx.method === 'HEAD' || status === 204 || status === 304 ? 0 : (written ?? ctx.response.length ?? 0);
      if (length > 0 && ctx.res.writableFinished) bytes.inc({ route: labels.route }, length);
      else if (length > 0) ctx.res.once('finish', () => bytes.inc({ route: labels.route }, length));
    }
  };
}
