/**
 * The chart and the code agree, end to end: `vcs controller` started with exactly the environment
 * the chart renders for its Deployment (ConfigMap, Secret, env literals and fieldRefs; only the
 * volume path, the ports and the API server's address are mapped to this machine) runs videos
 * published to Appwrite (the protocol-level server) to completed through Jobs on the
 * protocol-level Kubernetes API server — which enforces the chart's Role: any call outside it is
 * a 403 and fails the test, and a rule no call used is reported.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JobStore } from '../../src/jobs/store.ts';
import { appwriteStore, heldRow, publish, setUpSchema } from '../support/appwrite-fixtures.ts';
import { startAppwriteServer, type FakeAppwrite } from '../support/appwrite-server.ts';
import { containerEnv, controllerRole, find, FULLNAME, renderChart } from '../support/chart.ts';
import type { K8sObject } from '../support/helm.ts';
import { isLeader, NAMESPACE, poke, startKubeHarness, type ControllerProcess, type KubeHarness } from '../support/kube-harness.ts';
import { makeClip } from '../support/media.ts';
import { freePort, waitFor } from '../support/service.ts';

const test = suite('chart: controller from the rendered environment, under the chart’s Role');
const MOUNT = '/var/www/video-compression/storage';
let tmp = '';
let appwrite: FakeAppwrite;
let objects: K8sObject[];
let h: KubeHarness;
let store: JobStore;
const controllers: ControllerProcess[] = [];

/** The controller Deployment's environment for pod `pod`, mapped to this machine. */
async function controllerEnvOf(pod: string): Promise<Record<string, string>> {
  const env = containerEnv(find(objects, 'Deployment', `${FULLNAME}-controller`), objects, { namespace: NAMESPACE, name: pod });
  const port = await freePort();
  const kubeconfig = path.join(tmp, `kubeconfig-${pod}.json`);
  // In a pod the service account's token stands in for this file.
  await writeFile(kubeconfig, h.api.kubeconfig(`token-${pod}`, NAMESPACE));
  assert.is(env.STORAGE_PATH, MOUNT);
  assert.is(env.INTERNAL_PORT, '3001');
  assert.is(env.CONTROLLER_URL, `http://${FULLNAME}-controller.${NAMESPACE}.svc:3001`);
  return { ...env, STORAGE_PATH: h.storage, INTERNAL_PORT: String(port), CONTROLLER_URL: `http://127.0.0.1:${port}`, KUBECONFIG: kubeconfig, PATH: process.env.PATH ?? '/usr/bin:/bin' };
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-chart-'));
  appwrite = await startAppwriteServer({ buildMs: 0 });
  await setUpSchema(appwrite, 'tablesdb');
  objects = await renderChart(NAMESPACE, {
    appwrite: { endpoint: appwrite.endpoint, projectId: appwrite.projectId, apiKey: appwrite.apiKey },
    progressSecret: 'chart-test-progress-secret',
    publicUrl: 'https://cdn.example.com',
    // Values a user may set; here: fast encodes, sources on this machine, quick handovers.
    config: {
      VIDEO_PRESET: 'ultrafast',
      WORKER_INTERVAL: 1000,
      ALLOW_PRIVATE_SOURCES: true,
      LEADER_ELECTION_LEASE_DURATION: 4000,
      LEADER_ELECTION_RENEW_DEADLINE: 3000,
      LEADER_ELECTION_RETRY_PERIOD: 300,
    },
  });
  const clip = await readFile(await makeClip(path.join(tmp, 'clip.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 }));
  const long = await readFile(await makeClip(path.join(tmp, 'long.mp4'), { width: 320, height: 240, seconds: 8, audio: 2 }));
  const role = controllerRole(objects);
  store = appwriteStore(appwrite, 'tablesdb');
  await store.init();
  h = await startKubeHarness(tmp, { '/clip.mp4': clip, '/long.mp4': long }, { role, pvc: `${FULLNAME}-media`, openStore: async () => store });
});

test.after(async () => {
  await h?.close();
  await appwrite?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('a video published to Appwrite runs to completed: Job named and labelled for the release, the rendered transcoder settings', async () => {
  const alpha = await h.startController(await controllerEnvOf(`${FULLNAME}-controller-7d9f-a`));
  controllers.push(alpha);
  await waitFor(() => isLeader(alpha), 10_000, 'alpha leads');
  await publish(appwrite, { wp_post_id: 201, title: 'Clip', original_video_url: `${h.source.url}/clip.mp4` });
  await poke(alpha);
  const done = await waitFor(() => (heldRow(appwrite, 201)?.compression_status === 'completed' ? heldRow(appwrite, 201) : null), 60_000, 'video 201 completed');
  assert.is(done!.master_playlist_url, 'https://cdn.example.com/storage/hls/201/master.m3u8');
  assert.equal(h.jobNames(), ['vcs-201-1']);
  const job = h.api.store.get('jobs', NAMESPACE, 'vcs-201-1')!;
  assert.is(job.metadata.labels?.['app.kubernetes.io/instance'], 'vcs');
  const pod = job.spec.template.spec;
  const c = pod.containers[0];
  // The chart's image and values reach the Job the controller builds.
  assert.equal([c.image, c.command, c.args], ['vcs:0.1.0', undefined, ['transcode']]);
  assert.equal(c.resources, { requests: { cpu: '2', memory: '2Gi' }, limits: { memory: '4Gi' } });
  assert.equal([pod.serviceAccountName, pod.automountServiceAccountToken, pod.volumes[0].persistentVolumeClaim.claimName], [`${FULLNAME}-transcoder`, false, `${FULLNAME}-media`]);
  assert.is(job.spec.backoffLimit, 2);
  // Progress reached the controller with the shared secret's tokens.
  assert.ok(alpha.output().includes('"step":"compressing"') || (done!.compression_progress ?? 0) === 100);
});

test('a deleted video’s running Job is deleted; a graceful stop hands the Lease to a standby, which adopts the running Job', async () => {
  const alpha = controllers[0]!;
  const beta = await h.startController(await controllerEnvOf(`${FULLNAME}-controller-7d9f-b`));
  controllers.push(beta);
  // A run to delete, and one that outlives its leader.
  h.hold('/long.mp4');
  await publish(appwrite, { wp_post_id: 202, title: 'Deleted', original_video_url: `${h.source.url}/long.mp4` });
  await publish(appwrite, { wp_post_id: 203, title: 'Handed over', original_video_url: `${h.source.url}/long.mp4` });
  await poke(alpha);
  await waitFor(() => h.cluster.running().filter((p) => /^vcs-20[23]-1-/.test(p)).length === 2, 30_000, 'pods of vcs-202-1 and vcs-203-1 running');
  await store.transition(202, 'deleted');
  await poke(alpha);
  await waitFor(() => !h.jobNames().includes('vcs-202-1'), 15_000, 'vcs-202-1 deleted');
  assert.is(await alpha.stop(), 0);
  await waitFor(() => isLeader(beta), 10_000, 'beta leads after alpha released the Lease');
  h.release('/long.mp4');
  await poke(beta);
  const done = await waitFor(() => (heldRow(appwrite, 203)?.compression_status === 'completed' ? heldRow(appwrite, 203) : null), 60_000, 'video 203 completed');
  assert.is(done!.job_name, 'vcs-203-1');
  assert.equal(h.jobNames(), ['vcs-201-1', 'vcs-203-1']);
});

test('every call the controllers made was inside the chart’s Role; rules no call used are reported', () => {
  const report = h.api.rbacReport();
  assert.equal(report.denied, [], `calls outside the Role: ${JSON.stringify(report.denied)}`);
  const unused = report.unusedRules.map((r) => `${r.apiGroup || 'core'}/${r.resource} ${r.verb}${r.resourceName ? ` ${r.resourceName}` : ''}`);
  if (unused.length) console.log(`  Role rules no call used here: ${unused.join(', ')}`);
  // A Job is read by name only when its create meets 409 AlreadyExists (adopting the same run;
  // test/controller/kube-watch.test.ts covers that path under this Role). Anything else unused
  // is a permission the controller does not need.
  assert.ok(unused.every((u) => u === 'batch/jobs get'), `unneeded grants: ${unused.join(', ')}`);
});

test.run();
