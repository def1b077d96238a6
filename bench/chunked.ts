/**
 * bench/chunked: a generated clip (default 10 minutes of 1080p30) encoded in one FFmpeg process and
 * in chunks run one after another (the transcoder's own command lines, docs/adr/0022), each part
 * timed (wall and CPU). Prints
 *   (a) the CPU overhead of chunking: (chunks + audio + copy pass) over the single encode;
 *   (b) the makespan on K = 1, 2, 4, 8, 16 pods, computed only from the measured parts: prepare
 *       (probe and poster), then the audio and the chunks handed to K workers in index order (as an
 *       Indexed Job hands out indexes), then the copy pass and the self-check; for this clip and
 *       for a 60-minute source made of the same measured chunks.
 * This machine cannot run K pods at once; each pod is taken to have the cores a chunk had here.
 * Usage: npm run bench:chunked [-- --seconds 600 --size 1920x1080 --chunk 60]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { ladderFromSettings } from '../src/contract.ts';
import { buildAudioArgs, buildChunkArgs, buildStitchArgs } from '../transcoder/chunk-args.ts';
import { planChunks } from '../transcoder/chunk-plan.ts';
import { buildLadderArgs, buildPosterArgs } from '../transcoder/ffmpeg-args.ts';
import { planEncode, posterSize } from '../transcoder/ladder.ts';
import { interpretProbe, probeArgs } from '../transcoder/probe.ts';
import { measureRendition, selfCheck } from '../transcoder/self-check.ts';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, size: { type: 'string', default: '1920x1080' }, chunk: { type: 'string', default: '60' } } });
const seconds = Number(values.seconds);
const [width, height] = values.size!.split('x').map(Number) as [number, number];
const chunkSeconds = Number(values.chunk);
const work = path.join(root, 'bench/out/chunked');
const source = path.join(root, 'bench/out', `src-${values.size}-${seconds}s.mp4`);

interface Timing {
  wall: number;
  cpu: number;
}

/** Runs a command under /usr/bin/time: wall seconds and CPU seconds (user + system) of the process. */
async function timed(cmd: string, args: string[], cwd?: string): Promise<Timing> {
  const report = path.join(work, '.time');
  const clean = args.filter((a, i, all) => a !== '-progress' && all[i - 1] !== '-progress');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S', '-o', report, cmd, ...clean], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
  const [wall, user, sys] = (await readFile(report, 'utf8')).trim().split(/\s+/).slice(-3).map(Number) as [number, number, number];
  return { wall, cpu: user + sys };
}

async function makeSource(): Promise<void> {
  if (existsSync(source)) return;
  console.log(`generating ${source} …`);
  // Moving pattern plus film grain, so the encoder has real work (as bench/transcode).
  await exec('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${seconds}`,
    '-vf', 'noise=c0s=8:c0f=t+u', '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', '-f', 'mp4', `${source}.part`,
  ]);
  // Renamed when whole: an interrupted run leaves no half clip for the next one to take.
  await rename(`${source}.part`, source);
}

/**
 * Greedy list scheduling, as an Indexed Job with parallelism K runs: each task (in index order)
 * starts on the first pod to come free. The makespan of the tasks.
 */
