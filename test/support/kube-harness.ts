/**
 * One Kubernetes world for the controller's end-to-end tests: the fake API server, the simulated
 * cluster running `vcs transcode` pods on a local folder that stands for the volume, the SQLite
 * store on that folder, a source server, and `vcs controller` as real child processes (so a
 * restart is a kill, as in a cluster).
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobStore } from '../../src/jobs/store.ts';
import { controllerRole, renderChart } from './chart.ts';
import { startKubeApi, type FakeKubeApi } from './kube-api-server.ts';
import type { PolicyRule } from './kube-rbac.ts';
import { startCluster, type SimulatedCluster } from './kube-cluster.ts';
import { freePort, openStoreFile, waitFor } from './service.ts';
import { startServer, type TestServer } from './http-server.ts';
import { spawnVcs, VCS } from './vcs.ts';

export const NAMESPACE = 'video';
export const PVC = 'vcs-media';

export interface ControllerProcess {
  name: string;
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGKILL (a crash or a node loss) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a rollout) and wait for the exit. */
  stop(): Promise<number | null>;
}

export interface KubeHarness {
  api: FakeKubeApi;
  cluster: SimulatedCluster;
  storage: string;
  store: JobStore;
  source: TestServer;
  /** Environment of a controller named `name` (its Lease identity and API token). */
  controllerEnv(name: string, extra?: Record<string, string>): Promise<Record<string, string>>;
  startController(env: Record<string, string>): Promise<ControllerProcess>;
  /** Requests for `path` wait from now on… */
  hold(path: string): void;
  /** …until it is released (the waiting ones are answered). */
  release(path: string): void;
  /** Jobs in the API server, by name. */
  jobNames(): string[];
  /** The Lease the controllers elect their leader on (the Role's, LEADER_ELECTION_LEASE_NAME). */
  leaseName: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /**
   * The Role the API server enforces for the controllers, and the Lease name it allows. Defaults
   * to the chart's (charts/video-compression), so every end-to-end test runs the controller
   * with exactly the permissions a `helm install` gives it.
   */
  role?: { rules: PolicyRule[]; leaseName: string };
  /** The claim name the Jobs mount (TRANSCODER_PVC). Defaults to PVC. */
  pvc?: string;
  /** The store the test reads and writes; defaults to the SQLite file the controllers make on the volume. */
  openStore?: () => Promise<JobStore>;
}

let chartRole: Promise<{ rules: PolicyRule[]; leaseName: string }> | undefined;
/** The chart's controller Role, rendered once per test process. */
export function defaultRole(): Promise<{ rules: PolicyRule[]; leaseName: string }> {
  chartRole ??= renderChart(NAMESPACE).then(controllerRole);
  return chartRole;
}

