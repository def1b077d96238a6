/**
 * The fake Kubernetes API server's `rbac` option (test/support/kube-rbac.ts, kube-api-server.ts)
 * over real HTTP: each request's verb, resource and name derived as the real server derives them,
 * rules matched as the RBAC authorizer matches them (resourceNames, subresources, `*`), denials
 * answered with the real server's 403 Status (also as @kubernetes/client-node reads it), the audit
 * of denied requests and unused rules, and no change at all without the option.
 */
import { ApiException, BatchV1Api, KubeConfig } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeApi, type FakeKubeApi, type PolicyRule, type RequestAttributes } from '../support/kube-api-server.ts';

const NS = 'video';
const USER = 'system:serviceaccount:video:vcs-controller';
const LEASE = 'vcs-controller-leader';
const BATCH = `/apis/batch/v1/namespaces/${NS}`;
const CORE = `/api/v1/namespaces/${NS}`;
const COORDINATION = `/apis/coordination.k8s.io/v1/namespaces/${NS}`;

/** What the controller needs (docs/protocols/kubernetes-api.md §8). */
const CONTROLLER_ROLE: PolicyRule[] = [
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: [LEASE] },
];

const test = suite('fake Kubernetes API server: RBAC');
const servers: FakeKubeApi[] = [];

test.after.each(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(rules?: PolicyRule[], extra: { namespace?: string; user?: string } = {}): Promise<FakeKubeApi> {
  const api = await startKubeApi(rules ? { rbac: { rules, user: USER, ...extra } } : {});
  servers.push(api);
  return api;
}

const job = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } },
});
const lease = (name: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: 'a' } });

const CONTENT_TYPES: Record<string, string> = { POST: 'application/json', PUT: 'application/json', PATCH: 'application/merge-patch+json' };

