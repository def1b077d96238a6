/**
 * The Job manifest builder (src/controller/job-manifest.ts), table-tested: names, labels, the
 * job contract's environment, the volume, security, scheduling, resources and the failure policy,
 * and the Kubernetes settings that feed it. Each manifest also goes through the real client's
 * serializer, which drops any field the Kubernetes API does not know: a typo shows as a diff.
 */
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig, transcoderSettingsEnvironment, type Settings } from '../../src/config.ts';
import { ladderFromSettings } from '../../src/contract.ts';
import { buildJobManifest, buildPhaseManifest, instanceSelector, podJobSpec } from '../../src/controller/job-manifest.ts';
import type { VideoJob } from '../../src/jobs/model.ts';

const test = suite('job manifest');

const BASE = { RUNNER: 'kubernetes', STORAGE_PATH: '/data', CONTROLLER_URL: 'http://vcs-controller.video.svc:3001', API_KEY: 'secret-key', PROCESSING_TIMEOUT: '5400000' };
const settingsOf = (extra: Record<string, string> = {}) => loadConfig({ ...BASE, ...extra });

const video = (id: number, source = `https://uploads.example.com/${id}.mp4`) => ({ wp_post_id: id, original_video_url: source }) as VideoJob;

function manifest(id: number, attempt: number, extra: Record<string, string> = {}) {
  const s = settingsOf(extra);
  const spec = podJobSpec({ hlsPath: s.HLS_PATH, tempPath: s.TEMP_PATH }, ladderFromSettings(s), { url: `${s.CONTROLLER_URL}/internal/progress`, token: (n) => `token-of-${n}` });
  return buildJobManifest(spec(video(id), `${s.KUBE_INSTANCE}-${id}-${attempt}`), transcoderSettingsEnvironment(s, 'pod'), s);
}

const envOf = (job: ReturnType<typeof manifest>) => Object.fromEntries(job.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
const podOf = (job: ReturnType<typeof manifest>) => job.spec!.template.spec!;

test('names and labels: <instance>-<id>-<attempt>, app.kubernetes.io/* plus video id and attempt, on the Job and its pods', () => {
  const longest = 'a'.repeat(28) + '9'; // KUBE_INSTANCE's longest: 29 characters
  const rows: [number, number, Record<string, string>, string][] = [
    [123, 1, {}, 'vcs'],
    [7, 12, { KUBE_INSTANCE: 'prod-eu' }, 'prod-eu'],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, {}, 'vcs'],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, { KUBE_INSTANCE: longest }, longest],
  ];
  for (const [id, attempt, extra, instance] of rows) {
    const job = manifest(id, attempt, extra);
    const name = job.metadata!.name!;
    assert.is(name, `${instance}-${id}-${attempt}`);
    assert.ok(name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name), `${name} is a DNS-1123 label`);
    const labels = {
      'app.kubernetes.io/name': 'video-compression',
      'app.kubernetes.io/instance': instance,
      'app.kubernetes.io/component': 'transcoder',
      'app.kubernetes.io/part-of': 'video-compression',
      'app.kubernetes.io/managed-by': 'vcs-controller',
      'vcs/wp-post-id': String(id),
      'vcs/attempt': String(attempt),
    };
    assert.equal(job.metadata!.labels, labels);
    assert.equal(job.spec!.template.metadata!.labels, labels);
    for (const v of Object.values(labels)) assert.ok(v.length <= 63, `label value ${v}`);
    // The controller's watch selects exactly these Jobs.
    const selector = instanceSelector(instance);
    for (const pair of selector.split(',')) assert.is(labels[pair.split('=')[0] as keyof typeof labels], pair.split('=')[1]);
  }
});

