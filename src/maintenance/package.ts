/**
 * A published package as the maintenance commands see it: the renditions its manifest.json
 * recorded (name, size, frame rate, codecs, bytes) and the source duration, measured again from
 * the files on disk with the transcoder's own self-check (transcoder/self-check.ts), so a package
 * is judged by exactly the rules it was published under.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { RENDITION_NAMES, type RenditionName, type RenditionResult } from '../contract.ts';
import { measureRendition, type MeasuredRendition } from '../../transcoder/self-check.ts';

export interface PackageFacts {
  renditions: Pick<RenditionResult, 'name' | 'width' | 'height' | 'frameRate' | 'codecs' | 'segments' | 'bytes'>[];
  durationSeconds: number;
  hasAudio: boolean;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** What a manifest says about its package; throws with the reason when it cannot be read or lacks a field. */
export async function readManifest(dir: string): Promise<PackageFacts> {
  let value: { renditions?: unknown; durationSeconds?: unknown };
  try {
    value = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as typeof value;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'manifest.json is missing' : `manifest.json cannot be read: ${code ?? (err as Error).message}`);
  }
  const renditions = Array.isArray(value.renditions) ? (value.renditions as Record<string, unknown>[]) : [];
  const complete = renditions.every(
    (r) =>
      RENDITION_NAMES.includes(r.name as RenditionName) &&
      isCount(r.width) && isCount(r.height) && isCount(r.segments) && isCount(r.bytes) &&
      typeof r.frameRate === 'number' && typeof r.codecs === 'string',
  );
  if (renditions.length === 0 || !complete || typeof value.durationSeconds !== 'number') throw new Error('manifest.json does not describe the renditions and the duration');
  const facts = renditions as unknown as PackageFacts['renditions'];
  return { renditions: facts, durationSeconds: value.durationSeconds, hasAudio: facts.some((r) => r.codecs.includes('mp4a.')) };
}

/** Whether `file` exists (any kind). */
export const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

/** Every rendition of the package, measured from its playlist and segment files (throws the self-check's reason). */
export async function measurePackage(dir: string, facts: PackageFacts): Promise<MeasuredRendition[]> {
  const measured: MeasuredRendition[] = [];
  for (const r of facts.renditions) measured.push(await measureRendition(dir, r, { hasAudio: facts.hasAudio, frameRate: r.frameRate }));
  return measured;
}
