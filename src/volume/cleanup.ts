/**
 * Freeing space on the volume: removing a published package, removing the work folders of runs
 * that no longer run, and sweeping stale temp files (what a run left behind when it could not
 * clean up, e.g. after a power loss or an OOM kill of the whole process group).
 */
import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { treeInfo } from '../files.ts';
import { HIDDEN_WORK_PREFIXES, packageDir, runsDir, videoLogsDir, workRoot, type VolumePaths } from './layout.ts';

/**
 * Removes HLS_PATH/{id}: renamed aside first (players see it gone at once, never half-deleted),
 * then deleted. Returns the bytes freed (0 when there was nothing).
 */
export async function removePackage(hlsPath: string, videoId: number): Promise<number> {
  const trash = path.join(hlsPath, `.deleting-${videoId}-${process.pid}-${Date.now()}`);
  try {
    await rename(packageDir(hlsPath, videoId), trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const { bytes } = await treeInfo(trash);
  await rm(trash, { recursive: true, force: true });
  return bytes;
}

/** Removes the runs' own logs of a video (with its files); the bytes freed. */
export async function removeRunLogs(tempPath: string, videoId: number): Promise<number> {
  const dir = videoLogsDir(tempPath, videoId);
  const info = await treeInfo(dir).catch(() => null);
  if (!info) return 0;
  await rm(dir, { recursive: true, force: true });
  return info.bytes;
}

const list = async (dir: string, keep: (name: string) => boolean = () => true): Promise<string[]> =>
  (await readdir(dir).catch(() => [] as string[])).filter(keep).map((n) => path.join(dir, n));

/** The job name an entry of the temp folders belongs to (work folder or run record). */
const ownerOf = (entry: string): string => path.basename(entry).replace(/\.(run|result)\.json$/, '');

/**
 * Removes each entry; one that cannot be removed (a file a still-running process holds open on a
 * network filesystem, permissions) is reported in `failed` and does not stop the others.
 */
async function removeAll(entries: string[]): Promise<{ removed: string[]; bytesFreed: number; failed: string[] }> {
  const removed: string[] = [];
  const failed: string[] = [];
  let bytesFreed = 0;
  for (const entry of entries) {
    const info = await treeInfo(entry).catch(() => null);
    if (!info) continue;
    try {
      await rm(entry, { recursive: true, force: true });
    } catch {
      failed.push(entry);
      continue;
    }
    removed.push(entry);
    bytesFreed += info.bytes;
  }
  return { removed, bytesFreed, failed };
}

/**
 * Removes every work folder under TEMP_PATH/work whose run is not in `live` (the job names of
 * runs that are still running), whatever its age: at start-up, after the runs of a previous
 * process are settled, a work folder nobody owns is a lost run's download and staging.
 */
export async function removeOrphanWork(tempPath: string, live: ReadonlySet<string>): Promise<{ removed: string[]; bytesFreed: number; failed: string[] }> {
  return removeAll(await list(workRoot(tempPath), (name) => !live.has(name)));
}

/** Removes one run's work folder (a lost run's, which could not clean up itself); throws when it cannot. */
export async function removeWorkFolder(dir: string): Promise<number> {
  const { bytesFreed, failed } = await removeAll([dir]);
  if (failed.length) throw new Error(`cannot remove the work folder ${dir}`);
  return bytesFreed;
}

/**
 * Removes temp entries untouched for `olderThanMs` (judged by the newest file inside, so a long
 * encode that keeps writing segments is never swept) and not in `active`: TEMP_PATH/work/*,
 * TEMP_PATH/runs/*, and the hidden work folders in HLS_PATH.
 */
export async function sweepTemp(
  opts: VolumePaths & { olderThanMs: number; now: number; active?: ReadonlySet<string>; dryRun?: boolean },
): Promise<{ removed: string[]; bytesFreed: number; failed: string[] }> {
  const entries = [
    ...(await list(workRoot(opts.tempPath))),
    ...(await list(runsDir(opts.tempPath))),
    ...(await list(opts.hlsPath, (n) => HIDDEN_WORK_PREFIXES.some((p) => n.startsWith(p)))),
  ];
  const stale: string[] = [];
  for (const entry of entries) {
    if (opts.active?.has(ownerOf(entry))) continue;
    const info = await treeInfo(entry).catch(() => null);
    if (info && opts.now - info.newest >= opts.olderThanMs) stale.push(entry);
  }
  if (opts.dryRun) {
    const sizes = await Promise.all(stale.map((e) => treeInfo(e).then((i) => i.bytes, () => 0)));
    return { removed: stale, bytesFreed: sizes.reduce((a, b) => a + b, 0), failed: [] };
  }
  return removeAll(stale);
}
