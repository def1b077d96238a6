/**
 * The compiled build as a production install runs it: `npm run build`'s tsc output (here built
 * into a temporary copy), with the production dependencies only — the repository's node_modules
 * copied and pruned with `npm prune --omit=dev` (the same tree `npm ci --omit=dev` installs, made
 * offline and without compiling better-sqlite3 again), so tsx, TypeScript and every other
 * dev-only package are gone. A runtime import of any of them fails here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeClip } from './support/media.ts';
import { assertPackage, exists } from './support/package-asserts.ts';
import { servicePorts, waitFor } from './support/service.ts';
import { ROOT } from './support/vcs.ts';

const test = suite('production install');
let tmp = '';
let app = '';
let vcs = '';

/** `node dist/bin/vcs.js …` of the production copy, with a minimal environment. */
function runBuilt(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [vcs, ...args], { cwd: app, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-build-'));
  app = path.join(tmp, 'app');
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(app, 'dist'), '--tsBuildInfoFile', path.join(app, 'dist/.tsbuildinfo')], { encoding: 'utf8' });
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  for (const file of ['package.json', 'package-lock.json']) await cp(path.join(ROOT, file), path.join(app, file));
  await cp(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const prune = spawnSync('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: app, encoding: 'utf8' });
  assert.is(prune.status, 0, prune.stdout + prune.stderr);
  vcs = path.join(app, 'dist/bin/vcs.js');
});

test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('the copy holds the compiled JavaScript and the production dependencies only', async () => {
  const installed = await readdir(path.join(app, 'node_modules'));
  for (const devOnly of ['tsx', 'typescript', 'uvu', 'esbuild']) assert.not.ok(installed.includes(devOnly), `${devOnly} is not installed`);
  for (const runtime of ['koa', 'pino', 'better-sqlite3', 'yargs']) assert.ok(installed.includes(runtime), runtime);
  const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8'));
  assert.is(pkg.bin.vcs, 'dist/bin/vcs.js');
  assert.ok(!('tsx' in pkg.dependencies), 'tsx is a devDependency');
  const source = await readFile(path.join(app, 'dist/src/cli.js'), 'utf8');
  assert.match(source, 'import("./roots/serve.js")', 'relative imports rewritten to .js');
  assert.not.match(source, /from '\.[^']*\.ts'/);
});

test('vcs --help, and vcs transcode of a clip into a checked package', async () => {
  const help = runBuilt(['--help']);
  assert.is(help.code, 0, help.stderr);
  for (const command of ['transcode', 'serve', 'gateway', 'controller', 'enqueue']) assert.match(help.stdout, `vcs ${command}`);
  const clip = await makeClip(path.join(tmp, 'clip.mp4'), { width: 640, height: 360, seconds: 3, audio: 2 });
  const out = path.join(tmp, 'hls', '7');
  const run = runBuilt(['transcode', '--source', clip, '--output', out, '--id', '7'], { VIDEO_PRESET: 'veryfast' });
  assert.is(run.code, 0, run.stderr.slice(-2000));
  assert.is(JSON.parse(run.stdout.trim().split('\n').at(-1)!).ok, true);
  await assertPackage(out, { renditions: [{ name: 'high', width: 640, height: 360 }], audio: true, frameRate: 30, sourceSeconds: 3, poster: { width: 640, height: 360 } });
});

test('vcs serve answers /health and runs its transcoders compiled, without tsx', async () => {
  const ports = await servicePorts();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, STORAGE_PATH: path.join(tmp, 'storage'), ...ports, WORKER_INTERVAL: '1000', VIDEO_PRESET: 'veryfast', API_KEY: 'build-test-key' };
  const serve = spawn(process.execPath, [vcs, 'serve'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  serve.stdout.on('data', (d) => (output += d));
  serve.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => serve.on('exit', resolve));
  try {
    const url = `http://127.0.0.1:${ports.PORT}`;
    await waitFor(() => fetch(`${url}/health/live`).then((r) => r.ok, () => false), 20_000, `the service\n${output}`);
    const health = await fetch(`${url}/health`);
    assert.is(health.status, 200, JSON.stringify(await health.clone().json()));
    assert.is((await health.json()).status, 'healthy');
    const clip = await makeClip(path.join(tmp, 'served.mp4'), { width: 320, height: 240, seconds: 2 });
    const queued = runBuilt(['enqueue', '--id', '9', '--source', clip], env);
    assert.is(queued.code, 0, queued.stderr);
    await waitFor(() => exists(path.join(env.STORAGE_PATH, 'hls', '9', 'master.m3u8')), 60_000, `the encode\n${output.slice(-3000)}`);
    assert.not.match(output, /tsx|ERR_MODULE_NOT_FOUND|Cannot find package/);
  } finally {
    serve.kill('SIGTERM');
    assert.is(await exited, 0, output.slice(-2000));
  }
});

test.run();
