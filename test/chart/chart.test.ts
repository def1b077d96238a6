/**
 * The Helm chart (charts/video-compression), offline, and the plain manifests in k8s/ rendered
 * from it (scripts/k8s.ts). Four value sets — the defaults; an existing claim and Secret; ingress,
 * autoscaling, transcoder scheduling and network policies; a ServiceMonitor — each pass
 * `helm lint --strict` and render objects the Kubernetes and Prometheus Operator schemas accept,
 * with the content each set asks for. Across all of them: every pod meets the restricted standard,
 * secrets stay in the Secret (the API key only as its hash), and the chart and the code agree —
 * every variable a pod gets is a setting, and the controller's and the gateway's environments load
 * (src/config.ts), down to the Job the controller builds from them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { K8S_DIR, renderK8sFiles } from '../../scripts/k8s.ts';
import { ConfigError, loadConfig, SETTINGS, settingOf, transcoderSettingsEnvironment, unusedSettingsGiven, type Env, type SettingName } from '../../src/config.ts';
import { ladderFromSettings } from '../../src/contract.ts';
import { buildJobManifest, podJobSpec } from '../../src/controller/job-manifest.ts';
import type { VideoJob } from '../../src/jobs/model.ts';
import { CHART, KUBECTL, helm, helmTemplate, helmTemplateText, type K8sObject } from '../support/helm.ts';
import { hasSchema, validateObjects } from '../support/k8s-schemas.ts';
import { containerEnv, find as one, FULLNAME, RELEASE, secretData } from '../support/chart.ts';

const test = suite('chart');

const NAMESPACE = 'video';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Distinctive, so a leak shows as a plain substring match. */
const SECRETS = {
  appwrite: { endpoint: 'https://appwrite.example.com/v1', projectId: 'project-vcs-test', apiKey: 'appwrite-key-Qm4xV9rT2b' },
  apiKey: 'api-key-Hs83kLw0PzQe',
  progressSecret: 'progress-secret-Zt61pQn8Yc',
};
const SECRET_STRINGS = [SECRETS.appwrite.apiKey, SECRETS.apiKey, SECRETS.progressSecret];
const ROTATED_HASH = sha256('an older key, still accepted');

const TRANSCODER_SCHEDULING = {
  nodeSelector: { workload: 'ffmpeg', 'example.com/disk': 'ssd' },
  tolerations: [
    { key: 'dedicated', operator: 'Equal', value: 'ffmpeg', effect: 'NoSchedule' },
    { key: 'spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['c7i.4xlarge', 'c7i.8xlarge'] }] }],
      },
    },
  },
  priorityClassName: 'encodes',
};

const INGRESS = {
  enabled: true,
  className: 'nginx',
  annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt', 'nginx.ingress.kubernetes.io/proxy-body-size': '0' },
  hosts: [{ host: 'video.example.com' }, { host: 'origin.example.com' }],
  tls: [{ secretName: 'video-example-com-tls', hosts: ['video.example.com', 'origin.example.com'] }],
};

/** The value sets every test walks. Numbers of a million and more check that they reach the pods as digits. */
const SETS = {
  defaults: {},
  existing: { ...SECRETS, persistence: { existingClaim: 'media-nfs' }, existingSecret: 'vcs-credentials' },
  exposed: {
    ...SECRETS,
    publicUrl: 'https://video.example.com',
    ingress: INGRESS,
    gateway: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 12, targetCPUUtilizationPercentage: 65 } },
    transcoder: { ...TRANSCODER_SCHEDULING, activeDeadlineSeconds: 604_800, ttlSecondsAfterFinished: 2_592_000 },
    networkPolicy: {
      enabled: true,
      ingressNamespaceSelector: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
      metricsNamespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' },
    },
    persistence: { storageClass: 'nfs-client' },
    podSecurityContext: { runAsUser: 1_000_001, runAsGroup: 1_000_001, fsGroup: 1_000_001 },
    config: { PROCESSING_TIMEOUT: 10_800_000, MAX_CONCURRENT_JOBS: 12, CHUNK_PARALLELISM: 16, CHUNK_MIN_DURATION: 900, CHUNK_DURATION: 120 },
  },
  monitored: {
    ...SECRETS,
    apiKeyHashes: [ROTATED_HASH],
    metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
    persistence: { storageClass: '-' },
  },
};
type SetName = keyof typeof SETS;
const SET_NAMES = Object.keys(SETS) as SetName[];

/** The Secret `existingSecret` names, as an operator would create it (values.yaml lists its keys). */
const EXISTING_SECRET: K8sObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'vcs-credentials' },
  data: Object.fromEntries(
    Object.entries({ APPWRITE_ENDPOINT: 'https://appwrite.internal/v1', APPWRITE_PROJECT_ID: 'p1', APPWRITE_API_KEY: 'k1' }).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
};

