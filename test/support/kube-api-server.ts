/**
 * A Kubernetes API server subset over real HTTP (docs/protocols/kubernetes-api.md), for the real
 * @kubernetes/client-node: jobs (batch/v1, with /status), pods (v1), leases
 * (coordination.k8s.io/v1) and events (v1) — create, get, list, watch, replace, merge and JSON
 * patch, delete with propagationPolicy — with resourceVersions, label selectors, Status bodies
 * (404, 409 AlreadyExists/Conflict, 410 Expired, 415, 422) and chunked watch streams.
 *
 * Test hooks: a request log (with the caller's bearer token), `rbac` (a Role enforced on every
 * request, 403 Forbidden as the real server answers, and `rbacReport`: the denied requests and the
 * parts of the Role nothing used; kube-rbac.ts), `failNext` (answer the next matching
 * requests with a Status error), `goDown`/`comeBack` (the port refuses connections, open
 * connections and watches are cut), `closeWatches`, `compact` (the next resume gets 410, as an
 * HTTP status or as an ERROR event, alternately), and the ObjectStore for the simulated cluster.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonPatch, mergePatch, ObjectStore, parseSelector, RESOURCES, StatusError, type Change, type Obj } from './kube-objects.ts';
import { createRoleAuthorizer, requestAttributes, type RbacOptions, type RbacReport } from './kube-rbac.ts';

export type { PolicyRule, RbacOptions, RbacReport, RequestAttributes, RuleExpansion } from './kube-rbac.ts';

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  token: string | undefined;
  contentType: string | undefined;
  status: number;
  body?: any;
}

export interface FailRule {
  status: number;
  count: number;
  match?: (req: { method: string; path: string; query: URLSearchParams; token: string | undefined }) => boolean;
}

export interface FakeKubeApi {
  url: string;
  port: number;
  store: ObjectStore;
  requests: LoggedRequest[];
  /** Propagation policy of each deleted Job, by uid (the cluster's garbage collector reads it). */
  deletions: Map<string, string>;
  /** A kubeconfig (JSON, which is YAML) for the server, with `token` and `namespace`. */
  kubeconfig(token: string, namespace: string): string;
  failNext(rule: FailRule): void;
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
  closeWatches(): void;
  /** Forgets the event history: watches resuming from before the current version get 410 Expired. */
  compact(): void;
  /** With the `rbac` option: the requests it denied and the rule expansions no allowed request matched (empty without it). */
  rbacReport(): RbacReport;
  close(): Promise<void>;
}

/** A namespaced resource request; RBAC sees any subresource, the routes serve only `status`. */
const PATH = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

interface Watcher {
  resource: string;
  namespace: string;
  match: (labels: Record<string, string>) => boolean;
  res: http.ServerResponse;
  end: () => void;
}

