/**
 * The package checks itself before it is published (docs/adr/0004): every playlist parses and is a
 * complete VOD playlist, every segment exists, renditions cut their segments at the same instants,
 * sampled segments start on a keyframe at the same time in every rendition, the covered duration
 * matches the source, and at every segment boundary the video and audio run on seamlessly
 * (boundaries.ts). A package that fails is not published.
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RenditionResult } from '../src/contract.ts';
import { vcsError } from '../src/errors.ts';
import { boundaryProblems, parsePacketLines } from './boundaries.ts';
import { segmentCodecs } from './codecs.ts';
import type { EncodePlan, PlannedRendition } from './ladder.ts';
import { averageBitrate, parseMasterPlaylist, parseMediaPlaylist, peakBitrate, type MediaPlaylistInfo } from './playlist.ts';
import { runProcess, throwIfKilled } from './process.ts';

/** What measuring a rendition needs of its plan: a published package's manifest.json has it too. */
export type RenditionShape = Pick<PlannedRendition, 'name' | 'width' | 'height'>;

export interface MeasuredRendition {
  planned: RenditionShape;
  playlist: MediaPlaylistInfo;
  /** Size of each segment file, in playlist order. */
  segmentBytes: number[];
  result: RenditionResult;
}

/** How much of the source a package may miss before the upload counts as truncated. */
export const coverageTolerance = (sourceSeconds: number): number => Math.max(1, 0.02 * sourceSeconds);

/** The bytes at the start of a segment hold the PAT/PMT and the first PES of each stream. */
const CODEC_PROBE_BYTES = 512 * 1024;

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const fail = (message: string) => vcsError('VCS_ERR_SELF_CHECK_FAILED', `self-check: ${message}`);

/** Reads one rendition's playlist and segments: sizes, bit rates and codecs from the files. */
export async function measureRendition(dir: string, planned: RenditionShape, plan: Pick<EncodePlan, 'hasAudio' | 'frameRate'>): Promise<MeasuredRendition> {
  const folder = path.join(dir, planned.name);
  let playlist: MediaPlaylistInfo;
  try {
    playlist = parseMediaPlaylist(await readFile(path.join(folder, 'playlist.m3u8'), 'utf8'));
  } catch (err) {
    throw fail(`${planned.name}/playlist.m3u8 does not parse: ${(err as Error).message}`);
  }
  if (playlist.playlistType !== 'VOD' || !playlist.endlist) throw fail(`${planned.name}/playlist.m3u8 is not a complete VOD playlist`);
  if (playlist.segments.length === 0) throw fail(`${planned.name} has no segments`);
  const sized = [];
  for (const [i, seg] of playlist.segments.entries()) {
    const expected = `segment${String(i).padStart(3, '0')}.ts`;
    if (seg.uri !== expected) throw fail(`${planned.name} segment ${i} is named ${seg.uri}, expected ${expected}`);
    if (seg.duration > playlist.targetDuration + 0.5) throw fail(`${planned.name}/${seg.uri} lasts ${seg.duration} s, over the target duration`);
    let bytes: number;
    try {
      bytes = (await stat(path.join(folder, seg.uri))).size;
    } catch {
      throw fail(`${planned.name}/${seg.uri} is missing`);
    }
    if (bytes === 0) throw fail(`${planned.name}/${seg.uri} is empty`);
    sized.push({ duration: seg.duration, bytes });
  }
  const codecs = segmentCodecs(await readHead(path.join(folder, playlist.segments[0]!.uri), CODEC_PROBE_BYTES));
  if (!codecs.video) throw fail(`${planned.name} has no H.264 stream`);
  if (plan.hasAudio && !codecs.audio) throw fail(`${planned.name} has no AAC stream although the source has audio`);
  if (!plan.hasAudio && codecs.audio) throw fail(`${planned.name} has an audio stream although the source has none`);
  return {
    planned,
    playlist,
    segmentBytes: sized.map((x) => x.bytes),
    result: {
      name: planned.name,
      width: planned.width,
      height: planned.height,
      frameRate: plan.frameRate,
      bandwidth: peakBitrate(sized, playlist.targetDuration),
      averageBandwidth: averageBitrate(sized),
      codecs: [codecs.video, codecs.audio].filter(Boolean).join(','),
      segments: sized.length,
      bytes: sized.reduce((sum, s) => sum + s.bytes, 0),
    },
  };
}

/** Segment indexes to open with ffprobe: first, last and up to three evenly spaced between. */
export function sampleIndexes(count: number, samples = 5): number[] {
  if (count <= samples) return [...Array(count).keys()];
  const picks = new Set<number>();
  for (let k = 0; k < samples; k++) picks.add(Math.round((k * (count - 1)) / (samples - 1)));
  return [...picks].sort((a, b) => a - b);
}

