/**
 * The simulated job controller and kubelet (test/support/kube-cluster.ts) on the fake API server,
 * for Indexed Jobs as Kubernetes 1.33 runs them: at most `parallelism` pods, lowest pending index
 * first, each pod with its index (name, label, annotation, JOB_COMPLETION_INDEX, hostname);
 * completedIndexes and failedIndexes in the interval format; a failed index retried alone
 * (backoffLimitPerIndex), failed at once (FailIndex) or not counted (Ignore on DisruptionTarget);
 * MaxFailedIndexesExceeded, FailedIndexes, FailJob, the Job-wide backoffLimit and the deadline,
 * each with the running pods stopped before the terminal condition; and NonIndexed Jobs as before.
 * Pods are `sh -c` scripts that act on $JOB_COMPLETION_INDEX.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeApi, type FakeKubeApi } from '../support/kube-api-server.ts';
import { formatIndexes, startCluster, type SimulatedCluster } from '../support/kube-cluster.ts';
import type { Obj } from '../support/kube-objects.ts';
import { waitFor } from '../support/service.ts';

const NS = 'video';
const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
const test = suite('simulated cluster: Indexed Jobs');
let api: FakeKubeApi;
let cluster: SimulatedCluster;
let tmp = '';

test.before.each(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-cluster-'));
  api = await startKubeApi();
  cluster = startCluster({
    api,
    namespace: NS,
    volumes: {},
    commands: {},
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    podsDir: path.join(tmp, 'pods'),
    // Short, so that retries do not slow the tests; long enough to see an index wait for its turn.
    retryDelayMs: 50,
  });
});

test.after.each(async () => {
  await cluster.close();
  await api.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Creates a Job whose container runs `sh -c script`, with MARKS (a folder for one-time behaviour) in its env. */
function createJob(name: string, script: string, spec: Record<string, unknown> = {}): Obj {
  return api.store.create('jobs', NS, {
    metadata: { name },
    spec: {
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'work', image: 'busybox', command: ['sh', '-c', script], env: [{ name: 'MARKS', value: tmp }] }],
        },
      },
      ...spec,
    },
  });
}

const indexedJob = (name: string, script: string, spec: Record<string, unknown>) => createJob(name, script, { completionMode: 'Indexed', ...spec });
const job = (name: string) => api.store.mustGet('jobs', NS, name);
const conditionTypes = (name: string) => ((job(name).status?.conditions ?? []) as { type: string }[]).map((c) => c.type);
const podsOf = (name: string) => cluster.pods.filter((p) => p.job === name);
const podObject = (podName: string) => api.store.mustGet('pods', NS, podName);

/** Waits for the Job's terminal condition (Complete or Failed) and returns it. */
async function finished(name: string, timeoutMs = 8000): Promise<{ type: string; reason: string; message: string }> {
  return waitFor(() => (job(name).status?.conditions ?? []).find((c: any) => c.type === 'Complete' || c.type === 'Failed'), timeoutMs, `${name} finished`);
}

/**
 * The Job's story from the store's history: "job <Condition>" when a condition first appears, and
 * "<pod> <Phase>" for every phase a pod of it takes, in the order they were written.
 */
function timeline(name: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const phases = new Map<string, string>();
  for (const c of api.store.history) {
    if (c.resource === 'jobs' && c.object.metadata.name === name) {
      for (const cond of c.object.status?.conditions ?? []) {
        if (!seen.has(cond.type)) out.push(`job ${cond.type}`);
        seen.add(cond.type);
      }
    }
    if (c.resource === 'pods' && c.object.metadata.labels?.['batch.kubernetes.io/job-name'] === name && c.type !== 'DELETED') {
      const phase = c.object.status?.phase;
      if (phases.get(c.object.metadata.name) !== phase) out.push(`${c.object.metadata.name} ${phase}`);
      phases.set(c.object.metadata.name, phase);
    }
  }
  return out;
}

