/**
 * Every metric an alert rule or a dashboard panel reads is exported: `vcs serve`, `vcs gateway`
 * and `vcs controller` (on the protocol-level Kubernetes API server) are started and scraped, and
 * each `vcs_*` name in the rules and the panels must be a metric of one of them — a renamed or
 * removed metric fails here, not silently on an operator's dashboard.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeHarness, type KubeHarness } from '../support/kube-harness.ts';
import { dashboardExprs, metricNames, ruleExprs } from '../support/monitoring.ts';
import { servicePorts, startServe, waitFor, type ServeProcess } from '../support/service.ts';
import { spawnVcs, type VcsDaemon } from '../support/vcs.ts';

const test = suite('metrics the rules and the dashboard read');
let tmp = '';
let serve: ServeProcess | undefined;
let gateway: VcsDaemon | undefined;
let kube: KubeHarness | undefined;
/** Metric name → type, from each process's `# TYPE` lines. */
const scraped: Record<'serve' | 'gateway' | 'controller', Map<string, string>> = { serve: new Map(), gateway: new Map(), controller: new Map() };

async function typesAt(url: string): Promise<Map<string, string>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return new Map([...text.matchAll(/^# TYPE (vcs_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-scrape-'));
  serve = await startServe({ ...(await servicePorts()), STORAGE_PATH: path.join(tmp, 'serve') });
  scraped.serve = await typesAt(serve.internalUrl);

  const ports = await servicePorts();
  gateway = spawnVcs('gateway', { ...ports, STORAGE_PATH: path.join(tmp, 'serve') });
  const internal = `http://127.0.0.1:${ports.INTERNAL_PORT}`;
  await waitFor(() => fetch(`${internal}/healthz`).then((r) => r.ok, () => false), 20_000, 'the gateway');
  scraped.gateway = await typesAt(internal);

  await mkdir(path.join(tmp, 'kube'));
  kube = await startKubeHarness(path.join(tmp, 'kube'));
  const controller = await kube.startController(await kube.controllerEnv('scrape'));
  scraped.controller = await typesAt(controller.url);
});

test.after(async () => {
  serve?.child.kill('SIGTERM');
  gateway?.child.kill('SIGTERM');
  await Promise.all([serve?.exited, gateway?.exited]);
  await kube?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('each process exports what its role has (worker and jobs where a controller runs, the volume where files are served)', () => {
  for (const name of ['vcs_worker_up', 'vcs_jobs_total', 'vcs_jobs_started_total', 'vcs_storage_size_bytes', 'vcs_ffmpeg_available', 'vcs_queue_depth']) assert.ok(scraped.serve.has(name), `serve: ${name}`);
  for (const name of ['vcs_storage_free_bytes', 'vcs_ffmpeg_available', 'vcs_http_response_bytes_total', 'vcs_queue_depth']) assert.ok(scraped.gateway.has(name), `gateway: ${name}`);
  assert.not.ok(scraped.gateway.has('vcs_worker_up'), 'a gateway runs no worker');
  for (const name of ['vcs_controller_leader', 'vcs_worker_up', 'vcs_job_failures_total', 'vcs_encoded_video_seconds_total']) assert.ok(scraped.controller.has(name), `controller: ${name}`);
});

test('every vcs_ metric named by an alert rule or a dashboard panel is exported', async () => {
  const all = new Map([...scraped.serve, ...scraped.gateway, ...scraped.controller]);
  const histograms = new Set([...all].filter(([, type]) => type === 'histogram').map(([name]) => name));
  const missing: string[] = [];
  for (const [source, exprs] of [
    ['rule', await ruleExprs()],
    ['panel', await dashboardExprs()],
  ] as const) {
    for (const expr of exprs) for (const name of metricNames(expr, histograms)) if (!all.has(name)) missing.push(`${source}: ${name} in ${expr.replace(/\s+/g, ' ')}`);
  }
  assert.equal(missing, [], missing.join('\n'));
  // The check would notice: a name nobody exports is reported.
  assert.equal(metricNames('rate(vcs_renamed_total[5m]) + vcs_job_duration_seconds_bucket', histograms), ['vcs_renamed_total', 'vcs_job_duration_seconds']);
});

test.run();
