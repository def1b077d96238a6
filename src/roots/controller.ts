/**
 * `vcs controller` (docs/adr/0012, the cluster shape): the store, the Kubernetes runner, the controller
 * loop behind Lease leader election, and the internal port (INTERNAL_PORT: /healthz, /metrics,
 * the transcoder pods' progress reports and pokes), built from the shared wiring.
 *
 * Every replica campaigns; only the leader lists Jobs, starts them and writes results. Becoming
 * leader: list the Jobs (adoption needs no more: the controller matches them to the videos by
 * job_name), remove the work folders no running Job owns and the packages of deleted videos, then
 * start the loop and the hourly temp cleanup. Losing the lease: `onLeadershipLost` — the CLI exits at once and the Deployment restarts
 * the process as a standby. A graceful stop (SIGTERM) ends the loop and releases the Lease, so a
 * standby takes over without waiting; running Jobs go on and are adopted by the next leader.
 *
 * The controller mounts the volume, like the gateway: it removes what runs cannot — the work
 * folders of lost runs, and a package published by a run of a video deleted meanwhile.
 */
import { createHash } from 'node:crypto';
import { transcoderSettingsEnvironment, type Env, type Settings } from '../config.ts';
import type { Controller } from '../controller/controller.ts';
import { buildJobManifest, buildPhaseManifest, instanceSelector } from '../controller/job-manifest.ts';
import { kubeClients } from '../controller/kube-client.ts';
import { createKubeRunner } from '../controller/kube-runner.ts';
import { createLeaderElector, defaultIdentity, type LeaderElector } from '../controller/leader.ts';
import { createProgressTokens } from '../controller/progress.ts';
import type { Listening } from '../http/listen.ts';
import { PROGRESS_ROUTE } from '../http/routes.ts';
import type { ErrorReporter, Logger } from '../log.ts';
import { controllerParts, ensureFolders, instrumented, listenInternal, openStore, scheduleCleanup, startUpCleanup, warnUnusedSettings } from './wiring.ts';

export interface RunningController {
  internalServer: Listening;
  controller: Controller;
  elector: LeaderElector;
  close(): Promise<void>;
}

export interface ControllerHooks {
  /** The lease is lost: this process must stop all work at once. */
  onLeadershipLost: () => void;
  /** SENTRY_DSN: failed videos are reported. */
  reporter?: ErrorReporter;
}

export async function startController(settings: Settings, env: Env, log: Logger, hooks: ControllerHooks): Promise<RunningController> {
  if (settings.RUNNER !== 'kubernetes') {
    throw new Error('vcs controller runs each video as a Kubernetes Job: set RUNNER=kubernetes (vcs serve runs them as local processes)');
  }
  warnUnusedSettings(env, log);
  const now = Date.now;
  const kube = kubeClients(settings);
  await ensureFolders(settings);
  const rawStore = await openStore(settings, now);
  const { metrics, store } = instrumented(rawStore, { worker: () => controller.status(), leader: () => elector.isLeader() }, settings);
  // A shared secret lets every replica, and the next leader, verify the tokens of running Jobs.
  const tokens = createProgressTokens(settings.PROGRESS_SECRET ? createHash('sha256').update(settings.PROGRESS_SECRET).digest() : undefined);
  const podSettings = transcoderSettingsEnvironment(settings, 'pod');
  const runner = createKubeRunner({
    api: kube,
    labelSelector: instanceSelector(settings.KUBE_INSTANCE),
    manifest: (job) => buildJobManifest(job, podSettings, settings),
    phaseManifest: (from, phase, chunks) => buildPhaseManifest(from, phase, settings, chunks),
    resyncMs: settings.WORKER_INTERVAL,
    log: log.child({ part: 'runner' }),
  });
  const { controller, progress } = controllerParts(settings, { store, runner, log, metrics, tokens, progressUrl: settings.CONTROLLER_URL, podResults: true, now, reporter: hooks.reporter });

  let closing = false;
  /** The loop runs only on the leader, once the Jobs are listed. */
  let running = false;
  let stopCleanup = () => undefined as void;
  const elector = createLeaderElector({
    leases: kube.coordination,
    namespace: settings.LEADER_ELECTION_NAMESPACE ?? kube.namespace,
    name: settings.LEADER_ELECTION_LEASE_NAME,
    identity: settings.LEADER_ELECTION_IDENTITY ?? defaultIdentity(),
    leaseDurationMs: settings.LEADER_ELECTION_LEASE_DURATION,
    renewDeadlineMs: settings.LEADER_ELECTION_RENEW_DEADLINE,
    retryPeriodMs: settings.LEADER_ELECTION_RETRY_PERIOD,
    log: log.child({ part: 'leader' }),
    onStartedLeading: () => {
      void (async () => {
        await runner.sync();
        await startUpCleanup(runner, store, settings, log);
        if (!elector.isLeader() || closing) return;
        running = true;
        controller.start();
        stopCleanup = scheduleCleanup(settings, runner, store, log);
      })().catch((err: Error) => log.error({ err }, 'could not start leading; a standby takes over when this process stops'));
    },
    onStoppedLeading: () => {
      running = false;
      stopCleanup();
      void controller.stop();
      void runner.close();
      hooks.onLeadershipLost();
    },
  });

  const internalServer = await listenInternal(settings, {
    log: log.child({ part: 'internal' }),
    metrics: { http: metrics.httpMiddleware(), handler: metrics.handler },
    health: async () => {
      const leader = elector.isLeader();
      return { healthy: true, leader, identity: elector.identity, namespace: kube.namespace, kubeSynced: leader ? runner.synced() : null, worker: leader ? controller.status() : null };
    },
    controller: {
      receiveProgress: progress.receive,
      // A standby has no loop to poke.
      poke: () => {
        if (running) controller.poke();
      },
    },
  });
  elector.start();
  log.info(
    { internalPort: settings.INTERNAL_PORT, namespace: kube.namespace, identity: elector.identity, progressUrl: `${settings.CONTROLLER_URL}${PROGRESS_ROUTE}` },
    'controller started',
  );

  return {
    internalServer,
    controller,
    elector,
    async close() {
      closing = true;
      stopCleanup();
      await controller.stop();
      await runner.close();
      await elector.release();
      internalServer.close();
      await store.close();
    },
  };
}