interface FirstFrame {
  keyFrame: boolean;
  pictType: string;
  pts: number;
  width: number;
  height: number;
  pixFmt: string;
}

/**
 * ffprobe over one of our own segments. The demuxer is named rather than guessed: the last segment
 * of a still image can be two frames in about 1 KB, too little for the probe, which then takes it
 * for an MPEG program stream. Only the file protocol may be opened. Size and pixel format are read
 * from the decoded frame, not from the stream header: at 1 frame a second, ffprobe's stream analysis
 * can give up (its window is 5 s) before the first video packet arrives and report 0x0.
 */
export function segmentProbeArgs(file: string): string[] {
  return [
    '-v', 'error', '-protocol_whitelist', 'file', '-f', 'mpegts', '-format_whitelist', 'mpegts',
    '-select_streams', 'v:0', '-read_intervals', '%+#1',
    '-show_entries', 'frame=key_frame,pict_type,pts_time,width,height,pix_fmt',
    '-of', 'json', `file:${file}`,
  ];
}

async function firstVideoFrame(ffprobe: string, file: string, signal: AbortSignal): Promise<FirstFrame> {
  const res = await runProcess(ffprobe, segmentProbeArgs(file), { signal, collectStdout: true });
  throwIfKilled(ffprobe, res);
  const { code, stdout, stderr } = res;
  if (code !== 0) throw fail(`ffprobe cannot read ${path.basename(path.dirname(file))}/${path.basename(file)}: ${stderr.trim().slice(0, 200)}`);
  const json = JSON.parse(stdout) as {
    frames?: { key_frame?: number; pict_type?: string; pts_time?: string; width?: number; height?: number; pix_fmt?: string }[];
  };
  const frame = json.frames?.[0];
  if (!frame) throw fail(`${path.basename(file)} has no video frame`);
  return {
    keyFrame: frame.key_frame === 1,
    pictType: frame.pict_type ?? '?',
    pts: Number(frame.pts_time),
    width: frame.width ?? 0,
    height: frame.height ?? 0,
    pixFmt: frame.pix_fmt ?? '?',
  };
}

/** Runs `fn` over `items` with at most `limit` at once (ffprobe runs are short and I/O bound). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export interface SelfCheckInput {
  dir: string;
  renditions: MeasuredRendition[];
  sourceSeconds: number;
  ffprobe: string;
  signal: AbortSignal;
}

/** Checks alignment, keyframes, picture format, coverage and boundaries. Throws on the first problem. */
export async function selfCheck({ dir, renditions, sourceSeconds, ffprobe, signal }: SelfCheckInput): Promise<void> {
  const reference = renditions[0]!;
  const covered = reference.playlist.segments.reduce((sum, s) => sum + s.duration, 0);
  const shortfall = sourceSeconds - covered;
  if (shortfall > coverageTolerance(sourceSeconds)) {
    throw vcsError(
      'VCS_ERR_SOURCE_TRUNCATED',
      `source is truncated or corrupt: it claims ${sourceSeconds.toFixed(1)} s but only ${covered.toFixed(1)} s could be decoded`,
    );
  }
  if (covered - sourceSeconds > coverageTolerance(sourceSeconds)) {
    throw fail(`package lasts ${covered.toFixed(1)} s, longer than the ${sourceSeconds.toFixed(1)} s source`);
  }
  for (const r of renditions.slice(1)) {
    const a = reference.playlist.segments;
    const b = r.playlist.segments;
    if (a.length !== b.length || a.some((s, i) => Math.abs(s.duration - b[i]!.duration) > 0.002)) {
      throw fail(`${r.planned.name} segments are not aligned with ${reference.planned.name}`);
    }
  }
  const indexes = sampleIndexes(reference.playlist.segments.length);
  const probes = renditions.flatMap((r) => indexes.map((i) => ({ r, i })));
  const frames = await mapLimit(probes, 4, ({ r, i }) => firstVideoFrame(ffprobe, path.join(dir, r.planned.name, r.playlist.segments[i]!.uri), signal));
  const startOf = new Map<number, number>();
  probes.forEach(({ r, i }, k) => {
    const f = frames[k]!;
    const where = `${r.planned.name}/${r.playlist.segments[i]!.uri}`;
    if (!f.keyFrame || f.pictType !== 'I') throw fail(`${where} does not start with a keyframe`);
    if (f.width !== r.planned.width || f.height !== r.planned.height) throw fail(`${where} is ${f.width}x${f.height}, expected ${r.planned.width}x${r.planned.height}`);
    if (f.pixFmt !== 'yuv420p') throw fail(`${where} is ${f.pixFmt}, expected 8-bit 4:2:0 (yuv420p)`);
    const first = startOf.get(i);
    if (first === undefined) startOf.set(i, f.pts);
    else if (Math.abs(first - f.pts) > 0.001) throw fail(`${where} starts at ${f.pts} s, other renditions at ${first} s`);
  });
  for (const r of renditions) await boundaryCheck({ dir, rendition: r, sourceSeconds, ffprobe, signal });
}

