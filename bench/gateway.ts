/**
 * bench/gateway: HLS files as the gateway serves them against nginx serving the same folder, in one
 * run, all on 127.0.0.1. The gateway is the public app as the roots build it (publicApp, with its
 * real dependencies: SQLite store in a temp folder, health, metrics, settings from loadConfig, so
 * hls-files is mounted exactly as in production) with one change: HLS_RATE_LIMIT=0 (100 requests
 * per minute per address would turn a one-client load test into 429s). Access logs go to /dev/null
 * at --log-level (default info, the production default).
 *
 * For scale, a third server: a bare Koa app with only the production hlsFiles middleware, so the
 * middleware's own cost can be told from the rest of the app's (access log, routers, body parser).
 *
 * wrk -t2 -c100 -d10s --latency against master.m3u8 and a 3–4 MB segment of a real package (made
 * by `vcs transcode`), each server in turn, --rounds times; prints req/s, p50, p99 (medians over
 * rounds) and the ratios to nginx, the gateway's against the targets.
 * Usage: npm run bench:gateway [-- --seconds 10 --rounds 1 --package DIR --log-level info --keep]
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import Koa from 'koa';
import { loadConfig, type Settings } from '../src/config.ts';
import { hlsFiles } from '../src/gateway/hls-files.ts';
import { createHealth } from '../src/gateway/health.ts';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { accessRecorder, ensureFolders, openStore, publicApp } from '../src/roots/wiring.ts';
import { bigSegment, makePackage } from './gateway/hls-package.ts';
import { BUILT_VCS } from './built.ts';
import { ensureTools, startNginx } from './gateway/tools.ts';
import { wrk, type WrkResult } from './gateway/wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    package: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    keep: { type: 'boolean', default: false },
  },
});
const load = { threads: Number(values.threads), connections: Number(values.connections), seconds: Number(values.seconds) };
const rounds = Number(values.rounds);

/** Errors a client that hangs up mid-response causes (wrk does at the end of every run). */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/** The production gateway app: publicApp, as `vcs gateway` builds it. */
async function startGatewayApp(settings: Settings) {
  const log = createLogger(settings, { destination: pino.destination({ dest: '/dev/null', sync: false }) });
  const store = await openStore(settings);
  const health = createHealth({ store, storeKind: settings.STORE, hlsPath: settings.HLS_PATH, ffmpegPath: settings.FFMPEG_PATH, version: 'bench', startedAt: Date.now() });
  const metrics = createMetrics({ videos: async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() }) });
  const access = accessRecorder(store, log);
  const served = await listenLocal(publicApp(settings, { store, log, health, metrics, access }));
  return { ...served, close: () => served.close().then(() => access.close()).then(() => store.close()) };
}

/** Koa with the hlsFiles middleware alone. */
function startBareApp(settings: Settings) {
  const app = new Koa();
  app.use(hlsFiles(settings.HLS_PATH));
  return listenLocal(app);
}

