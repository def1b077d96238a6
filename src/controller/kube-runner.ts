/**
 * The Kubernetes runner: each run is a batch/v1 Job (job-manifest.ts) in one namespace, seen
 * through a list-watch of the Jobs labelled with this instance (kube-watch.ts).
 *
 * - start: create the Job; a 409 AlreadyExists is the same run (deterministic names) and is
 *   adopted, never duplicated. The created Job goes into the cache at once, so the next pass sees
 *   it running even before its watch event.
 * - list: every Job of the instance as a RunStatus (job-outcome.ts). A finished Job's result is
 *   read once from its pods' termination messages. Finished Jobs that others removed (TTL, kubectl)
 *   are reported from their final state until forgotten. While the cache is not synced (the API
 *   server out of reach) list throws RunnerUnavailableError: no pass decides on a stale view.
 * - stop: delete the Job with propagationPolicy Background (the server default for Jobs is Orphan,
 *   which leaves the pod encoding); a 404 is success. The run is then reported as running (being
 *   stopped) while any of its pods still runs — a terminating pod may still write to the volume —
 *   and as failed ("stopped") once none does, until it is forgotten: only then may the controller
 *   clean up after it.
 * - After a restart nothing needs recovering: the first list finds the Jobs, and the controller
 *   matches them to its videos by name (job_name) — adoption.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobSpec } from '../contract.ts';
import type { Logger } from '../log.ts';
import { apiReason, apiStatus, describeError, isUnavailable, type KubeClients } from './kube-client.ts';
import { createListWatch } from './kube-watch.ts';
import { JOB_NAME_LABEL } from './job-manifest.ts';
import { parseJobName } from './job-name.ts';
import { isFinished, runStatusOf } from './job-outcome.ts';
import { RunnerUnavailableError, type Runner, type RunStatus } from './runner.ts';

export interface KubeRunnerOptions {
  api: Pick<KubeClients, 'batch' | 'core' | 'watch' | 'namespace'>;
  /** Selects this instance's Jobs (job-manifest.ts instanceSelector). */
  labelSelector: string;
  /** The Job of a run (job-manifest.ts buildJobManifest with the settings). */
  manifest: (job: JobSpec) => V1Job;
  /** A full re-list of the Jobs this often (WORKER_INTERVAL). */
  resyncMs: number;
  log: Logger;
}

export interface KubeRunner extends Runner {
  /** Starts watching; resolves once the Jobs have been listed. */
  sync(): Promise<void>;
  /** Whether the view of the Jobs is current (false while the API server is out of reach). */
  synced(): boolean;
}

const unavailable = (what: string, err: unknown) =>
  new RunnerUnavailableError(`Kubernetes API server unavailable (${what}): ${describeError(err)}`, { cause: err });

