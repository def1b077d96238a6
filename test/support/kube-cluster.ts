/**
 * A simulated job controller, kubelet and garbage collector on the fake API server's store
 * (kube-api-server.ts), enough for the transcoder Jobs of job-manifest.ts and Indexed Jobs:
 *
 * - a new Job gets a pod (`<job>-<5 chars>`, the template's labels plus batch.kubernetes.io/job-name
 *   and controller-uid, an ownerReference), whose container command runs as a local process: the
 *   command's first word mapped (`vcs` → node --import tsx bin/vcs.ts), the container env passed through
 *   (fieldRefs to the pod's own metadata resolved), the PVC's mountPath mapped to a local folder and
 *   /dev/termination-log to a file per pod;
 * - when the process ends, the pod is Succeeded/Failed with `state.terminated` {exitCode, message}:
 *   the termination file, or with FallbackToLogsOnError and an empty file, the end of its output;
 * - the Job's status follows (startTime, active, succeeded, failed, conditions as since 1.31:
 *   SuccessCriteriaMet + Complete, FailureTarget + Failed), with its podFailurePolicy (FailJob on
 *   exit codes, Ignore on pod conditions, else Count), backoffLimit (a new pod after
 *   `retryDelayMs`), activeDeadlineSeconds (DeadlineExceeded) and ttlSecondsAfterFinished;
 * - an Indexed Job (`completionMode: Indexed`, as the job controller does it since 1.33) runs up
 *   to `parallelism` pods at once, each for the lowest index k neither completed, failed nor
 *   running: pod `<job>-<k>-<5 chars>`, label and annotation batch.kubernetes.io/job-completion-index,
 *   env JOB_COMPLETION_INDEX (a fieldRef to that label), hostname `<job>-<k>`. Index k completes when
 *   its pod exits 0 (`completedIndexes`, "0-3,5"); a failed pod's index is retried alone after
 *   `retryDelayMs` (Ignore: not counted) until FailIndex or more than `backoffLimitPerIndex`
 *   counted failures fail the index (`failedIndexes`, the pods' failure-count annotations). The
 *   Job fails with MaxFailedIndexesExceeded beyond `maxFailedIndexes`, else with FailedIndexes once
 *   every index has completed or failed; FailJob, backoffLimit (2147483647 by default beside
 *   backoffLimitPerIndex) and the deadline end it as above. A failing Job's running pods are stopped
 *   (SIGTERM, counted as failed) and the terminal condition follows only once they have all ended;
 * - a deleted Job's pods are stopped (SIGTERM) and removed, unless it was deleted with Orphan;
 * - `disrupt(pod)` marks a pod DisruptionTarget and stops it, as an eviction does; `kill(pod)`
 *   ends its process with a signal (SIGKILL: exit 137), as a crash or an OOM kill would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FakeKubeApi } from './kube-api-server.ts';
import type { Change, Obj } from './kube-objects.ts';

export interface ClusterOptions {
  api: FakeKubeApi;
  namespace: string;
  /** PVC claim name → the local folder that stands for the volume. */
  volumes: Record<string, string>;
  /** First word of a container command → the local program and arguments it stands for. */
  commands: Record<string, string[]>;
  /** Image (or '*', any image) → its ENTRYPOINT as a local program and arguments: what runs when a container sets no command (its args follow). */
  entrypoints?: Record<string, string[]>;
  /** Environment every container process also gets (PATH, HOME). */
  baseEnv: Record<string, string>;
  /** Where termination-message files and pod output go. */
  podsDir: string;
  /** Wait before a replacement pod (the real back-off starts at 10 s). Defaults to 200 ms. */
  retryDelayMs?: number;
}

/** What the job controller keeps of an Indexed Job (the real one reads it back from its pods and status). */
interface IndexedJob {
  name: string;
  completions: number;
  parallelism: number;
  backoffLimit: number;
  /** spec.backoffLimitPerIndex: without it there are no failed indexes, only the Job-wide backoffLimit. */
  perIndexLimit: number | undefined;
  maxFailedIndexes: number | undefined;
  succeeded: Set<number>;
  failed: Set<number>;
  /** Indexes with a pod being created or running. */
  active: Set<number>;
  /** Indexes waiting out their own back-off (with backoffLimitPerIndex). */
  delayed: Set<number>;
  /** The Job-wide back-off after a failure (without backoffLimitPerIndex): no pod is created meanwhile. */
  backingOff: boolean;
  /** Counted and ignored failures per index (the pods' job-index-failure-count annotations). */
  failures: Map<number, number>;
  ignored: Map<number, number>;
  /** status.failed: counted failed pods. */
  failedPods: number;
}