/** The most pods of the Job that were Pending or Running at the same time, by the store's history. */
function maxConcurrentPods(name: string): number {
  const live = new Set<string>();
  let max = 0;
  for (const c of api.store.history) {
    if (c.resource !== 'pods' || c.object.metadata.labels?.['batch.kubernetes.io/job-name'] !== name) continue;
    const phase = c.object.status?.phase;
    if (c.type !== 'DELETED' && (phase === 'Pending' || phase === 'Running')) live.add(c.object.metadata.name);
    else live.delete(c.object.metadata.name);
    max = Math.max(max, live.size);
  }
  return max;
}

/** Every value the Job's status.active took, in order. */
const activeValues = (name: string) =>
  api.store.history.filter((c) => c.resource === 'jobs' && c.object.metadata.name === name).map((c) => c.object.status?.active ?? 0);

/** Asserts that `first` happened before `then` in the Job's timeline. */
function before(lines: string[], first: string, then: string): void {
  const [a, b] = [lines.indexOf(first), lines.indexOf(then)];
  assert.ok(a >= 0 && b >= 0 && a < b, `${first} before ${then} in:\n${lines.join('\n')}`);
}

test('the interval format of completedIndexes and failedIndexes is Kubernetes’ (a run of two is "a,b")', () => {
  assert.is(formatIndexes([3, 0, 2, 1, 5]), '0-3,5');
  assert.is(formatIndexes([0, 1, 3]), '0,1,3');
  assert.is(formatIndexes([6, 7, 9, 10, 11, 20]), '6,7,9-11,20');
  assert.is(formatIndexes([4]), '4');
  assert.is(formatIndexes([]), '');
});