/** One plain request; a watch's stream is cut after its headers. */
async function call(api: FakeKubeApi, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const ac = new AbortController();
  const res = await fetch(api.url + path, {
    method,
    headers: { Authorization: 'Bearer t', ...(body === undefined ? {} : { 'Content-Type': CONTENT_TYPES[method]! }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: ac.signal,
  });
  if (/[?&]watch=/.test(path) && res.status === 200) {
    ac.abort();
    return { status: 200, body: undefined };
  }
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

test('every request is authorized with the verb, group, resource and name the real server derives', async () => {
  const api = await start([]);
  const rows: Array<[method: string, path: string, expected: RequestAttributes]> = [
    ['GET', `${BATCH}/jobs`, { verb: 'list', group: 'batch', resource: 'jobs', namespace: NS }],
    ['GET', `${BATCH}/jobs?watch=true&resourceVersion=5`, { verb: 'watch', group: 'batch', resource: 'jobs', namespace: NS }],
    ['GET', `${BATCH}/jobs?watch=1`, { verb: 'watch', group: 'batch', resource: 'jobs', namespace: NS }],
    ['GET', `${BATCH}/jobs?watch=false`, { verb: 'list', group: 'batch', resource: 'jobs', namespace: NS }],
    ['GET', `${BATCH}/jobs?fieldSelector=metadata.name%3Dvcs-1-1`, { verb: 'list', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS }],
    ['GET', `${BATCH}/jobs/vcs-1-1`, { verb: 'get', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS }],
    ['POST', `${BATCH}/jobs`, { verb: 'create', group: 'batch', resource: 'jobs', namespace: NS }],
    ['PUT', `${BATCH}/jobs/vcs-1-1`, { verb: 'update', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS }],
    ['PATCH', `${BATCH}/jobs/vcs-1-1`, { verb: 'patch', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS }],
    ['DELETE', `${BATCH}/jobs/vcs-1-1?propagationPolicy=Background`, { verb: 'delete', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS }],
    ['DELETE', `${BATCH}/jobs`, { verb: 'deletecollection', group: 'batch', resource: 'jobs', namespace: NS }],
    ['PUT', `${BATCH}/jobs/vcs-1-1/status`, { verb: 'update', group: 'batch', resource: 'jobs/status', name: 'vcs-1-1', namespace: NS }],
    ['PATCH', `${BATCH}/jobs/vcs-1-1/status`, { verb: 'patch', group: 'batch', resource: 'jobs/status', name: 'vcs-1-1', namespace: NS }],
    ['GET', `${CORE}/pods`, { verb: 'list', group: '', resource: 'pods', namespace: NS }],
    ['GET', `${CORE}/pods/p-1/log`, { verb: 'get', group: '', resource: 'pods/log', name: 'p-1', namespace: NS }],
    ['POST', `${CORE}/events`, { verb: 'create', group: '', resource: 'events', namespace: NS }],
    ['PUT', `${COORDINATION}/leases/${LEASE}`, { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', name: LEASE, namespace: NS }],
    // Authorization comes before routing: a resource the fake does not serve is still forbidden.
    ['GET', `${CORE}/configmaps`, { verb: 'list', group: '', resource: 'configmaps', namespace: NS }],
    ['GET', `/api/v1/namespaces/other/pods`, { verb: 'list', group: '', resource: 'pods', namespace: 'other' }],
  ];
  for (const [method, path, expected] of rows) {
    const bodies: Record<string, unknown> = { POST: job('vcs-1-1'), PUT: job('vcs-1-1'), PATCH: { metadata: { labels: { a: 'b' } } } };
    const res = await call(api, method, path, bodies[method]);
    assert.is(res.status, 403, `${method} ${path}`);
    assert.is(res.body.reason, 'Forbidden', `${method} ${path}`);
    const resource = expected.resource;
    assert.ok(res.body.message.includes(`cannot ${expected.verb} resource "${resource}" in API group "${expected.group}" in the namespace "${expected.namespace}"`), `${method} ${path}: ${res.body.message}`);
    assert.equal(api.rbacReport().denied.at(-1), expected, `${method} ${path}`);
  }
  assert.is(api.rbacReport().denied.length, rows.length);
  // Nothing reached the store.
  assert.equal(api.store.list('jobs', NS), []);
  assert.equal(api.requests.map((r) => r.status), rows.map(() => 403));
});

test('a denial is the Status body the real server sends, for named, collection and core-group requests', async () => {
  const api = await start([]);
  const named = await call(api, 'DELETE', `${BATCH}/jobs/vcs-1-1`);
  assert.is(
    JSON.stringify(named.body),
    `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch \\"vcs-1-1\\" is forbidden: User \\"system:serviceaccount:video:vcs-controller\\" cannot delete resource \\"jobs\\" in API group \\"batch\\" in the namespace \\"video\\"","reason":"Forbidden","details":{"name":"vcs-1-1","group":"batch","kind":"jobs"},"code":403}`,
  );
  const collection = await call(api, 'GET', `${BATCH}/jobs`);
  assert.equal(collection.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `jobs.batch is forbidden: User "${USER}" cannot list resource "jobs" in API group "batch" in the namespace "video"`,
    reason: 'Forbidden',
    details: { group: 'batch', kind: 'jobs' },
    code: 403,
  });
  // The core group is left out of details (omitempty); the qualified resource is the plain plural.
  const core = await call(api, 'GET', `${CORE}/pods`);
  assert.is(core.body.message, `pods is forbidden: User "${USER}" cannot list resource "pods" in API group "" in the namespace "video"`);
  assert.equal(core.body.details, { kind: 'pods' });
  // A subresource: the qualified resource names the plural, the "cannot" part the subresource.
  const status = await call(api, 'PUT', `${BATCH}/jobs/vcs-1-1/status`, job('vcs-1-1'));
  assert.is(status.body.message, `jobs.batch "vcs-1-1" is forbidden: User "${USER}" cannot update resource "jobs/status" in API group "batch" in the namespace "video"`);
  assert.equal(status.body.details, { name: 'vcs-1-1', group: 'batch', kind: 'jobs' });
});

test('@kubernetes/client-node reads a denial as an ApiException with code 403 and the Forbidden Status', async () => {
  const api = await start(CONTROLLER_ROLE.filter((r) => !r.resources.includes('jobs')));
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig('token-controller', NS));
  const batch = kc.makeApiClient(BatchV1Api);
  const err = await batch.listNamespacedJob({ namespace: NS }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, ApiException);
  const e = err as ApiException<unknown>;
  assert.is(e.code, 403);
  const body = JSON.parse(String(e.body));
  assert.is(body.reason, 'Forbidden');
  assert.is(body.message, `jobs.batch is forbidden: User "${USER}" cannot list resource "jobs" in API group "batch" in the namespace "video"`);
  assert.is(api.requests.at(-1)?.token, 'token-controller');
  assert.equal(api.rbacReport().denied, [{ verb: 'list', group: 'batch', resource: 'jobs', namespace: NS }]);
});

test('resourceNames allow get and update of the named object only; create and list never match them', async () => {
  const api = await start(CONTROLLER_ROLE);
  const onlyNamed = await start([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'list', 'watch', 'get', 'update'], resourceNames: [LEASE] }]);
  // The controller's Role: create through the unrestricted rule, then get and update by name.
  assert.is((await call(api, 'POST', `${COORDINATION}/leases`, lease(LEASE))).status, 201);
  const got = await call(api, 'GET', `${COORDINATION}/leases/${LEASE}`);
  assert.is(got.status, 200);
  assert.is((await call(api, 'PUT', `${COORDINATION}/leases/${LEASE}`, got.body)).status, 200);
  assert.is((await call(api, 'GET', `${COORDINATION}/leases/someone-else`)).status, 403);
  assert.is((await call(api, 'PUT', `${COORDINATION}/leases/someone-else`, lease('someone-else'))).status, 403);
  assert.is((await call(api, 'GET', `${COORDINATION}/leases`)).status, 403);
  assert.is((await call(api, 'PATCH', `${COORDINATION}/leases/${LEASE}`, { spec: { holderIdentity: 'b' } })).status, 403);
  // A rule with resourceNames alone: get by name passes (404: nothing there), create, list and watch do not.
  assert.is((await call(onlyNamed, 'GET', `${COORDINATION}/leases/${LEASE}`)).status, 404);
  assert.is((await call(onlyNamed, 'POST', `${COORDINATION}/leases`, lease(LEASE))).status, 403);
  assert.is((await call(onlyNamed, 'GET', `${COORDINATION}/leases`)).status, 403);
  assert.is((await call(onlyNamed, 'GET', `${COORDINATION}/leases?watch=true`)).status, 403);
  // …unless a field selector names the object, as kubectl get --field-selector does.
  assert.is((await call(onlyNamed, 'GET', `${COORDINATION}/leases?fieldSelector=metadata.name%3D${LEASE}`)).status, 200);
  assert.is((await call(onlyNamed, 'GET', `${COORDINATION}/leases?fieldSelector=metadata.name%3Dother`)).status, 403);
});

test('a subresource needs its own rule: jobs does not cover jobs/status, but * and */status do', async () => {
  const api = await start([{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['*'] }]);
  assert.is((await call(api, 'POST', `${BATCH}/jobs`, job('vcs-1-1'))).status, 201);
  const current = (await call(api, 'GET', `${BATCH}/jobs/vcs-1-1`)).body;
  assert.is((await call(api, 'PUT', `${BATCH}/jobs/vcs-1-1`, current)).status, 200);
  assert.is((await call(api, 'PUT', `${BATCH}/jobs/vcs-1-1/status`, { ...current, status: { active: 1 } })).status, 403);
  assert.is((await call(api, 'PATCH', `${BATCH}/jobs/vcs-1-1/status`, { status: { active: 1 } })).status, 403);

  const status = await start([{ apiGroups: ['batch'], resources: ['jobs/status'], verbs: ['patch'] }]);
  status.store.create('jobs', NS, job('vcs-1-1'));
  assert.is((await call(status, 'PATCH', `${BATCH}/jobs/vcs-1-1/status`, { status: { active: 1 } })).status, 200);
  assert.is((await call(status, 'PATCH', `${BATCH}/jobs/vcs-1-1`, { metadata: { labels: { a: 'b' } } })).status, 403);

  const anyStatus = await start([{ apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] }]);
  assert.is((await call(anyStatus, 'GET', `${BATCH}/jobs/vcs-1-1/status`)).status, 404);
  assert.is((await call(anyStatus, 'GET', `${CORE}/pods/p-1/status`)).status, 404);
  assert.is((await call(anyStatus, 'GET', `${CORE}/pods/p-1/log`)).status, 403);
  assert.is((await call(anyStatus, 'GET', `${BATCH}/jobs/vcs-1-1`)).status, 403);

  // `*` as a resource covers subresources too; allowed, a subresource the fake does not serve is 404.
  const all = await start([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }]);
  assert.is((await call(all, 'GET', `${CORE}/pods/p-1/log`)).status, 404);
  assert.is((await call(all, 'GET', `${BATCH}/jobs/vcs-1-1`)).status, 403);
});

