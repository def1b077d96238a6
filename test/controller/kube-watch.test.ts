/**
 * The list-watch cache (src/controller/kube-watch.ts) and the Kubernetes runner's API handling
 * (src/controller/kube-runner.ts) with the real client against the fake API server: events,
 * label selectors, re-list on 410 (HTTP status and ERROR event), restart after errors, adoption
 * on 409, finished Jobs removed by others, and RunnerUnavailableError while the server is away.
 */
import { BatchV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Job } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ladderFromSettings, type JobSpec } from '../../src/contract.ts';
import { loadConfig } from '../../src/config.ts';
import { buildJobManifest, instanceSelector } from '../../src/controller/job-manifest.ts';
import { createKubeRunner, type KubeRunner } from '../../src/controller/kube-runner.ts';
import { createListWatch, type ListWatch } from '../../src/controller/kube-watch.ts';
import { RunnerUnavailableError } from '../../src/controller/runner.ts';
import { createLogger } from '../../src/log.ts';
import { startKubeApi, type FakeKubeApi } from '../support/kube-api-server.ts';
import { defaultRole } from '../support/kube-harness.ts';
import { waitFor } from '../support/service.ts';

const test = suite('kube watch');
const NS = 'video';
const log = createLogger({ LOG_LEVEL: 'info', ENABLE_LOGGING: false });
const settings = loadConfig({ STORAGE_PATH: '/data', RUNNER: 'kubernetes' });
const SELECTOR = instanceSelector(settings.KUBE_INSTANCE);
let api: FakeKubeApi;
let kc: KubeConfig;
let stops: (() => void)[] = [];

test.before.each(async () => {
  // The runner's calls are checked against the chart's Role, as a cluster would.
  api = await startKubeApi({ rbac: { rules: (await defaultRole()).rules, namespace: NS } });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig('token', NS));
});
test.after.each(async () => {
  stops.splice(0).forEach((s) => s());
  await api.close();
});

const spec = (id: number, attempt = 1): JobSpec => ({
  jobName: `vcs-${id}-${attempt}`,
  videoId: id,
  sourceUrl: `https://example.com/${id}.mp4`,
  outputDir: `/data/hls/${id}`,
  workDir: `/data/temp/work/vcs-${id}-${attempt}`,
  ladder: ladderFromSettings(settings),
  resultPath: '/dev/termination-log',
});
const manifest = (job: JobSpec) => buildJobManifest(job, {}, settings);
const putJob = (id: number, attempt = 1) => api.store.create('jobs', NS, manifest(spec(id, attempt)) as any);

function jobWatch(extra: { onChange?: () => void; resyncMs?: number } = {}): ListWatch<V1Job> {
  const batch = kc.makeApiClient(BatchV1Api);
  const lw = createListWatch<V1Job>({
    path: `/apis/batch/v1/namespaces/${NS}/jobs`,
    labelSelector: SELECTOR,
    list: () => batch.listNamespacedJob({ namespace: NS, labelSelector: SELECTOR }),
    watch: new Watch(kc),
    log,
    onChange: extra.onChange ?? (() => undefined),
    resyncMs: extra.resyncMs ?? 60_000,
    backoffMs: { min: 50, max: 200 },
  });
  lw.start();
  stops.push(() => lw.stop());
  return lw;
}

function runner(): KubeRunner {
  const r = createKubeRunner({
    api: { batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api), watch: new Watch(kc), namespace: NS },
    labelSelector: SELECTOR,
    manifest,
    phaseManifest: () => {
      throw new Error('no chunked runs here');
    },
    resyncMs: 60_000,
    log,
  });
  stops.push(() => void r.close());
  return r;
}

const names = (lw: ListWatch<V1Job>) => lw.items().map((j) => j.metadata!.name).sort();
const lists = () => api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/jobs') && r.query.watch !== 'true').length;

