/**
 * An in-process Appwrite server subset (docs/adr/0014; docs/protocols/appwrite.md): the `/v1/tablesdb` and
 * `/v1/databases` path families over one store, for databases, tables (collections), columns
 * (attributes), indexes and rows (documents). It answers as Appwrite 1.9 does, so the real
 * node-appwrite SDK can be driven against it: queries as the SDK encodes them, 201/200/202/204
 * with the real bodies (no content type on 204), errors as {message, code, version, type},
 * columns and indexes `processing` for a moment, unique indexes as 409, the schema enforced.
 *
 * For outage tests, `faults` makes it answer 500s, hang (the client times out), reset
 * connections or lose answers, for a number of requests or for a while. The routes themselves are
 * in appwrite/routes.ts, the records and their validation in appwrite/records.ts, the queries in
 * appwrite/queries.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccounts, type FakeAccounts } from './appwrite/accounts.ts';
import { queryStrings } from './appwrite/queries.ts';
import { AppwriteError, FAMILIES, type FamilyName, type FakeDatabase } from './appwrite/records.ts';
import { familyRoutes, type Route } from './appwrite/routes.ts';

export const APPWRITE_VERSION = '1.9.6';

export interface FakeAppwriteOptions {
  projectId?: string;
  apiKey?: string;
  /** The server's clock for `$createdAt`/`$updatedAt` (a test may share its fake clock). */
  now?: () => number;
  /** How long a new column or index stays `processing` (real time). Defaults to 30 ms. */
  buildMs?: number;
  /** Path families served; ['databases'] is a server before 1.8. Defaults to both. */
  families?: FamilyName[];
  /** TablesDB without `varchar`/`text` columns (a 1.8 server). */
  withoutVarchar?: boolean;
  /** Start with a copy of another server's data (a schema set up once for many tests). */
  seed?: Map<string, FakeDatabase>;
}

/**
 * `error`: 500 general_unknown; `hang`: no answer at all (the client's timeout fires); `reset`:
 * the connection is closed before anything is done; `lose`: the request is carried out, then the
 * connection is closed, so the caller never learns that it was (a lost answer).
 */
export type FaultKind = 'error' | 'hang' | 'reset' | 'lose';

export interface Faults {
  /** The next `count` requests (with `method`, when given) fail this way. */
  next(kind: FaultKind, count: number, method?: string): void;
  /** Every request fails this way for `ms` milliseconds from now. */
  outage(kind: FaultKind, ms: number): void;
  /** Back-to-back outages from now, with no moment of service between them. */
  outages(phases: { kind: FaultKind; ms: number }[]): void;
  clear(): void;
  /** Requests answered with a fault so far. */
  readonly served: number;
}

export interface RecordedRequest {
  method: string;
  /** Under /v1, without the query string. */
  path: string;
  /** The OpenAPI path template of the route that answered, when one did. */
  route?: string;
  queries: string[];
  headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
  response: unknown;
}

export interface FakeAppwrite {
  /** The endpoint, ending in /v1. */
  endpoint: string;
  projectId: string;
  apiKey: string;
  faults: Faults;
  requests: RecordedRequest[];
  databases: Map<string, FakeDatabase>;
  /** Called with each request before it is answered: a test may change the data in between (another writer). */
  onRequest?: (request: RecordedRequest) => void;
  /** Users, teams and sessions for the OAuth2 sign-in routes (appwrite/accounts.ts). */
  accounts: FakeAccounts;
  close(): Promise<void>;
}

/** Route templates as regular expressions, with the names of their parameters. */
function compile(route: Route): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const re = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { re: new RegExp(`^${re}$`), names };
}

