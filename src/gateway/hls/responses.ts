/**
 * Answering with one HLS file: validators (ETag, Last-Modified), byte ranges (RFC 9110 §14), and
 * the bytes from memory or from disk. Headers always describe the bytes sent: each body goes out
 * with the validators of its own stat, which may be newer than the lookup's if a package was
 * published in between.
 */
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Context } from 'koa';
import parseRange from 'range-parser';
import { BODY_BYTES_STATE } from '../../metrics/http.ts';
import type { SmallFile } from './small-file-cache.ts';

export interface FileKind {
  type: string;
  cache: string;
  /** Small and read often (every player start): kept in memory. */
  inMemory: boolean;
  /** Text worth gzipping. */
  gzip: boolean;
  /** The headers every answer with this kind of file carries (Content-Type, Cache-Control, CORS …). */
  headers: Readonly<Record<string, string>>;
}

/** hls.js and Shaka read these from cross-origin answers (Content-Length is safelisted only in newer browsers). */
const EXPOSED_HEADERS = 'Content-Length, Content-Range, Accept-Ranges, ETag';
/**
 * Bytes per read and write of a segment, and the buffer each download holds. Measured per 3.7-MB
 * segment: 64 KB cost twice the CPU of 256 KB; 1 MB served no more segments a second and holds
 * 4× the memory per download.
 */
const STREAM_CHUNK_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export function fileKind(type: string, cache: string, o: { inMemory: boolean; gzip: boolean }): FileKind {
  const headers: Record<string, string> = {
    'Content-Type': type,
    'Cache-Control': cache,
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    'Accept-Ranges': 'bytes',
  };
  if (o.gzip) headers.Vary = 'Accept-Encoding';
  return { type, cache, ...o, headers };
}

export interface Validators {
  etag: string;
  lastModified: string;
}

/** Inode, size and modification time (µs): a republished file (new inode) never shares a tag with the old one. */
export function validatorsOf(stat: Stats): Validators {
  return {
    etag: `"${stat.ino.toString(16)}-${stat.size.toString(16)}-${Math.floor(stat.mtimeMs * 1000).toString(16)}"`,
    lastModified: stat.mtime.toUTCString(),
  };
}

/** Koa's way: the kind's headers and the validators, status 200 (so ctx.fresh can judge). */
export function describe(ctx: Context, kind: FileKind, v: Validators): void {
  ctx.set(kind.headers);
  ctx.set('ETag', v.etag);
  ctx.set('Last-Modified', v.lastModified);
  ctx.status = 200;
}

type Span = { start: number; end: number };

/** The one byte range to send, 'unsatisfiable' (416), or null for the whole file. Needs describe() first. */
function rangeOf(ctx: Context, size: number): Span | 'unsatisfiable' | null {
  const header = ctx.get('Range');
  if (!header) return null;
  // If-Range: the range only applies to the version the client already has part of.
  const ifRange = ctx.get('If-Range');
  if (ifRange) {
    const matches = ifRange.startsWith('"') ? ifRange === ctx.response.get('ETag') : Date.parse(ifRange) >= Date.parse(ctx.response.get('Last-Modified') as string);
    if (!matches) return null;
  }
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  // Malformed, another unit, or several ranges: RFC 9110 §14.2 lets a server send the whole file.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null;
  return ranges[0] ?? null;
}

function unsatisfiable(ctx: Context, size: number): void {
  ctx.status = 416;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Range', `bytes */${size}`);
  ctx.remove('ETag');
  ctx.remove('Last-Modified');
  ctx.body = { error: { code: 'VCS_ERR_BAD_REQUEST', message: `range not satisfiable: the file has ${size} bytes` } };
}

function partial(ctx: Context, span: Span, size: number): void {
  ctx.status = 206;
  ctx.set('Content-Range', `bytes ${span.start}-${span.end}/${size}`);
}

/**
 * Whole answers from memory (the playlist hot path) are written with one `writeHead` of
 * prepared headers, bypassing Koa's response (`ctx.respond = false`, its documented escape
 * hatch): Koa sets headers one by one, which measured ~20 µs more per request, a quarter of
 * a playlist request's CPU (bench/gateway.ts). Everything else goes through Koa.
 */
