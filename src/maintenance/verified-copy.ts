/**
 * A folder tree copied file by file, each copy read back and compared with its original by
 * SHA-256, so a package that reaches its new storage is known to be byte for byte the one it left.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export interface CopiedTree {
  files: number;
  bytes: number;
  /** SHA-256 over the sorted "relative path, file digest" lines: one value for the whole tree. */
  sha256: string;
}

/** Copies the regular files under `from` to `to` (which must not exist yet); throws when a copy differs from its original. */
export async function copyVerified(from: string, to: string): Promise<CopiedTree> {
  const lines: string[] = [];
  let bytes = 0;
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  await mkdir(to, { recursive: true });
  for (const e of entries.filter((x) => x.isFile())) {
    const rel = path.relative(from, path.join(e.parentPath, e.name));
    const target = path.join(to, rel);
    await mkdir(path.dirname(target), { recursive: true });
    const original = await sha256File(path.join(from, rel));
    await copyFile(path.join(from, rel), target);
    const copy = await sha256File(target);
    if (copy !== original) throw new Error(`${rel} differs from its original after copying (sha256 ${copy} ≠ ${original})`);
    lines.push(`${rel} ${original}`);
    bytes += (await stat(target)).size;
  }
  return { files: lines.length, bytes, sha256: createHash('sha256').update(lines.sort().join('\n')).digest('hex') };
}
