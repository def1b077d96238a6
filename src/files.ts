/**
 * Sizes of files and folder trees on the storage volume, for everything that reports or frees
 * space: the transcoder's package size, health's disk use, the cleanup's freed bytes. Symbolic
 * links are counted as links, never followed.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Total bytes of the regular files in a file or folder tree and its newest modification time (ms). Throws when `target` does not exist. */
export async function treeInfo(target: string): Promise<{ bytes: number; newest: number }> {
  const info = await lstat(target);
  if (!info.isDirectory()) return { bytes: info.size, newest: info.mtimeMs };
  let bytes = 0;
  let newest = info.mtimeMs;
  for (const e of await readdir(target, { recursive: true, withFileTypes: true })) {
    // An entry removed since the listing (a cleanup, a publish) no longer counts.
    const s = await lstat(path.join(e.parentPath, e.name)).catch(() => null);
    if (!s) continue;
    if (s.isFile()) bytes += s.size;
    newest = Math.max(newest, s.mtimeMs);
  }
  return { bytes, newest };
}

/** Bytes of the regular files under `dir`; 0 when it does not exist. */
export async function folderBytes(dir: string): Promise<number> {
  return (await treeInfo(dir).catch(() => ({ bytes: 0 }))).bytes;
}