test('N=5, P=2: never more than two pods, lowest indexes first, each pod with its index; Complete with completedIndexes 0-4', async () => {
  indexedJob('sq', 'echo "index $JOB_COMPLETION_INDEX on $(hostname)"; sleep 0.3', { completions: 5, parallelism: 2 });
  const done = await finished('sq');
  assert.equal([done.type, done.reason, done.message], ['Complete', 'CompletionsReached', 'Reached expected number of succeeded pods']);
  const status = job('sq').status;
  assert.is(status.succeeded, 5);
  assert.is(status.completedIndexes, '0-4');
  assert.is(status.failed, undefined);
  assert.is(status.failedIndexes, undefined, 'no failedIndexes without backoffLimitPerIndex');
  assert.is(status.active, 0);
  assert.ok(status.startTime && status.completionTime);
  assert.equal(conditionTypes('sq'), ['SuccessCriteriaMet', 'Complete']);

  assert.is(maxConcurrentPods('sq'), 2);
  assert.is(Math.max(...activeValues('sq')), 2, 'status.active followed the running pods');
  const pods = podsOf('sq');
  // One pod per index, lowest first (two that start together may be created in either order).
  const byStart = pods.map((p) => p.index!);
  assert.equal([byStart.slice(0, 2).sort(), byStart.slice(2, 4).sort(), byStart[4]], [[0, 1], [2, 3], 4]);
  for (const p of pods) {
    const k = String(p.index);
    assert.match(p.name, new RegExp(`^sq-${k}-[0-9a-z]{5}$`));
    assert.is(p.exitCode, 0);
    const pod = podObject(p.name);
    assert.is(pod.metadata.labels?.[INDEX_KEY], k);
    assert.is((pod.metadata.annotations as Record<string, string>)[INDEX_KEY], k);
    assert.is(pod.metadata.labels?.['batch.kubernetes.io/job-name'], 'sq', 'the Job labels are kept');
    assert.is(pod.spec.hostname, `sq-${k}`);
    assert.equal(pod.spec.containers[0].env.at(-1), { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${INDEX_KEY}']` } } });
    assert.match(cluster.logs(p.name), `index ${k} on `, 'the process got JOB_COMPLETION_INDEX');
  }
});

test('one index killed once (SIGKILL), backoffLimitPerIndex 1: only that index gets a new pod; the Job completes', async () => {
  // Index 1 sleeps the first time (to be killed), then succeeds; the others succeed at once.
  const script = 'if [ "$JOB_COMPLETION_INDEX" = 1 ] && [ ! -e "$MARKS/1" ]; then touch "$MARKS/1"; exec sleep 30; fi; sleep 0.1';
  indexedJob('kill', script, { completions: 3, parallelism: 3, backoffLimitPerIndex: 1 });
  const first = await waitFor(() => podsOf('kill').find((p) => p.index === 1 && cluster.running().includes(p.name)), 5000, 'index 1 running');
  await cluster.kill(first.name);
  assert.is(first.exitCode, 137, 'SIGKILL: 128 + 9');
  assert.is(podObject(first.name).status.phase, 'Failed', 'the pod has ended when kill returns');
  const done = await finished('kill');
  assert.is(done.type, 'Complete');
  assert.equal(podsOf('kill').map((p) => p.index).sort(), [0, 1, 1, 2], 'a second pod for index 1 only');
  const status = job('kill').status;
  assert.equal([status.succeeded, status.completedIndexes, status.failed, status.failedIndexes], [3, '0-2', 1, '']);
  const retry = podsOf('kill').filter((p) => p.index === 1)[1]!;
  assert.is((podObject(retry.name).metadata.annotations as Record<string, string>)['batch.kubernetes.io/job-index-failure-count'], '1');
  assert.is((podObject(first.name).metadata.annotations as Record<string, string>)['batch.kubernetes.io/job-index-failure-count'], '0');
});

test('FailIndex with maxFailedIndexes 0: the index is not retried, the other pod is stopped, then Failed (MaxFailedIndexesExceeded)', async () => {
  const script = 'if [ "$JOB_COMPLETION_INDEX" = 1 ]; then sleep 0.3; exit 2; fi; exec sleep 30';
  indexedJob('maxf', script, {
    completions: 4,
    parallelism: 2,
    backoffLimitPerIndex: 3,
    maxFailedIndexes: 0,
    podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { containerName: 'work', operator: 'In', values: [2] } }] },
  });
  const done = await finished('maxf');
  assert.equal([done.type, done.reason, done.message], ['Failed', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes']);
  assert.equal(conditionTypes('maxf'), ['FailureTarget', 'Failed']);
  const pods = podsOf('maxf');
  assert.equal(pods.map((p) => [p.index, p.exitCode]).sort(), [[0, 143], [1, 2]], 'index 1 once (exit 2), index 0 stopped (SIGTERM), indexes 2 and 3 never started');
  const status = job('maxf').status;
  assert.is(status.failedIndexes, '1');
  assert.is(status.failed, 2, 'the failed pod and the stopped one');
  assert.equal([status.active, status.ready, status.terminating], [0, 0, 0]);
  assert.is(status.succeeded, undefined);
  const stopped = pods.find((p) => p.index === 0)!.name;
  const lines = timeline('maxf');
  before(lines, 'job FailureTarget', `${stopped} Failed`);
  before(lines, `${stopped} Failed`, 'job Failed');
  assert.equal(cluster.running(), []);
});

test('backoffLimitPerIndex exhausted without maxFailedIndexes: the others go on, then Failed (FailedIndexes)', async () => {
  indexedJob('perindex', 'if [ "$JOB_COMPLETION_INDEX" = 2 ]; then exit 3; fi; sleep 0.2', { completions: 4, parallelism: 2, backoffLimitPerIndex: 1 });
  const done = await finished('perindex');
  assert.equal([done.type, done.reason, done.message], ['Failed', 'FailedIndexes', 'Job has failed indexes']);
  const status = job('perindex').status;
  assert.equal([status.succeeded, status.completedIndexes, status.failed, status.failedIndexes], [3, '0,1,3', 2, '2']);
  const second = podsOf('perindex').filter((p) => p.index === 2);
  assert.equal(second.map((p) => p.exitCode), [3, 3], 'index 2: the first pod and one retry (backoffLimitPerIndex 1)');
  assert.equal(
    second.map((p) => (podObject(p.name).metadata.annotations as Record<string, string>)['batch.kubernetes.io/job-index-failure-count']),
    ['0', '1'],
  );
  assert.equal(podsOf('perindex').filter((p) => p.index !== 2).map((p) => p.exitCode), [0, 0, 0]);
  // The Job fails only once index 3 has completed too.
  const lastOther = podsOf('perindex').find((p) => p.index === 3)!.name;
  before(timeline('perindex'), `${lastOther} Succeeded`, 'job FailureTarget');
  assert.is(job('perindex').spec.backoffLimit, 2147483647, 'beside backoffLimitPerIndex the Job-wide limit defaults to MaxInt32');
});

test('DisruptionTarget on an indexed pod (Ignore rule): the index is restarted without counting a failure', async () => {
  const script = 'if [ "$JOB_COMPLETION_INDEX" = 0 ] && [ ! -e "$MARKS/0" ]; then touch "$MARKS/0"; exec sleep 30; fi; sleep 0.1';
  indexedJob('evict', script, {
    completions: 2,
    parallelism: 2,
    // 0: one counted failure would fail the index, so the restart shows the failure was not counted.
    backoffLimitPerIndex: 0,
    podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] },
  });
  const first = await waitFor(() => podsOf('evict').find((p) => p.index === 0 && cluster.running().includes(p.name)), 5000, 'index 0 running');
  await cluster.disrupt(first.name);
  assert.ok(podObject(first.name).status.conditions.some((c: any) => c.type === 'DisruptionTarget'));
  const done = await finished('evict');
  assert.is(done.type, 'Complete');
  const status = job('evict').status;
  assert.equal([status.succeeded, status.completedIndexes, status.failed, status.failedIndexes], [2, '0,1', undefined, '']);
  const retry = podsOf('evict').filter((p) => p.index === 0)[1]!;
  const annotations = podObject(retry.name).metadata.annotations as Record<string, string>;
  assert.equal([annotations['batch.kubernetes.io/job-index-failure-count'], annotations['batch.kubernetes.io/job-index-ignored-failure-count']], ['0', '1']);
});

