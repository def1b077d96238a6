/**
 * Leader election on a coordination.k8s.io/v1 Lease, client-go's algorithm (docs/protocols/kubernetes-api.md
 * §7; docs/adr/0008), so that among the controller replicas exactly one starts Jobs and writes results.
 *
 * Every retry period: read the Lease (create it when missing, holding it). The holder renews it
 * (renewTime, guarded by resourceVersion: a 409 is a lost race). A standby remembers when *it*
 * last saw the Lease change, on its own monotonic clock (remote clocks may be skewed), and takes
 * over once it has not changed for the lease duration, or at once when the holder released it.
 *
 * A leader that has not renewed within the renew deadline — shorter than the lease duration, so it
 * stops before anyone may take over — or that finds another holder stops leading at once
 * (`onStoppedLeading`; `vcs controller` exits and its Deployment restarts it as a standby). A
 * watchdog timer checks the deadline even while a request hangs. `release()` on a graceful
 * shutdown hands the Lease over without the wait.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiStatus, describeError } from './kube-client.ts';

export interface LeaderElectionOptions {
  leases: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Monotonic milliseconds. Defaults to performance.now. */
  clock?: () => number;
}

export interface LeaderElector {
  readonly identity: string;
  start(): void;
  isLeader(): boolean;
  /** Stops campaigning; a leader hands the Lease over (holder "", duration 1 s). */
  release(): Promise<void>;
}

/** Host name (in a pod: the pod name) and a random suffix, so a restarted process is a new candidate. */
export function defaultIdentity(): string {
  return `${os.hostname()}_${randomBytes(3).toString('hex')}`;
}

type Attempt = 'leading' | 'held-by-other' | 'failed';

export function createLeaderElector(opts: LeaderElectionOptions): LeaderElector {
  const clock = opts.clock ?? (() => performance.now());
  const { namespace, name, identity, log } = opts;
  const durationSeconds = Math.ceil(opts.leaseDurationMs / 1000);
  let leading = false;
  let stopped = true;
  let lastRenew = 0;
  /** The Lease as last read, and when this process saw it change. */
  let observed: { version: string; at: number; lease: V1Lease } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  /** The attempt under way, so that a release is not overtaken by a renewal. */
  let attempting: Promise<void> = Promise.resolve();

  const now = () => new V1MicroTime();

  function record(lease: V1Lease): void {
    const version = lease.metadata?.resourceVersion ?? '';
    if (observed?.version !== version) observed = { version, at: clock(), lease };
    else observed.lease = lease;
  }

  async function tryAcquireOrRenew(): Promise<Attempt> {
    let lease: V1Lease;
    try {
      lease = await opts.leases.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      const fresh: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now(), renewTime: now(), leaseTransitions: 0 },
      };
      try {
        record(await opts.leases.createNamespacedLease({ namespace, body: fresh }));
        return 'leading';
      } catch (createErr) {
        if (apiStatus(createErr) === 409) return 'held-by-other';
        throw createErr;
      }
    }
    record(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const mine = holder === identity;
    const expiredMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (!mine && holder !== '' && clock() - observed!.at < expiredMs) return 'held-by-other';
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine ? spec.acquireTime : now(),
        renewTime: now(),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      record(await opts.leases.replaceNamespacedLease({ name, namespace, body }));
    } catch (err) {
      // Someone else wrote the Lease since it was read: the next read tells who holds it.
      if (apiStatus(err) === 409) return mine ? 'failed' : 'held-by-other';
      throw err;
    }
    if (!mine) log.info({ lease: name, identity, previous: holder || null }, 'lease acquired');
    return 'leading';
  }

  function stopLeading(why: string): void {
    if (!leading) return;
    leading = false;
    stopped = true;
    clearTimeout(timer);
    clearInterval(watchdog);
    log.error({ lease: name, identity, why }, 'leadership lost: stopping at once');
    opts.onStoppedLeading();
  }

  async function tick(): Promise<void> {
    let attempt: Attempt;
    try {
      attempt = await tryAcquireOrRenew();
    } catch (err) {
      attempt = 'failed';
      log.warn({ lease: name, err: describeError(err), leading }, leading ? 'lease renewal failed' : 'lease check failed');
    }
    if (stopped) return;
    if (attempt === 'leading') {
      lastRenew = clock();
      if (!leading) {
        leading = true;
        log.info({ lease: name, identity }, 'became leader');
        opts.onStartedLeading();
      }
    } else if (attempt === 'held-by-other' && leading) {
      stopLeading(`the lease is held by ${observed?.lease.spec?.holderIdentity ?? 'another controller'}`);
      return;
    }
    if (!stopped) timer = setTimeout(() => (attempting = tick()), opts.retryPeriodMs);
  }

  return {
    identity,
    start() {
      if (!stopped) return;
      stopped = false;
      log.info({ lease: name, namespace, identity }, 'campaigning for leadership');
      watchdog = setInterval(() => {
        if (leading && clock() - lastRenew > opts.renewDeadlineMs) stopLeading(`not renewed for ${opts.renewDeadlineMs} ms`);
      }, Math.max(50, Math.floor(opts.retryPeriodMs / 4)));
      attempting = tick();
    },
    isLeader: () => leading,
    async release() {
      stopped = true;
      leading = false;
      clearTimeout(timer);
      clearInterval(watchdog);
      await attempting;
      // Also a Lease acquired by the attempt that was under way.
      if (observed?.lease.spec?.holderIdentity !== identity) return;
      const spec = observed.lease.spec ?? {};
      const body: V1Lease = { ...observed.lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now() } };
      try {
        await opts.leases.replaceNamespacedLease({ name, namespace, body });
        log.info({ lease: name, identity }, 'lease released');
      } catch (err) {
        log.warn({ lease: name, err: describeError(err) }, 'lease not released; a standby takes over when it expires');
      }
    },
  };
}