async function listenLocal(app: Koa) {
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (!CLIENT_GONE.has(err.code ?? '')) console.error('gateway error:', err);
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `vcs gateway` itself with one worker process per CPU (GATEWAY_WORKERS=0), as deployed. */
async function startGatewayCommand(settings: Settings) {
  const port = await freePort();
  const child = spawn(process.execPath, [BUILT_VCS, 'gateway'], {
    env: { ...process.env, STORAGE_PATH: settings.STORAGE_PATH, PORT: String(port), INTERNAL_PORT: String(await freePort()), GATEWAY_WORKERS: '0', HLS_RATE_LIMIT: '0', LOG_LEVEL: settings.LOG_LEVEL },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await fetch(`${url}/health/live`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Both servers must answer 200 with the file's exact bytes before their speed means anything. */
async function checkSame(urls: string[], file: string, type: string): Promise<void> {
  const expected = await readFile(file);
  for (const url of urls) {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || !body.equals(expected) || res.headers.get('content-type') !== type) {
      throw new Error(`${url}: ${res.status} ${res.headers.get('content-type')}, ${body.length} bytes (expected 200 ${type}, ${expected.length} bytes)`);
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const medianResult = (rs: WrkResult[]): WrkResult => ({
  requestsPerSec: median(rs.map((r) => r.requestsPerSec)),
  p50Ms: median(rs.map((r) => r.p50Ms)),
  p99Ms: median(rs.map((r) => r.p99Ms)),
  errors: rs.reduce((n, r) => n + r.errors, 0),
});
const row = (label: string, r: WrkResult) =>
  `  ${label.padEnd(14)} ${r.requestsPerSec.toFixed(0).padStart(8)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(8)} ms${r.errors ? `   (${r.errors} errors)` : ''}`;

const tools = ensureTools(['nginx', 'wrk']);
const work = await mkdtemp(path.join(os.tmpdir(), 'vcs-bench-gateway-'));
// nginx's workers run as nobody: they must be able to enter the folder.
await chmod(work, 0o755);
const stops: (() => Promise<void>)[] = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch((err) => console.error('stopping:', err));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().finally(() => rm(work, { recursive: true, force: true }).finally(() => process.exit(130))));
}
try {
  const settings = loadConfig({ STORAGE_PATH: path.join(work, 'storage'), HLS_RATE_LIMIT: '0', LOG_LEVEL: values['log-level'] });
  await ensureFolders(settings);
  const packageDir = path.join(settings.HLS_PATH, '101');
  if (values.package) await cp(values.package, packageDir, { recursive: true });
  else {
    console.log('making the package (vcs transcode of a 12-s 720p clip) …');
    await makePackage(work, packageDir);
  }
  const segment = await bigSegment(packageDir);

  const gateway = await startGatewayApp(settings);
  stops.push(() => gateway.close());
  const bare = await startBareApp(settings);
  stops.push(() => bare.close());
  const command = await startGatewayCommand(settings);
  stops.push(() => command.close());
  const nginx = await startNginx(tools.nginx!, path.join(work, 'nginx'), settings.HLS_PATH, await freePort());
  stops.push(() => nginx.stop());

  const master = path.join(packageDir, 'master.m3u8');
  const targets = [
    { name: `playlist: master.m3u8 (${(await readFile(master)).length} B)`, url: '/storage/hls/101/master.m3u8', file: master, type: 'application/vnd.apple.mpegurl', minRatio: 0.3, maxP99Ms: 50 },
    { name: `segment: ${segment.relative} (${(segment.bytes / 1024 / 1024).toFixed(2)} MB)`, url: `/storage/hls/101/${segment.relative}`, file: path.join(packageDir, segment.relative), type: 'video/mp2t', minRatio: 0.6, maxP99Ms: Infinity },
  ];
  const servers = { nginx: nginx.url, gateway: gateway.url, 'hlsFiles alone': bare.url, 'vcs gateway': command.url };
  for (const t of targets) {
    await checkSame(Object.values(servers).map((base) => base + t.url), t.file, t.type);
    // Warm-up, not reported: JIT for the apps, page cache for all.
    for (const base of Object.values(servers)) await wrk(tools.wrk!, base + t.url, { ...load, seconds: 2 });
  }

  const nginxVersion = spawnSync(tools.nginx!, ['-v'], { encoding: 'utf8' }).stderr.trim();
  console.log(`HLS files: gateway (publicApp, Node ${process.version}, LOG_LEVEL=${settings.LOG_LEVEL}) vs ${nginxVersion} (worker_processes auto, sendfile) on ${os.cpus().length} CPUs`);
  console.log(`wrk -t${load.threads} -c${load.connections} -d${load.seconds}s --timeout 10s --latency, ${rounds} round(s), medians; load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  let missed = 0;
  for (const t of targets) {
    const runs = Object.fromEntries(Object.keys(servers).map((name) => [name, [] as WrkResult[]]));
    for (let r = 0; r < rounds; r++) {
      for (const [name, base] of Object.entries(servers)) runs[name]!.push(await wrk(tools.wrk!, base + t.url, load));
    }
    const n = medianResult(runs.nginx!);
    const g = medianResult(runs.gateway!);
    const b = medianResult(runs['hlsFiles alone']!);
    const w = medianResult(runs['vcs gateway']!);
    const ratio = g.requestsPerSec / n.requestsPerSec;
    const workersRatio = w.requestsPerSec / n.requestsPerSec;
    // The target is judged on the gateway as deployed: `vcs gateway`, one worker per CPU like nginx.
    const ok = workersRatio >= t.minRatio && w.p99Ms < t.maxP99Ms && w.errors === 0;
    if (!ok) missed += 1;
    const p99Target = Number.isFinite(t.maxP99Ms) ? `, p99 < ${t.maxP99Ms} ms` : '';
    console.log(`\n${t.name}`);
    console.log(row('nginx', n));
    console.log(row('gateway', g));
    console.log(row('hlsFiles alone', b));
    console.log(row(`vcs gateway ×${os.availableParallelism()}`, w));
    console.log(`  gateway/nginx  ${ratio.toFixed(2)}x   (one process, in-process app)`);
    console.log(`  vcs gateway ×${os.availableParallelism()}/nginx  ${workersRatio.toFixed(2)}x   (target ≥ ${t.minRatio}x${p99Target}): ${ok ? 'met' : 'MISSED'}`);
    console.log(`  alone/nginx    ${(b.requestsPerSec / n.requestsPerSec).toFixed(2)}x`);
  }
  console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(missed ? `${missed} target(s) missed` : 'all targets met');
} finally {
  await stopAll();
  if (values.keep) console.log(`kept ${work}`);
  else await rm(work, { recursive: true, force: true });
}
