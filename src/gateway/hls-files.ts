/**
 * The HLS files under /storage/hls/ (the plan’s "STATIC FILE SERVER", docs/adr/0015): the plan's Content-Type
 * and Cache-Control per extension, CORS for players on other origins (preflight included),
 * ETag/Last-Modified with 304, byte ranges (206/416) read from the range's first byte, gzip for
 * playlists, optional hotlink protection by Referer. No directory listings, no dotfiles or
 * dot-folders (staging and work folders), nothing whose real path leaves HLS_PATH: all 404.
 *
 * Parts: hls/file-lookup.ts (which file; fresh, shared lookups), hls/small-file-cache.ts
 * (playlists, posters, manifests in memory), hls/responses.ts (validators, ranges, bodies;
 * segments pumped from disk through one reused buffer).
 * koa-static/koa-send are not used: they send neither ETags nor 304s, cannot start a file at a
 * range's first byte (koa-range slices the stream from byte 0), and stat, open and read every
 * playlist request, which is where their time went (bench/gateway.ts).
 */
import type { Context, Middleware } from 'koa';
import { HLS_ROUTE } from '../jobs/urls.ts';
import { createFileLookup, openFile, requestedFile, type HlsExtension } from './hls/file-lookup.ts';
import { refererAllowed } from './hls/referer.ts';
import { createMemoryResponder, describe, fileKind, sendFromDisk, validatorsOf, type FileKind } from './hls/responses.ts';
import { createSmallFileCache, SMALL_FILE_MAX_BYTES } from './hls/small-file-cache.ts';

/** Content-Type and caching per file type (the plan’s "HTTP Headers Needed", docs/adr/0015). */
export const HLS_FILE_TYPES: Record<HlsExtension, FileKind> = {
  '.m3u8': fileKind('application/vnd.apple.mpegurl', 'public, max-age=3600', { inMemory: true, gzip: true }),
  '.ts': fileKind('video/mp2t', 'public, max-age=31536000, immutable', { inMemory: false, gzip: false }),
  '.jpg': fileKind('image/jpeg', 'public, max-age=31536000', { inMemory: true, gzip: false }),
  '.json': fileKind('application/json', 'no-cache', { inMemory: true, gzip: true }),
};

export interface HlsFilesOptions {
  /** HLS_PATH: the folder served under /storage/hls/. */
  root: string;
  /**
   * Hotlink protection (ALLOWED_REFERERS): hosts, optionally with `:port`, whose pages may embed
   * the files. A request with a Referer from any other host gets 403; one without a Referer
   * (players, apps, CDNs) is served. Defaults to [] (every site).
   */
  allowedReferers?: readonly string[];
  /** Memory for playlists, posters and manifests, in bytes; 0 reads them on every request. Defaults to 32 MiB. */
  cacheBytes?: number;
  /**
   * Told the video id whenever one of its playlists (the master, or a rendition's) is answered
   * from a file that exists (200, 206 or 304): the last-access record (access-recorder.ts).
   */
  onPlaylistServed?: (videoId: number) => void;
}

const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;
const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
/** Preflight answers may be reused for a day (browsers cap it lower: Chromium at 2 h). */
const PREFLIGHT_MAX_AGE_S = '86400';
const ROUTE_PREFIX = `${HLS_ROUTE}/`;

