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
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, size: { type: 'string', default: '1920x1080' }, chunk: { type: 'string', default: '60' }, from: { type: 'string' } } });
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

interface Measured {
  clip: { seconds: number; width: number; height: number; frameRate: number; preset: string; renditions: number };
  chunkSeconds: number;
  /** Per chunk: its wall/CPU seconds and whether it is the last (shorter) one. */
  chunks: (Timing & { last: boolean })[];
  probe: Timing;
  poster: Timing;
  audio: Timing;
  stitch: Timing;
  /** Wall seconds of the measuring and self-check (one ffprobe per rendition, sampled decodes). */
  check: number;
  single: Timing;
  measuredAt: string;
}

async function measure(): Promise<Measured> {
  await mkdir(work, { recursive: true });
  await makeSource();
  const settings = loadConfig({ STORAGE_PATH: work });
  const ladder = ladderFromSettings(settings);
  const probeOut = await exec('ffprobe', probeArgs(source), { maxBuffer: 1 << 20 });
  const info = interpretProbe(JSON.parse(probeOut.stdout));
  const plan = planEncode(info, ladder, { interlaced: false });
  const chunks = planChunks(info.durationSeconds, chunkSeconds, ladder.segmentSeconds, 0);
  console.log(`${f1(info.durationSeconds)} s of ${info.width}x${info.height} at ${info.frameRate} fps, preset ${ladder.preset}, ${chunks.length} chunks of ${chunkSeconds} s, ${plan.renditions.length} renditions`);

  // The prepare phase besides the download (a local source here): probe, poster, audio.
  const probe = await timed('ffprobe', probeArgs(source));
  const poster = await timed('ffmpeg', buildPosterArgs({ input: source, output: path.join(work, 'poster.jpg'), atSeconds: info.durationSeconds * 0.1, size: posterSize(info, ladder.poster), quality: ladder.poster.quality, plan }));

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
  const perChunk: Measured['chunks'] = [];
  for (const chunk of chunks) {
    perChunk.push({ ...(await timed('ffmpeg', buildChunkArgs({ input: source, outDir: chunksDir, chunk, plan, ladder }))), last: chunk.last });
    process.stdout.write(`  chunk ${chunk.index}: ${f1(perChunk.at(-1)!.wall)} s\n`);
  }
  const stitch = await timed('ffmpeg', buildStitchArgs({ chunksDir, outDir: staging, chunks, plan, ladder }), chunksDir);
  const checkStart = process.hrtime.bigint();
  const measured = [];
  for (const r of plan.renditions) measured.push(await measureRendition(staging, r, plan));
  await selfCheck({ dir: staging, renditions: measured, sourceSeconds: info.durationSeconds, ffprobe: 'ffprobe', signal: new AbortController().signal });
  const check = Number(process.hrtime.bigint() - checkStart) / 1e9;
  return {
    clip: { seconds: info.durationSeconds, width: info.width, height: info.height, frameRate: info.frameRate, preset: ladder.preset, renditions: plan.renditions.length },
    chunkSeconds,
    chunks: perChunk,
    probe,
    poster,
    audio,
    stitch,
    check,
    single,
    measuredAt: new Date().toISOString(),
  };
}

let m: Measured;
if (values.from) {
  m = JSON.parse(await readFile(values.from, 'utf8')) as Measured;
  console.log(`figures of ${values.from} (measured ${m.measuredAt}): ${f1(m.clip.seconds)} s of ${m.clip.width}x${m.clip.height} at ${m.clip.frameRate} fps, preset ${m.clip.preset}, ${m.chunks.length} chunks of ${m.chunkSeconds} s`);
} else {
  m = await measure();
  const kept = path.join(root, 'bench/out', `chunked-${values.size}-${seconds}s-${chunkSeconds}.json`);
  await writeFile(kept, `${JSON.stringify(m, null, 2)}\n`);
  console.log(`measurements kept in ${path.relative(root, kept)}`);
}