const rendered = {} as Record<SetName, K8sObject[]>;
let tmp = '';

const render = (values: object) => helmTemplate({ release: RELEASE, namespace: NAMESPACE, values });

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-chart-'));
  const objects = await Promise.all(SET_NAMES.map((name) => render(SETS[name])));
  SET_NAMES.forEach((name, i) => (rendered[name] = objects[i]!));
});

test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------
// Reading rendered objects

const isHook = (o: K8sObject) => o.metadata.annotations?.['helm.sh/hook'] !== undefined;
const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);


interface PodOf {
  owner: string;
  spec: any;
  labels: Record<string, string>;
}

/** Every pod spec an object makes: a Pod's own, a workload's template. */
function podsOf(objects: K8sObject[]): PodOf[] {
  return objects.flatMap((o): PodOf[] => {
    if (o.kind === 'Pod') return [{ owner: `Pod/${o.metadata.name}`, spec: o.spec, labels: o.metadata.labels ?? {} }];
    if (o.spec?.template?.spec) return [{ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec, labels: o.spec.template.metadata?.labels ?? {} }];
    return [];
  });
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const has = key in labels;
    return { In: has && values.includes(labels[key]!), NotIn: !has || !values.includes(labels[key]!), Exists: has, DoesNotExist: !has }[operator];
  });
  return pairs && expressions;
}


/** A pod's name as its Deployment's ReplicaSet would make it (for fieldRef metadata.name). */
const podNameOf = (deployment: K8sObject) => `${deployment.metadata.name}-5d8c7b9f4-x2k7p`;

/**
 * The environment the first container of `deployment` starts with, as the kubelet builds it:
 * envFrom (ConfigMap, then Secret) first, then env[] over it, with the downward API resolved.
 * `extra` holds objects made outside the chart (an existing Secret).
 */
function environmentOf(deployment: K8sObject, objects: K8sObject[], extra: K8sObject[] = []): Env {
  return containerEnv(deployment, objects, { namespace: NAMESPACE, name: podNameOf(deployment) }, extra);
}

const controllerOf = (objects: K8sObject[]) => one(objects, 'Deployment', `${FULLNAME}-controller`);
const gatewayOf = (objects: K8sObject[]) => one(objects, 'Deployment', `${FULLNAME}-gateway`);
/** The Secret objects outside the chart that a value set's pods load. */
const extraFor = (name: SetName) => (name === 'existing' ? [EXISTING_SECRET] : []);

/** Values written to a file for `-f`, as a user passes them. */
async function valuesFile(name: string, values: object): Promise<string> {
  const file = path.join(tmp, `${name}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

// ------------------------------------------------------------------------------------------------
// Lint, schemas, content of each value set

test('helm lint --strict passes with the defaults and with every value set', async () => {
  const runs = await Promise.all(
    SET_NAMES.map(async (name) => ({ name, run: await helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, '-f', await valuesFile(`lint-${name}`, SETS[name])]) })),
  );
  for (const { name, run } of runs) assert.is(run.code, 0, `${name}:\n${run.stdout}${run.stderr}`);
});

test('every value set renders objects the Kubernetes and Prometheus Operator schemas accept', () => {
  for (const name of SET_NAMES) {
    assert.equal(validateObjects(rendered[name]), [], name);
    for (const o of rendered[name]) {
      assert.ok(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.metadata.name) && o.metadata.name.length <= 63, `${name}: ${o.kind}/${o.metadata.name} is a DNS-1123 label`);
      assert.is(o.metadata.labels?.['app.kubernetes.io/instance'], RELEASE, `${name}: ${o.kind}/${o.metadata.name} carries the instance label`);
    }
  }
});

test('defaults: what the chart makes, a kept ReadWriteMany claim of the default class, PDBs with maxUnavailable', () => {
  const objects = rendered.defaults;
  assert.equal(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    `ConfigMap/${FULLNAME}`,
    `Deployment/${FULLNAME}-controller`,
    `Deployment/${FULLNAME}-gateway`,
    `PersistentVolumeClaim/${FULLNAME}-media`,
    `Pod/${FULLNAME}-test-ready`,
    `PodDisruptionBudget/${FULLNAME}-controller`,
    `PodDisruptionBudget/${FULLNAME}-gateway`,
    `Role/${FULLNAME}-controller`,
    `RoleBinding/${FULLNAME}-controller`,
    `Secret/${FULLNAME}`,
    `Service/${FULLNAME}-controller`,
    `Service/${FULLNAME}-gateway`,
    `Service/${FULLNAME}-gateway-metrics`,
    `ServiceAccount/${FULLNAME}-controller`,
    `ServiceAccount/${FULLNAME}-gateway`,
    `ServiceAccount/${FULLNAME}-transcoder`,
  ]);
  const pvc = one(objects, 'PersistentVolumeClaim', `${FULLNAME}-media`);
  assert.is(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep', 'helm uninstall leaves the videos');
  assert.equal(pvc.spec.accessModes, ['ReadWriteMany']);
  assert.not.ok('storageClassName' in pvc.spec, 'no class: the cluster default');
  assert.is(pvc.spec.resources.requests.storage, '100Gi');
  assert.equal([controllerOf(objects).spec.replicas, gatewayOf(objects).spec.replicas], [2, 2]);
  for (const component of ['controller', 'gateway']) {
    const pdb = one(objects, 'PodDisruptionBudget', `${FULLNAME}-${component}`);
    assert.is(pdb.spec.maxUnavailable, 1, component);
    assert.not.ok('minAvailable' in pdb.spec, component);
    const deployment = one(objects, 'Deployment', `${FULLNAME}-${component}`);
    assert.ok(selects(pdb.spec.selector, deployment.spec.template.metadata.labels), `the ${component} PDB covers its pods`);
  }
  const hook = one(objects, 'Pod', `${FULLNAME}-test-ready`);
  assert.is(hook.metadata.annotations?.['helm.sh/hook'], 'test');
  assert.match(hook.spec.containers[0].command.at(-1), `http://${FULLNAME}-gateway.${NAMESPACE}.svc:80/health/ready`);
});

