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
 */
import type { V1Affinity, V1Job, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import type { Settings } from '../config.ts';
import { DEFAULT_RESULT_PATH, EXIT, jobEnvironment, type JobSpec, type Ladder } from '../contract.ts';
import type { VideoJob } from '../jobs/model.ts';
import type { VolumePaths } from '../volume/layout.ts';
import { jobSpecOn } from './apply.ts';
import { parseJobName } from './job-name.ts';

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
  const labels = { ...instanceLabels(s.KUBE_INSTANCE), [LABEL.videoId]: String(parts.videoId), [LABEL.attempt]: String(parts.attempt) };
  const env = { ...settingsEnv, ...jobEnvironment(job) };
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
      backoffLimit: s.JOB_BACKOFF_LIMIT,
      activeDeadlineSeconds: s.JOB_ACTIVE_DEADLINE_SECONDS,
      // Results are recorded within a pass of the Job finishing; the TTL only bounds the leftovers.
      ttlSecondsAfterFinished: s.JOB_TTL_SECONDS_AFTER_FINISHED,
      podFailurePolicy: {
        // First matching rule wins; needs restartPolicy: Never.
        rules: [
          { action: 'FailJob', onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [EXIT.permanent] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
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