/** `options` may be HLS_PATH alone (no hotlink protection, default cache). */
export function hlsFiles(options: HlsFilesOptions | string): Middleware {
  const { root, allowedReferers, cacheBytes } = checkOptions(typeof options === 'string' ? { root: options } : options);
  const onPlaylistServed = typeof options === 'string' ? undefined : options.onPlaylistServed;
  const lookup = createFileLookup(root);
  const cache = createSmallFileCache(cacheBytes);
  const sendFromMemory = createMemoryResponder();

  async function serveFile(ctx: Context, relative: string, kind: FileKind): Promise<void> {
    const found = await lookup(relative);
    if (!found) return notFound(ctx);
    const watched = onPlaylistServed && playlistOf(relative);
    if (watched) onPlaylistServed(watched);
    // Only conditional requests need the validators before the body is chosen (ctx.fresh reads
    // them back from the response).
    if (ctx.get('If-None-Match') || ctx.get('If-Modified-Since')) {
      describe(ctx, kind, validatorsOf(found.stat));
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
    }
    if (kind.inMemory && found.stat.size <= SMALL_FILE_MAX_BYTES) {
      const file = await cache.read(found.realPath, found.stat, kind.gzip);
      return file ? sendFromMemory(ctx, file, kind) : notFound(ctx);
    }
    if (ctx.method === 'HEAD') return sendFromDisk(ctx, kind, found.stat, null);
    const handle = await openFile(found.realPath);
    if (!handle) return notFound(ctx);
    try {
      return await sendFromDisk(ctx, kind, await handle.stat(), handle);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  return async (ctx, next) => {
    if (!ctx.path.startsWith(ROUTE_PREFIX)) return next();
    if (ctx.method === 'OPTIONS') return preflight(ctx);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      return refuse(ctx, 405, 'VCS_ERR_METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on HLS files; use GET or HEAD`, { Allow: ALLOWED_METHODS });
    }
    if (!refererAllowed(ctx.get('Referer'), allowedReferers)) {
      return refuse(ctx, 403, 'VCS_ERR_FORBIDDEN', 'these files may not be embedded from that site');
    }
    const file = requestedFile(ctx.path.slice(ROUTE_PREFIX.length));
    if (!file) return notFound(ctx);
    await serveFile(ctx, file.relative, HLS_FILE_TYPES[file.extension]);
  };
}

/**
 * The video whose playlist `relative` is ({id}/master.m3u8, {id}/{rendition}/playlist.m3u8), or
 * null. Segments do not count: a playlist starts every play, and they are the hot path.
 */
function playlistOf(relative: string): number | null {
  const match = /^(\d+)\/(?:[^/]+\/)?[^/]+\.m3u8$/.exec(relative);
  const id = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

function checkOptions(o: HlsFilesOptions): { root: string; allowedReferers: ReadonlySet<string>; cacheBytes: number } {
  if (typeof o.root !== 'string' || o.root === '') throw new TypeError(`hlsFiles: "root" must be the HLS_PATH folder, got ${JSON.stringify(o.root)}`);
  const cacheBytes = o.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) throw new TypeError(`hlsFiles: "cacheBytes" must be a whole number of bytes ≥ 0, got ${o.cacheBytes}`);
  const hosts = o.allowedReferers ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string' || h === '')) {
    throw new TypeError(`hlsFiles: "allowedReferers" must be a list of host names such as ["example.com"], got ${JSON.stringify(o.allowedReferers)}`);
  }
  return { root: o.root, allowedReferers: new Set(hosts.map((h) => h.toLowerCase())), cacheBytes };
}

function preflight(ctx: Context): void {
  ctx.status = 204;
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
  // The files are public and no credentials are involved: any header a player adds (Range,
  // If-None-Match, its own) may be sent.
  const asked = ctx.get('Access-Control-Request-Headers');
  if (asked) {
    ctx.set('Access-Control-Allow-Headers', asked);
    ctx.vary('Access-Control-Request-Headers');
  }
  ctx.set('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_S);
}

/**
 * An error answer, readable by players on other origins and never cached (a package folder is
 * absent for a moment while it is swapped in; a CDN must not keep a 403 meant for another site).
 */
function refuse(ctx: Context, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  ctx.status = status;
  // A conditional request may have been described before its file vanished.
  ctx.remove('ETag');
  ctx.remove('Last-Modified');
  ctx.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store', ...headers });
  ctx.body = { error: { code, message } };
}

const notFound = (ctx: Context) => refuse(ctx, 404, 'VCS_ERR_NOT_FOUND', 'no such file');
