/**
 * bench/transcode: a generated 60-second 1080p30 clip encoded three ways in one run —
 *   pipeline: `vcs transcode` (probe, poster, one-decode ladder, measured master, self-check, publish)
 *   single:   the bare one-decode ladder FFmpeg command the pipeline runs (same arguments)
 *   three:    the naive design, three sequential FFmpeg runs (one per rendition)
 * Runs are interleaved (pipeline, single, three, pipeline, …) so machine noise hits all three.
 * Prints wall times, medians and ratios. Usage: npm run bench:transcode [-- --rounds 2 --seconds 60]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { ladderFromSettings } from '../src/contract.ts';
import { loadConfig } from '../src/config.ts';
import { buildLadderArgs } from '../transcoder/ffmpeg-args.ts';
import { planEncode } from '../transcoder/ladder.ts';
import { hardenedInput } from '../transcoder/probe.ts';
import { BUILT_VCS } from './built.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' }, seconds: { type: 'string', default: '60' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const work = path.join(root, 'bench/out');
const source = path.join(work, `src-1080p30-${seconds}s.mp4`);

function time(cmd: string, args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function makeSource(): Promise<void> {
  if (existsSync(source)) return;
  console.log(`generating ${source} …`);
  // A synthetic "camera" clip: moving pattern plus film grain, so the encoder has real work.
  await run('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${seconds}`,
    '-vf', 'noise=c0s=8:c0f=t+u', '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', source,
  ]);
}

const settings = loadConfig({ STORAGE_PATH: work });
const ladder = ladderFromSettings(settings);
const plan = planEncode(
  { durationSeconds: seconds, width: 1920, height: 1080, rotation: 0, frameRate: 30, videoCodec: 'h264', pixelFormat: 'yuv420p', hdr: false, fieldOrder: 'progressive', audio: { codec: 'aac', channels: 2 }, container: 'mov', streamEnds: { video: seconds, audio: seconds } },
  ladder,
  { interlaced: false },
);

const designs: Record<string, () => Promise<number>> = {
  pipeline: async () => {
    const out = path.join(work, 'pipeline');
    await rm(out, { recursive: true, force: true });
    return time(process.execPath, [BUILT_VCS, 'transcode', '--source', source, '--output', out]);
  },
  single: async () => {
    const out = path.join(work, 'single');
    await rm(out, { recursive: true, force: true });
    return time('ffmpeg', buildLadderArgs({ input: source, outDir: out, plan, ladder }).filter((a, i, all) => a !== '-progress' && all[i - 1] !== '-progress'));
  },
  three: async () => {
    let total = 0;
    for (const r of plan.renditions) {
      const out = path.join(work, 'three', r.name);
      await rm(out, { recursive: true, force: true });
      await mkdir(out, { recursive: true });
      total += await time('ffmpeg', [
        '-nostdin', '-loglevel', 'error', '-y', ...hardenedInput(source), '-map', '0:v:0', '-map', '0:a:0',
        '-vf', `scale=${r.width}:${r.height}`, '-c:v', 'libx264', '-preset', ladder.preset, '-profile:v', 'high', '-pix_fmt', 'yuv420p',
        '-crf', String(r.crf), '-maxrate', `${r.maxBitrate / 1000}k`, '-bufsize', `${r.bufferBits / 1000}k`,
        '-force_key_frames', `expr:gte(t,n_forced*${ladder.keyframeSeconds})`, '-c:a', 'aac', '-b:a', `${ladder.audioBitrate / 1000}k`, '-ac', '2',
        '-f', 'hls', '-hls_time', String(ladder.segmentSeconds), '-hls_playlist_type', 'vod', '-hls_flags', 'independent_segments',
        '-hls_segment_filename', `${out}/segment%03d.ts`, `${out}/playlist.m3u8`,
      ]);
    }
    return total;
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

await mkdir(work, { recursive: true });
await makeSource();
const results: Record<string, number[]> = { pipeline: [], single: [], three: [] };
for (let round = 1; round <= rounds; round++) {
  for (const [name, fn] of Object.entries(designs)) {
    const t = await fn();
    results[name]!.push(t);
    console.log(`round ${round} ${name.padEnd(8)} ${t.toFixed(1)} s`);
  }
}
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) as Record<string, number>;
console.log(`\n${seconds} s of 1080p30, preset ${ladder.preset}, ${rounds} round(s), medians:`);
console.log(`  pipeline (vcs transcode)      ${m.pipeline!.toFixed(1)} s  (${(seconds / m.pipeline!).toFixed(2)}x realtime)`);
console.log(`  single ffmpeg ladder command  ${m.single!.toFixed(1)} s`);
console.log(`  three sequential ffmpeg runs  ${m.three!.toFixed(1)} s`);
console.log(`  pipeline / single = ${(m.pipeline! / m.single!).toFixed(3)}   (target ≤ 1.10)`);
console.log(`  three / single    = ${(m.three! / m.single!).toFixed(3)}`);
console.log(`  three / pipeline  = ${(m.three! / m.pipeline!).toFixed(3)}`);