/**
 * ffprobe over every packet of a rendition's segments joined end to end (the concat protocol, as a
 * player's demuxer reads them one after another), no decoding: run in the rendition's folder, so the
 * list names files only. Only our own files: the demuxer is named, only concat and file may open.
 */
export function renditionPacketArgs(segments: readonly string[]): string[] {
  return [
    '-v', 'error', '-protocol_whitelist', 'concat,file', '-f', 'mpegts', '-format_whitelist', 'mpegts',
    '-show_entries', 'packet=codec_type,pts_time,duration_time,pos,flags',
    '-of', 'compact=p=0', `concat:${segments.join('|')}`,
  ];
}

/** The boundary rules (boundaries.ts) over one rendition: keyframe starts, continuous video and audio, the source's length. */
export async function boundaryCheck({ dir, rendition, sourceSeconds, ffprobe, signal }: { dir: string; rendition: MeasuredRendition; sourceSeconds: number; ffprobe: string; signal: AbortSignal }): Promise<void> {
  const name = rendition.planned.name;
  const uris = rendition.playlist.segments.map((s) => s.uri);
  const res = await runProcess(ffprobe, renditionPacketArgs(uris), { signal, collectStdout: true, cwd: path.join(dir, name) });
  throwIfKilled(ffprobe, res);
  if (res.code !== 0) throw fail(`ffprobe cannot read the segments of ${name}: ${res.stderr.trim().slice(0, 200)}`);
  const problems = boundaryProblems({
    rendition: name,
    segments: uris.map((uri, i) => ({ uri, bytes: rendition.segmentBytes[i]! })),
    packets: parsePacketLines(res.stdout),
    frameRate: rendition.result.frameRate,
    sourceSeconds,
  });
  if (problems.length > 0) throw fail(problems[0]!);
}

/** The written master playlist parses and names exactly the renditions on disk. */
export async function checkMaster(dir: string, renditions: MeasuredRendition[]): Promise<void> {
  let variants;
  try {
    variants = parseMasterPlaylist(await readFile(path.join(dir, 'master.m3u8'), 'utf8'));
  } catch (err) {
    throw fail(`master.m3u8 does not parse: ${(err as Error).message}`);
  }
  const expected = renditions.map((r) => `${r.planned.name}/playlist.m3u8`);
  if (variants.map((v) => v.uri).join() !== expected.join()) throw fail(`master.m3u8 lists ${variants.map((v) => v.uri).join(', ')}`);
}

/**
 * FFmpeg decoding one of our own segments to nothing: every packet of every stream, errors only.
 * As in the probe, the demuxer is named and only the file protocol may be opened.
 */
export function segmentDecodeArgs(file: string): string[] {
  return ['-nostdin', '-v', 'error', '-protocol_whitelist', 'file', '-f', 'mpegts', '-format_whitelist', 'mpegts', '-i', `file:${file}`, '-map', '0', '-f', 'null', '-'];
}

/**
 * The deep check (`vcs maintenance verify --deep`): every segment of every rendition decodes without
 * a single complaint. A segment damaged after its first frame passes the sampled keyframe check
 * and the sizes; only decoding it finds the damage. Throws on the first segment that does not decode.
 */
export async function decodeCheck({ dir, renditions, ffmpeg, signal }: { dir: string; renditions: MeasuredRendition[]; ffmpeg: string; signal: AbortSignal }): Promise<void> {
  const segments = renditions.flatMap((r) => r.playlist.segments.map((s) => `${r.planned.name}/${s.uri}`));
  const complaints = await mapLimit(segments, 4, async (where) => {
    const res = await runProcess(ffmpeg, segmentDecodeArgs(path.join(dir, where)), { signal });
    throwIfKilled(ffmpeg, res);
    if (res.code === 0 && res.stderr.trim() === '') return null;
    return `${where} does not decode cleanly: ${res.stderr.trim().split('\n')[0]?.slice(0, 200) || `exit ${res.code}`}`;
  });
  const first = complaints.find((c) => c !== null);
  if (first) throw fail(first);
}