test('lists, then follows the watch; only Jobs of the selector; a Job relabelled out of it leaves', async () => {
  putJob(1);
  api.store.create('jobs', NS, { metadata: { name: 'someone-else', labels: { app: 'other' } }, spec: {} });
  const lw = jobWatch();
  await lw.firstSync();
  assert.equal(names(lw), ['vcs-1-1']);
  putJob(2);
  await waitFor(() => names(lw).includes('vcs-2-1'), 3000, 'ADDED');
  api.store.update('jobs', NS, 'vcs-1-1', (o) => (o.status = { active: 1 }), 'status');
  await waitFor(() => lw.get('vcs-1-1')?.status?.active === 1, 3000, 'MODIFIED');
  api.store.update('jobs', NS, 'vcs-2-1', (o) => (o.metadata.labels!['app.kubernetes.io/instance'] = 'other'));
  await waitFor(() => !names(lw).includes('vcs-2-1'), 3000, 'left the selection');
  api.store.delete('jobs', NS, 'vcs-1-1');
  await waitFor(() => names(lw).length === 0, 3000, 'DELETED');
  const watches = api.requests.filter((r) => r.query.watch === 'true');
  assert.ok(watches.every((r) => r.query.labelSelector === SELECTOR && r.query.resourceVersion), 'watches resume from a resourceVersion with the selector');
});

test('an expired resourceVersion (410 as HTTP status, then as an ERROR event) re-lists and catches up', async () => {
  const lw = jobWatch();
  await lw.firstSync();
  for (const id of [10, 11]) {
    const before = lists();
    api.closeWatches();
    putJob(id); // while no watch is open, then the history is compacted: only a re-list shows it
    api.compact();
    await waitFor(() => names(lw).includes(`vcs-${id}-1`), 5000, `vcs-${id}-1 after the re-list`);
    assert.is(lists(), before + 1);
    assert.ok(lw.synced());
  }
  const expired = api.requests.filter((r) => r.query.watch === 'true' && r.status === 410);
  assert.is(expired.length, 1, 'one watch answered HTTP 410 (the other got 200 with an ERROR event)');
});

test('a failing watch (500) marks the cache unsynced; it is restarted and lists again', async () => {
  let changes = 0;
  const lw = jobWatch({ onChange: () => changes++ });
  await lw.firstSync();
  api.failNext({ status: 500, count: 3, match: (r) => r.query.get('watch') === 'true' });
  api.closeWatches();
  await waitFor(() => !lw.synced(), 3000, 'unsynced');
  putJob(20);
  await waitFor(() => lw.synced() && names(lw).includes('vcs-20-1'), 5000, 'synced again with the new Job');
  assert.ok(changes > 0);
});

test('the runner: a 409 on create adopts the existing Job; one Job, reported running', async () => {
  const r = runner();
  await r.sync();
  putJob(30); // made by a previous leader, not yet seen by this runner's watch
  await r.start(spec(30));
  const posts = api.requests.filter((q) => q.method === 'POST');
  assert.equal(posts.map((q) => q.status), [409]);
  assert.ok(api.requests.some((q) => q.method === 'GET' && q.path.endsWith('/jobs/vcs-30-1') && q.status === 200), 'read the existing Job');
  assert.equal((await r.list()).map((s) => [s.jobName, s.videoId, s.phase]), [['vcs-30-1', 30, 'running']]);
  assert.is(api.store.list('jobs', NS).length, 1);
});

test('the runner: a created Job is reported at once, before its watch event', async () => {
  const r = runner();
  await r.sync();
  api.closeWatches(); // the event arrives only after the reconnect
  await r.start(spec(31));
  assert.equal((await r.list()).map((s) => s.jobName), ['vcs-31-1']);
});