interface RunningPod {
  name: string;
  job: string;
  child: ChildProcess;
  output: string;
  terminationFile: string;
  disrupted: boolean;
  /** Being stopped by the controller or evicted: terminating, no longer active. */
  terminating: boolean;
  /** Its end has been handled (pod status written, the Job's bookkeeping done). */
  settled: boolean;
  exited: Promise<void>;
  indexed?: { job: IndexedJob; index: number };
}

export interface SimulatedCluster {
  /** Every pod this cluster started, in order: name, job, completion index (Indexed Jobs), exit code once ended. */
  pods: { name: string; job: string; index?: number; exitCode?: number | null }[];
  running(): string[];
  /** Evicts a running pod: DisruptionTarget, then SIGTERM. */
  disrupt(podName: string): Promise<void>;
  /** Ends a running pod's process with `signal` (default SIGKILL: exit 137, as a crash), and waits for the pod to have ended. */
  kill(podName: string, signal?: NodeJS.Signals): Promise<void>;
  /** Output of a pod's process (its logs). */
  logs(podName: string): string;
  close(): Promise<void>;
}

const rfc3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const LOG_TAIL_BYTES = 2048;
const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
const FAILURE_COUNT_KEY = 'batch.kubernetes.io/job-index-failure-count';
const IGNORED_COUNT_KEY = 'batch.kubernetes.io/job-index-ignored-failure-count';

