/**
 * The batch/v1 Job of one transcoder run (docs/adr/0012, docs/protocols/kubernetes-api.md §5), built by a pure
 * function from the job contract and the settings (conventions 8): table-tested, no I/O.
 *
 * - Name `<instance>-<id>-<attempt>` (job-name.ts): deterministic, so a create that meets a 409
 *   is the same run and is adopted, never duplicated.
 * - Labels: app.kubernetes.io/* (the controller watches its Jobs by them) plus the video id and
 *   attempt, on the Job and the pod template alike.
 * - The pod runs the image's entrypoint (`tini -- vcs`) with `transcode` and the job contract's
 *   environment, the volume claim mounted at STORAGE_PATH (so HLS_PATH and TEMP_PATH mean the same inside the pod), and writes its result
 *   JSON to /dev/termination-log, which Kubernetes keeps as the container's termination message.
 * - Failure policy: exit 2 (the input can never succeed) fails the Job at once; disruptions
 *   (eviction, preemption, node drain) are retried without counting against backoffLimit.
 * - Security: the "restricted" Pod Security Standard (non-root, read-only root filesystem with an
 *   emptyDir at /tmp, no capabilities, RuntimeDefault seccomp) and no service-account token.
 * - Chunking on (docs/adr/0022): the run's Job is its prepare phase (VCS_PHASE=prepare); the
 *   runner follows it with `<run>-encode`, an Indexed Job of one index per chunk (per-index
 *   retries, FailIndex on exit 2, no failed index tolerated), and `<run>-assemble`, built by
 *   `buildPhaseManifest` from the pod template of the run's Job, so every phase runs with the
 *   image and settings the run started with.
 */
import type { V1Affinity, V1Job, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import type { Settings } from '../config.ts';
import { DEFAULT_RESULT_PATH, EXIT, JOB_ENV, jobEnvironment, ladderProblems, type JobSpec, type Ladder } from '../contract.ts';
import type { VideoJob } from '../jobs/model.ts';
import type { VolumePaths } from '../volume/layout.ts';
import { jobSpecOn } from './apply.ts';
import { fitsPhases, parseJobName, phaseJobName, type JobPhase } from './job-name.ts';

export const CONTAINER_NAME = 'transcoder';
/**
 * The container's arguments. The image's ENTRYPOINT is `tini -- vcs` (the same CLI as everywhere):
 * setting `args` and no `command` keeps tini as PID 1, which forwards SIGTERM to the transcoder
 * and reaps what FFmpeg leaves behind.
 */
export const TRANSCODER_ARGS = ['transcode'];

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  videoId: 'vcs/wp-post-id',
  attempt: 'vcs/attempt',
  /** The phase of a chunked run (prepare, encode, assemble) and the run it belongs to. */
  phase: 'vcs/phase',
  run: 'vcs/run',
} as const;

const APP = 'video-compression';
const COMPONENT = 'transcoder';
const MANAGER = 'vcs-controller';

/** The Job controller's own pod label: how a Job's pods are found. */
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';

/** Labels every Job of this instance carries: the controller's watch selects on them. */
export function instanceLabels(instance: string): Record<string, string> {
  return { [LABEL.name]: APP, [LABEL.instance]: instance, [LABEL.component]: COMPONENT, [LABEL.partOf]: APP, [LABEL.managedBy]: MANAGER };
}