test('the runner: a finished Job that the TTL removed is still reported, with its result, until forgotten', async () => {
  const r = runner();
  await r.sync();
  await r.start(spec(40));
  const result = { ok: true, jobName: 'vcs-40-1', videoId: 40, step: 'completed', output: { renditions: [], posterBytes: 1, totalBytes: 10, durationSeconds: 2 }, timings: {} };
  const job = api.store.get('jobs', NS, 'vcs-40-1')!;
  api.store.create('pods', NS, {
    metadata: { name: 'vcs-40-1-abcde', labels: { ...job.spec.template.metadata.labels } },
    spec: {},
    status: { phase: 'Succeeded', containerStatuses: [{ name: 'transcoder', state: { terminated: { exitCode: 0, message: JSON.stringify(result), finishedAt: '2025-01-01T00:00:00Z' } } }] },
  });
  const now = '2025-01-01T00:00:01Z';
  api.store.update('jobs', NS, 'vcs-40-1', (o) => {
    o.status = { succeeded: 1, completionTime: now, conditions: ['SuccessCriteriaMet', 'Complete'].map((type) => ({ type, status: 'True', reason: 'CompletionsReached', lastTransitionTime: now })) };
  }, 'status');
  await waitFor(async () => (await r.list())[0]?.phase === 'succeeded', 3000, 'succeeded');
  api.store.delete('jobs', NS, 'vcs-40-1');
  await waitFor(async () => !api.store.get('jobs', NS, 'vcs-40-1'), 1000, 'deleted');
  await new Promise((res) => setTimeout(res, 200));
  const [status] = await r.list();
  assert.equal([status?.jobName, status?.phase, status?.result?.ok], ['vcs-40-1', 'succeeded', true]);
  await r.forget('vcs-40-1');
  assert.equal(await r.list(), []);
});

test('the runner: unreachable API server → RunnerUnavailableError; a refusal (403) is a plain error; deleting a missing Job is fine', async () => {
  const r = runner();
  await r.sync();
  await r.stop('vcs-50-1', 'gone anyway');
  api.failNext({ status: 403, count: 1, match: (q) => q.method === 'POST' });
  const refused = await r.start(spec(51)).catch((e: Error) => e);
  assert.instance(refused, Error);
  assert.not.instance(refused, RunnerUnavailableError);
  assert.match((refused as Error).message, /refused Job vcs-51-1: HTTP 403/);
  await api.goDown();
  await waitFor(() => !r.synced(), 3000, 'unsynced');
  assert.instance(await r.list().catch((e) => e), RunnerUnavailableError);
  assert.instance(await r.start(spec(52)).catch((e) => e), RunnerUnavailableError);
  await api.comeBack();
  await waitFor(() => r.synced(), 5000, 'synced again');
  // The stopped run is reported (no pod of it runs) until its outcome is recorded.
  assert.equal((await r.list()).map((s) => [s.jobName, s.phase, s.reason]), [['vcs-50-1', 'failed', 'stopped: gone anyway']]);
  await r.forget('vcs-50-1');
  assert.equal(await r.list(), []);
});

test('a pod whose Job was deleted before this runner started is taken up as a stopping run (a restart or a new leader)', async () => {
  const job = buildJobManifest(spec(61), {}, settings);
  // The Job is gone (deleted by the previous leader); its pod still terminates.
  api.store.create('pods', NS, { metadata: { name: 'vcs-61-1-xyz12', labels: { ...job.spec!.template.metadata!.labels, 'batch.kubernetes.io/job-name': 'vcs-61-1' } }, spec: {}, status: { phase: 'Running' } });
  const r = runner();
  await r.sync();
  assert.equal((await r.list()).map((s) => [s.jobName, s.videoId, s.phase]), [['vcs-61-1', 61, 'running']]);
  api.store.delete('pods', NS, 'vcs-61-1-xyz12');
  assert.equal((await r.list()).map((s) => [s.jobName, s.phase, s.reason]), [['vcs-61-1', 'failed', 'stopped: its Job was deleted before this controller started']]);
  await r.forget('vcs-61-1');
  assert.equal(await r.list(), []);
});

