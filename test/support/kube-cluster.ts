/**
 * A simulated job controller, kubelet and garbage collector on the fake API server's store
 * (kube-api-server.ts), enough for the transcoder Jobs of job-manifest.ts:
 *
 * - a new Job gets a pod (`<job>-<5 chars>`, the template's labels plus batch.kubernetes.io/job-name
 *   and controller-uid, an ownerReference), whose container command runs as a local process: the
 *   command's first word mapped (`vcs` → node --import tsx bin/vcs.ts), the container env passed through, the
 *   PVC's mountPath mapped to a local folder and /dev/termination-log to a file per pod;
 * - when the process ends, the pod is Succeeded/Failed with `state.terminated` {exitCode, message}:
 *   the termination file, or with FallbackToLogsOnError and an empty file, the end of its output;
 * - the Job's status follows (startTime, active, succeeded, failed, conditions as since 1.31:
 *   SuccessCriteriaMet + Complete, FailureTarget + Failed), with its podFailurePolicy (FailJob on
 *   exit codes, Ignore on pod conditions, else Count), backoffLimit (a new pod after
 *   `retryDelayMs`), activeDeadlineSeconds (DeadlineExceeded) and ttlSecondsAfterFinished;
 * - a deleted Job's pods are stopped (SIGTERM) and removed, unless it was deleted with Orphan;
 * - `disrupt(pod)` marks a pod DisruptionTarget and stops it, as an eviction does.
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

interface RunningPod {
  name: string;
  job: string;
  child: ChildProcess;
  output: string;
  terminationFile: string;
  disrupted: boolean;
  exited: Promise<void>;
}

export interface SimulatedCluster {
  /** Every pod this cluster started, in order: name, job, exit code once ended. */
  pods: { name: string; job: string; exitCode?: number | null }[];
  running(): string[];
  /** Evicts a running pod: DisruptionTarget, then SIGTERM. */
  disrupt(podName: string): Promise<void>;
  /** Output of a pod's process (its logs). */
  logs(podName: string): string;
  close(): Promise<void>;
}

const rfc3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const LOG_TAIL_BYTES = 2048;