test('a name that is not this video’s run name is refused', () => {
  const s = settingsOf();
  const spec = podJobSpec({ hlsPath: s.HLS_PATH, tempPath: s.TEMP_PATH }, ladderFromSettings(s), null);
  for (const name of ['vcs-5-1', 'vcs-6-0', 'transcode-6', 'VCS-6-1', 'other-6-1']) assert.throws(() => buildJobManifest(spec(video(6), name), {}, s), RangeError, name);
});

test('environment: the job contract with paths on the volume, the result as termination message, no secrets', () => {
  const env = envOf(manifest(42, 3, { MAX_SOURCE_BYTES: '1000000', DOWNLOAD_IDLE_TIMEOUT: '120000', ALLOW_PRIVATE_SOURCES: 'true', LOG_LEVEL: 'debug' }));
  assert.equal(
    {
      job: env.VCS_JOB_NAME,
      id: env.VCS_VIDEO_ID,
      source: env.VCS_SOURCE_URL,
      out: env.VCS_OUTPUT_DIR,
      work: env.VCS_WORK_DIR,
      result: env.VCS_RESULT_PATH,
      progress: env.VCS_PROGRESS_URL,
      token: env.VCS_PROGRESS_TOKEN,
    },
    {
      job: 'vcs-42-3',
      id: '42',
      source: 'https://uploads.example.com/42.mp4',
      out: '/data/hls/42',
      work: '/data/temp/work/vcs-42-3',
      result: '/dev/termination-log',
      progress: 'http://vcs-controller.video.svc:3001/internal/progress',
      token: 'token-of-vcs-42-3',
    },
  );
  assert.equal(JSON.parse(env.VCS_LADDER!).renditions.map((r: { name: string }) => r.name), ['high', 'medium', 'low']);
  assert.equal([env.MAX_SOURCE_BYTES, env.DOWNLOAD_IDLE_TIMEOUT, env.ALLOW_PRIVATE_SOURCES, env.ALLOW_LOCAL_SOURCES, env.LOG_LEVEL], ['1000000', '120000', 'true', 'false', 'debug']);
  assert.not.ok('API_KEY' in env || 'PROGRESS_SECRET' in env || 'APPWRITE_API_KEY' in env, 'no secrets in the pod');
  const names = Object.keys(env);
  assert.is(new Set(names).size, names.length);
});