export function createKubeRunner(opts: KubeRunnerOptions): KubeRunner {
  const { batch, core, namespace } = opts.api;
  const log = opts.log;
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  /** Finished Jobs removed by someone else, kept until their outcome is recorded. */
  const tombstones = new Map<string, V1Job>();
  /** Outcomes recorded (forget): not reported again while their Jobs linger until the TTL. */
  const forgotten = new Set<string>();
  /** A finished Job's status with its result, read once from its pods. */
  const outcomes = new Map<string, RunStatus>();
  /** Jobs this runner deleted, until forgotten: reported from their pods (stopping, then stopped). */
  const stopping = new Map<string, { videoId: number; startedAt: number; reason: string }>();

  const jobs = createListWatch<V1Job>({
    path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
    labelSelector: opts.labelSelector,
    list: () => batch.listNamespacedJob({ namespace, labelSelector: opts.labelSelector }),
    watch: opts.api.watch,
    log,
    resyncMs: opts.resyncMs,
    onChange: changed,
    onDeleted(job) {
      const name = job.metadata?.name ?? '';
      if (isFinished(job) && !forgotten.has(name)) tombstones.set(name, job);
    },
  });

  async function podsOf(jobName: string): Promise<V1Pod[]> {
    try {
      return (await core.listNamespacedPod({ namespace, labelSelector: `${JOB_NAME_LABEL}=${jobName}` })).items;
    } catch (err) {
      throw unavailable(`reading the pods of ${jobName}`, err);
    }
  }

  const isLive = (pod: V1Pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

  /** A deleted Job: running while a pod of it still runs, then failed (stopped). */
  async function stoppedStatus(jobName: string, s: { videoId: number; startedAt: number; reason: string }): Promise<RunStatus> {
    const base = { jobName, videoId: s.videoId, startedAt: s.startedAt };
    if ((await podsOf(jobName)).some(isLive)) return { ...base, phase: 'running', reason: `stopping: ${s.reason}` };
    return { ...base, phase: 'failed', reason: `stopped: ${s.reason}` };
  }

  async function statusOf(job: V1Job): Promise<RunStatus | null> {
    const name = job.metadata?.name ?? '';
    if (!isFinished(job)) return runStatusOf(job);
    const known = outcomes.get(name);
    if (known) return known;
    const status = runStatusOf(job, await podsOf(name));
    if (status) {
      outcomes.set(name, status);
      log.info({ job: name, videoId: status.videoId, phase: status.phase, reason: status.reason, exitCode: status.exitCode }, 'job finished');
    }
    return status;
  }

  /**
   * Pods still running whose Job is gone: a Job this (or a previous) controller deleted while its
   * pod terminates. A restarted or new leader takes them up as stopping runs, so what such a pod
   * still publishes is cleaned up once it has ended, as it would have been without the restart.
   */
  async function adoptStopping(): Promise<void> {
    let pods: V1Pod[];
    try {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: opts.labelSelector })).items;
    } catch (err) {
      throw unavailable('listing the pods', err);
    }
    const live = new Set(jobs.items().map((j) => j.metadata?.name ?? ''));
    for (const pod of pods.filter(isLive)) {
      const jobName = pod.metadata?.labels?.[JOB_NAME_LABEL] ?? '';
      const parts = parseJobName(jobName);
      if (!parts || live.has(jobName) || stopping.has(jobName)) continue;
      const created = pod.metadata?.creationTimestamp;
      stopping.set(jobName, { videoId: parts.videoId, startedAt: created ? new Date(created).getTime() : Date.now(), reason: 'its Job was deleted before this controller started' });
      log.info({ job: jobName, pod: pod.metadata?.name }, 'pod of a deleted Job still running: watched until it ends');
    }
  }

  return {
    async start(job) {
      const body = opts.manifest(job);
      try {
        jobs.pin(await batch.createNamespacedJob({ namespace, body }));
        log.info({ job: job.jobName, videoId: job.videoId }, 'job created');
        return;
      } catch (err) {
        if (isUnavailable(err)) throw unavailable(`creating ${job.jobName}`, err);
        if (!(apiStatus(err) === 409 && apiReason(err) === 'AlreadyExists')) throw new Error(`the API server refused Job ${job.jobName}: ${describeError(err)}`, { cause: err });
      }
      // Deterministic names: an existing Job of this name is this very run.
      try {
        jobs.pin(await batch.readNamespacedJob({ name: job.jobName, namespace }));
      } catch (err) {
        throw unavailable(`reading ${job.jobName}`, err);
      }
      log.info({ job: job.jobName, videoId: job.videoId }, 'job already exists: adopted');
    },

    async list() {
      if (!jobs.synced()) throw new RunnerUnavailableError('Kubernetes API server unavailable: the Jobs are not listed yet');
      const live = jobs.items();
      const names = new Set(live.map((j) => j.metadata?.name ?? ''));
      for (const name of forgotten) if (!names.has(name)) forgotten.delete(name);
      for (const name of outcomes.keys()) if (!names.has(name) && !tombstones.has(name)) outcomes.delete(name);
      const out: RunStatus[] = [];
      for (const job of [...live, ...tombstones.values()]) {
        const name = job.metadata?.name ?? '';
        if (forgotten.has(name) || stopping.has(name)) continue;
        const status = await statusOf(job);
        if (status) out.push(status);
      }
      for (const [name, s] of stopping) out.push(await stoppedStatus(name, s));
      return out;
    },

    async stop(jobName, reason) {
      if (stopping.has(jobName)) return;
      const known = jobs.get(jobName) ?? tombstones.get(jobName);
      const run = known ? runStatusOf(known) : null;
      try {
        await batch.deleteNamespacedJob({ name: jobName, namespace, propagationPolicy: 'Background' });
        log.info({ job: jobName, reason }, 'job deleted');
      } catch (err) {
        if (apiStatus(err) !== 404) throw isUnavailable(err) ? unavailable(`deleting ${jobName}`, err) : err;
      }
      jobs.remove(jobName);
      tombstones.delete(jobName);
      outcomes.delete(jobName);
      const parts = parseJobName(jobName);
      if (parts) stopping.set(jobName, { videoId: parts.videoId, startedAt: run?.startedAt ?? Date.now(), reason });
    },

    async forget(jobName) {
      if (jobs.get(jobName) && !isFinished(jobs.get(jobName)!)) return;
      stopping.delete(jobName);
      forgotten.add(jobName);
      tombstones.delete(jobName);
      outcomes.delete(jobName);
    },

    onChange(listener) {
      listeners.push(listener);
    },

    async sync() {
      jobs.start();
      await jobs.firstSync();
      // Without it only the late clean-up of those runs is lost (a start-up purge covers packages).
      await adoptStopping().catch((err: Error) => log.warn({ err: err.message }, 'pods of deleted Jobs not looked for'));
    },

    synced: () => jobs.synced(),

    async close() {
      jobs.stop();
    },
  };
}
