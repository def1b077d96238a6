/**
 * Wiring for `vcs controller` (DESIGN 1, the cluster shape): the store, the Kubernetes runner, the
 * controller loop behind Lease leader election, and a small HTTP server on CONTROLLER_PORT
 * (/healthz, /metrics, progress reports). Everything is built here and passed down (STYLE 12).
 *
 * Every replica campaigns; only the leader lists Jobs, starts them and writes results. Becoming
 * leader: list the Jobs (adoption needs no more: the controller matches them to the videos by
 * job_name), then start the loop. Losing the lease: `onLeadershipLost` — the CLI exits at once
 * and the Deployment restarts the process as a standby. A graceful stop (SIGTERM) ends the loop
 * and releases the Lease, so a standby takes over without waiting; running Jobs go on and are
 * adopted by the next leader.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { Gauge } from 'prom-client';
import type { Settings } from '../config.ts';
import { ladderFromSettings } from '../contract.ts';
import { PROGRESS_ROUTE } from '../gateway/app.ts';
import { createMetrics } from '../gateway/metrics.ts';
import { instrumentStore } from '../jobs/instrumented-store.ts';
import type { Logger } from '../log.ts';
import { ensureFolders, listen, openStore } from '../service.ts';
import { createController, reconcileSettings, type Controller } from './controller.ts';
import { createControllerApp } from './http.ts';
import { buildJobManifest, instanceSelector, podJobSpec } from './job-manifest.ts';
import { kubeClients } from './kube-client.ts';
import { createKubeRunner } from './kube-runner.ts';
import { createLeaderElector, defaultIdentity, type LeaderElector } from './leader.ts';
import { createProgressReceiver, createProgressTokens } from './progress.ts';

export interface RunningController {
  server: http.Server;
  controller: Controller;
  elector: LeaderElector;
  close(): Promise<void>;
}

export interface ControllerHooks {
  /** The lease is lost: this process must stop all work at once. */
  onLeadershipLost: () => void;
}

/** Scrape-time sources the controller process does not have (FFmpeg and the volume are the pods'). */
const notHere = () => Promise.reject(new Error('not measured by the controller'));

export async function startController(settings: Settings, log: Logger, hooks: ControllerHooks): Promise<RunningController> {
  if (settings.RUNNER !== 'kubernetes') {
    throw new Error('vcs controller runs each video as a Kubernetes Job: set RUNNER=kubernetes (vcs serve runs them as local processes)');
  }
  const now = Date.now;
  const kube = kubeClients(settings);
  // The volume is the pods' (and the gateways'); the controller needs it only for an SQLite store.
  if (settings.STORE === 'sqlite') await ensureFolders(settings);
  const rawStore = await openStore(settings, now);
  const metrics = createMetrics({
    store: rawStore,
    worker: () => controller.status(),
    workerIntervalMs: settings.WORKER_INTERVAL,
    storage: notHere,
    ffmpeg: notHere,
  });
  const store = instrumentStore(rawStore, metrics.storeObserver);
  // A shared secret lets every replica, and the next leader, verify the tokens of running Jobs.
  const tokens = createProgressTokens(settings.PROGRESS_SECRET ? createHash('sha256').update(settings.PROGRESS_SECRET).digest() : undefined);
  const runner = createKubeRunner({
    api: kube,
    labelSelector: instanceSelector(settings.KUBE_INSTANCE),
    manifest: (job) => buildJobManifest(job, settings),
    resyncMs: settings.WORKER_INTERVAL,
    log: log.child({ part: 'runner' }),
  });
  const controller = createController({
    store,
    runner,
    log: log.child({ part: 'controller' }),
    now,
    intervalMs: settings.WORKER_INTERVAL,
    settings: reconcileSettings(settings),
    apply: {
      publicUrl: settings.PUBLIC_URL,
      jobSpec: podJobSpec({ hlsPath: settings.HLS_PATH, tempPath: settings.TEMP_PATH }, ladderFromSettings(settings), {
        url: `${settings.CONTROLLER_URL}${PROGRESS_ROUTE}`,
        token: tokens.issue,
      }),
      ...metrics.jobHooks,
    },
  });
  const progress = createProgressReceiver({ store, tokens, log, now });

  let closing = false;
  /** The loop runs only on the leader, once the Jobs are listed. */
  let running = false;
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
      void runner.sync().then(() => {
        if (!elector.isLeader() || closing) return;
        running = true;
        controller.start();
      });
    },
    onStoppedLeading: () => {
      running = false;
      void controller.stop();
      void runner.close();
      hooks.onLeadershipLost();
    },
  });
  new Gauge({
    name: 'vcs_controller_leader',
    help: 'Whether this controller holds the leader Lease (1) and so starts Jobs and writes results, or is a standby (0).',
    registers: [metrics.registry],
    collect() {
      this.set(elector.isLeader() ? 1 : 0);
    },
  });

  const app = createControllerApp({
    log: log.child({ part: 'http' }),
    metrics: { http: metrics.httpMiddleware(), handler: metrics.handler },
    progress,
    poke: () => {
      if (running) controller.poke();
    },
    health: async () => {
      const leader = elector.isLeader();
      const worker = controller.status();
      const kubeSynced = runner.synced();
      return { healthy: true, leader, identity: elector.identity, namespace: kube.namespace, kubeSynced: leader ? kubeSynced : null, worker: leader ? worker : null };
    },
  });
  const server = await listen(app, settings.CONTROLLER_PORT);
  elector.start();
  log.info({ port: settings.CONTROLLER_PORT, namespace: kube.namespace, identity: elector.identity, progressUrl: `${settings.CONTROLLER_URL}${PROGRESS_ROUTE}` }, 'controller started');

  return {
    server,
    controller,
    elector,
    async close() {
      closing = true;
      await controller.stop();
      await runner.close();
      await elector.release();
      server.close();
      server.closeAllConnections();
      await rawStore.close();
    },
  };
}