test('an existing claim and Secret: neither is rendered, every pod and the Jobs use the given names', () => {
  const objects = rendered.existing;
  assert.equal(ofKind(objects, 'PersistentVolumeClaim'), []);
  assert.equal(ofKind(objects, 'Secret'), []);
  for (const deployment of ofKind(objects, 'Deployment')) {
    const pod = deployment.spec.template.spec;
    assert.equal(pod.volumes.find((v: any) => v.name === 'media').persistentVolumeClaim, { claimName: 'media-nfs' }, deployment.metadata.name);
    assert.equal(
      pod.containers[0].envFrom.map((f: any) => f.secretRef?.name).filter(Boolean),
      ['vcs-credentials'],
      deployment.metadata.name,
    );
  }
  assert.is(environmentOf(controllerOf(objects), objects, [EXISTING_SECRET]).TRANSCODER_PVC, 'media-nfs');
});

test('ingress: /api, /health, the admin path and /storage/hls of every host go to the gateway Service, with TLS, class and annotations', () => {
  const objects = rendered.exposed;
  const ingress = one(objects, 'Ingress', FULLNAME);
  const service = one(objects, 'Service', `${FULLNAME}-gateway`);
  assert.is(ingress.spec.ingressClassName, 'nginx');
  assert.equal(ingress.metadata.annotations, INGRESS.annotations);
  assert.equal(ingress.spec.tls, INGRESS.tls);
  assert.equal(
    ingress.spec.rules.map((r: any) => r.host),
    INGRESS.hosts.map((h) => h.host),
  );
  for (const rule of ingress.spec.rules) {
    assert.equal(
      rule.http.paths.map((p: any) => [p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]),
      ['/api', '/health', '/admin', '/storage/hls'].map((p) => [p, 'Prefix', service.metadata.name, service.spec.ports[0].port]),
      rule.host,
    );
  }
  assert.equal(
    service.spec.ports.map((p: any) => p.targetPort),
    ['http'],
    'the public Service exposes the public port only',
  );
});

test('autoscaling: an HPA scales the gateway Deployment on CPU, which then leaves replicas to it', () => {
  const objects = rendered.exposed;
  const hpa = one(objects, 'HorizontalPodAutoscaler', `${FULLNAME}-gateway`);
  assert.equal(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: gatewayOf(objects).metadata.name });
  assert.equal([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 12]);
  assert.equal(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } } }]);
  assert.not.ok('replicas' in gatewayOf(objects).spec, 'a fixed replica count would fight the HPA on every upgrade');
  assert.is(controllerOf(objects).spec.replicas, 2);
  assert.ok(gatewayOf(objects).spec.template.spec.containers[0].resources.requests.cpu, 'CPU utilization needs a CPU request');
  for (const name of ['defaults', 'existing', 'monitored'] as const) assert.equal(ofKind(rendered[name], 'HorizontalPodAutoscaler'), [], name);
});

test('storage class: named as given, "-" renders storageClassName "" (no dynamic provisioning)', () => {
  assert.is(one(rendered.exposed, 'PersistentVolumeClaim', `${FULLNAME}-media`).spec.storageClassName, 'nfs-client');
  assert.is(one(rendered.monitored, 'PersistentVolumeClaim', `${FULLNAME}-media`).spec.storageClassName, '');
});