export async function startAppwriteServer(options: FakeAppwriteOptions = {}): Promise<FakeAppwrite> {
  const projectId = options.projectId ?? 'vcs-test';
  const apiKey = options.apiKey ?? 'test-api-key';
  const now = options.now ?? Date.now;
  const databases: Map<string, FakeDatabase> = options.seed ? structuredClone(options.seed) : new Map();
  const families = options.families ?? ['tablesdb', 'databases'];
  const routes = families.flatMap((name) => familyRoutes(FAMILIES[name], databases, { now, buildMs: options.buildMs ?? 30, withoutVarchar: options.withoutVarchar ?? false }));
  const compiled = routes.map((route) => ({ route, ...compile(route) }));
  const requests: RecordedRequest[] = [];
  const hung = new Set<http.ServerResponse>();
  let pending: { kind: FaultKind; count: number; method?: string } | null = null;
  let outages: { kind: FaultKind; until: number }[] = [];
  let served = 0;
  const accounts = createAccounts(projectId, apiKey);

  const faults: Faults = {
    next: (kind, count, method) => void (pending = { kind, count, method }),
    outage: (kind, ms) => faults.outages([{ kind, ms }]),
    outages(phases) {
      let at = Date.now();
      outages = phases.map(({ kind, ms }) => ({ kind, until: (at += ms) }));
    },
    clear() {
      pending = null;
      outages = [];
    },
    get served() {
      return served;
    },
  };

  function fault(method: string): FaultKind | null {
    const now = Date.now();
    const current = outages.find((o) => now < o.until);
    if (current) return current.kind;
    if (pending && pending.count > 0 && (!pending.method || pending.method === method)) {
      pending.count -= 1;
      return pending.kind;
    }
    return null;
  }

  function send(res: http.ServerResponse, status: number, body?: unknown): void {
    if (status === 204) {
      // No Content-Type on 204: with one, the SDK would try to parse the empty body (docs/protocols/appwrite.md §3).
      res.writeHead(204).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'X-Appwrite-Version': APPWRITE_VERSION }).end(JSON.stringify(body));
  }

  const errorBody = (e: AppwriteError) => ({ message: e.message, code: e.status, version: APPWRITE_VERSION, type: e.type });

  function answer(req: http.IncomingMessage, url: URL, text: string): { status: number; body?: unknown; route?: string; headers?: Record<string, string>; html?: string } {
    const path = url.pathname.replace(/^\/v1/, '');
    if (req.method === 'GET' && path === '/ping') return { status: 200, body: 'Pong!' };
    try {
      const reply = accounts.answer(req.method ?? '', url, req.headers, text ? (safeJson(text) as Record<string, unknown>) : {}, `http://${req.headers.host}`);
      if (reply) return { ...reply, route: path };
    } catch (err) {
      if (err instanceof AppwriteError) return { status: err.status, body: errorBody(err), route: path };
      throw err;
    }
    for (const { route, re, names } of compiled) {
      if (route.method !== req.method) continue;
      const m = re.exec(path);
      if (!m) continue;
      try {
        if (req.headers['x-appwrite-project'] !== projectId) throw new AppwriteError(404, 'project_not_found', 'Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used.');
        if (req.headers['x-appwrite-key'] !== apiKey) {
          // An unknown key makes the caller a guest: guests lack the schema scopes, and may use
          // the row routes only where permissions allow (none here).
          if (/^(rows|documents)\./.test(route.scope)) throw new AppwriteError(401, 'user_unauthorized', 'The current user is not authorized to perform the requested action.');
          throw new AppwriteError(401, 'general_unauthorized_scope', `User (role: guests) missing scopes (["${route.scope}"])`);
        }
        const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
        let body: Record<string, unknown> = {};
        if (text) {
          try {
            body = JSON.parse(text);
          } catch {
            throw new AppwriteError(400, 'general_argument_invalid', 'Invalid JSON body');
          }
        }
        return { ...route.handle({ params, search: url.searchParams, body, headers: req.headers }), route: route.path };
      } catch (err) {
        if (err instanceof AppwriteError) return { status: err.status, body: errorBody(err), route: route.path };
        throw err;
      }
    }
    return { status: 404, body: errorBody(new AppwriteError(404, 'general_route_not_found', 'Route not found. Please ensure the endpoint is configured correctly and that the API route is valid for this SDK version. Refer to the API docs for more details.')) };
  }

  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://appwrite.test');
      const record: RecordedRequest = { method: req.method ?? '', path: url.pathname.replace(/^\/v1/, ''), queries: queryStrings(url.searchParams), headers: req.headers, body: text ? safeJson(text) : undefined, status: 0, response: undefined };
      requests.push(record);
      fake.onRequest?.(record);
      const injected = fault(record.method);
      if (injected && injected !== 'lose') {
        served += 1;
        if (injected === 'hang') {
          hung.add(res);
          return void res.on('close', () => hung.delete(res));
        }
        if (injected === 'reset') return void req.socket.destroy();
        record.status = 500;
        return send(res, 500, { message: 'Server Error', code: 500, version: APPWRITE_VERSION, type: 'general_unknown' });
      }
      let reply: ReturnType<typeof answer>;
      try {
        reply = answer(req, url, text);
      } catch (err) {
        // A bug in the fake: say so loudly, as a 500 the test will see.
        reply = { status: 500, body: { message: `fake Appwrite server: ${(err as Error).message}`, code: 500, version: APPWRITE_VERSION, type: 'general_unknown' } };
      }
      Object.assign(record, { status: reply.status, response: reply.body, route: reply.route });
      if (injected === 'lose') {
        served += 1;
        return void req.socket.destroy();
      }
      if (url.pathname === '/v1/ping' && reply.status === 200) return void res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Pong!');
      if (reply.headers?.Location) return void res.writeHead(reply.status, reply.headers).end();
      if (reply.html !== undefined) return void res.writeHead(reply.status, { 'Content-Type': 'text/html; charset=UTF-8' }).end(reply.html);
      send(res, reply.status, reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeAppwrite = {
    endpoint: `http://127.0.0.1:${port}/v1`,
    projectId,
    apiKey,
    faults,
    requests,
    databases,
    accounts,
    close: () =>
      new Promise((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
