/**
 * The public app as the roots build it (src/roots/wiring.ts publicApp) on a real SQLite store in
 * a temp folder, served on a loopback port, with its logs captured in memory (like pino's own
 * `sink()` helper). `worker` stands for the controller of `vcs serve`; without it, the cluster
 * shape's gateway.
 */
import http from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig, type Env } from '../../src/config.ts';
import { createHealth } from '../../src/gateway/health.ts';
import type { WorkerPort } from '../../src/gateway/ports.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { AccessRecorder } from '../../src/gateway/access-recorder.ts';
import { accessRecorder, publicApp } from '../../src/roots/wiring.ts';

export interface GatewayUnderTest {
  url: string;
  store: JobStore;
  dir: string;
  hlsPath: string;
  tempPath: string;
  logs: Record<string, unknown>[];
  /** The last-access record, as the roots build it (flush() writes its notes now). */
  access: AccessRecorder;
  request(method: string, route: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  close(): Promise<void>;
}

export const API_KEY = 'k'.repeat(64);

/** A worker port whose every part is a no-op, to override piece by piece. */
export function workerPort(parts: Partial<WorkerPort> = {}): WorkerPort {
  return {
    status: () => ({ status: 'idle', lastRun: null, jobsProcessed: 0 }),
    poke: () => undefined,
    eta: () => undefined,
    waitForRunToStop: async () => true,
    activeRuns: async () => new Set(),
    ...parts,
  };
}

export async function startGateway(env: Env = {}, worker?: WorkerPort, opts: { localSourcesFromThisMachine?: boolean } = {}): Promise<GatewayUnderTest> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-gw-'));
  const settings = loadConfig({ STORAGE_PATH: dir, API_KEY, LOG_LEVEL: 'debug', ...env });
  await mkdir(settings.HLS_PATH, { recursive: true });
  await mkdir(settings.TEMP_PATH, { recursive: true });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  const health = createHealth({ store, storeKind: 'sqlite', hlsPath: settings.HLS_PATH, ffmpegPath: settings.FFMPEG_PATH, version: 'test', startedAt: Date.now(), pingEveryMs: 0 });
  const metrics = createMetrics({ videos: async () => ({ counts: await store.countByStatus(), paused: await store.isPaused() }), defaultMetrics: false });
  const access = accessRecorder(store, log);
  const app = publicApp(settings, { store, log, health, metrics, access, worker, ...opts });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    dir,
    hlsPath: settings.HLS_PATH,
    tempPath: settings.TEMP_PATH,
    logs,
    access,
    async request(method, route, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      } else if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(`${url}${route}`, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await access.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