/**
 * A set of indexes as Kubernetes writes completedIndexes and failedIndexes
 * (orderedIntervals.String): sorted, a run of three or more as "a-b", a run of two as "a,b".
 */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const [first, last] = [sorted[i]!, sorted[j]!];
    parts.push(last === first ? `${first}` : last === first + 1 ? `${first},${last}` : `${first}-${last}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** A downward-API fieldRef to the pod's own metadata, as the kubelet resolves it ('' for anything else). */
function fieldRefValue(metadata: Obj['metadata'], fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (metadata[m[1]!] as Record<string, string> | undefined)?.[m[2]!] ?? '';
  if (fieldPath === 'metadata.name') return metadata.name;
  if (fieldPath === 'metadata.namespace') return metadata.namespace ?? '';
  return '';
}

export function startCluster(opts: ClusterOptions): SimulatedCluster {
  const { api, namespace: ns } = opts;
  const store = api.store;
  const retryDelay = opts.retryDelayMs ?? 200;
  const running = new Map<string, RunningPod>();
  const everyPod = new Map<string, RunningPod>();
  const started: SimulatedCluster['pods'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const finishedJobs = new Set<string>();
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms);
    timers.add(t);
  };

  const jobStatus = (name: string, change: (s: any) => void) => store.update('jobs', ns, name, (o) => change((o.status ??= {})), 'status');
  const condition = (type: string, reason: string, message: string, now = rfc3339()) => ({ type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now });

  function finishJob(name: string, kind: 'Complete' | 'Failed', reason: string, message: string): void {
    if (finishedJobs.has(name)) return;
    finishedJobs.add(name);
    const now = rfc3339();
    const interim = kind === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    jobStatus(name, (s) => {
      s.active = 0;
      s.ready = 0;
      s.terminating = 0;
      s.uncountedTerminatedPods = {};
      s.conditions = [...(s.conditions ?? []), condition(interim, reason, message, now), condition(kind, reason, message, now)];
      if (kind === 'Complete') s.completionTime = now;
    });
    deleteAfterTtl(name);
  }

  function deleteAfterTtl(name: string): void {
    const ttl = store.get('jobs', ns, name)?.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    later(ttl * 1000, () => {
      const job = store.get('jobs', ns, name);
      if (!job) return;
      api.deletions.set(job.metadata.uid!, 'Background');
      store.delete('jobs', ns, name);
    });
  }

  /** The pod object the job controller would create from the Job's template (for an Indexed Job, for index `indexed.index`). */
  function podObject(job: Obj, podName: string, indexed?: { job: IndexedJob; index: number }): Obj {
    const template = job.spec.template;
    const jobName = job.metadata.name;
    const labels: Record<string, string> = { ...template.metadata.labels };
    const annotations: Record<string, string> = { ...template.metadata.annotations };
    const spec = structuredClone(template.spec);
    if (indexed) {
      const k = String(indexed.index);
      labels[INDEX_KEY] = k;
      annotations[INDEX_KEY] = k;
      if (indexed.job.perIndexLimit !== undefined) {
        annotations[FAILURE_COUNT_KEY] = String(indexed.job.failures.get(indexed.index) ?? 0);
        const ignored = indexed.job.ignored.get(indexed.index) ?? 0;
        if (ignored > 0) annotations[IGNORED_COUNT_KEY] = String(ignored);
      }
      spec.hostname = `${jobName}-${k}`;
      // As the job controller does, for every container that does not set it already.
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        if ((c.env ?? []).some((e: any) => e.name === 'JOB_COMPLETION_INDEX')) continue;
        c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${INDEX_KEY}']` } } }];
      }
    }
    return {
      metadata: {
        name: podName,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
      status: { phase: 'Pending' },
    };
  }

  /** Creates a pod for the Job and starts its process; false if the Job is gone or finished. */
  async function startPod(job: Obj, indexed?: { job: IndexedJob; index: number }): Promise<boolean> {
    const jobName = job.metadata.name;
    const suffix = randomBytes(3).toString('hex').slice(0, 5);
    const podName = indexed ? `${jobName}-${indexed.index}-${suffix}` : `${jobName}-${suffix}`;
    const terminationFile = path.join(opts.podsDir, `${podName}.termination-log`);
    await mkdir(opts.podsDir, { recursive: true });
    await writeFile(terminationFile, '');
    // Checked after the awaits: the Job may have failed (its pods being stopped) or gone meanwhile.
    if (closed || finishedJobs.has(jobName) || !store.get('jobs', ns, jobName)) return false;
    const pod = store.create('pods', ns, podObject(job, podName, indexed));
    const container = pod.spec.containers[0];
    // The volume: mountPath → local folder; the termination message file → one file per pod.
    const mapped: [string, string][] = [];
    for (const mount of container.volumeMounts ?? []) {
      const volume = pod.spec.volumes?.find((v: any) => v.name === mount.name);
      const local = volume?.persistentVolumeClaim ? opts.volumes[volume.persistentVolumeClaim.claimName] : undefined;
      if (local) mapped.push([mount.mountPath, local]);
    }
    const messagePath = container.terminationMessagePath ?? '/dev/termination-log';
    const mapValue = (v: string) => {
      if (v === messagePath) return terminationFile;
      for (const [from, to] of mapped) if (v === from || v.startsWith(`${from}/`)) return to + v.slice(from.length);
      return v;
    };
    const env: Record<string, string> = { ...opts.baseEnv };
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = ref ? fieldRefValue(pod.metadata, ref) : mapValue(String(e.value ?? ''));
    }
    // As a container runtime does: `command` replaces the image's ENTRYPOINT, `args` follow it.
    let program: string[];
    let args: string[];
    if (container.command?.length) {
      const [word, ...rest] = container.command as string[];
      program = opts.commands[word!] ?? [word!];
      args = [...rest, ...((container.args as string[] | undefined) ?? [])];
    } else {
      const entrypoint = opts.entrypoints?.[container.image as string] ?? opts.entrypoints?.['*'];
      if (!entrypoint) throw new Error(`simulated cluster: image ${container.image} has no entrypoint configured`);
      program = entrypoint;
      args = (container.args as string[] | undefined) ?? [];
    }
    const child = spawn(program[0]!, [...program.slice(1), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: RunningPod = { name: podName, job: jobName, child, output: '', terminationFile, disrupted: false, terminating: false, settled: false, exited: Promise.resolve(), indexed };
    const record: SimulatedCluster['pods'][number] = { name: podName, job: jobName, ...(indexed ? { index: indexed.index } : {}) };
    started.push(record);
    child.stdout!.on('data', (d) => (proc.output += d));
    child.stderr!.on('data', (d) => (proc.output += d));
    proc.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        // A container killed by a signal reports 128 + its number, as the kubelet does.
        record.exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null);
        running.delete(podName);
        void podEnded(proc, job, record.exitCode ?? 1).finally(() => {
          proc.settled = true;
          resolve();
        });
      }),
    );
    running.set(podName, proc);
    everyPod.set(podName, proc);
    const startedAt = rfc3339();
    store.update('pods', ns, podName, (o) => {
      o.status = { phase: 'Running', startTime: startedAt, containerStatuses: [{ name: container.name, ready: true, state: { running: { startedAt } } }] };
    }, 'status');
    if (indexed) {
      writeIndexedStatus(indexed.job, (s) => (s.startTime ??= startedAt));
    } else {
      jobStatus(jobName, (s) => {
        s.startTime ??= startedAt;
        s.active = 1;
        s.ready = 1;
      });
    }
    return true;
  }

  async function podEnded(pod: RunningPod, job: Obj, exitCode: number): Promise<void> {
    const container = job.spec.template.spec.containers[0];
    let message = (await readFile(pod.terminationFile, 'utf8').catch(() => '')).trim();
    if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = pod.output.trim().split('\n').slice(-80).join('\n').slice(-LOG_TAIL_BYTES);
    }
    const finishedAt = rfc3339();
    store.update('pods', ns, pod.name, (o) => {
      o.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      o.status.containerStatuses = [
        { name: container.name, ready: false, state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt: o.status.startTime, finishedAt } } },
      ];
      if (pod.disrupted) o.status.conditions = [...(o.status.conditions ?? []), { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: finishedAt }];
    }, 'status');
    if (pod.indexed) return indexedPodEnded(pod, pod.indexed.job, pod.indexed.index, exitCode);
    const current = store.get('jobs', ns, job.metadata.name);
    if (!current || finishedJobs.has(job.metadata.name)) return;
    if (exitCode === 0) {
      jobStatus(job.metadata.name, (s) => (s.succeeded = (s.succeeded ?? 0) + 1));
      finishJob(job.metadata.name, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
      return;
    }
    const action = policyAction(current, container.name, exitCode, pod.disrupted);
    if (action.kind === 'Ignore') {
      later(retryDelay, () => void startPod(current));
      return;
    }
    const failed = (current.status?.failed ?? 0) + 1;
    jobStatus(job.metadata.name, (s) => {
      s.failed = failed;
      s.active = 0;
    });
    if (action.kind === 'FailJob') {
      finishJob(job.metadata.name, 'Failed', 'PodFailurePolicy', failJobMessage(container.name, pod.name, exitCode, action.index));
    } else if (failed > (current.spec.backoffLimit ?? 6)) {
      finishJob(job.metadata.name, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else {
      later(retryDelay, () => void startPod(current));
    }
  }

  const failJobMessage = (containerName: string, podName: string, exitCode: number, rule?: number) =>
    `Container ${containerName} for pod ${ns}/${podName} failed with exit code ${exitCode} matching FailJob rule at index ${rule}`;

  /** The first matching podFailurePolicy rule, else Count. */
  function policyAction(job: Obj, containerName: string, exitCode: number, disrupted: boolean): { kind: string; index?: number } {
    const rules: any[] = job.spec.podFailurePolicy?.rules ?? [];
    for (const [index, rule] of rules.entries()) {
      const codes = rule.onExitCodes;
      if (codes && (!codes.containerName || codes.containerName === containerName)) {
        const inList = codes.values.includes(exitCode);
        if (codes.operator === 'In' ? inList : !inList) return { kind: rule.action, index };
      }
      if (rule.onPodConditions?.some((c: any) => c.type === 'DisruptionTarget' && (c.status ?? 'True') === 'True') && disrupted) return { kind: rule.action, index };
    }
    return { kind: 'Count' };
  }

  // ----------------------------------------------------------------------------------------------
  // Indexed Jobs

  function indexedJob(job: Obj): IndexedJob {
    const spec = job.spec;
    return {
      name: job.metadata.name,
      completions: spec.completions ?? 1,
      parallelism: spec.parallelism ?? 1,
      backoffLimit: spec.backoffLimit ?? 6,
      perIndexLimit: spec.backoffLimitPerIndex ?? undefined,
      maxFailedIndexes: spec.maxFailedIndexes ?? undefined,
      succeeded: new Set(),
      failed: new Set(),
      active: new Set(),
      delayed: new Set(),
      backingOff: false,
      failures: new Map(),
      ignored: new Map(),
      failedPods: 0,
    };
  }

  const podsOf = (jobName: string) => [...running.values()].filter((p) => p.job === jobName);

  /** The Job's status from the controller's bookkeeping: counters, index lists, active and terminating pods. */
  function writeIndexedStatus(state: IndexedJob, extra: (s: any) => void = () => {}): void {
    const pods = podsOf(state.name);
    const active = pods.filter((p) => !p.terminating).length;
    jobStatus(state.name, (s) => {
      s.active = active;
      s.ready = active;
      s.terminating = pods.length - active;
      // Zero counters and an empty completedIndexes are left out (omitempty); failedIndexes is
      // there, possibly empty, exactly when backoffLimitPerIndex is set.
      if (state.succeeded.size) s.succeeded = state.succeeded.size;
      if (state.succeeded.size) s.completedIndexes = formatIndexes(state.succeeded);
      if (state.failedPods) s.failed = state.failedPods;
      if (state.perIndexLimit !== undefined) s.failedIndexes = formatIndexes(state.failed);
      extra(s);
    });
  }

  /**
   * Starts pods up to parallelism. As the real controller, it takes the lowest indexes neither
   * completed, failed nor active; one of them still in its back-off keeps its place (no higher
   * index is started instead) and is started when the back-off ends.
   */
  function fill(state: IndexedJob): void {
    if (closed || finishedJobs.has(state.name) || state.backingOff) return;
    const job = store.get('jobs', ns, state.name);
    if (!job) return;
    const wanted = state.parallelism - state.active.size;
    const pending: number[] = [];
    for (let k = 0; k < state.completions && pending.length < wanted; k++) {
      if (!state.succeeded.has(k) && !state.failed.has(k) && !state.active.has(k)) pending.push(k);
    }
    for (const k of pending.filter((k) => !state.delayed.has(k))) {
      // Claimed now, before the pod exists, so that a second fill in the meantime does not start the index twice.
      state.active.add(k);
      void startPod(job, { job: state, index: k }).then((ok) => ok || state.active.delete(k));
    }
  }

  /** A new pod for index k after the back-off: that index's own with backoffLimitPerIndex, else the Job's. */
  function retryLater(state: IndexedJob, k: number): void {
    if (state.perIndexLimit === undefined) {
      state.backingOff = true;
      later(retryDelay, () => {
        state.backingOff = false;
        fill(state);
      });
      return;
    }
    state.delayed.add(k);
    later(retryDelay, () => {
      state.delayed.delete(k);
      fill(state);
    });
  }

  /** Why the Job fails now, if it does, in the job controller's order of checks. */
  function failureReason(state: IndexedJob): [reason: string, message: string] | undefined {
    if (state.failedPods > state.backoffLimit) return ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
    if (state.maxFailedIndexes !== undefined && state.failed.size > state.maxFailedIndexes) {
      return ['MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes'];
    }
    if (state.failed.size > 0 && state.failed.size + state.succeeded.size >= state.completions) return ['FailedIndexes', 'Job has failed indexes'];
    return undefined;
  }

  function indexedPodEnded(pod: RunningPod, state: IndexedJob, k: number, exitCode: number): void {
    state.active.delete(k);
    const job = store.get('jobs', ns, state.name);
    // A deleted Job: its pods are the garbage collector's.
    if (!job) return;
    const containerName = job.spec.template.spec.containers[0].name;
    const action = exitCode === 0 ? undefined : policyAction(job, containerName, exitCode, pod.disrupted);
    if (finishedJobs.has(state.name)) {
      // A pod the failing Job stopped was counted as failed when it was stopped; one that ended on
      // its own meanwhile counts as it ended.
      if (!pod.terminating && exitCode === 0) state.succeeded.add(k);
      else if (!pod.terminating && action?.kind !== 'Ignore') state.failedPods++;
      writeIndexedStatus(state);
      return;
    }
    if (!action) {
      state.succeeded.add(k);
      writeIndexedStatus(state);
      // The last index to end may be a success after others failed: FailedIndexes then.
      const failure = failureReason(state);
      if (failure) void failIndexedJob(state, ...failure);
      else if (state.succeeded.size >= state.completions) finishJob(state.name, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
      else fill(state);
      return;
    }
    if (action.kind === 'Ignore') {
      state.ignored.set(k, (state.ignored.get(k) ?? 0) + 1);
      writeIndexedStatus(state);
      retryLater(state, k);
      return;
    }
    state.failedPods++;
    if (action.kind === 'FailJob') {
      writeIndexedStatus(state);
      void failIndexedJob(state, 'PodFailurePolicy', failJobMessage(containerName, pod.name, exitCode, action.index));
      return;
    }
    countIndexFailure(state, k, action.kind === 'FailIndex');
    writeIndexedStatus(state);
    const failure = failureReason(state);
    if (failure) {
      void failIndexedJob(state, ...failure);
      return;
    }
    if (!state.failed.has(k)) retryLater(state, k);
    fill(state);
  }

  /** A counted failure of index k: the index fails on FailIndex or once its failures exceed backoffLimitPerIndex. */
  function countIndexFailure(state: IndexedJob, k: number, failIndex: boolean): void {
    const before = state.failures.get(k) ?? 0;
    state.failures.set(k, before + 1);
    if (state.perIndexLimit !== undefined && (failIndex || before >= state.perIndexLimit)) state.failed.add(k);
  }

  /**
   * FailureTarget at once; the running pods stopped (each counted as failed, as the job controller
   * counts every pod not yet terminated of a failing Job); Failed once every pod has ended.
   */
  async function failIndexedJob(state: IndexedJob, reason: string, message: string): Promise<void> {
    if (finishedJobs.has(state.name)) return;
    finishedJobs.add(state.name);
    const stopping = podsOf(state.name);
    for (const p of stopping) p.terminating = true;
    state.failedPods += stopping.length;
    writeIndexedStatus(state, (s) => (s.conditions = [...(s.conditions ?? []), condition('FailureTarget', reason, message)]));
    for (const p of stopping) p.child.kill('SIGTERM');
    // Also the pods whose end is still being handled (their process is gone, their status not yet written).
    await Promise.all([...everyPod.values()].filter((p) => p.job === state.name && !p.settled).map((p) => p.exited));
    writeIndexedStatus(state, (s) => {
      s.uncountedTerminatedPods = {};
      s.conditions = [...(s.conditions ?? []), condition('Failed', reason, message)];
    });
    deleteAfterTtl(state.name);
  }

  // ----------------------------------------------------------------------------------------------

  async function stopPodsOf(jobName: string, removeObjects: boolean): Promise<void> {
    const mine = podsOf(jobName);
    for (const p of mine) p.child.kill('SIGTERM');
    await Promise.all(mine.map((p) => p.exited));
    if (!removeObjects) return;
    for (const pod of store.list('pods', ns, `batch.kubernetes.io/job-name=${jobName}`)) store.delete('pods', ns, pod.metadata.name);
  }

  function jobAdded(job: Obj): void {
    const name = job.metadata.name;
    const indexed = job.spec.completionMode === 'Indexed' ? indexedJob(job) : undefined;
    if (indexed) fill(indexed);
    else void startPod(job);
    const deadline = job.spec.activeDeadlineSeconds;
    if (typeof deadline !== 'number') return;
    later(deadline * 1000, () => {
      if (finishedJobs.has(name) || !store.get('jobs', ns, name)) return;
      const message = 'Job was active longer than specified deadline';
      if (indexed) {
        void failIndexedJob(indexed, 'DeadlineExceeded', message);
        return;
      }
      finishJob(name, 'Failed', 'DeadlineExceeded', message);
      void stopPodsOf(name, false);
    });
  }

  function onChange(c: Change): void {
    if (c.resource !== 'jobs' || c.namespace !== ns) return;
    if (c.type === 'ADDED' && !c.object.spec?.suspend) {
      jobAdded(c.object);
    } else if (c.type === 'DELETED') {
      finishedJobs.add(c.object.metadata.name);
      const policy = api.deletions.get(c.object.metadata.uid!) ?? 'Orphan';
      if (policy !== 'Orphan') void stopPodsOf(c.object.metadata.name, true);
    }
  }

  const unsubscribe = store.subscribe(onChange);

  function runningPod(podName: string): RunningPod {
    const pod = running.get(podName);
    if (!pod) throw new Error(`no running pod ${podName}`);
    return pod;
  }

  return {
    pods: started,
    running: () => [...running.keys()],
    async disrupt(podName) {
      const pod = runningPod(podName);
      pod.disrupted = true;
      pod.terminating = true;
      pod.child.kill('SIGTERM');
      await pod.exited;
    },
    async kill(podName, signal = 'SIGKILL') {
      const pod = runningPod(podName);
      pod.child.kill(signal);
      await pod.exited;
    },
    logs: (podName) => everyPod.get(podName)?.output ?? '',
    async close() {
      closed = true;
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      const all = [...running.values()];
      for (const p of all) p.child.kill('SIGTERM');
      await Promise.all(all.map((p) => p.exited));
    },
  };
}
