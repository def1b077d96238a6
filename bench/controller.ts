/**
 * bench/controller: the controller's cost with a deep queue, and how fast a queued video starts.
 *  1. 10,000 pending videos in the embedded SQLite store: time and heap of one pass's store
 *     queries and of reconcile(), against the same pass over 10 pending videos (baseline).
 *  2. Start latency with the default settings: from `enqueue` (store write + poke, as POST /api/jobs
 *     or an in-process enqueue does) to the transcoder process — the compiled build, as deployed —
 *     running its own code (its first log line), median of N, against the bare cost of spawning
 *     `node -e` until its first output (baseline). Target: median under 250 ms, 2.5x the baseline.
 * Usage: npm run bench:controller [-- --videos 10000 --starts 15]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, readEnvironment, systemEnvironment, transcoderSettingsEnvironment } from '../src/config.ts';
import { ladderFromSettings } from '../src/contract.ts';
import { jobSpecOn } from '../src/controller/apply.ts';
import { createController, reconcileSettings } from '../src/controller/controller.ts';
import { createLocalRunner } from '../src/controller/local-runner.ts';
import { reconcile } from '../src/controller/reconcile.ts';
import { createSqliteStore } from '../src/jobs/sqlite-store.ts';
import type { JobStore } from '../src/jobs/store.ts';
import { BUILT_VCS } from './built.ts';

const { values } = parseArgs({ options: { videos: { type: 'string', default: '10000' }, starts: { type: 'string', default: '15' } } });
const settings = loadConfig({});
const rules = reconcileSettings(settings);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function fill(store: JobStore, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await store.create({ wp_post_id: i, title: `Video ${i}`, original_video_url: `https://example.com/${i}.mp4`, priority: i % 50 === 0 ? 'high' : 'normal' });
  }
}

/** One pass as the controller makes it: its store queries, then reconcile(). */
async function measurePass(store: JobStore, rounds = 30) {
  const queries: number[] = [];
  const decide: number[] = [];
  let heap = 0;
  for (let r = 0; r < rounds; r++) {
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = process.hrtime.bigint();
    const now = Date.now();
    const paused = await store.isPaused();
    const processing = await store.listProcessing();
    const pending = await store.listPending(rules.maxConcurrentJobs);
    const failed = await store.listRetryable(new Date(now - rules.retryFailedAfterMs).toISOString(), rules.maxRetries, 100);
    queries.push(ms(t0));
    const t1 = process.hrtime.bigint();
    reconcile({ now, paused, pending, processing, failed, runs: [] }, rules);
    decide.push(ms(t1));
    heap = Math.max(heap, process.memoryUsage().heapUsed - heap0);
  }
  return { queries: median(queries), reconcile: median(decide), total: median(queries.map((q, i) => q + decide[i]!)), heapKb: heap / 1024 };
}

async function passBenchmark(n: number) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-bench-'));
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  const t0 = process.hrtime.bigint();
  await fill(store, n);
  const fillMs = ms(t0);
  const pass = await measurePass(store);
  // The full queue read (the worst case a store could be asked for): every pending video.
  const t1 = process.hrtime.bigint();
  const all = await store.listPending(n);
  const allMs = ms(t1);
  const t2 = process.hrtime.bigint();
  reconcile({ now: Date.now(), paused: false, pending: all, processing: [], failed: [], runs: [] }, rules);
  const reconcileAllMs = ms(t2);
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { fillMs, pass, allMs, reconcileAllMs };
}

async function spawnBaseline(n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => spawn(process.execPath, ['-e', 'process.stderr.write("x")'], { stdio: ['ignore', 'ignore', 'pipe'] }).stderr!.once('data', () => resolve()));
    times.push(ms(t0));
  }
  return median(times);
}

async function startLatency(n: number): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-bench-'));
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  const log = pino({ level: 'silent' });
  let firstLine: (() => void) | null = null;
  const volume = { hlsPath: path.join(dir, 'hls'), tempPath: path.join(dir, 'temp') };
  const runner = createLocalRunner({
    command: { bin: process.execPath, args: [BUILT_VCS, 'transcode'] },
    baseEnv: { ...systemEnvironment(readEnvironment()), ...transcoderSettingsEnvironment(settings, 'local') },
    runsDir: path.join(dir, 'runs'),
    maxRunning: settings.MAX_CONCURRENT_JOBS,
    log,
    childLog: () => firstLine?.(),
  });
  const controller = createController({
    store,
    runner,
    log,
    now: Date.now,
    intervalMs: settings.WORKER_INTERVAL,
    settings: rules,
    apply: { publicUrl: settings.PUBLIC_URL, volume, jobSpec: jobSpecOn(volume, ladderFromSettings(settings), null) },
  });
  controller.start();
  const latencies: number[] = [];
  for (let i = 1; i <= n; i++) {
    const started = new Promise<void>((resolve) => (firstLine = resolve));
    const t0 = process.hrtime.bigint();
    // The source does not exist: the run fails fast after starting, which is all this measures.
    await store.create({ wp_post_id: i, title: `v${i}`, original_video_url: `http://127.0.0.1:9/${i}.mp4` });
    controller.poke();
    await started;
    latencies.push(ms(t0));
    firstLine = null;
    await new Promise<void>((resolve) => {
      const check = async () => ((await store.get(i))?.compression_status === 'failed' ? resolve() : setTimeout(check, 20));
      void check();
    });
  }
  await controller.stop();
  await runner.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return latencies;
}

// Start latency first, in a fresh process: after the 10,000-video pass benchmark the heap is large,
// and every spawn (the baseline's and the transcoder's) pays for copying its page tables.
const baseline = await spawnBaseline(10);
const latencies = await startLatency(Number(values.starts));
const videos = Number(values.videos);
const big = await passBenchmark(videos);
const small = await passBenchmark(10);
console.log(`One controller pass (median of 30), MAX_CONCURRENT_JOBS=${settings.MAX_CONCURRENT_JOBS}:`);
console.log(`  ${videos} pending: store queries ${big.pass.queries.toFixed(3)} ms + reconcile ${big.pass.reconcile.toFixed(3)} ms = ${big.pass.total.toFixed(3)} ms, heap +${big.pass.heapKb.toFixed(0)} KB  (target < 100 ms)`);
console.log(`  10 pending (baseline): ${small.pass.total.toFixed(3)} ms   ratio ${(big.pass.total / small.pass.total).toFixed(2)}x`);
console.log(`  worst case, reading and ordering all ${videos} pending at once: listPending ${big.allMs.toFixed(1)} ms + reconcile ${big.reconcileAllMs.toFixed(1)} ms`);
console.log(`  (filling the store: ${(big.fillMs / videos).toFixed(3)} ms per insert)`);
console.log(`Start latency, enqueue → transcoder running (default settings, ${latencies.length} starts):`);
console.log(`  median ${median(latencies).toFixed(0)} ms, min ${Math.min(...latencies).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms  (target < 250 ms)`);
console.log(`  bare node -e spawn (baseline): ${baseline.toFixed(0)} ms   ratio ${(median(latencies) / baseline).toFixed(2)}x  (target ≤ 2.5x)`);