export async function startKubeHarness(tmp: string, files: Record<string, string | Buffer | number> = {}, opts: HarnessOptions = {}): Promise<KubeHarness> {
  const storage = path.join(tmp, 'storage');
  const role = opts.role ?? (await defaultRole());
  const api = await startKubeApi({ bookmarkEveryMs: 1000, rbac: { rules: role.rules, namespace: NAMESPACE, user: `system:serviceaccount:${NAMESPACE}:vcs-video-compression-controller` } });
  const cluster = startCluster({
    api,
    namespace: NAMESPACE,
    volumes: { [opts.pvc ?? PVC]: storage },
    commands: { vcs: [...VCS] },
    // The service's image: ENTRYPOINT tini -- vcs (tini has no part to play in a local process).
    entrypoints: { '*': [...VCS] },
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    podsDir: path.join(tmp, 'pods'),
  });
  // Source files by path; a number is the status it answers with, a missing path 404. A held path
  // answers only once released, so a run lasts until the test lets it go on (to kill a controller
  // or cut the API server in the middle of it).
  const held = new Map<string, (() => void)[]>();
  const source = await startServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    const body = files[url] ?? 404;
    const answer = () => {
      if (typeof body === 'number') res.writeHead(body).end(`status ${body}`);
      else res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': Buffer.byteLength(body) }).end(body);
    };
    const waiting = held.get(url);
    if (waiting) waiting.push(answer);
    else answer();
  });
  const controllers: ControllerProcess[] = [];
  let store: JobStore | undefined;
  const harness: KubeHarness = {
    api,
    cluster,
    storage,
    source,
    get store() {
      if (!store) throw new Error('start a controller first: it creates the store');
      return store;
    },
    async controllerEnv(name, extra = {}) {
      const kubeconfig = path.join(tmp, `kubeconfig-${name}.json`);
      await writeFile(kubeconfig, api.kubeconfig(`token-${name}`, NAMESPACE));
      const port = await freePort();
      return {
        STORAGE_PATH: storage,
        RUNNER: 'kubernetes',
        KUBECONFIG: kubeconfig,
        KUBE_NAMESPACE: NAMESPACE,
        INTERNAL_PORT: String(port),
        CONTROLLER_URL: `http://127.0.0.1:${port}`,
        PUBLIC_URL: 'https://cdn.example.com',
        WORKER_INTERVAL: '1000',
        MAX_CONCURRENT_JOBS: '2',
        VIDEO_PRESET: 'ultrafast',
        ALLOW_PRIVATE_SOURCES: 'true',
        LEADER_ELECTION_IDENTITY: name,
        LEADER_ELECTION_LEASE_NAME: role.leaseName,
        // Short enough for quick handovers, long enough for a loaded test machine to renew in time.
        LEADER_ELECTION_LEASE_DURATION: '4000',
        LEADER_ELECTION_RENEW_DEADLINE: '3000',
        LEADER_ELECTION_RETRY_PERIOD: '300',
        LOG_LEVEL: 'info',
        ...extra,
      };
    },
    async startController(env) {
      const { child, output, exited } = spawnVcs('controller', env);
      const url = `http://127.0.0.1:${env.INTERNAL_PORT}`;
      const proc: ControllerProcess = {
        name: env.LEADER_ELECTION_IDENTITY ?? 'controller',
        child,
        url,
        output,
        exited,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      };
      controllers.push(proc);
      await waitFor(
        async () =>
          (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) ||
          (child.exitCode !== null ? Promise.reject(new Error(`controller exited: ${output()}`)) : false),
        20_000,
        'the controller’s /healthz',
      );
      store ??= await (opts.openStore ?? (() => openStoreFile(path.join(storage, 'vcs.sqlite'))))();
      return proc;
    },
    hold: (url) => void held.set(url, held.get(url) ?? []),
    release(url) {
      const waiting = held.get(url) ?? [];
      held.delete(url);
      waiting.forEach((answer) => answer());
    },
    jobNames: () => api.store.list('jobs', NAMESPACE).map((j) => j.metadata.name).sort(),
    leaseName: role.leaseName,
    async close() {
      for (const url of [...held.keys()]) harness.release(url);
      await Promise.all(controllers.map((c) => c.kill()));
      // Set KUBE_TEST_LOGS to a folder to keep every controller's log of a run.
      const keep = process.env.KUBE_TEST_LOGS;
      if (keep) await Promise.all(controllers.map((c, i) => writeFile(path.join(keep, `${i}-${c.name}.log`), c.output())));
      await cluster.close();
      await store?.close();
      await source.close();
      await api.close();
    },
  };
  return harness;
}

/** Whether a controller holds the Lease now (its /healthz says so). */
export async function isLeader(c: ControllerProcess): Promise<boolean> {
  const body = (await fetch(`${c.url}/healthz`).then((r) => r.json(), () => null)) as { leader?: boolean } | null;
  return body?.leader === true;
}

/** Asks a controller for a pass now (instead of waiting for WORKER_INTERVAL). */
export async function poke(c: ControllerProcess): Promise<void> {
  await fetch(`${c.url}/internal/poke`, { method: 'POST' }).catch(() => undefined);
}