test('network policies: the gateway from the ingress namespace and the helm test, the controller from its transcoder pods, the transcoders from nobody', () => {
  const objects = rendered.exposed;
  const gatewayPod = gatewayOf(objects).spec.template;
  const controllerPod = controllerOf(objects).spec.template;
  const portsOf = (template: any) => template.spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.name));
  const gateway = one(objects, 'NetworkPolicy', `${FULLNAME}-gateway`);
  assert.ok(selects(gateway.spec.podSelector, gatewayPod.metadata.labels));
  const [fromIngress, fromTest, ...more] = gateway.spec.ingress[0].from;
  assert.equal(fromIngress, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
  assert.ok(selects(fromTest.podSelector, one(objects, 'Pod', `${FULLNAME}-test-ready`).metadata.labels ?? {}), 'the helm test pod may ask');
  assert.equal(more, []);
  assert.equal(gateway.spec.ingress[1].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  for (const rule of gateway.spec.ingress) for (const p of rule.ports) assert.ok(portsOf(gatewayPod).includes(p.port), `gateway port ${p.port}`);

  // The transcoder pods are the ones the controller builds (src/controller/job-manifest.ts).
  const jobPod = controllerJob(objects).spec.template;
  const controller = one(objects, 'NetworkPolicy', `${FULLNAME}-controller`);
  assert.ok(selects(controller.spec.podSelector, controllerPod.metadata.labels));
  assert.ok(selects(controller.spec.ingress[0].from[0].podSelector, jobPod.metadata.labels), 'transcoder pods may report progress');
  assert.equal(controller.spec.ingress[0].from[1], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } });
  assert.equal(controller.spec.ingress[0].ports, [{ port: 'http-internal', protocol: 'TCP' }]);
  assert.ok(portsOf(controllerPod).includes('http-internal'));
  const transcoder = one(objects, 'NetworkPolicy', `${FULLNAME}-transcoder`);
  assert.ok(selects(transcoder.spec.podSelector, jobPod.metadata.labels));
  assert.not.ok(selects(transcoder.spec.podSelector, controllerPod.metadata.labels) || selects(transcoder.spec.podSelector, gatewayPod.metadata.labels));
  assert.equal([transcoder.spec.policyTypes, transcoder.spec.ingress], [['Ingress'], []]);
  for (const name of ['defaults', 'existing', 'monitored'] as const) assert.equal(ofKind(rendered[name], 'NetworkPolicy'), [], name);
});

test('ServiceMonitor: valid for the Prometheus Operator, scrapes /metrics on both metrics Services, whose ports reach the pods', () => {
  const objects = rendered.monitored;
  assert.ok(hasSchema('monitoring.coreos.com/v1', 'ServiceMonitor'));
  const monitor = one(objects, 'ServiceMonitor', FULLNAME);
  assert.is(monitor.metadata.labels?.release, 'prometheus', 'kube-prometheus-stack selects by its release label');
  assert.equal(monitor.spec.namespaceSelector, { matchNames: [NAMESPACE] });
  const selected = ofKind(objects, 'Service').filter((s) => selects(monitor.spec.selector, s.metadata.labels ?? {}));
  for (const endpoint of monitor.spec.endpoints) {
    assert.is(endpoint.path, '/metrics');
    const carrying = selected.filter((s) => s.spec.ports.some((p: any) => p.name === endpoint.port));
    assert.equal(
      carrying.map((s) => s.metadata.name).sort(),
      [`${FULLNAME}-controller`, `${FULLNAME}-gateway-metrics`],
      `port ${endpoint.port}`,
    );
    for (const service of carrying) {
      const port = service.spec.ports.find((p: any) => p.name === endpoint.port);
      const pods = ofKind(objects, 'Deployment').filter((d) => selects({ matchLabels: service.spec.selector }, d.spec.template.metadata.labels));
      assert.is(pods.length, 1, service.metadata.name);
      assert.ok(
        pods[0]!.spec.template.spec.containers.some((c: any) => c.ports.some((p: any) => p.name === port.targetPort && p.containerPort === 3001)),
        `${service.metadata.name} → ${port.targetPort}`,
      );
    }
  }
  assert.not.ok(
    one(objects, 'Service', `${FULLNAME}-gateway`).spec.ports.some((p: any) => p.targetPort === 'http-internal'),
    'metrics never go through the public Service',
  );
  for (const name of ['defaults', 'existing', 'exposed'] as const) assert.equal(ofKind(rendered[name], 'ServiceMonitor'), [], name);
});

test('Services, PDBs and the HPA point at pods and ports that exist', () => {
  for (const name of SET_NAMES) {
    const deployments = ofKind(rendered[name], 'Deployment');
    for (const service of ofKind(rendered[name], 'Service')) {
      const targets = deployments.filter((d) => selects({ matchLabels: service.spec.selector }, d.spec.template.metadata.labels));
      assert.is(targets.length, 1, `${name}: Service/${service.metadata.name} selects one Deployment's pods`);
      const ports = targets[0]!.spec.template.spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.name));
      for (const p of service.spec.ports) assert.ok(ports.includes(p.targetPort), `${name}: Service/${service.metadata.name} → ${p.targetPort}`);
    }
    for (const pdb of ofKind(rendered[name], 'PodDisruptionBudget')) {
      assert.is(deployments.filter((d) => selects(pdb.spec.selector, d.spec.template.metadata.labels)).length, 1, `${name}: PDB/${pdb.metadata.name}`);
    }
    for (const hpa of ofKind(rendered[name], 'HorizontalPodAutoscaler')) one(deployments, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
  }
});

