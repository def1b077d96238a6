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
 * - A chunked run (docs/adr/0022) is up to three Jobs: the run's own (prepare), `<run>-encode`
 *   (Indexed) and `<run>-assemble`. list() reports one RunStatus per run (running between two
 *   phases); advance(), called by the controller's pass with the runs its videos are processing
 *   on, creates the next phase's Job when the one before completed (run-phases.ts decides, from
 *   the Jobs alone, so a restarted or new leader goes on where the Jobs are, and a run the store
 *   has moved on from is never advanced). stop() deletes every phase's Job.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { preparedChunks, type JobSpec } from '../contract.ts';
import type { Logger } from '../log.ts';
import { apiReason, apiStatus, describeError, isUnavailable, type KubeClients } from './kube-client.ts';
import { createListWatch } from './kube-watch.ts';
import { CONTAINER_NAME, JOB_NAME_LABEL } from './job-manifest.ts';
import { parseRunJobName, phaseJobName, type JobPhase } from './job-name.ts';
import { isFinished, jobStartedAt, runStatusOf } from './job-outcome.ts';
import { decidePhase, type PhaseDecision, type RunJobs } from './run-phases.ts';
import { RunnerUnavailableError, type Runner, type RunStatus } from './runner.ts';

export interface KubeRunnerOptions {
  api: Pick<KubeClients, 'batch' | 'core' | 'watch' | 'namespace'>;
  /** Selects this instance's Jobs (job-manifest.ts instanceSelector). */
  labelSelector: string;
  /** The Job of a run (job-manifest.ts buildJobManifest with the settings). */
  manifest: (job: JobSpec) => V1Job;
  /** The Job of a later phase of a chunked run (job-manifest.ts buildPhaseManifest with the settings). */
  phaseManifest: (from: V1Job, phase: 'encode' | 'assemble', chunks?: number) => V1Job;
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

const PHASES: JobPhase[] = ['prepare', 'encode', 'assemble'];
/** Every Job name a run may have: its own and its phases'. */
const jobNamesOf = (run: string): string[] => PHASES.map((p) => phaseJobName(run, p));

const unavailable = (what: string, err: unknown) =>
  new RunnerUnavailableError(`Kubernetes API server unavailable (${what}): ${describeError(err)}`, { cause: err });

export function createKubeRunner(opts: KubeRunnerOptions): KubeRunner {
  const { batch, core, namespace } = opts.api;
  const log = opts.log;
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  /** Finished Jobs removed by someone else, kept until their outcome is recorded. */
  const tombstones = new Map<string, V1Job>();
  /** Runs whose outcomes are recorded (forget): not reported again while their Jobs linger until the TTL. */
  const forgotten = new Set<string>();
  /** A finished Job's status with its result, read once from its pods. */
  const outcomes = new Map<string, RunStatus>();
  /** The chunk count each Complete prepare Job's pod planned (null: none), read once. */
  const plans = new Map<string, number | null>();
  /** Runs this runner deleted, until forgotten: reported from their pods (stopping, then stopped). */
  const stopping = new Map<string, { videoId: number; startedAt: number; reason: string; deleted?: boolean }>();

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
      if (isFinished(job) && !forgotten.has(parseRunJobName(name)?.run ?? name)) tombstones.set(name, job);
    },
  });

  async function podsOf(jobName: string): Promise<V1Pod[]> {
    try {
      return (await core.listNamespacedPod({ namespace, labelSelector: `${JOB_NAME_LABEL}=${jobName}` })).items;
    } catch (err) {
      throw unavailable(`reading the pods of ${jobName}`, err);
    }
  }

  /** The pods of every Job of a run. */
  async function podsOfRun(run: string): Promise<V1Pod[]> {
    try {
      return (await core.listNamespacedPod({ namespace, labelSelector: `${JOB_NAME_LABEL} in (${jobNamesOf(run).join(',')})` })).items;
    } catch (err) {
      throw unavailable(`reading the pods of ${run}`, err);
    }
  }

  /** What the succeeded pod of a Complete prepare Job planned: its chunk count, or null. */
  async function planOf(prepare: V1Job): Promise<number | null> {
    const name = prepare.metadata?.name ?? '';
    const known = plans.get(name);
    if (known !== undefined) return known;
    const pods = await podsOf(name);
    const succeeded = pods.map((p) => p.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME)?.state?.terminated).find((t) => t?.exitCode === 0);
    const chunks = preparedChunks(succeeded?.message) ?? null;
    // No pod to read (gone with the Job's TTL, or garbage-collected): not remembered, asked again.
    if (succeeded) plans.set(name, chunks);
    return chunks;
  }

  /** Creates a phase Job; one that exists already (409) is this very phase, adopted. */
  async function createPhase(d: Extract<PhaseDecision, { kind: 'create' }>): Promise<void> {
    const body = opts.phaseManifest(d.from, d.phase, d.phase === 'encode' ? d.chunks : undefined);
    const name = body.metadata?.name ?? '';
    try {
      jobs.pin(await batch.createNamespacedJob({ namespace, body }));
      log.info({ job: name, phase: d.phase, ...(d.phase === 'encode' ? { chunks: d.chunks } : {}) }, `${d.phase} Job created`);
      return;
    } catch (err) {
      if (isUnavailable(err)) throw unavailable(`creating ${name}`, err);
      if (!(apiStatus(err) === 409 && apiReason(err) === 'AlreadyExists')) throw new Error(`the API server refused Job ${name}: ${describeError(err)}`, { cause: err });
    }
    try {
      jobs.pin(await batch.readNamespacedJob({ name, namespace }));
    } catch (err) {
      throw unavailable(`reading ${name}`, err);
    }
    log.info({ job: name }, 'phase Job already exists: adopted');
  }

  /** Phase Jobs the API server refused, by run: the run has failed (until forgotten). */
  const refused = new Map<string, string>();

  /** Every run with a Job (live, or finished and removed by others), not forgotten or being stopped. */
  function runsNow(): Map<string, { videoId: number; jobs: RunJobs }> {
    const runs = new Map<string, { videoId: number; jobs: RunJobs }>();
    for (const job of [...jobs.items(), ...tombstones.values()]) {
      const parsed = parseRunJobName(job.metadata?.name ?? '');
      if (!parsed || forgotten.has(parsed.run) || stopping.has(parsed.run)) continue;
      const entry = runs.get(parsed.run) ?? { videoId: parsed.parts.videoId, jobs: {} };
      entry.jobs[parsed.phase] = job;
      runs.set(parsed.run, entry);
    }
    return runs;
  }

  /** What the run's Jobs say, with the prepare pod's plan read when it decides. */
  async function decide(group: RunJobs): Promise<PhaseDecision | null> {
    const decision = decidePhase(group);
    return decision?.kind === 'read-plan' ? decidePhase(group, await planOf(decision.prepare)) : decision;
  }

  /** One run's status from its Jobs; between two phases it is running (advance creates the next). */
  async function runStatus(run: string, videoId: number, group: RunJobs): Promise<RunStatus | null> {
    const decision = await decide(group);
    if (!decision || decision.kind === 'read-plan') return null;
    const startedAt = Math.min(...Object.values(group).map((j: V1Job) => jobStartedAt(j)));
    if (decision.kind === 'report') {
      const status = await statusOf(decision.job);
      return status && { ...status, startedAt };
    }
    const why = refused.get(run);
    // A refused phase Job fails the run (retryably: a new attempt starts from its own prepare).
    if (why) return { jobName: run, videoId, startedAt, phase: 'failed', finishedAt: Date.now(), reason: why };
    return { jobName: run, videoId, startedAt, phase: 'running' };
  }

  const isLive = (pod: V1Pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

  /** A deleted run: running while a pod of any of its Jobs still runs, then failed (stopped). */
  async function stoppedStatus(jobName: string, s: { videoId: number; startedAt: number; reason: string }): Promise<RunStatus> {
    const base = { jobName, videoId: s.videoId, startedAt: s.startedAt };
    if ((await podsOfRun(jobName)).some(isLive)) return { ...base, phase: 'running', reason: `stopping: ${s.reason}` };
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
      const parsed = parseRunJobName(jobName);
      if (!parsed || live.has(jobName) || stopping.has(parsed.run)) continue;
      // A run with a Job left goes on through that Job; only a run with none is stopping.
      if (jobNamesOf(parsed.run).some((n) => live.has(n))) continue;
      const created = pod.metadata?.creationTimestamp;
      stopping.set(parsed.run, { videoId: parsed.parts.videoId, startedAt: created ? new Date(created).getTime() : Date.now(), reason: 'its Job was deleted before this controller started' });
      log.info({ job: jobName, run: parsed.run, pod: pod.metadata?.name }, 'pod of a deleted Job still running: watched until it ends');
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
      for (const run of forgotten) if (!jobNamesOf(run).some((n) => names.has(n))) forgotten.delete(run);
      for (const map of [outcomes, plans]) for (const name of map.keys()) if (!names.has(name) && !tombstones.has(name)) map.delete(name);
      const out: RunStatus[] = [];
      for (const [run, { videoId, jobs: group }] of runsNow()) {
        const status = await runStatus(run, videoId, group);
        if (status) out.push(status);
      }
      for (const [name, s] of stopping) out.push(await stoppedStatus(name, s));
      return out;
    },

    async advance(current) {
      if (!jobs.synced()) throw new RunnerUnavailableError('Kubernetes API server unavailable: the Jobs are not listed yet');
      for (const [run, { jobs: group }] of runsNow()) {
        if (!current.has(run) || refused.has(run)) continue;
        const decision = await decide(group);
        if (decision?.kind !== 'create') continue;
        try {
          await createPhase(decision);
        } catch (err) {
          if (err instanceof RunnerUnavailableError) throw err;
          refused.set(run, `could not start the ${decision.phase} phase: ${(err as Error).message}`);
          log.warn({ run, phase: decision.phase, err: (err as Error).message }, 'phase Job refused: the run fails');
        }
      }
    },

    async stop(jobName, reason) {
      if (stopping.get(jobName)?.deleted) return;
      const known = jobNamesOf(jobName).map((n) => jobs.get(n) ?? tombstones.get(n)).filter((j): j is V1Job => j !== undefined);
      const startedAt = known.length ? Math.min(...known.map((j) => runStatusOf(j)?.startedAt ?? Date.now())) : Date.now();
      const parsed = parseRunJobName(jobName);
      // Stopping from now on (advance creates no more phases for it), even if a delete below fails:
      // then the next stop() deletes again.
      const entry = stopping.get(jobName) ?? { videoId: parsed?.parts.videoId ?? 0, startedAt, reason };
      if (parsed) stopping.set(jobName, entry);
      for (const name of jobNamesOf(jobName)) {
        try {
          await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
          log.info({ job: name, reason }, 'job deleted');
        } catch (err) {
          if (apiStatus(err) !== 404) throw isUnavailable(err) ? unavailable(`deleting ${name}`, err) : err;
        }
        jobs.remove(name);
        tombstones.delete(name);
        outcomes.delete(name);
        plans.delete(name);
      }
      entry.deleted = true;
    },

    async forget(jobName) {
      const names = jobNamesOf(jobName);
      if (names.some((n) => jobs.get(n) && !isFinished(jobs.get(n)!))) return;
      stopping.delete(jobName);
      refused.delete(jobName);
      forgotten.add(jobName);
      for (const name of names) {
        tombstones.delete(name);
        outcomes.delete(name);
        plans.delete(name);
      }
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