test('FailJob on an index: the other running pods are stopped, then Failed (PodFailurePolicy)', async () => {
  indexedJob('failjob', 'if [ "$JOB_COMPLETION_INDEX" = 2 ]; then sleep 0.3; exit 42; fi; exec sleep 30', {
    completions: 3,
    parallelism: 3,
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
  });
  const done = await finished('failjob');
  const failedPod = podsOf('failjob').find((p) => p.index === 2)!.name;
  assert.equal([done.type, done.reason], ['Failed', 'PodFailurePolicy']);
  assert.is(done.message, `Container work for pod ${NS}/${failedPod} failed with exit code 42 matching FailJob rule at index 0`);
  assert.equal(podsOf('failjob').map((p) => p.exitCode).sort(), [143, 143, 42]);
  assert.is(job('failjob').status.failed, 3);
  const lines = timeline('failjob');
  for (const p of podsOf('failjob').filter((p) => p.index !== 2)) before(lines, `${p.name} Failed`, 'job Failed');
});

test('without backoffLimitPerIndex a failing index counts against the Job-wide backoffLimit', async () => {
  indexedJob('jobwide', 'if [ "$JOB_COMPLETION_INDEX" = 0 ]; then exit 1; fi; exec sleep 30', { completions: 2, parallelism: 2, backoffLimit: 1 });
  const done = await finished('jobwide');
  assert.equal([done.type, done.reason], ['Failed', 'BackoffLimitExceeded']);
  const pods = podsOf('jobwide');
  assert.equal(pods.filter((p) => p.index === 0).map((p) => p.exitCode), [1, 1]);
  assert.equal(pods.filter((p) => p.index === 1).map((p) => p.exitCode), [143], 'index 1 stopped when the Job failed');
  assert.is(job('jobwide').status.failedIndexes, undefined);
});

test('activeDeadlineSeconds stops every pod, then DeadlineExceeded; ttlSecondsAfterFinished then deletes the Job', async () => {
  indexedJob('deadline', 'exec sleep 30', { completions: 3, parallelism: 2, activeDeadlineSeconds: 1, ttlSecondsAfterFinished: 0 });
  await waitFor(() => !api.store.get('jobs', NS, 'deadline'), 5000, 'the Job deleted after its TTL');
  const lines = timeline('deadline');
  assert.ok(lines.includes('job Failed'), lines.join('\n'));
  const final = api.store.history.filter((c) => c.resource === 'jobs' && c.object.metadata.name === 'deadline').at(-1)!.object;
  assert.equal(final.status.conditions.map((c: any) => [c.type, c.reason]), [['FailureTarget', 'DeadlineExceeded'], ['Failed', 'DeadlineExceeded']]);
  assert.equal(podsOf('deadline').map((p) => [p.index, p.exitCode]).sort(), [[0, 143], [1, 143]], 'indexes 0 and 1 stopped, index 2 never started');
  for (const p of podsOf('deadline')) before(lines, `${p.name} Failed`, 'job Failed');
});