// ------------------------------------------------------------------------------------------------
// Refused values

/** helm's stderr for a render that must fail. */
async function renderFailure(values: object, release = RELEASE): Promise<string> {
  try {
    await helmTemplateText({ release, namespace: NAMESPACE, values });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`helm template succeeded with ${JSON.stringify(values)} (release ${release})`);
}

test('the values schema refuses misspelt and mistyped values, naming the path', async () => {
  const rows: [object, string][] = [
    [{ gateway: { replicas: 3 } }, "at '/gateway': additional properties 'replicas' not allowed"],
    [{ config: { MAX_CONCURENT_JOBS: 8 } }, "at '/config': additional properties 'MAX_CONCURENT_JOBS' not allowed"],
    [{ transcoder: { backoffLimit: 'two' } }, "at '/transcoder/backoffLimit': got string, want integer"],
    [{ image: { pullPolicy: 'always' } }, "at '/image/pullPolicy': value must be one of"],
    [{ persistence: { accessModes: ['ReadWriteAll'] } }, "at '/persistence/accessModes/0': value must be one of"],
  ];
  const failures = await Promise.all(rows.map(([values]) => renderFailure(values)));
  rows.forEach(([values, message], i) => assert.match(failures[i]!, message, JSON.stringify(values)));
});

test('a release name longer than 29 characters fails with the chart’s message (it prefixes the Job names); 29 renders', async () => {
  const long = 'a'.repeat(30);
  const [failure, longest] = await Promise.all([renderFailure({}, long), helmTemplate({ release: 'a'.repeat(29), namespace: NAMESPACE })]);
  assert.match(failure, `the release name "${long}" is longer than 29 characters: it prefixes every transcoder Job's name`);
  assert.equal(validateObjects(longest), []);
  for (const o of longest) assert.ok(o.metadata.name.length <= 63, `${o.kind}/${o.metadata.name}`);
  const controller = longest.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'controller')!;
  const s = loadConfig({ ...environmentOf(controller, longest), APPWRITE_ENDPOINT: SECRETS.appwrite.endpoint, APPWRITE_PROJECT_ID: 'p', APPWRITE_API_KEY: 'k' });
  // KUBE_INSTANCE parses (at most 29 characters), and so do the Lease and claim names made from the truncated full name.
  assert.equal([s.KUBE_INSTANCE, s.LEADER_ELECTION_LEASE_NAME.length <= 63], ['a'.repeat(29), true]);
});

// ------------------------------------------------------------------------------------------------
// Security