const chunkWall = m.chunks.map((t) => t.wall);
const chunkCpu = sum(m.chunks.map((t) => t.cpu));
const prepare: Timing = { wall: m.probe.wall + m.poster.wall + m.audio.wall, cpu: m.probe.cpu + m.poster.cpu + m.audio.cpu };
const assemble = { wall: m.stitch.wall + m.check, cpu: m.stitch.cpu + m.check };
console.log(`\nparts (wall / CPU seconds):`);
console.log(`  probe + poster            ${f1(m.probe.wall + m.poster.wall)} / ${f1(m.probe.cpu + m.poster.cpu)}`);
console.log(`  audio, whole source       ${f1(m.audio.wall)} / ${f1(m.audio.cpu)}`);
console.log(`  chunks, one after another ${f1(sum(chunkWall))} / ${f1(chunkCpu)}   (each ${chunkWall.map(f1).join(', ')})`);
console.log(`  copy pass (stitch)        ${f1(m.stitch.wall)} / ${f1(m.stitch.cpu)}`);
console.log(`  self-check (boundaries)   ${f1(m.check)} wall`);
console.log(`  single process            ${f1(m.single.wall)} / ${f1(m.single.cpu)}`);
const chunkedCpu = chunkCpu + m.audio.cpu + m.stitch.cpu;
const chunkedWall = sum(chunkWall) + m.audio.wall + m.stitch.wall;
console.log(`\n(a) overhead of chunking: CPU ${f1(chunkedCpu)} / ${f1(m.single.cpu)} = ${(chunkedCpu / m.single.cpu).toFixed(3)}x; wall ${f1(chunkedWall)} / ${f1(m.single.wall)} = ${(chunkedWall / m.single.wall).toFixed(3)}x   (target ≤ 1.05x)`);
const phasesCpu = prepare.cpu + chunkCpu + assemble.cpu;
const singleRunCpu = m.probe.cpu + m.poster.cpu + m.single.cpu + m.check;
console.log(`    the three phases (prepare + chunks + assemble) ${f1(phasesCpu)} CPU-s over the single encode alone ${f1(m.single.cpu)}: ${(phasesCpu / m.single.cpu).toFixed(3)}x; over a single run with the same probe, poster and check ${f1(singleRunCpu)}: ${(phasesCpu / singleRunCpu).toFixed(3)}x`);

/** Makespan on K pods: the prepare Job, the chunks on K pods, the assemble Job. */
function table(label: string, tasks: number[], serial: { prepare: number; assemble: number }, singleRun: number) {
  console.log(`\n(b) ${label}: single pod ${f1(singleRun)} s`);
  console.log('    K   makespan   speed-up   per pod (speed-up / K)');
  for (const k of [1, 2, 4, 8, 16]) {
    const span = serial.prepare + makespan(tasks, k) + serial.assemble;
    const speedup = singleRun / span;
    console.log(`   ${String(k).padStart(2)}   ${f1(span).padStart(8)} s ${speedup.toFixed(2).padStart(8)}x   ${(speedup / k).toFixed(2)}`);
  }
}
const probePoster = m.probe.wall + m.poster.wall;
table(`this ${f1(m.clip.seconds)} s clip, from wall times`, chunkWall, { prepare: prepare.wall, assemble: assemble.wall }, probePoster + m.single.wall + m.check);

// A 60-minute source made of this clip's measured parts: its full-length chunks repeated, the audio,
// the copy pass and the check scaled with the length, the single encode too; probe and poster as measured.
const full = m.chunks.filter((c) => !c.last).map((c) => c.wall);
const pool = full.length > 0 ? full : chunkWall;
const hourChunks = Math.ceil(3600 / m.chunkSeconds);
const scale = 3600 / m.clip.seconds;
const hour = Array.from({ length: hourChunks }, (_, i) => pool[i % pool.length]!);
table(
  `a 60-minute source, from wall times (${hourChunks} chunks from the measured ones; audio, copy pass, check and single scaled ${f1(scale)}x)`,
  hour,
  { prepare: probePoster + m.audio.wall * scale, assemble: (m.stitch.wall + m.check) * scale },
  probePoster + (m.single.wall + m.check) * scale,
);

// The same from CPU seconds: on a shared machine wall times depend on what else ran meanwhile, CPU
// seconds much less. A chunk is x264 like the single encode, so its wall time on a pod of its own
// is its CPU seconds over the cores the single encode kept busy (its CPU over its wall); the audio
// encoder uses one core (its CPU seconds); the copy pass and the check read and write (as measured).
const cores = m.single.cpu / m.single.wall;
const chunkByCpu = m.chunks.filter((c) => !c.last).map((c) => c.cpu / cores);
const poolByCpu = chunkByCpu.length > 0 ? chunkByCpu : m.chunks.map((c) => c.cpu / cores);
console.log(`\nfrom CPU seconds (chunks and single at the ${cores.toFixed(2)} cores the single encode kept busy):`);
table(
  'a 60-minute source, from CPU seconds',
  Array.from({ length: hourChunks }, (_, i) => poolByCpu[i % poolByCpu.length]!),
  { prepare: m.probe.cpu + m.poster.cpu + m.audio.cpu * scale, assemble: (m.stitch.wall + m.check) * scale },
  m.probe.cpu + m.poster.cpu + (m.single.cpu / cores + m.check) * scale,
);
