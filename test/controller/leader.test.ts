/**
 * Lease leader election (src/controller/leader.ts) with the real client against the fake API
 * server: acquire and renew, one leader among candidates, takeover only after the lease expired
 * and only after the old leader stopped, release on shutdown, and a leader that finds another
 * holder stops at once.
 */
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLeaderElector, type LeaderElector } from '../../src/controller/leader.ts';
import { createLogger } from '../../src/log.ts';
import { startKubeApi, type FakeKubeApi } from '../support/kube-api-server.ts';
import { waitFor } from '../support/service.ts';

const test = suite('leader election');
const NS = 'video';
const LEASE = 'vcs-controller-leader';
const log = createLogger({ LOG_LEVEL: 'info', ENABLE_LOGGING: false });
let api: FakeKubeApi;
const electors: LeaderElector[] = [];

test.before.each(async () => {
  api = await startKubeApi();
});
test.after.each(async () => {
  await Promise.all(electors.splice(0).map((e) => e.release()));
  await api.close();
});

interface Candidate {
  elector: LeaderElector;
  events: { what: 'started' | 'stopped'; at: number }[];
}

function candidate(identity: string, timings = { leaseDurationMs: 800, renewDeadlineMs: 500, retryPeriodMs: 100 }): Candidate {
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig(`token-${identity}`, NS));
  const events: Candidate['events'] = [];
  const elector = createLeaderElector({
    leases: kc.makeApiClient(CoordinationV1Api),
    namespace: NS,
    name: LEASE,
    identity,
    ...timings,
    log,
    onStartedLeading: () => events.push({ what: 'started', at: Date.now() }),
    onStoppedLeading: () => events.push({ what: 'stopped', at: Date.now() }),
  });
  electors.push(elector);
  return { elector, events };
}

const lease = () => api.store.get('leases', NS, LEASE);

test('a lone candidate creates the Lease, holds it and renews it', async () => {
  const a = candidate('a');
  a.elector.start();
  await waitFor(() => a.elector.isLeader(), 3000, 'a leads');
  const first = lease()!;
  assert.equal([first.spec.holderIdentity, first.spec.leaseDurationSeconds, first.spec.leaseTransitions], ['a', 1, 0]);
  assert.match(first.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // MicroTime
  await waitFor(() => lease()!.spec.renewTime !== first.spec.renewTime, 3000, 'a renewal');
  assert.is(lease()!.spec.acquireTime, first.spec.acquireTime);
  assert.equal(a.events.map((e) => e.what), ['started']);
});

test('of three candidates exactly one leads', async () => {
  const all = ['a', 'b', 'c'].map((id) => candidate(id));
  all.forEach((c) => c.elector.start());
  await waitFor(() => all.some((c) => c.elector.isLeader()), 3000, 'a leader');
  for (let i = 0; i < 10; i++) {
    assert.is(all.filter((c) => c.elector.isLeader()).length, 1);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(lease()!.spec.holderIdentity, all.find((c) => c.elector.isLeader())!.elector.identity);
});

test('a leader that cannot renew stops at its renew deadline; the standby takes over only after the lease expired', async () => {
  const a = candidate('a');
  a.elector.start();
  await waitFor(() => a.elector.isLeader(), 3000, 'a leads');
  const b = candidate('b');
  b.elector.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.not.ok(b.elector.isLeader());
  // From now on every request of `a` fails, as when its node loses the network.
  const cut = Date.now();
  api.failNext({ status: 500, count: 10_000, match: (r) => r.token === 'token-a' });
  await waitFor(() => b.elector.isLeader(), 5000, 'b leads');
  const stopped = a.events.find((e) => e.what === 'stopped')!;
  const started = b.events.find((e) => e.what === 'started')!;
  assert.ok(stopped, 'a stopped leading');
  assert.ok(stopped.at < started.at, 'no overlap: a stopped before b started');
  assert.ok(stopped.at - cut >= 300, `a kept leading until its renew deadline (${stopped.at - cut} ms)`);
  assert.ok(started.at - cut >= 700, `b waited for the lease to expire (${started.at - cut} ms)`);
  assert.is(lease()!.spec.holderIdentity, 'b');
  assert.is(lease()!.spec.leaseTransitions, 1);
  assert.not.ok(a.elector.isLeader());
});

test('release on shutdown hands the Lease over at once', async () => {
  const slow = { leaseDurationMs: 10_000, renewDeadlineMs: 8000, retryPeriodMs: 100 };
  const a = candidate('a', slow);
  a.elector.start();
  await waitFor(() => a.elector.isLeader(), 3000, 'a leads');
  const b = candidate('b', slow);
  b.elector.start();
  await new Promise((r) => setTimeout(r, 300));
  const released = Date.now();
  await a.elector.release();
  await waitFor(() => b.elector.isLeader(), 2000, 'b leads');
  assert.ok(Date.now() - released < 2000, 'well before the 10 s lease expired');
  assert.equal(a.events.map((e) => e.what), ['started']); // a graceful release is no loss
});

test('a leader that finds another holder in the Lease stops at once', async () => {
  const a = candidate('a', { leaseDurationMs: 10_000, renewDeadlineMs: 8000, retryPeriodMs: 100 });
  a.elector.start();
  await waitFor(() => a.elector.isLeader(), 3000, 'a leads');
  api.store.update('leases', NS, LEASE, (o) => (o.spec.holderIdentity = 'intruder'));
  await waitFor(() => !a.elector.isLeader(), 2000, 'a stops');
  assert.equal(a.events.map((e) => e.what), ['started', 'stopped']);
  assert.is(lease()!.spec.holderIdentity, 'intruder');
});

test.run();
