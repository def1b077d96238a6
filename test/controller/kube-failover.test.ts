/**
 * `vcs controller` processes that die and compete, on the fake API server and simulated cluster:
 * a controller killed while its Job runs is replaced by one that adopts the Job (no second Job);
 * of two controllers exactly one leads and creates Jobs, and killing it hands the Lease and the
 * running Jobs over to the other.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from '../support/media.ts';
import { isLeader, NAMESPACE, poke, startKubeHarness, type ControllerProcess, type KubeHarness } from '../support/kube-harness.ts';
import { waitFor } from '../support/service.ts';

const test = suite('kube failover');
let tmp = '';
let h: KubeHarness;

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-kube-failover-'));
  const long = await readFile(await makeClip(path.join(tmp, 'long.mp4'), { width: 320, height: 240, seconds: 2, audio: 2 }));
  h = await startKubeHarness(tmp, { '/long.mp4': long });
});

test.after(async () => {
  await h?.close();
  await rm(tmp, { recursive: true, force: true });
});

const completed = (id: number) => waitFor(async () => ((await h.store.get(id))?.compression_status === 'completed' ? h.store.get(id) : null), 40_000, `video ${id} completed`);
const creates = () => h.api.requests.filter((r) => r.method === 'POST' && r.path === `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`);
const lease = () => h.api.store.get('leases', NAMESPACE, h.leaseName)!;
/** The controller that leads at the end of the first test. */
let survivor: ControllerProcess | undefined;

test('a controller killed while its Job runs: the next one adopts the Job, none is duplicated', async () => {
  const first = await h.startController(await h.controllerEnv('first'));
  await waitFor(() => isLeader(first), 10_000, 'first leads');
  h.hold('/long.mp4'); // the run goes on only once the takeover is done
  await h.store.create({ wp_post_id: 201, title: 'Adopted', original_video_url: `${h.source.url}/long.mp4` });
  await poke(first);
  await waitFor(() => h.cluster.running().some((p) => p.startsWith('vcs-201-1-')), 20_000, 'vcs-201-1 running');
  await first.kill();
  const second = await h.startController(await h.controllerEnv('second'));
  // The crashed leader never released the Lease: the new one waits for it to expire.
  await waitFor(() => isLeader(second), 15_000, 'second leads');
  assert.ok(h.cluster.running().some((p) => p.startsWith('vcs-201-1-')), 'the Job was still running at the takeover');
  h.release('/long.mp4');
  const done = await completed(201);
  assert.is(done!.job_name, 'vcs-201-1');
  assert.equal(h.jobNames(), ['vcs-201-1']);
  assert.is(creates().length, 1);
  assert.is(h.cluster.pods.filter((p) => p.job === 'vcs-201-1').length, 1);
  assert.not.match(second.output(), /job created/);
  survivor = second;
});

test('two controllers: exactly one leads and creates Jobs; killing it hands over Lease and Jobs', async () => {
  const before = creates().length;
  // The leader of the previous test, and a second controller beside it.
  const a = survivor!;
  const b = await h.startController(await h.controllerEnv('beta'));
  const [leader, standby] = await waitFor(async () => {
    const [la, lb] = await Promise.all([isLeader(a), isLeader(b)]);
    if (la && lb) throw new Error('two leaders at once');
    return la ? [a, b] : lb ? [b, a] : null;
  }, 10_000, 'a leader');
  assert.is(lease().spec.holderIdentity, leader.name);
  for (let i = 0; i < 5; i++) {
    assert.equal([await isLeader(leader), await isLeader(standby)], [true, false]);
    await new Promise((r) => setTimeout(r, 100));
  }
  const metric = async (c: ControllerProcess) => /^vcs_controller_leader (\d)/m.exec(await (await fetch(`${c.url}/metrics`)).text())?.[1];
  assert.equal([await metric(leader), await metric(standby)], ['1', '0']);

  h.hold('/long.mp4');
  await h.store.create({ wp_post_id: 211, title: 'Before the handover', original_video_url: `${h.source.url}/long.mp4` });
  await poke(leader);
  await poke(standby);
  await waitFor(() => h.cluster.running().some((p) => p.startsWith('vcs-211-1-')), 20_000, 'vcs-211-1 running');
  const transitions = lease().spec.leaseTransitions;
  await leader.kill();
  await waitFor(() => isLeader(standby), 15_000, 'the standby leads');
  assert.ok(h.cluster.running().some((p) => p.startsWith('vcs-211-1-')), 'the Job was still running at the handover');
  h.release('/long.mp4');
  assert.is(lease().spec.holderIdentity, standby.name);
  assert.is(lease().spec.leaseTransitions, transitions + 1);

  await h.store.create({ wp_post_id: 212, title: 'After the handover', original_video_url: `${h.source.url}/long.mp4` });
  await poke(standby);
  await Promise.all([completed(211), completed(212)]);
  const made = creates().slice(before);
  assert.equal(made.map((r) => [r.body?.metadata?.name, r.token, r.status]), [
    ['vcs-211-1', `token-${leader.name}`, 201],
    ['vcs-212-1', `token-${standby.name}`, 201],
  ]);
  assert.equal(h.jobNames(), ['vcs-201-1', 'vcs-211-1', 'vcs-212-1']);
  assert.is((await h.store.get(211))!.job_name, 'vcs-211-1');
  await standby.stop();
});

test.run();