export async function startKubeApi(opts: { bookmarkEveryMs?: number; rbac?: RbacOptions } = {}): Promise<FakeKubeApi> {
  const store = new ObjectStore();
  const authorizer = opts.rbac ? createRoleAuthorizer(opts.rbac) : undefined;
  const requests: LoggedRequest[] = [];
  const deletions = new Map<string, string>();
  const watchers = new Set<Watcher>();
  const rules: FailRule[] = [];
  let expiredAsEvent = false;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  /** The event a watcher sees for a change, after its label selector (entering = ADDED, leaving = DELETED). */
  function eventFor(w: Watcher, c: Change): { type: string; object: Obj } | null {
    if (c.resource !== w.resource || c.namespace !== w.namespace) return null;
    const now = w.match(c.object.metadata.labels ?? {});
    const before = c.old ? w.match(c.old.metadata.labels ?? {}) : false;
    if (c.type === 'ADDED') return now ? { type: 'ADDED', object: c.object } : null;
    if (c.type === 'DELETED') return before ? { type: 'DELETED', object: c.object } : null;
    if (now && before) return { type: 'MODIFIED', object: c.object };
    if (now) return { type: 'ADDED', object: c.object };
    if (before) return { type: 'DELETED', object: c.object };
    return null;
  }

  store.subscribe((c) => {
    for (const w of watchers) {
      const ev = eventFor(w, c);
      if (ev) w.res.write(`${JSON.stringify(ev)}\n`);
    }
  });

  function watch(res: http.ServerResponse, resource: string, namespace: string, query: URLSearchParams): number {
    const match = parseSelector(query.get('labelSelector'));
    const rvText = query.get('resourceVersion') ?? '';
    const rv = Number(rvText || '0');
    if (rvText && rvText !== '0' && rv < store.oldestRv) {
      const expired = new StatusError(410, 'Expired', `too old resource version: ${rv} (${store.currentRv()})`);
      expiredAsEvent = !expiredAsEvent;
      if (!expiredAsEvent) {
        send(res, 410, expired.body());
        return 410;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: expired.body() })}\n`);
      return 200;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { resource, namespace, match, res, end: () => res.end() };
    if (!rvText || rvText === '0') {
      for (const o of store.list(resource, namespace, query.get('labelSelector'))) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const c of store.history.filter((h) => h.rv > rv)) {
        const ev = eventFor(w, c);
        if (ev) res.write(`${JSON.stringify(ev)}\n`);
      }
    }
    watchers.add(w);
    const timers: NodeJS.Timeout[] = [];
    const timeout = Number(query.get('timeoutSeconds') ?? '0');
    if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
    if (query.get('allowWatchBookmarks') === 'true' && opts.bookmarkEveryMs) {
      const t = RESOURCES[resource]!;
      timers.push(setInterval(() => res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: t.kind, apiVersion: t.apiVersion, metadata: { resourceVersion: String(store.currentRv()) } } })}\n`), opts.bookmarkEveryMs));
    }
    const cleanup = () => {
      watchers.delete(w);
      timers.forEach((t) => clearTimeout(t));
    };
    // Not req's 'close': it fires as soon as the request body is read (Node >= 16).
    res.on('close', cleanup);
    return 200;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): { status: number; body?: any } {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = PATH.exec(url.pathname);
    const method = req.method ?? 'GET';
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [, group = '', , namespace, resource, name, sub] = m ?? [];
    const attrs = m ? requestAttributes(method, { group, namespace: namespace!, resource: resource!, name, subresource: sub }, url.searchParams) : undefined;
    // As in the real server, authorization comes before anything else looks at the request.
    const denial = attrs && authorizer?.authorize(attrs);
    if (denial) throw denial;
    const rule = rules.find((r) => r.count > 0 && (!r.match || r.match({ method, path: url.pathname, query: url.searchParams, token })));
    if (rule) {
      rule.count--;
      const reason = rule.status === 403 ? 'Forbidden' : rule.status === 410 ? 'Expired' : rule.status === 429 ? 'TooManyRequests' : 'InternalError';
      const err = new StatusError(rule.status, reason, `injected failure (${rule.status})`);
      send(res, rule.status, err.body());
      return { status: rule.status };
    }
    const type = resource ? RESOURCES[resource] : undefined;
    if (!m || !type || type.group !== group || (sub !== undefined && sub !== 'status')) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const body = raw ? (JSON.parse(raw) as Obj) : undefined;
    const ns = namespace!;
    if (!name) {
      if (method === 'GET' && attrs?.verb === 'watch') return { status: watch(res, resource!, ns, url.searchParams) };
      if (method === 'GET') {
        const items = store.list(resource!, ns, url.searchParams.get('labelSelector')).map(({ kind: _k, apiVersion: _a, ...item }) => item);
        const list = { kind: type.listKind, apiVersion: type.apiVersion, metadata: { resourceVersion: String(store.currentRv()) }, items };
        send(res, 200, list);
        return { status: 200 };
      }
      if (method === 'POST') {
        const created = store.create(resource!, ns, body!);
        send(res, 201, created);
        return { status: 201, body };
      }
    } else {
      const part = sub === 'status' ? 'status' : 'main';
      if (method === 'GET') {
        send(res, 200, store.mustGet(resource!, ns, name));
        return { status: 200 };
      }
      if (method === 'PUT') {
        send(res, 200, store.replace(resource!, ns, name, body!, part));
        return { status: 200, body };
      }
      if (method === 'PATCH') {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const current = store.mustGet(resource!, ns, name);
        let next: Obj;
        if (contentType === 'application/merge-patch+json') next = mergePatch(current, body);
        else if (contentType === 'application/json-patch+json') next = jsonPatch(current, body as any);
        else throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`);
        // A resourceVersion the patch itself carries is a precondition; otherwise none.
        const pre = (body as any)?.metadata?.resourceVersion;
        if (!pre) next.metadata.resourceVersion = undefined;
        send(res, 200, store.replace(resource!, ns, name, next, part));
        return { status: 200, body };
      }
      if (method === 'DELETE') {
        const policy = url.searchParams.get('propagationPolicy') ?? undefined;
        const headers: Record<string, string> = {};
        if (resource === 'jobs' && !policy) {
          headers.Warning = '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"';
        }
        const current = store.mustGet(resource!, ns, name);
        deletions.set(current.metadata.uid!, policy ?? (resource === 'jobs' ? 'Orphan' : 'Background'));
        store.delete(resource!, ns, name);
        send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: type.group, kind: type.plural, uid: current.metadata.uid } }, headers);
        return { status: 200 };
      }
    }
    throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const entry: LoggedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        token: /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1],
        contentType: req.headers['content-type'],
        status: 0,
      };
      requests.push(entry);
      try {
        const out = handle(req, res, raw);
        entry.status = out.status;
        entry.body = out.body;
      } catch (err) {
        const e = err instanceof StatusError ? err : err instanceof SyntaxError ? new StatusError(400, 'BadRequest', err.message) : new StatusError(500, 'InternalError', String(err));
        entry.status = e.code;
        send(res, e.code, e.body());
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const closeWatches = () => {
    for (const w of watchers) w.end();
    watchers.clear();
  };

  return {
    url,
    port,
    store,
    requests,
    deletions,
    kubeconfig: (token, namespace) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'fake',
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'test', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'test', namespace } }],
      }),
    failNext: (rule) => rules.push({ ...rule }),
    async goDown() {
      closeWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async comeBack() {
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    closeWatches,
    compact: () => store.compact(),
    rbacReport: () => authorizer?.report() ?? { denied: [], unusedRules: [] },
    async close() {
      closeWatches();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