test('* matches every API group, resource and verb', async () => {
  const api = await start([
    { apiGroups: ['*'], resources: ['jobs', 'leases'], verbs: ['list'] },
    { apiGroups: [''], resources: ['*'], verbs: ['list'] },
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['*'] },
  ]);
  assert.is((await call(api, 'GET', `${BATCH}/jobs`)).status, 200);
  assert.is((await call(api, 'GET', `${COORDINATION}/leases`)).status, 200);
  assert.is((await call(api, 'GET', `${CORE}/pods`)).status, 200);
  assert.is((await call(api, 'GET', `${CORE}/events`)).status, 200);
  assert.is((await call(api, 'GET', `${COORDINATION}/leases/x`)).status, 403);
  assert.is((await call(api, 'DELETE', `${BATCH}/jobs`)).status, 405, 'deletecollection allowed, not served');
  assert.is((await call(api, 'GET', `${BATCH}/jobs?watch=true`)).status, 200);
  assert.is((await call(api, 'DELETE', `${CORE}/pods/p-1`)).status, 403);

  const everything = await start([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
  assert.is((await call(everything, 'POST', `${BATCH}/jobs`, job('vcs-1-1'))).status, 201);
  assert.is((await call(everything, 'DELETE', `${BATCH}/jobs/vcs-1-1`)).status, 200);
  assert.is((await call(everything, 'GET', `${CORE}/configmaps`)).status, 404);
  assert.equal(everything.rbacReport(), { denied: [], unusedRules: [] });
});

test('the report lists the denied requests and every expansion of the rules that no allowed request matched', async () => {
  const api = await start(CONTROLLER_ROLE);
  assert.is((await call(api, 'POST', `${BATCH}/jobs`, job('vcs-1-1'))).status, 201);
  assert.is((await call(api, 'GET', `${BATCH}/jobs`)).status, 200);
  assert.is((await call(api, 'GET', `${BATCH}/jobs?watch=true`)).status, 200);
  assert.is((await call(api, 'PATCH', `${BATCH}/jobs/vcs-1-1`, { metadata: { labels: { a: 'b' } } })).status, 403);
  assert.is((await call(api, 'DELETE', `${BATCH}/jobs/vcs-1-1`)).status, 200);
  assert.is((await call(api, 'GET', `${CORE}/pods`)).status, 200);
  assert.is((await call(api, 'GET', `${COORDINATION}/leases/${LEASE}`)).status, 404);
  assert.is((await call(api, 'DELETE', `${CORE}/pods`)).status, 403);
  assert.equal(api.rbacReport(), {
    denied: [
      { verb: 'patch', group: 'batch', resource: 'jobs', name: 'vcs-1-1', namespace: NS },
      { verb: 'deletecollection', group: '', resource: 'pods', namespace: NS },
    ],
    unusedRules: [
      { rule: 0, apiGroup: 'batch', resource: 'jobs', verb: 'get' },
      { rule: 1, apiGroup: '', resource: 'pods', verb: 'get' },
      { rule: 2, apiGroup: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
      { rule: 3, apiGroup: 'coordination.k8s.io', resource: 'leases', verb: 'update', resourceName: LEASE },
    ],
  });

  // Wildcards are reported as written; an expansion counts as used when a request matched it.
  const wild = await start([{ apiGroups: ['*', 'batch'], resources: ['*', 'jobs/status'], verbs: ['get', 'watch'], resourceNames: ['a', 'b'] }]);
  assert.is((await call(wild, 'GET', `${BATCH}/jobs/a`)).status, 404);
  assert.is((await call(wild, 'GET', `${BATCH}/jobs/b/status`)).status, 404);
  const unused = wild.rbacReport().unusedRules.map((u) => `${u.apiGroup}|${u.resource}|${u.verb}|${u.resourceName}`);
  assert.equal(unused, [
    '*|*|watch|a',
    '*|*|watch|b',
    '*|jobs/status|get|a',
    '*|jobs/status|watch|a',
    '*|jobs/status|watch|b',
    'batch|*|watch|a',
    'batch|*|watch|b',
    'batch|jobs/status|get|a',
    'batch|jobs/status|watch|a',
    'batch|jobs/status|watch|b',
  ]);
});

test('the Role grants nothing outside its namespace, and names the service account of its namespace by default', async () => {
  const api = await startKubeApi({ rbac: { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], namespace: NS } });
  servers.push(api);
  assert.is((await call(api, 'GET', `${CORE}/pods`)).status, 200);
  const other = await call(api, 'GET', '/api/v1/namespaces/other/pods');
  assert.is(other.status, 403);
  assert.is(other.body.message, 'pods is forbidden: User "system:serviceaccount:video:test" cannot list resource "pods" in API group "" in the namespace "other"');
  // Without a namespace the Role applies everywhere; the default user is then the request's namespace's.
  const anywhere = await startKubeApi({ rbac: { rules: [] } });
  servers.push(anywhere);
  assert.match((await call(anywhere, 'GET', '/api/v1/namespaces/other/pods')).body.message, 'User "system:serviceaccount:other:test"');
});

test('authorization comes before injected failures: a denied request does not use one up', async () => {
  const api = await start(CONTROLLER_ROLE);
  api.failNext({ status: 500, count: 1 });
  assert.is((await call(api, 'DELETE', `${BATCH}/jobs`)).status, 403);
  assert.is((await call(api, 'GET', `${BATCH}/jobs`)).status, 500);
  assert.is((await call(api, 'GET', `${BATCH}/jobs`)).status, 200);
  // Paths outside the namespaced resource pattern are not authorized: 404 as without RBAC.
  assert.is((await call(api, 'GET', '/api/v1/pods')).status, 404);
  assert.is((await call(api, 'GET', '/version')).status, 404);
});

test('without the rbac option nothing is authorized or recorded, and routing is as before', async () => {
  const api = await start();
  assert.is((await call(api, 'POST', `${BATCH}/jobs`, job('vcs-1-1'))).status, 201);
  assert.is((await call(api, 'PATCH', `${BATCH}/jobs/vcs-1-1/status`, { status: { active: 1 } })).status, 200);
  assert.is((await call(api, 'GET', `${BATCH}/jobs?watch=true`)).status, 200);
  assert.is((await call(api, 'DELETE', `${BATCH}/jobs/vcs-1-1`)).status, 200);
  assert.is((await call(api, 'DELETE', `${BATCH}/jobs`)).status, 405);
  const log = await call(api, 'GET', `${CORE}/pods/p-1/log`);
  assert.equal([log.status, log.body.reason, log.body.message], [404, 'NotFound', `the server could not find the requested resource (${CORE}/pods/p-1/log)`]);
  assert.is((await call(api, 'GET', `${CORE}/configmaps`)).status, 404);
  assert.equal(api.rbacReport(), { denied: [], unusedRules: [] });
});

test.run();