/** What the restricted Pod Security Standard (and this chart's own rules) ask of a pod. */
function podProblems({ owner, spec }: PodOf, mayMountToken: boolean): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${owner}: shares a host namespace`);
  for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`${owner}: hostPath volume ${v.name}`);
  if (mayMountToken ? spec.automountServiceAccountToken !== true : spec.automountServiceAccountToken !== false) {
    problems.push(`${owner}: automountServiceAccountToken is ${spec.automountServiceAccountToken}`);
  }
  const emptyDirs = new Set((spec.volumes ?? []).filter((v: any) => v.emptyDir).map((v: any) => v.name));
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    const where = `${owner} ${c.name}`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: does not drop ALL capabilities`);
    if (sc.capabilities?.add?.length) problems.push(`${where}: adds capabilities ${sc.capabilities.add}`);
    if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccomp profile is not RuntimeDefault`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    if (!(c.volumeMounts ?? []).some((m: any) => m.mountPath === '/tmp' && emptyDirs.has(m.name))) problems.push(`${where}: no emptyDir at /tmp`);
  }
  return problems;
}

test('every pod is restricted: non-root, no escalation, no capabilities, RuntimeDefault, read-only root with /tmp, no host access, a token for the controller only', () => {
  for (const name of SET_NAMES) {
    const pods = podsOf(rendered[name]);
    assert.equal(
      pods.map((p) => p.owner).sort(),
      [`Deployment/${FULLNAME}-controller`, `Deployment/${FULLNAME}-gateway`, `Pod/${FULLNAME}-test-ready`],
      name,
    );
    for (const pod of pods) assert.equal(podProblems(pod, pod.owner === `Deployment/${FULLNAME}-controller`), [], name);
  }
  // The pods of the Jobs the controller starts, built from its environment.
  const job = controllerJob(rendered.exposed);
  assert.equal(podProblems({ owner: `Job/${job.metadata.name}`, spec: job.spec.template.spec, labels: {} }, false), []);
});

test('secrets stay in the Secret, never in a ConfigMap or an env literal; the API key only as its SHA-256', async () => {
  const apiKeyHash = sha256(SECRETS.apiKey);
  const isSecret = (name: string) => Object.hasOwn(SETTINGS, name) && settingOf(name as SettingName).secret === true;
  for (const name of ['existing', 'exposed', 'monitored'] as const) {
    const text = await helmTemplateText({ release: RELEASE, namespace: NAMESPACE, values: SETS[name] });
    assert.not.ok(text.includes(SECRETS.apiKey), `${name}: the plain API key is written nowhere`);
    for (const o of rendered[name]) {
      if (o.kind === 'Secret') continue;
      const json = JSON.stringify(o);
      for (const secret of [...SECRET_STRINGS, apiKeyHash]) assert.not.ok(json.includes(secret), `${name}: ${o.kind}/${o.metadata.name} holds ${secret}`);
    }
    for (const deployment of ofKind(rendered[name], 'Deployment')) {
      for (const e of deployment.spec.template.spec.containers[0].env) assert.not.ok(isSecret(e.name), `${name}: ${e.name} set as a literal`);
    }
    for (const cm of ofKind(rendered[name], 'ConfigMap')) {
      for (const key of Object.keys(cm.data ?? {})) assert.not.ok(isSecret(key), `${name}: ${key} in ConfigMap/${cm.metadata.name}`);
    }
  }
  assert.not.ok(JSON.stringify(rendered.existing).includes(SECRETS.appwrite.apiKey) || JSON.stringify(rendered.existing).includes(SECRETS.progressSecret), 'with existingSecret, the given values are dropped');
  const exposed = one(rendered.exposed, 'Secret', FULLNAME);
  assert.equal(exposed.stringData, {
    APPWRITE_ENDPOINT: SECRETS.appwrite.endpoint,
    APPWRITE_PROJECT_ID: SECRETS.appwrite.projectId,
    APPWRITE_API_KEY: SECRETS.appwrite.apiKey,
    API_KEY_HASHES: apiKeyHash,
    PROGRESS_SECRET: SECRETS.progressSecret,
  });
  assert.is(one(rendered.monitored, 'Secret', FULLNAME).stringData.API_KEY_HASHES, `${ROTATED_HASH},${apiKeyHash}`);
  assert.equal(Object.keys(one(rendered.defaults, 'Secret', FULLNAME).stringData), ['APPWRITE_ENDPOINT', 'APPWRITE_PROJECT_ID', 'APPWRITE_API_KEY']);
});

// ------------------------------------------------------------------------------------------------
// The chart and the code

const VIDEO = { wp_post_id: 4711, original_video_url: 'https://uploads.example.com/4711.mp4' } as VideoJob;

/** The Job the controller of a rendered release starts for a video, built by the code from the controller's environment. */
function controllerJob(objects: K8sObject[]): K8sObject {
  const s = loadConfig(environmentOf(controllerOf(objects), objects));
  const spec = podJobSpec({ hlsPath: s.HLS_PATH, tempPath: s.TEMP_PATH }, ladderFromSettings(s), { url: `${s.CONTROLLER_URL}/internal/progress`, token: (n) => `token-of-${n}` });
  return buildJobManifest(spec(VIDEO, `${s.KUBE_INSTANCE}-${VIDEO.wp_post_id}-1`), transcoderSettingsEnvironment(s, 'pod'), s) as K8sObject;
}

test('every variable a pod gets is a setting; values.yaml and the schema name only settings, none secret', async () => {
  const isSetting = (name: string) => Object.hasOwn(SETTINGS, name);
  for (const name of SET_NAMES) {
    for (const deployment of ofKind(rendered[name], 'Deployment')) {
      const where = `${name}: ${deployment.metadata.name}`;
      const container = deployment.spec.template.spec.containers[0];
      const process = container.args[0] as 'controller' | 'gateway';
      const env = environmentOf(deployment, rendered[name], extraFor(name));
      for (const key of Object.keys(env)) assert.ok(isSetting(key), `${where}: ${key} is not a setting`);
      const literals = container.env.map((e: { name: string }) => e.name);
      for (const key of literals) assert.ok(settingOf(key).usedBy.includes(process), `${where}: ${key} is set, but vcs ${process} does not read it`);
      for (const cm of ofKind(rendered[name], 'ConfigMap')) {
        for (const key of Object.keys(cm.data ?? {})) {
          assert.not.ok(literals.includes(key), `${where}: ${key} both in the ConfigMap and as a literal`);
          const setting = settingOf(key as SettingName);
          assert.ok(setting.usedBy.includes('controller') || setting.usedBy.includes('gateway') || setting.transcoder, `${name}: ${key} reaches no process that reads it`);
        }
      }
    }
  }
  const values = parse(await readFile(path.join(CHART, 'values.yaml'), 'utf8'));
  const schema = JSON.parse(await readFile(path.join(CHART, 'values.schema.json'), 'utf8'));
  for (const key of [...Object.keys(values.config), ...Object.keys(schema.properties.config.properties)]) {
    assert.ok(isSetting(key), `config.${key} is not a setting`);
    assert.not.ok(settingOf(key as SettingName).secret, `config.${key} is a secret: it belongs in the Secret`);
  }
  assert.equal(Object.keys(values.config).sort(), Object.keys(schema.properties.config.properties).sort(), 'values.yaml and the schema list the same settings');
});

test('the controller’s and the gateway’s environments load: no ConfigError, no unused setting, and each names the objects it needs', () => {
  for (const name of ['existing', 'exposed', 'monitored'] as const) {
    const objects = rendered[name];
    const controllerEnv = environmentOf(controllerOf(objects), objects, extraFor(name));
    const gatewayEnv = environmentOf(gatewayOf(objects), objects, extraFor(name));
    const c = loadConfig(controllerEnv);
    const g = loadConfig(gatewayEnv);
    assert.equal(unusedSettingsGiven(controllerEnv), [], name);
    assert.equal(unusedSettingsGiven(gatewayEnv), [], name);
    assert.equal([c.RUNNER, c.STORE, g.STORE], ['kubernetes', 'appwrite', 'appwrite'], name);
    assert.equal([c.KUBE_NAMESPACE, c.KUBE_INSTANCE, c.LEADER_ELECTION_IDENTITY], [NAMESPACE, RELEASE, podNameOf(controllerOf(objects))], name);
    const lease = one(objects, 'Role', `${FULLNAME}-controller`).rules.find((r: any) => r.resourceNames);
    assert.equal(lease.resourceNames, [c.LEADER_ELECTION_LEASE_NAME], `${name}: the Role lets the controller update its Lease`);
    const controllerService = one(objects, 'Service', `${FULLNAME}-controller`);
    assert.is(c.CONTROLLER_URL, `http://${controllerService.metadata.name}.${NAMESPACE}.svc:${controllerService.spec.ports[0].port}`, name);
    one(objects, 'ServiceAccount', c.TRANSCODER_SERVICE_ACCOUNT!);
    if (name !== 'existing') one(objects, 'PersistentVolumeClaim', c.TRANSCODER_PVC);
    const ports = (d: K8sObject) => Object.fromEntries(d.spec.template.spec.containers[0].ports.map((p: any) => [p.name, p.containerPort]));
    assert.equal([g.PORT, g.INTERNAL_PORT, c.INTERNAL_PORT], [ports(gatewayOf(objects)).http, ports(gatewayOf(objects))['http-internal'], ports(controllerOf(objects))['http-internal']], name);
    for (const [settings, deployment] of [[c, controllerOf(objects)], [g, gatewayOf(objects)]] as const) {
      const mount = deployment.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.name === 'media');
      assert.is(mount.mountPath, settings.STORAGE_PATH, `${name}: ${deployment.metadata.name} has the volume at STORAGE_PATH`);
    }
  }
  const c = loadConfig(environmentOf(controllerOf(rendered.exposed), rendered.exposed));
  assert.equal(
    [c.MAX_SOURCE_BYTES, c.PROCESSING_TIMEOUT, c.JOB_ACTIVE_DEADLINE_SECONDS, c.JOB_TTL_SECONDS_AFTER_FINISHED, c.TRANSCODER_RUN_AS_USER, c.MAX_CONCURRENT_JOBS, c.PUBLIC_URL],
    [10_737_418_240, 10_800_000, 604_800, 2_592_000, 1_000_001, 12, 'https://video.example.com'],
    'numbers of a million and more arrive as digits',
  );
  const ladder = ladderFromSettings(c);
  assert.equal(ladder.chunking, { minSeconds: 900, chunkSeconds: 120, parallelism: 16 }, 'the chunk settings reach the controller, which puts them in the Jobs’ ladder');
  assert.is(environmentOf(controllerOf(rendered.defaults), rendered.defaults).CHUNK_PARALLELISM, '1', 'off by default');
  // The defaults hold no Appwrite connection: both stop at start, as NOTES.txt warns.
  for (const deployment of [controllerOf(rendered.defaults), gatewayOf(rendered.defaults)]) {
    assert.throws(() => loadConfig(environmentOf(deployment, rendered.defaults)), (err: unknown) => err instanceof ConfigError && /STORE=appwrite needs APPWRITE_ENDPOINT, APPWRITE_PROJECT_ID, APPWRITE_API_KEY/.test(err.message));
  }
});

