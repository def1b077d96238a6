/**
 * The HLS folder bench/gateway serves: one real package made by `vcs transcode` from a generated
 * 12-second 720p clip, and the segment to load-test, 3–4 MB like a 10-s 1080p segment at ~3 Mbit/s.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeClip } from '../../test/support/media.ts';
import { BUILT_VCS } from '../built.ts';

const run = promisify(execFile);

export const BIG_SEGMENT_MIN_BYTES = 3 * 1024 * 1024;
const BIG_SEGMENT_MAX_BYTES = 4.5 * 1024 * 1024;
/** MPEG-TS packet size: a file made of whole packets is still a valid transport stream. */
const TS_PACKET_BYTES = 188;

export async function makePackage(work: string, packageDir: string): Promise<void> {
  const clip = await makeClip(path.join(work, 'clip.mp4'), { width: 1280, height: 720, seconds: 12, audio: 2 });
  await run(process.execPath, [BUILT_VCS, 'transcode', '--source', clip, '--output', packageDir, '--id', '101'], { maxBuffer: 16 << 20 });
}

/**
 * The package's path (below the HLS folder) of a 3–4.5 MB segment: its largest if that is in
 * range, otherwise `high/segment900.ts` written from the largest one's packets repeated to 3.5 MB.
 */
export async function bigSegment(packageDir: string): Promise<{ relative: string; bytes: number }> {
  const segments: { relative: string; bytes: number }[] = [];
  for (const entry of await readdir(packageDir, { recursive: true })) {
    if (entry.endsWith('.ts')) segments.push({ relative: entry, bytes: (await stat(path.join(packageDir, entry))).size });
  }
  const largest = segments.sort((a, b) => b.bytes - a.bytes)[0];
  if (!largest) throw new Error(`no .ts segment in ${packageDir}`);
  if (largest.bytes >= BIG_SEGMENT_MIN_BYTES && largest.bytes <= BIG_SEGMENT_MAX_BYTES) return largest;
  const source = await readFile(path.join(packageDir, largest.relative));
  const packets = Math.floor(source.length / TS_PACKET_BYTES);
  const target = Math.floor((3.5 * 1024 * 1024) / TS_PACKET_BYTES);
  const out = Buffer.alloc(target * TS_PACKET_BYTES);
  for (let i = 0; i < target; i++) source.copy(out, i * TS_PACKET_BYTES, (i % packets) * TS_PACKET_BYTES, ((i % packets) + 1) * TS_PACKET_BYTES);
  const relative = path.join(path.dirname(largest.relative), 'segment900.ts');
  await writeFile(path.join(packageDir, relative), out);
  return { relative, bytes: out.length };
}
