/**
 * File maintenance: removing a published package, and sweeping stale temp files (downloads,
 * staging and work folders of runs that ended without cleaning up, e.g. after a power loss).
 */
import { lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Total bytes and newest modification time (ms) of a file or folder tree. */
export async function treeInfo(target: string): Promise<{ bytes: number; newest: number }> {
  const info = await lstat(target);
  if (!info.isDirectory()) return { bytes: info.size, newest: info.mtimeMs };
  let bytes = 0;
  let newest = info.mtimeMs;
  for (const e of await readdir(target, { recursive: true, withFileTypes: true })) {
    const s = await lstat(path.join(e.parentPath, e.name)).catch(() => null);
    if (!s) continue;
    if (s.isFile()) bytes += s.size;
    newest = Math.max(newest, s.mtimeMs);
  }
  return { bytes, newest };
}

/**
 * Removes HLS_PATH/{id}: renamed aside first (players see it gone at once, never half-deleted),
 * then deleted. Returns the bytes freed (0 when there was nothing).
 */
export async function removePackage(hlsPath: string, videoId: number): Promise<number> {
  const dir = path.join(hlsPath, String(videoId));
  const trash = path.join(hlsPath, `.deleting-${videoId}-${process.pid}-${Date.now()}`);
  try {
    await rename(dir, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const { bytes } = await treeInfo(trash);
  await rm(trash, { recursive: true, force: true });
  return bytes;
}

/** Entries the sweep may look at: TEMP_PATH/work/*, TEMP_PATH/runs/*, and hidden folders in HLS_PATH. */
async function candidates(tempPath: string, hlsPath: string): Promise<string[]> {
  const list = async (dir: string, keep: (name: string) => boolean = () => true) =>
    (await readdir(dir).catch(() => [] as string[])).filter(keep).map((n) => path.join(dir, n));
  return [
    ...(await list(path.join(tempPath, 'work'))),
    ...(await list(path.join(tempPath, 'runs'))),
    ...(await list(hlsPath, (n) => n.startsWith('.vcs-work-') || n.startsWith('.deleting-'))),
  ];
}

/**
 * Removes temp entries untouched for `olderThanMs` (judged by the newest file inside, so a long
 * encode that keeps writing segments is never swept) and not in `active`.
 */
export async function sweepTemp(opts: { tempPath: string; hlsPath: string; olderThanMs: number; now: number; active?: ReadonlySet<string> }): Promise<{ removed: string[]; bytesFreed: number }> {
  const removed: string[] = [];
  let bytesFreed = 0;
  for (const entry of await candidates(opts.tempPath, opts.hlsPath)) {
    const name = path.basename(entry).replace(/\.(run|result)\.json$/, '');
    if (opts.active?.has(name)) continue;
    const info = await treeInfo(entry).catch(() => null);
    if (!info || opts.now - info.newest < opts.olderThanMs) continue;
    await rm(entry, { recursive: true, force: true });
    removed.push(entry);
    bytesFreed += info.bytes;
  }
  return { removed, bytesFreed };
}

export async function exists(target: string): Promise<boolean> {
  return stat(target).then(() => true, () => false);
}