test('transcoder scheduling reaches the Jobs through the controller’s settings, exactly as given, and not the controller pod', () => {
  const objects = rendered.exposed;
  const c = loadConfig(environmentOf(controllerOf(objects), objects));
  assert.equal(c.TRANSCODER_NODE_SELECTOR, TRANSCODER_SCHEDULING.nodeSelector);
  assert.equal(c.TRANSCODER_TOLERATIONS, TRANSCODER_SCHEDULING.tolerations);
  assert.equal(c.TRANSCODER_AFFINITY, TRANSCODER_SCHEDULING.affinity);
  assert.is(c.TRANSCODER_PRIORITY_CLASS_NAME, 'encodes');
  const job = controllerJob(objects);
  assert.equal(validateObjects([job]), []);
  const pod = job.spec.template.spec;
  assert.equal([pod.nodeSelector, pod.tolerations, pod.affinity, pod.priorityClassName], [
    TRANSCODER_SCHEDULING.nodeSelector,
    TRANSCODER_SCHEDULING.tolerations,
    TRANSCODER_SCHEDULING.affinity,
    'encodes',
  ]);
  assert.equal([pod.serviceAccountName, pod.volumes[0].persistentVolumeClaim.claimName], [`${FULLNAME}-transcoder`, `${FULLNAME}-media`]);
  assert.equal([job.spec.activeDeadlineSeconds, job.spec.ttlSecondsAfterFinished, pod.securityContext.runAsUser], [604_800, 2_592_000, 1_000_001]);
  const controllerPod = controllerOf(objects).spec.template.spec;
  assert.equal([controllerPod.nodeSelector, controllerPod.tolerations, controllerPod.affinity, controllerPod.priorityClassName], [undefined, undefined, undefined, undefined]);
  // Without scheduling values the variables are not set, and the Jobs go anywhere.
  const unscheduledEnv = environmentOf(controllerOf(rendered.monitored), rendered.monitored);
  assert.equal(['TRANSCODER_NODE_SELECTOR', 'TRANSCODER_TOLERATIONS', 'TRANSCODER_AFFINITY', 'TRANSCODER_PRIORITY_CLASS_NAME'].filter((k) => k in unscheduledEnv), []);
  const unscheduled = loadConfig(unscheduledEnv);
  assert.equal([unscheduled.TRANSCODER_NODE_SELECTOR, unscheduled.TRANSCODER_TOLERATIONS, unscheduled.TRANSCODER_AFFINITY, unscheduled.TRANSCODER_PRIORITY_CLASS_NAME], [{}, [], undefined, undefined]);
});