export function createMemoryResponder(): (ctx: Context, file: SmallFile, kind: FileKind) => void {
  const prepared = new WeakMap<SmallFile, { plain: string[]; gzip: string[] | null }>();

  function headersOf(file: SmallFile, kind: FileKind) {
    let p = prepared.get(file);
    if (!p) {
      const v = validatorsOf(file.stat);
      const common = [...Object.entries(kind.headers).flat(), 'Last-Modified', v.lastModified];
      p = {
        plain: [...common, 'ETag', v.etag, 'Content-Length', String(file.bytes.length)],
        // Another representation of the same version: a weak tag, as nginx does when it compresses.
        gzip: file.gzip ? [...common, 'ETag', `W/${v.etag}`, 'Content-Encoding', 'gzip', 'Content-Length', String(file.gzip.length)] : null,
      };
      prepared.set(file, p);
    }
    return p;
  }

  return (ctx, file, kind) => {
    if (ctx.get('Range')) {
      describe(ctx, kind, validatorsOf(file.stat));
      const span = rangeOf(ctx, file.bytes.length);
      if (span === 'unsatisfiable') return unsatisfiable(ctx, file.bytes.length);
      if (span) partial(ctx, span, file.bytes.length);
      ctx.body = span ? file.bytes.subarray(span.start, span.end + 1) : file.bytes;
      return;
    }
    const headers = headersOf(file, kind);
    const gzip = headers.gzip && ctx.get('Accept-Encoding') && ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
    ctx.status = 200;
    ctx.respond = false;
    const body = ctx.method === 'HEAD' ? undefined : gzip ? file.gzip! : file.bytes;
    ctx.state[BODY_BYTES_STATE] = body?.length ?? 0;
    ctx.res.writeHead(200, gzip ? headers.gzip! : headers.plain);
    ctx.res.end(body);
  };
}

/**
 * From disk; `handle` is null for HEAD (nothing is read). Takes ownership of the handle; resolves
 * when the bytes are sent or the client is gone.
 */
export async function sendFromDisk(ctx: Context, kind: FileKind, stat: Stats, handle: FileHandle | null): Promise<void> {
  describe(ctx, kind, validatorsOf(stat));
  const span = rangeOf(ctx, stat.size);
  if (span === 'unsatisfiable') {
    await handle?.close();
    return unsatisfiable(ctx, stat.size);
  }
  if (span) partial(ctx, span, stat.size);
  const { start, end } = span ?? { start: 0, end: stat.size - 1 };
  if (!handle || end < start) {
    // HEAD, or an empty file. After the body: Koa sets a Buffer body's length from the body.
    await handle?.close();
    ctx.body = EMPTY;
    ctx.length = end - start + 1;
    return;
  }
  ctx.length = end - start + 1;
  ctx.respond = false;
  ctx.res.writeHead(ctx.status);
  await pump(ctx, handle, start, end);
}

/** Errors that only mean the client hung up. */
const CLIENT_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'VCS_CLIENT_GONE']);

/**
 * Bytes start..end of the file to the socket through one buffer, reused once each write has
 * left. Measured per 3.7-MB segment (bench/gateway.ts): about half the CPU of a ReadStream body,
 * which allocates a fresh buffer per chunk (~0.5 GB/s of garbage at 150 segments a second), and
 * half again the segments per second. A client that hangs up ends it quietly; a read that fails
 * or a file that shrank cuts the connection (the length was promised) and is reported.
 */
async function pump(ctx: Context, handle: FileHandle, start: number, end: number): Promise<void> {
  const res = ctx.res;
  const buffer = Buffer.allocUnsafe(Math.min(STREAM_CHUNK_BYTES, end - start + 1));
  try {
    for (let at = start; at <= end && !res.destroyed; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at + 1), at);
      if (bytesRead === 0) throw new Error(`file ended at byte ${at}, before the ${end + 1} bytes its stat promised`);
      at += bytesRead;
      await written(res, buffer.subarray(0, bytesRead));
    }
    res.end();
  } catch (err) {
    if (!res.destroyed && !CLIENT_GONE.has((err as NodeJS.ErrnoException).code ?? '')) ctx.app.emit('error', err, ctx);
    res.destroy();
  } finally {
    await handle.close();
  }
}

/** Resolves once `chunk` has left for the socket (its buffer may be reused); rejects if the client is gone first. */
function written(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = () => reject(Object.assign(new Error('client closed the connection'), { code: 'VCS_CLIENT_GONE' }));
    res.once('close', gone);
    res.write(chunk, (err) => {
      res.off('close', gone);
      if (err) reject(err);
      else resolve();
    });
  });
}