test('a deleted Job: Background stops and removes its running indexed pods, Orphan leaves them running', async () => {
  const remove = (name: string, policy: string) => {
    api.deletions.set(job(name).metadata.uid!, policy);
    api.store.delete('jobs', NS, name);
  };
  indexedJob('gone', 'exec sleep 30', { completions: 4, parallelism: 2 });
  indexedJob('orphans', 'exec sleep 30', { completions: 4, parallelism: 2 });
  await waitFor(() => cluster.running().length === 4, 5000, 'two pods of each Job running');
  remove('gone', 'Background');
  remove('orphans', 'Orphan');
  const selector = (name: string) => `batch.kubernetes.io/job-name=${name}`;
  await waitFor(() => api.store.list('pods', NS, selector('gone')).length === 0, 5000, 'the pods of gone stopped and removed');
  assert.equal(podsOf('gone').map((p) => p.exitCode), [143, 143]);
  assert.equal(cluster.running().sort(), podsOf('orphans').map((p) => p.name).sort(), 'the orphans still run');
  assert.is(api.store.list('pods', NS, selector('orphans')).length, 2);
  assert.is(podsOf('gone').length + podsOf('orphans').length, 4, 'no pod started after the deletions');
});

test('the API server refuses the per-index fields without Indexed mode, and FailIndex without backoffLimitPerIndex (422)', async () => {
  const post = (spec: Record<string, unknown>) =>
    fetch(`${api.url}/apis/batch/v1/namespaces/${NS}/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'bad' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } }, ...spec } }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const failIndex = await post({ completionMode: 'Indexed', completions: 2, podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [2] } }] } });
  assert.is(failIndex.status, 422);
  assert.is(failIndex.body.reason, 'Invalid');
  assert.is(failIndex.body.message, 'Job.batch "bad" is invalid: spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set');
  assert.equal(failIndex.body.details.causes.map((c: any) => c.field), ['spec.podFailurePolicy.rules[0].action']);
  const nonIndexed = await post({ backoffLimitPerIndex: 1, maxFailedIndexes: 1 });
  assert.is(nonIndexed.status, 422);
  assert.equal(nonIndexed.body.details.causes.map((c: any) => c.field), ['spec.backoffLimitPerIndex', 'spec.maxFailedIndexes']);
  const noLimit = await post({ completionMode: 'Indexed', completions: 2, maxFailedIndexes: 1 });
  assert.equal(noLimit.body.details.causes.map((c: any) => [c.field, c.reason]), [['spec.backoffLimitPerIndex', 'FieldValueRequired']]);
  assert.is(api.store.list('jobs', NS).length, 0);
});

test('NonIndexed Jobs are as before: one pod at a time, no index; retried up to backoffLimit', async () => {
  createJob('plain', 'echo "index=${JOB_COMPLETION_INDEX-unset}"; exit 0');
  const done = await finished('plain');
  assert.is(done.type, 'Complete');
  const [pod] = podsOf('plain');
  assert.match(pod!.name, /^plain-[0-9a-z]{5}$/);
  assert.is(pod!.index, undefined);
  assert.match(cluster.logs(pod!.name), 'index=unset');
  const obj = podObject(pod!.name);
  assert.is(obj.metadata.labels?.[INDEX_KEY], undefined);
  assert.is(obj.spec.hostname, undefined);
  assert.equal([job('plain').status.succeeded, job('plain').status.completedIndexes], [1, undefined]);

  createJob('plain-fail', 'exit 1', { backoffLimit: 1 });
  const failed = await finished('plain-fail');
  assert.equal([failed.type, failed.reason], ['Failed', 'BackoffLimitExceeded']);
  assert.equal(podsOf('plain-fail').map((p) => p.exitCode), [1, 1]);
  assert.is(job('plain-fail').status.failed, 2);
  assert.is(maxConcurrentPods('plain-fail'), 1);
});

test.run();