test('container and volume: `transcode` for the image’s entrypoint, the claim at STORAGE_PATH, an emptyDir at /tmp', () => {
  const job = manifest(1, 1, { TRANSCODER_IMAGE: 'registry.example/vcs-transcoder:1.2.3', TRANSCODER_PVC: 'media-rwx', TRANSCODER_TMP_SIZE: '2Gi' });
  const pod = podOf(job);
  const c = pod.containers[0]!;
  // No command: the image's ENTRYPOINT (tini -- vcs) stays PID 1 and gets `transcode`.
  assert.equal([c.name, c.image, c.imagePullPolicy, c.command, c.args], ['transcoder', 'registry.example/vcs-transcoder:1.2.3', 'IfNotPresent', undefined, ['transcode']]);
  assert.equal([c.terminationMessagePath, c.terminationMessagePolicy], ['/dev/termination-log', 'FallbackToLogsOnError']);
  assert.equal(c.volumeMounts, [
    { name: 'media', mountPath: '/data' },
    { name: 'tmp', mountPath: '/tmp' },
  ]);
  assert.equal(pod.volumes, [
    { name: 'media', persistentVolumeClaim: { claimName: 'media-rwx' } },
    { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
  ]);
});

test('security: restricted pod (non-root, read-only root, no capabilities, RuntimeDefault) and no service-account token', () => {
  const pod = podOf(manifest(1, 1, { TRANSCODER_RUN_AS_USER: '2000', TRANSCODER_SERVICE_ACCOUNT: 'vcs-transcoder' }));
  assert.equal(pod.securityContext, { runAsNonRoot: true, runAsUser: 2000, runAsGroup: 2000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.containers[0]!.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  assert.equal([pod.automountServiceAccountToken, pod.serviceAccountName, pod.restartPolicy, pod.enableServiceLinks], [false, 'vcs-transcoder', 'Never', false]);
  assert.is(podOf(manifest(1, 1)).serviceAccountName, undefined);
});

test('failure policy: FailJob on exit 2, Ignore disruptions; backoffLimit, deadline, TTL from the settings', () => {
  const rows: [Record<string, string>, [number, number, number]][] = [
    [{}, [2, 5400, 3600]], // deadline defaults to PROCESSING_TIMEOUT (90 min here)
    [{ JOB_BACKOFF_LIMIT: '0', JOB_ACTIVE_DEADLINE_SECONDS: '600', JOB_TTL_SECONDS_AFTER_FINISHED: '0' }, [0, 600, 0]],
  ];
  for (const [extra, [backoff, deadline, ttl]] of rows) {
    const spec = manifest(9, 1, extra).spec!;
    assert.equal([spec.backoffLimit, spec.activeDeadlineSeconds, spec.ttlSecondsAfterFinished], [backoff, deadline, ttl]);
    assert.equal(spec.podFailurePolicy, {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'transcoder', operator: 'In', values: [2] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    });
    assert.is(spec.template.spec!.restartPolicy, 'Never'); // podFailurePolicy requires it
  }
});

test('scheduling and resources: FFmpeg nodes by nodeSelector, tolerations and affinity; priority class; requests and limits', () => {
  const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'ffmpeg', effect: 'NoSchedule' }];
  const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'ffmpeg', operator: 'Exists' }] }] } } };
  const pod = podOf(
    manifest(1, 1, {
      TRANSCODER_NODE_SELECTOR: 'workload=ffmpeg, disk=ssd',
      TRANSCODER_TOLERATIONS: JSON.stringify(tolerations),
      TRANSCODER_AFFINITY: JSON.stringify(affinity),
      TRANSCODER_CPU_REQUEST: '500m',
      TRANSCODER_MEMORY_REQUEST: '1Gi',
      TRANSCODER_CPU_LIMIT: '4',
      TRANSCODER_MEMORY_LIMIT: 'none',
      TRANSCODER_PRIORITY_CLASS_NAME: 'batch-low',
    }),
  );
  assert.equal([pod.nodeSelector, pod.tolerations, pod.affinity, pod.priorityClassName], [{ workload: 'ffmpeg', disk: 'ssd' }, tolerations, affinity, 'batch-low']);
  assert.equal(pod.containers[0]!.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '4' } });
  const plain = podOf(manifest(1, 1));
  assert.equal([plain.nodeSelector, plain.tolerations, plain.affinity, plain.priorityClassName], [undefined, undefined, undefined, undefined]);
  assert.equal(plain.containers[0]!.resources, { requests: { cpu: '2', memory: '2Gi' }, limits: { memory: '4Gi' } });
});

test('pure and deterministic; every field is one the Kubernetes API knows (the client’s serializer keeps it)', () => {
  const extra = { TRANSCODER_NODE_SELECTOR: 'workload=ffmpeg', TRANSCODER_TOLERATIONS: '[{"key":"dedicated","operator":"Exists"}]', TRANSCODER_SERVICE_ACCOUNT: 'sa' };
  const a = manifest(55, 2, extra);
  assert.equal(manifest(55, 2, extra), a);
  assert.equal(JSON.parse(JSON.stringify(ObjectSerializer.serialize(a, 'V1Job', ''))), JSON.parse(JSON.stringify(a)));
});

const CHUNKING = { CHUNK_PARALLELISM: '4', CHUNK_DURATION: '60', CHUNK_MIN_DURATION: '600' };