export function instanceSelector(instance: string): string {
  return Object.entries(instanceLabels(instance))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export type ManifestSettings = Pick<
  Settings,
  | 'STORAGE_PATH'
  | 'KUBE_INSTANCE'
  | 'TRANSCODER_IMAGE'
  | 'TRANSCODER_IMAGE_PULL_POLICY'
  | 'TRANSCODER_SERVICE_ACCOUNT'
  | 'TRANSCODER_PVC'
  | 'TRANSCODER_CPU_REQUEST'
  | 'TRANSCODER_MEMORY_REQUEST'
  | 'TRANSCODER_CPU_LIMIT'
  | 'TRANSCODER_MEMORY_LIMIT'
  | 'TRANSCODER_TMP_SIZE'
  | 'TRANSCODER_NODE_SELECTOR'
  | 'TRANSCODER_TOLERATIONS'
  | 'TRANSCODER_AFFINITY'
  | 'TRANSCODER_RUN_AS_USER'
  | 'TRANSCODER_PRIORITY_CLASS_NAME'
  | 'JOB_BACKOFF_LIMIT'
  | 'JOB_ACTIVE_DEADLINE_SECONDS'
  | 'JOB_TTL_SECONDS_AFTER_FINISHED'
>;

/**
 * Job-wide retries of a one-pod Job (the run's Job, the assemble phase). Disruptions (eviction,
 * preemption, node drain) do not count; exit 2 (the input can never succeed) fails the Job at once.
 */
function oneShotSpec(s: ManifestSettings) {
  return {
    backoffLimit: s.JOB_BACKOFF_LIMIT,
    activeDeadlineSeconds: s.JOB_ACTIVE_DEADLINE_SECONDS,
    // Results are recorded within a pass of the Job finishing; the TTL only bounds the leftovers.
    ttlSecondsAfterFinished: s.JOB_TTL_SECONDS_AFTER_FINISHED,
    podFailurePolicy: failurePolicy('FailJob'),
  };
}

/**
 * Exit 2 (the input can never succeed) ends the Job (FailJob) or its index (FailIndex) at once;
 * disruptions (eviction, preemption, node drain) are retried without counting. The first matching
 * rule wins; it needs restartPolicy: Never.
 */
function failurePolicy(onPermanent: 'FailJob' | 'FailIndex') {
  return {
    rules: [
      { action: onPermanent, onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [EXIT.permanent] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
}

/**
 * The encode phase: one index per chunk, at most `parallelism` pods at once. Each index is retried
 * on its own (`backoffLimitPerIndex`, JOB_BACKOFF_LIMIT), exit 2 fails its index at once
 * (FailIndex), and one failed index fails the Job (`maxFailedIndexes: 0`): a package needs every
 * chunk, so encoding the rest would be wasted. No Job-wide backoffLimit (the server's default with
 * per-index limits is "unlimited": the per-index ones decide).
 */
function indexedSpec(s: ManifestSettings, chunks: number, parallelism: number) {
  return {
    completionMode: 'Indexed',
    completions: chunks,
    parallelism: Math.max(1, Math.min(chunks, parallelism)),
    backoffLimitPerIndex: s.JOB_BACKOFF_LIMIT,
    maxFailedIndexes: 0,
    activeDeadlineSeconds: s.JOB_ACTIVE_DEADLINE_SECONDS,
    ttlSecondsAfterFinished: s.JOB_TTL_SECONDS_AFTER_FINISHED,
    podFailurePolicy: failurePolicy('FailIndex'),
  };
}

/** The ladder in a pod template's environment (VCS_LADDER), or undefined. */
function ladderOf(job: V1Job): Ladder | undefined {
  const text = job.spec?.template.spec?.containers.find((c) => c.name === CONTAINER_NAME)?.env?.find((e) => e.name === JOB_ENV.ladder)?.value;
  try {
    const value = text ? (JSON.parse(text) as unknown) : undefined;
    return value !== undefined && ladderProblems(value).length === 0 ? (value as Ladder) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Job of a later phase of run `from` (the run's Job or a phase Job of it: their pod templates
 * are the same but for VCS_PHASE), as the Job it follows ran: the same pod template (image,
 * environment, volume, scheduling, security), a new name, its phase's labels and VCS_PHASE, and the
 * phase's spec. `chunks` (the encode phase): the chunk count the prepare phase planned. Pure.
 * Throws RangeError for a Job that is not a phased run's.
 */
export function buildPhaseManifest(from: V1Job, phase: Exclude<JobPhase, 'prepare'>, s: ManifestSettings, chunks = 0): V1Job {
  const labels = from.metadata?.labels ?? {};
  const run = labels[LABEL.run];
  const parts = run ? parseJobName(run) : null;
  const template = from.spec?.template.spec;
  const ladder = ladderOf(from);
  if (!run || !parts || !template || !ladder?.chunking) throw new RangeError(`phase manifest: ${from.metadata?.name} is not a Job of a chunked run`);
  if (phase === 'encode' && !(Number.isSafeInteger(chunks) && chunks >= 2)) throw new RangeError(`phase manifest: an encode phase needs 2 chunks or more, got ${chunks}`);
  const name = phaseJobName(run, phase);
  const podLabels = { ...instanceLabels(parts.prefix), [LABEL.videoId]: String(parts.videoId), [LABEL.attempt]: String(parts.attempt), [LABEL.phase]: phase, [LABEL.run]: run };
  const pod = structuredClone(template);
  for (const c of pod.containers) {
    if (c.name !== CONTAINER_NAME) continue;
    c.env = (c.env ?? []).map((e) => (e.name === JOB_ENV.phase ? { name: e.name, value: phase } : e));
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: podLabels },
    spec: {
      ...(phase === 'encode' ? indexedSpec(s, chunks, ladder.chunking.parallelism) : oneShotSpec(s)),
      template: { metadata: { labels: podLabels }, spec: pod },
    },
  };
}

/** The job contract of a run inside a pod: paths on the volume, the result as termination message. */
export function podJobSpec(
  volume: VolumePaths,
  ladder: Ladder,
  progress: { url: string; token: (jobName: string) => string } | null,
): (video: VideoJob, jobName: string) => JobSpec {
  const onVolume = jobSpecOn(volume, ladder, progress);
  return (video, jobName) => ({ ...onVolume(video, jobName), resultPath: DEFAULT_RESULT_PATH });
}

/** `{ cpu, memory }` without the unset ones; undefined when both are unset. */
function quantities(cpu: string | undefined, memory: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (cpu) out.cpu = cpu;
  if (memory) out.memory = memory;
  return Object.keys(out).length ? out : undefined;
}

/**
 * The Job for `job`. `settingsEnv` are the transcoder settings that steer a run beside the job
 * contract (limits, logs: config.ts transcoderSettingsEnvironment). Throws RangeError for a name
 * job-name.ts did not make for this video and instance.
 */
export function buildJobManifest(job: JobSpec, settingsEnv: Record<string, string>, s: ManifestSettings): V1Job {
  const parts = parseJobName(job.jobName);
  if (!parts || parts.videoId !== job.videoId || parts.prefix !== s.KUBE_INSTANCE) {
    throw new RangeError(`job manifest: ${job.jobName} is not a run name of video ${job.videoId} in instance ${s.KUBE_INSTANCE}`);
  }
  // A run name too long for its phase Jobs' names encodes in one pod (a 50-character run name
  // leaves room for `-encode-<index>`; the default instance name leaves 42 characters to spare).
  const { chunking: _dropped, ...whole } = job.ladder;
  const phased = job.ladder.chunking !== undefined && fitsPhases(job.jobName);
  const run: JobSpec = phased ? { ...job, phase: 'prepare' } : { ...job, ladder: whole };
  const labels = {
    ...instanceLabels(s.KUBE_INSTANCE),
    [LABEL.videoId]: String(parts.videoId),
    [LABEL.attempt]: String(parts.attempt),
    ...(phased ? { [LABEL.phase]: 'prepare', [LABEL.run]: job.jobName } : {}),
  };
  const env = { ...settingsEnv, ...jobEnvironment(run) };
  const resources: V1ResourceRequirements = {};
  const requests = quantities(s.TRANSCODER_CPU_REQUEST, s.TRANSCODER_MEMORY_REQUEST);
  const limits = quantities(s.TRANSCODER_CPU_LIMIT, s.TRANSCODER_MEMORY_LIMIT);
  if (requests) resources.requests = requests;
  if (limits) resources.limits = limits;
  const uid = s.TRANSCODER_RUN_AS_USER;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job.jobName, labels },
    spec: {
      ...oneShotSpec(s),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(s.TRANSCODER_SERVICE_ACCOUNT ? { serviceAccountName: s.TRANSCODER_SERVICE_ACCOUNT } : {}),
          // No Service variables in the environment: the transcoder reads the job contract only.
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
          ...(Object.keys(s.TRANSCODER_NODE_SELECTOR).length ? { nodeSelector: { ...s.TRANSCODER_NODE_SELECTOR } } : {}),
          ...(s.TRANSCODER_TOLERATIONS.length ? { tolerations: structuredClone(s.TRANSCODER_TOLERATIONS) as V1Toleration[] } : {}),
          ...(s.TRANSCODER_AFFINITY ? { affinity: structuredClone(s.TRANSCODER_AFFINITY) as V1Affinity } : {}),
          ...(s.TRANSCODER_PRIORITY_CLASS_NAME ? { priorityClassName: s.TRANSCODER_PRIORITY_CLASS_NAME } : {}),
          containers: [
            {
              name: CONTAINER_NAME,
              image: s.TRANSCODER_IMAGE,
              imagePullPolicy: s.TRANSCODER_IMAGE_PULL_POLICY,
              args: [...TRANSCODER_ARGS],
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              resources,
              terminationMessagePath: DEFAULT_RESULT_PATH,
              // The result JSON when the transcoder wrote one; else the end of its log (a crash).
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'media', mountPath: s.STORAGE_PATH },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'media', persistentVolumeClaim: { claimName: s.TRANSCODER_PVC } },
            { name: 'tmp', emptyDir: s.TRANSCODER_TMP_SIZE ? { sizeLimit: s.TRANSCODER_TMP_SIZE } : {} },
          ],
        },
      },
    },
  };
}
