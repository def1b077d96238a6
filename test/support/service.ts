/** `vcs serve` as a child process on a free port, with helpers to drive and watch it. */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { runVcs, spawnVcs } from './vcs.ts';

/** The two ports a service needs: PORT and INTERNAL_PORT, both free. */
export async function servicePorts(): Promise<{ PORT: string; INTERNAL_PORT: string }> {
  const [port, internal] = [await freePort(), await freePort()];
  return { PORT: String(port), INTERNAL_PORT: String(internal === port ? await freePort() : internal) };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** The internal port's base URL (metrics, progress, pokes). */
  internalUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startServe(env: Record<string, string>, opts: { group?: boolean } = {}): Promise<ServeProcess> {
  const port = Number(env.PORT);
  const { child, output, exited } = spawnVcs('serve', env, opts);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) || (child.exitCode !== null ? Promise.reject(new Error(`serve exited: ${output()}`)) : false), 20_000);
  return { child, port, url, internalUrl: `http://127.0.0.1:${env.INTERNAL_PORT ?? 3001}`, output, exited };
}

export async function waitFor<T>(check: () => Promise<T | false | null | undefined> | T | false | null | undefined, timeoutMs: number, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A second connection to the service's SQLite file (WAL allows it), for asserts. */
export async function openStoreFile(file: string): Promise<JobStore> {
  const store = createSqliteStore({ file, now: Date.now });
  await store.init();
  return store;
}

export async function enqueueVia(env: Record<string, string>, id: number, source: string, extra: string[] = []) {
  const run = await runVcs(['enqueue', '--id', String(id), '--source', source, ...extra], env);
  if (run.code !== 0) throw new Error(`enqueue failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}