test('chunking on: the run’s Job is its prepare phase (VCS_PHASE, phase and run labels); off, or a run name too long for phases: the Job of today', () => {
  const phased = manifest(42, 1, CHUNKING);
  assert.is(envOf(phased).VCS_PHASE, 'prepare');
  assert.equal(JSON.parse(envOf(phased).VCS_LADDER!).chunking, { minSeconds: 600, chunkSeconds: 60, parallelism: 4 });
  for (const labels of [phased.metadata!.labels!, phased.spec!.template.metadata!.labels!]) assert.equal([labels['vcs/phase'], labels['vcs/run']], ['prepare', 'vcs-42-1']);
  const plain = manifest(42, 1);
  assert.is(envOf(plain).VCS_PHASE, undefined);
  assert.is(plain.metadata!.labels!['vcs/phase'], undefined);
  assert.is(JSON.parse(envOf(plain).VCS_LADDER!).chunking, undefined);
  // 29-character instance + 16-digit id + 16-digit attempt: 63 characters, no room for `-encode-<index>`.
  const long = manifest(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, { ...CHUNKING, KUBE_INSTANCE: `${'a'.repeat(28)}9` });
  assert.is(envOf(long).VCS_PHASE, undefined, 'encoded in one pod');
  assert.is(JSON.parse(envOf(long).VCS_LADDER!).chunking, undefined, 'and told so: no chunking in its ladder');
  assert.is(long.metadata!.labels!['vcs/phase'], undefined);
});