function makespan(tasks: readonly number[], pods: number): number {
  const free = Array.from({ length: pods }, () => 0);
  for (const t of tasks) {
    const i = free.indexOf(Math.min(...free));
    free[i]! += t;
  }
  return Math.max(...free);
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const f1 = (x: number) => x.toFixed(1);

await mkdir(work, { recursive: true });
await makeSource();
const settings = loadConfig({ STORAGE_PATH: work });
const ladder = ladderFromSettings(settings);
const probeOut = await exec('ffprobe', probeArgs(source), { maxBuffer: 1 << 20 });
const info = interpretProbe(JSON.parse(probeOut.stdout));
const plan = planEncode(info, ladder, { interlaced: false });
const chunks = planChunks(info.durationSeconds, chunkSeconds, ladder.segmentSeconds, 0);
console.log(`${f1(info.durationSeconds)} s of ${info.width}x${info.height} at ${info.frameRate} fps, preset ${ladder.preset}, ${chunks.length} chunks of ${chunkSeconds} s, ${plan.renditions.length} renditions`);

// Prepare: what the prepare phase runs besides the download (a local source here).
const probe = await timed('ffprobe', probeArgs(source));
const poster = await timed('ffmpeg', buildPosterArgs({ input: source, output: path.join(work, 'poster.jpg'), atSeconds: info.durationSeconds * 0.1, size: posterSize(info, ladder.poster), quality: ladder.poster.quality, plan }));
const prepare: Timing = { wall: probe.wall + poster.wall, cpu: probe.cpu + poster.cpu };

const singleDir = path.join(work, 'single');
await rm(singleDir, { recursive: true, force: true });
const single = await timed('ffmpeg', buildLadderArgs({ input: source, outDir: singleDir, plan, ladder }));
console.log(`single process: ${f1(single.wall)} s wall, ${f1(single.cpu)} CPU-s`);

const chunksDir = path.join(work, 'chunks');
const staging = path.join(work, 'staging');
await rm(chunksDir, { recursive: true, force: true });
await rm(staging, { recursive: true, force: true });
await mkdir(chunksDir, { recursive: true });
const audio = await timed('ffmpeg', buildAudioArgs({ input: source, outDir: chunksDir, plan, ladder }));
const perChunk: Timing[] = [];
for (const chunk of chunks) {
  perChunk.push(await timed('ffmpeg', buildChunkArgs({ input: source, outDir: chunksDir, chunk, plan, ladder })));
  process.stdout.write(`  chunk ${chunk.index}: ${f1(perChunk.at(-1)!.wall)} s\n`);
}
const stitch = await timed('ffmpeg', buildStitchArgs({ chunksDir, outDir: staging, chunks, plan, ladder }), chunksDir);
const checkStart = process.hrtime.bigint();
const measured = [];
for (const r of plan.renditions) measured.push(await measureRendition(staging, r, plan));
await selfCheck({ dir: staging, renditions: measured, sourceSeconds: info.durationSeconds, ffprobe: 'ffprobe', signal: new AbortController().signal });
const check = Number(process.hrtime.bigint() - checkStart) / 1e9;

const chunkWall = perChunk.map((t) => t.wall);
const chunkCpu = sum(perChunk.map((t) => t.cpu));
console.log(`\nparts (wall / CPU seconds):`);
console.log(`  prepare (probe + poster)  ${f1(prepare.wall)} / ${f1(prepare.cpu)}`);
console.log(`  audio, whole source       ${f1(audio.wall)} / ${f1(audio.cpu)}`);
console.log(`  chunks, one after another ${f1(sum(chunkWall))} / ${f1(chunkCpu)}   (each ${chunkWall.map(f1).join(', ')})`);
console.log(`  copy pass (stitch)        ${f1(stitch.wall)} / ${f1(stitch.cpu)}`);
console.log(`  self-check (boundaries)   ${f1(check)} wall`);
console.log(`  single process            ${f1(single.wall)} / ${f1(single.cpu)}`);
const chunkedCpu = chunkCpu + audio.cpu + stitch.cpu;
const chunkedWall = sum(chunkWall) + audio.wall + stitch.wall;
console.log(`\n(a) overhead of chunking: CPU ${f1(chunkedCpu)} / ${f1(single.cpu)} = ${(chunkedCpu / single.cpu).toFixed(3)}x; wall ${f1(chunkedWall)} / ${f1(single.wall)} = ${(chunkedWall / single.wall).toFixed(3)}x   (target ≤ 1.05x)`);

/** Makespan on K pods: prepare, then audio and chunks on K workers, then the copy pass and the check. */
function table(label: string, tasks: number[], serial: { prepare: number; stitch: number; check: number }, singleWall: number) {
  console.log(`\n(b) ${label}: single pod ${f1(singleWall)} s`);
  console.log('    K   makespan   speed-up   per pod (speed-up / K)');
  for (const k of [1, 2, 4, 8, 16]) {
    const m = serial.prepare + makespan(tasks, k) + serial.stitch + serial.check;
    const speedup = (serial.prepare + singleWall + serial.check) / m;
    console.log(`   ${String(k).padStart(2)}   ${f1(m).padStart(8)} s ${speedup.toFixed(2).padStart(8)}x   ${(speedup / k).toFixed(2)}`);
  }
}
table(`this ${f1(info.durationSeconds)} s clip`, [audio.wall, ...chunkWall], { prepare: prepare.wall, stitch: stitch.wall, check }, single.wall);

// A 60-minute source made of this clip's measured parts: its full-length chunks repeated, the audio,
// the copy pass and the check scaled with the length, the single encode too; prepare as measured.
const full = chunkWall.filter((_, i) => !chunks[i]!.last);
const pool = full.length > 0 ? full : chunkWall;
const hourChunks = Math.ceil(3600 / chunkSeconds);
const scale = 3600 / info.durationSeconds;
const hour = Array.from({ length: hourChunks }, (_, i) => pool[i % pool.length]!);
table(`a 60-minute source (${hourChunks} chunks from the measured ones; audio, copy pass, check and single scaled ${f1(scale)}x)`, [audio.wall * scale, ...hour], { prepare: prepare.wall, stitch: stitch.wall * scale, check: check * scale }, single.wall * scale);