test('a stopped Job reads as running while a pod of it still runs (it may still write to the volume), then as stopped', async () => {
  const r = runner();
  await r.sync();
  await r.start(spec(60));
  const job = api.store.get('jobs', NS, 'vcs-60-1')!;
  // The fake API server deletes the Job at once; its pod (no kubelet here) stays until removed.
  api.store.create('pods', NS, { metadata: { name: 'vcs-60-1-abcde', labels: { ...job.spec.template.metadata.labels } }, spec: {}, status: { phase: 'Running' } });
  await r.stop('vcs-60-1', 'video deleted');
  assert.not.ok(api.store.get('jobs', NS, 'vcs-60-1'), 'the Job is deleted');
  assert.equal((await r.list()).map((s) => [s.jobName, s.phase, s.reason]), [['vcs-60-1', 'running', 'stopping: video deleted']]);
  await r.stop('vcs-60-1', 'again');
  api.store.update('pods', NS, 'vcs-60-1-abcde', (o) => {
    o.status = { phase: 'Failed' };
  }, 'status');
  assert.equal((await r.list()).map((s) => [s.jobName, s.phase, s.reason]), [['vcs-60-1', 'failed', 'stopped: video deleted']]);
  api.store.delete('pods', NS, 'vcs-60-1-abcde');
  assert.equal((await r.list()).map((s) => s.phase), ['failed']);
  await r.forget('vcs-60-1');
  assert.equal(await r.list(), []);
});

test('the fake API server speaks like a real one to the real client (events, patches, Status replies)', async () => {
  // The server itself, not the controller: no Role.
  await api.close();
  api = await startKubeApi();
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig('token', NS));
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  await core.createNamespacedEvent({ namespace: NS, body: { metadata: { name: 'ev-1', labels: { k: 'v' } }, involvedObject: { kind: 'Job', name: 'vcs-1-1' }, reason: 'Created', message: 'made' } });
  assert.equal((await core.listNamespacedEvent({ namespace: NS, labelSelector: 'k in (v,w),!missing' })).items.map((e) => e.metadata?.name), ['ev-1']);
  assert.equal((await core.listNamespacedEvent({ namespace: NS, labelSelector: 'k!=v' })).items, []);
  await core.deleteNamespacedEvent({ name: 'ev-1', namespace: NS });
  const status = (p: Promise<unknown>) => p.then(() => 0, (e: { code: number; body: string }) => [e.code, JSON.parse(e.body).reason]);
  assert.equal(await status(core.readNamespacedEvent({ name: 'ev-1', namespace: NS })), [404, 'NotFound']);
  assert.equal(await status(batch.createNamespacedJob({ namespace: NS, body: { metadata: { name: 'Bad_Name' } } })), [422, 'Invalid']);
  putJob(60);
  const merged = await batch.patchNamespacedJob({ name: 'vcs-60-1', namespace: NS, body: { spec: { suspend: true } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  assert.is(merged.spec?.suspend, true);
  const patched = await batch.patchNamespacedJob({ name: 'vcs-60-1', namespace: NS, body: [{ op: 'replace', path: '/spec/suspend', value: false }] });
  assert.is(patched.spec?.suspend, false);
  assert.equal(await status(batch.patchNamespacedJob({ name: 'vcs-60-1', namespace: NS, body: { spec: {} } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))), [415, 'UnsupportedMediaType']);
  const stale = { ...patched, metadata: { ...patched.metadata, resourceVersion: '1' } };
  assert.equal(await status(batch.replaceNamespacedJob({ name: 'vcs-60-1', namespace: NS, body: stale })), [409, 'Conflict']);
  await batch.deleteNamespacedJob({ name: 'vcs-60-1', namespace: NS });
  const del = api.requests.at(-1)!;
  assert.equal([del.method, del.query.propagationPolicy, api.deletions.get(patched.metadata!.uid!)], ['DELETE', undefined, 'Orphan']);
});

test.run();
