/**
 * Playlists, posters and manifests kept in memory (bytes, and gzip for text), bounded in bytes,
 * least recently used out first. An entry is only used while a stat taken for the current request
 * still describes the same version of the file, so a replaced package is never served from here:
 * publish.ts renames a new folder in, whose files have new inodes.
 *
 * Why not key on the folder's inode, or watch HLS_PATH: a file stat is just as cheap once lookups
 * are shared (file-lookup.ts), it also catches a file changed in place, and inotify neither sees
 * renames made by a transcoder pod on another node of a shared (NFS) volume nor reports its own
 * queue overflows.
 */
import type { Stats } from 'node:fs';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import { openFile } from './file-lookup.ts';

/**
 * Largest file held in memory: playlists are a few KB (a 10-hour VOD playlist of 10-s segments
 * is ~200 KB) and posters 50–400 KB; larger files are streamed from disk.
 */
export const SMALL_FILE_MAX_BYTES = 1024 * 1024;

/** Map entry and Buffer headers, so thousands of tiny playlists still count against the bound. */
const ENTRY_OVERHEAD_BYTES = 512;

const gzipAsync = promisify(gzip);

export interface SmallFile {
  stat: Stats;
  bytes: Buffer;
  /** The bytes gzipped, when asked for and smaller. */
  gzip: Buffer | null;
}

export interface SmallFileCache {
  /**
   * The file as kept if `stat` (taken after the request arrived) still describes that version;
   * otherwise read (bytes and stat from one open file, so they always match), gzipped when
   * `compress`, and kept if it fits. Requests that share one lookup (the same `stat` object)
   * share one read. Null when the file is gone.
   */
  read(realPath: string, stat: Stats, compress: boolean): Promise<SmallFile | null>;
}

/**
 * Same path, same version: a publish brings new inodes, and a write moves mtime and ctime. (File
 * times advance by the kernel's clock tick, a few ms: a same-size rewrite in place within one tick
 * would look unchanged. Packages are never rewritten in place; they are published as new files.)
 */
export function sameVersion(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** `maxBytes` 0 keeps nothing (every request reads the file). */
export function createSmallFileCache(maxBytes: number): SmallFileCache {
  const kept =
    maxBytes > 0
      ? new LRUCache<string, SmallFile>({
          maxSize: maxBytes,
          maxEntrySize: Math.min(maxBytes, 2 * SMALL_FILE_MAX_BYTES + ENTRY_OVERHEAD_BYTES),
          sizeCalculation: (f) => f.bytes.length + (f.gzip?.length ?? 0) + ENTRY_OVERHEAD_BYTES,
        })
      : null;

  // Reads under way, by the lookup's stat: a batch of requests that shared a lookup reads once.
  const reading = new WeakMap<Stats, Promise<SmallFile | null>>();

  function keptVersion(realPath: string, stat: Stats): SmallFile | undefined {
    const file = kept?.get(realPath);
    if (!file) return undefined;
    if (sameVersion(file.stat, stat)) return file;
    kept?.delete(realPath);
    return undefined;
  }

  async function load(realPath: string, compress: boolean): Promise<SmallFile | null> {
    const handle = await openFile(realPath);
    if (!handle) return null;
    try {
      const stat = await handle.stat();
      const bytes = await handle.readFile();
      // Level 9: done once per version of a file, then served thousands of times.
      const packed = compress ? await gzipAsync(bytes, { level: constants.Z_BEST_COMPRESSION }) : null;
      const file: SmallFile = { stat, bytes, gzip: packed && packed.length < bytes.length ? packed : null };
      kept?.set(realPath, file);
      return file;
    } finally {
      await handle.close();
    }
  }

  return {
    read(realPath, stat, compress) {
      const file = keptVersion(realPath, stat);
      if (file) return Promise.resolve(file);
      let pending = reading.get(stat);
      if (!pending) {
        pending = load(realPath, compress);
        reading.set(stat, pending);
      }
      return pending;
    },
  };
}