test('the encode phase: an Indexed Job of one index per chunk from the run’s pod template, per-index retries, FailIndex on exit 2, no failed index tolerated', () => {
  const prepare = manifest(42, 1, { ...CHUNKING, JOB_BACKOFF_LIMIT: '3', JOB_ACTIVE_DEADLINE_SECONDS: '1200' });
  const s = settingsOf({ ...CHUNKING, JOB_BACKOFF_LIMIT: '3', JOB_ACTIVE_DEADLINE_SECONDS: '1200' });
  // As the API server returns it: server-added labels, a selector and defaults that must not be copied.
  const served = structuredClone(prepare);
  served.metadata!.uid = 'abc';
  served.metadata!.resourceVersion = '17';
  served.spec!.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } };
  served.spec!.template.metadata!.labels = { ...served.spec!.template.metadata!.labels, 'batch.kubernetes.io/controller-uid': 'abc', 'job-name': 'vcs-42-1' };
  served.status = { succeeded: 1 };
  const encode = buildPhaseManifest(served, 'encode', s, 60);
  const labels = { ...prepare.metadata!.labels!, 'vcs/phase': 'encode', 'vcs/run': 'vcs-42-1' };
  assert.equal(encode.metadata, { name: 'vcs-42-1-encode', labels });
  assert.equal(encode.spec!.template.metadata, { labels });
  const { template, ...spec } = encode.spec!;
  assert.equal(spec, {
    completionMode: 'Indexed',
    completions: 60,
    parallelism: 4,
    backoffLimitPerIndex: 3,
    maxFailedIndexes: 0,
    activeDeadlineSeconds: 1200,
    ttlSecondsAfterFinished: 3600,
    podFailurePolicy: {
      rules: [
        { action: 'FailIndex', onExitCodes: { containerName: 'transcoder', operator: 'In', values: [2] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    },
  });
  // The pod: the run's own, but for VCS_PHASE.
  assert.equal({ ...envOf(encode), VCS_PHASE: 'prepare' }, envOf(prepare));
  assert.is(envOf(encode).VCS_PHASE, 'encode');
  const { containers: a, ...podA } = template.spec!;
  const { containers: b, ...podB } = prepare.spec!.template.spec!;
  assert.equal(podA, podB);
  assert.equal({ ...a[0]!, env: [] }, { ...b[0]!, env: [] });
  assert.is(buildPhaseManifest(served, 'encode', s, 3).spec!.parallelism, 3, 'no more pods than chunks');
  assert.equal(JSON.parse(JSON.stringify(ObjectSerializer.serialize(encode, 'V1Job', ''))), JSON.parse(JSON.stringify(encode)), 'every field known to the API');
  // Pod host names <job>-<index> fit 63 characters.
  assert.ok(`${encode.metadata!.name}-99999`.length <= 63);
});

test('the assemble phase: a one-pod Job like the run’s, from the encode Job; phases of anything but a chunked run are refused', () => {
  const s = settingsOf(CHUNKING);
  const prepare = manifest(42, 1, CHUNKING);
  const assemble = buildPhaseManifest(buildPhaseManifest(prepare, 'encode', s, 10), 'assemble', s);
  assert.is(assemble.metadata!.name, 'vcs-42-1-assemble');
  assert.equal([assemble.metadata!.labels!['vcs/phase'], assemble.metadata!.labels!['vcs/run']], ['assemble', 'vcs-42-1']);
  const { template, ...spec } = assemble.spec!;
  const { template: prepareTemplate, ...prepareSpec } = prepare.spec!;
  assert.equal(spec, prepareSpec, 'backoffLimit, deadline, TTL and FailJob as the run’s Job');
  assert.is(envOf(assemble).VCS_PHASE, 'assemble');
  assert.equal({ ...envOf(assemble), VCS_PHASE: 'prepare' }, envOf(prepare));
  assert.throws(() => buildPhaseManifest(manifest(42, 1), 'encode', s, 10), RangeError, 'a run without chunking');
  assert.throws(() => buildPhaseManifest(prepare, 'encode', s, 1), RangeError, 'one chunk is no encode phase');
  assert.throws(() => buildPhaseManifest({ metadata: { name: 'x' } }, 'assemble', s), RangeError);
});

test('Kubernetes settings are validated at start, with the variable and what was expected', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  assert.equal(problems({ TRANSCODER_TOLERATIONS: '{"key":"x"}', TRANSCODER_CPU_REQUEST: 'two', TRANSCODER_NODE_SELECTOR: 'workload', TRANSCODER_IMAGE_PULL_POLICY: 'always', KUBE_NAMESPACE: 'Video' }), [
    'KUBE_NAMESPACE must be a lowercase DNS-1123 name (a-z, 0-9, -; at most 63 characters), got "Video"',
    'TRANSCODER_IMAGE_PULL_POLICY must be one of IfNotPresent, Always, Never, got "always"',
    'TRANSCODER_CPU_REQUEST must be a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi (or none), got "two"',
    'TRANSCODER_NODE_SELECTOR must be comma-separated label pairs such as workload=ffmpeg,disk=ssd, got "workload"',
    'TRANSCODER_TOLERATIONS must be an array of tolerations as JSON, got "{\\"key\\":\\"x\\"}"',
  ]);
  assert.equal(problems({ RUNNER: 'kubernetes', STORAGE_PATH: '/data', HLS_PATH: '/srv/hls', LEADER_ELECTION_RENEW_DEADLINE: '20000' }), [
    'HLS_PATH must be inside STORAGE_PATH (/data), the volume the transcoder pods mount, got /srv/hls',
    'LEADER_ELECTION_LEASE_DURATION > LEADER_ELECTION_RENEW_DEADLINE > LEADER_ELECTION_RETRY_PERIOD is expected (a leader stops before a standby may take over), got 15000, 20000, 2000',
  ]);
  // The same paths are fine for the local runner.
  assert.equal(problems({ STORAGE_PATH: '/data', HLS_PATH: '/srv/hls' }), []);
  const s: Settings = settingsOf();
  assert.equal([s.INTERNAL_PORT, s.LEADER_ELECTION_LEASE_NAME, s.LEADER_ELECTION_LEASE_DURATION, s.LEADER_ELECTION_RENEW_DEADLINE, s.LEADER_ELECTION_RETRY_PERIOD], [3001, 'vcs-controller-leader', 15000, 10000, 2000]);
  assert.is(loadConfig({ INTERNAL_PORT: '4000' }).CONTROLLER_URL, 'http://vcs-controller:4000');
});

test.run();
