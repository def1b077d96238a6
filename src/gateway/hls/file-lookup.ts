/**
 * Finding the file behind an HLS request: the request path checked against an allow-list (pure),
 * then the file's real path and stat, which must stay inside the real path of HLS_PATH and outside
 * every dot-folder (the transcoder's `.vcs-work-*` staging, `.deleting-*`).
 *
 * Lookups are single-flight per path, and fresh: a request is answered by a lookup that started
 * after the request arrived, shared with every other request for that path that arrived meanwhile.
 * So a package swapped in by publish.ts is seen by the very next request, while thousands of
 * requests a second for one playlist cost a few hundred lookups (measured under wrk -c100: ~45
 * requests share each one).
 */
import type { Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Extensions served: the four kinds of file in a package (docs/adr/0004). */
export const HLS_EXTENSIONS = ['.m3u8', '.ts', '.jpg', '.json'] as const;
export type HlsExtension = (typeof HLS_EXTENSIONS)[number];

export interface RequestedFile {
  /** Path below HLS_PATH, '/'-separated, every part checked. */
  relative: string;
  extension: HlsExtension;
}

/**
 * Path parts after a single percent-decoding: letters, digits, `_`, `-` and dots, never first.
 * This refuses `.`/`..`, dotfiles, empty parts, `\`, NUL, and a second layer of encoding
 * (`%252e` decodes to `%2e`, and `%` is not allowed); a `/` decoded from `%2f` is refused before
 * the parts are joined.
 */
const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** The file a request path below the route names, or null for anything that is not a plain HLS file. */
export function requestedFile(pathBelowRoute: string): RequestedFile | null {
  let relative = pathBelowRoute;
  if (relative.includes('%')) {
    try {
      const parts = relative.split('/').map(decodeURIComponent);
      if (parts.some((p) => p.includes('/'))) return null;
      relative = parts.join('/');
    } catch {
      return null;
    }
  }
  if (!SAFE_PATH.test(relative)) return null;
  const extension = HLS_EXTENSIONS.find((e) => relative.endsWith(e));
  return extension ? { relative, extension } : null;
}

export interface FoundFile {
  /** Canonical path (symlinks resolved), inside the real HLS_PATH. */
  realPath: string;
  stat: Stats;
}

export type FileLookup = (relative: string) => Promise<FoundFile | null>;

/** Errors that mean "no such file here" rather than a broken server. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'ENAMETOOLONG']);

export function createFileLookup(root: string): FileLookup {
  // Resolved on first use and kept once found: HLS_PATH may be created after the gateway starts.
  let realRoot: string | undefined;

  async function resolve(relative: string): Promise<FoundFile | null> {
    try {
      realRoot ??= await realpath(root);
      const realPath = await realpath(path.join(realRoot, relative));
      const prefix = realRoot.endsWith(path.sep) ? realRoot.slice(0, -1) : realRoot;
      const inside = realPath.startsWith(prefix + path.sep) ? realPath.slice(prefix.length) : null;
      // A symlink may lead out of HLS_PATH or into a hidden work folder: both are "not here".
      if (inside === null || inside.includes(`${path.sep}.`)) return null;
      const info = await stat(realPath);
      return info.isFile() ? { realPath, stat: info } : null;
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
  }

  interface Flight {
    settled: Promise<void>;
    /** The lookup for requests that arrived while this one was under way. */
    next?: Promise<FoundFile | null>;
  }
  const flights = new Map<string, Flight>();

  function begin(relative: string): Promise<FoundFile | null> {
    const result = resolve(relative);
    const flight: Flight = { settled: result.then(noop, noop) };
    flights.set(relative, flight);
    // Runs before any `next` chained below (registered first), so a waiting batch keeps its slot.
    void flight.settled.then(() => {
      if (flights.get(relative) === flight && !flight.next) flights.delete(relative);
    });
    return result;
  }

  return (relative) => {
    const flight = flights.get(relative);
    if (!flight) return begin(relative);
    // The lookup under way started before this request arrived and may predate a publish: wait
    // for the next one, which every request arriving meanwhile shares.
    flight.next ??= flight.settled.then(() => begin(relative));
    return flight.next;
  };
}

const noop = () => undefined;

/** Opens a found file for reading; null if it is gone since (its package swapped out or removed). */
export async function openFile(realPath: string): Promise<FileHandle | null> {
  try {
    return await open(realPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