export function startCluster(opts: ClusterOptions): SimulatedCluster {
  const { api, namespace: ns } = opts;
  const store = api.store;
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

  function finishJob(name: string, kind: 'Complete' | 'Failed', reason: string, message: string): void {
    if (finishedJobs.has(name)) return;
    finishedJobs.add(name);
    const now = rfc3339();
    const interim = kind === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    const cond = (type: string) => ({ type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now });
    jobStatus(name, (s) => {
      s.active = 0;
      s.ready = 0;
      s.terminating = 0;
      s.uncountedTerminatedPods = {};
      s.conditions = [...(s.conditions ?? []), cond(interim), cond(kind)];
      if (kind === 'Complete') s.completionTime = now;
    });
    const ttl = store.get('jobs', ns, name)?.spec?.ttlSecondsAfterFinished;
    if (typeof ttl === 'number') {
      later(ttl * 1000, () => {
        const job = store.get('jobs', ns, name);
        if (!job) return;
        api.deletions.set(job.metadata.uid!, 'Background');
        store.delete('jobs', ns, name);
      });
    }
  }

  async function startPod(job: Obj): Promise<void> {
    const jobName = job.metadata.name;
    if (closed || finishedJobs.has(jobName) || !store.get('jobs', ns, jobName)) return;
    const template = job.spec.template;
    const container = template.spec.containers[0];
    const podName = `${jobName}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const terminationFile = path.join(opts.podsDir, `${podName}.termination-log`);
    await mkdir(opts.podsDir, { recursive: true });
    await writeFile(terminationFile, '');
    store.create('pods', ns, {
      metadata: {
        name: podName,
        labels: { ...template.metadata.labels },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec),
      status: { phase: 'Pending' },
    });
    // The volume: mountPath → local folder; the termination message file → one file per pod.
    const mapped: [string, string][] = [];
    for (const mount of container.volumeMounts ?? []) {
      const volume = template.spec.volumes?.find((v: any) => v.name === mount.name);
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
    for (const e of container.env ?? []) env[e.name] = mapValue(String(e.value ?? ''));
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
    const pod: RunningPod = { name: podName, job: jobName, child, output: '', terminationFile, disrupted: false, exited: Promise.resolve() };
    const record: SimulatedCluster['pods'][number] = { name: podName, job: jobName };
    started.push(record);
    child.stdout!.on('data', (d) => (pod.output += d));
    child.stderr!.on('data', (d) => (pod.output += d));
    pod.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        // A container killed by a signal reports 128 + its number, as the kubelet does.
        record.exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null);
        running.delete(podName);
        void podEnded(pod, job, record.exitCode ?? 1).finally(resolve);
      }),
    );
    running.set(podName, pod);
    everyPod.set(podName, pod);
    const startedAt = rfc3339();
    store.update('pods', ns, podName, (o) => {
      o.status = { phase: 'Running', startTime: startedAt, containerStatuses: [{ name: container.name, ready: true, state: { running: { startedAt } } }] };
    }, 'status');
    jobStatus(jobName, (s) => {
      s.startTime ??= startedAt;
      s.active = 1;
      s.ready = 1;
    });
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
    const current = store.get('jobs', ns, job.metadata.name);
    if (!current || finishedJobs.has(job.metadata.name)) return;
    if (exitCode === 0) {
      jobStatus(job.metadata.name, (s) => (s.succeeded = (s.succeeded ?? 0) + 1));
      finishJob(job.metadata.name, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
      return;
    }
    const action = policyAction(current, container.name, exitCode, pod.disrupted);
    if (action.kind === 'Ignore') {
      later(opts.retryDelayMs ?? 200, () => void startPod(current));
      return;
    }
    const failed = (current.status?.failed ?? 0) + 1;
    jobStatus(job.metadata.name, (s) => {
      s.failed = failed;
      s.active = 0;
    });
    if (action.kind === 'FailJob') {
      finishJob(job.metadata.name, 'Failed', 'PodFailurePolicy', `Container ${container.name} for pod ${ns}/${pod.name} failed with exit code ${exitCode} matching FailJob rule at index ${action.index}`);
    } else if (failed > (current.spec.backoffLimit ?? 6)) {
      finishJob(job.metadata.name, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else {
      later(opts.retryDelayMs ?? 200, () => void startPod(current));
    }
  }

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

  async function stopPodsOf(jobName: string, removeObjects: boolean): Promise<void> {
    const mine = [...running.values()].filter((p) => p.job === jobName);
    for (const p of mine) p.child.kill('SIGTERM');
    await Promise.all(mine.map((p) => p.exited));
    if (!removeObjects) return;
    for (const pod of store.list('pods', ns, `batch.kubernetes.io/job-name=${jobName}`)) store.delete('pods', ns, pod.metadata.name);
  }

  function onChange(c: Change): void {
    if (c.resource !== 'jobs' || c.namespace !== ns) return;
    const name = c.object.metadata.name;
    if (c.type === 'ADDED' && !c.object.spec?.suspend) {
      void startPod(c.object);
      const deadline = c.object.spec?.activeDeadlineSeconds;
      if (typeof deadline === 'number') {
        later(deadline * 1000, () => {
          if (finishedJobs.has(name) || !store.get('jobs', ns, name)) return;
          finishJob(name, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
          void stopPodsOf(name, false);
        });
      }
    } else if (c.type === 'DELETED') {
      finishedJobs.add(name);
      const policy = api.deletions.get(c.object.metadata.uid!) ?? 'Orphan';
      if (policy !== 'Orphan') void stopPodsOf(name, true);
    }
  }

  const unsubscribe = store.subscribe(onChange);

  return {
    pods: started,
    running: () => [...running.keys()],
    async disrupt(podName) {
      const pod = running.get(podName);
      if (!pod) throw new Error(`no running pod ${podName}`);
      pod.disrupted = true;
      pod.child.kill('SIGTERM');
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