test('helm template is deterministic: two renders are identical', async () => {
  // Every optional object at once: ingress, HPA, policies, ServiceMonitor, scheduling, secrets.
  const values = { ...SETS.exposed, ...SETS.monitored, persistence: SETS.exposed.persistence };
  const [first, second] = await Promise.all([1, 2].map(() => helmTemplateText({ release: RELEASE, namespace: NAMESPACE, values })));
  assert.ok(first!.length > 0);
  assert.is(first, second);
});

// ------------------------------------------------------------------------------------------------
// k8s/

test('k8s/ is what `npm run k8s` renders from the chart now', async () => {
  const expected = await renderK8sFiles();
  assert.equal((await readdir(K8S_DIR)).sort(), Object.keys(expected).sort(), 'k8s/ holds exactly the generated files: run `npm run k8s`');
  for (const [name, text] of Object.entries(expected)) {
    const actual = await readFile(path.join(K8S_DIR, name), 'utf8');
    assert.ok(actual === text, `k8s/${name} is not what charts/video-compression renders: run \`npm run k8s\` and commit the result`);
  }
  assert.match(expected['video-compression.yaml']!, /^# Generated from charts\/video-compression by `npm run k8s`/);
});

test('kubectl kustomize k8s/ renders the chart’s objects (no hooks) in namespace video, plus the restricted Namespace', async () => {
  const { stdout } = await promisify(execFile)(KUBECTL, ['kustomize', K8S_DIR], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const objects = parseAllDocuments(stdout, { version: '1.1' }).map((d) => d.toJS() as K8sObject);
  assert.equal(validateObjects(objects), []);
  const namespace = one(objects, 'Namespace', NAMESPACE);
  assert.is(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
  const rest = objects.filter((o) => o !== namespace);
  for (const o of rest) assert.is(o.metadata.namespace, NAMESPACE, key(o));
  const withoutNamespace = rest.map((o) => ({ ...o, metadata: Object.fromEntries(Object.entries(o.metadata).filter(([k]) => k !== 'namespace')) }));
  const byKey = (list: K8sObject[]) => Object.fromEntries(list.map((o) => [key(o), o]));
  assert.equal(byKey(withoutNamespace as K8sObject[]), byKey(rendered.defaults.filter((o) => !isHook(o))));
});

test.run();
