/**
 * Getting the upload onto local disk: parse the source reference, check it (HEAD: status, type,
 * size), then stream it to the work folder with a size cap, progress, and one deadline for the
 * whole fetch. A failed or cancelled download leaves no partial file behind.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { VcsError, vcsError } from '../src/errors.ts';
import { checkLiteralHost, guardedLookup, policyFor, type AddressPolicy } from './address-guard.ts';

export type SourceRef = { kind: 'url'; url: URL } | { kind: 'file'; path: string };

export interface FetchOptions {
  maxBytes: number;
  /** DOWNLOAD_TIMEOUT: the deadline of a whole fetch (HEAD, redirects and GET). */
  timeoutMs: number;
  /** DOWNLOAD_IDLE_TIMEOUT: a connection silent (no byte) this long fails the fetch within the deadline. */
  idleTimeoutMs: number;
  maxRedirects: number;
  allowPrivate: boolean;
  /** Overrides the address rules derived from `allowPrivate` (tests use it to forbid one loopback address). */
  addressPolicy?: AddressPolicy;
}

export type DownloadProgress = (bytes: number, total: number | null) => void;

/** Pure: what kind of source `raw` names. Local paths (or file: URLs) only when `allowLocal`. */
export function parseSource(raw: string, allowLocal: boolean): SourceRef {
  const trimmed = raw.trim();
  if (trimmed === '') throw vcsError('VCS_ERR_SOURCE_REJECTED', 'source URL is empty');
  let url: URL | undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed) && !/^[a-z]:[\\/]/i.test(trimmed)) {
    try {
      url = new URL(trimmed);
    } catch {
      throw vcsError('VCS_ERR_SOURCE_REJECTED', `source URL ${JSON.stringify(trimmed)} is not a valid URL`);
    }
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
    if (url.username || url.password) throw vcsError('VCS_ERR_SOURCE_REJECTED', 'source URLs with credentials are not accepted');
    return { kind: 'url', url };
  }
  if (url && url.protocol !== 'file:') {
    throw vcsError('VCS_ERR_SOURCE_FORBIDDEN', `source URL scheme ${url.protocol} is not allowed; use http or https`);
  }
  if (!allowLocal) {
    throw vcsError('VCS_ERR_SOURCE_FORBIDDEN', 'local file sources are not allowed; use an http(s) URL or set ALLOW_LOCAL_SOURCES=true');
  }
  return { kind: 'file', path: url ? fileURLToPath(url) : path.resolve(trimmed) };
}

/** Types a video upload is never served as: web pages, images, text, playlists. */
const NOT_VIDEO_TYPES = /^(text\/|image\/|application\/(json|xml|xhtml\+xml|x-mpegurl|vnd\.apple\.mpegurl|dash\+xml|pdf|zip)|application\/[a-z.+-]*\+xml)/i;

function checkStatus(status: number, url: URL, method: string): void {
  if (status >= 200 && status < 300) return;
  const where = `${method} ${redact(url)}`;
  if (status === 404 || status === 410) throw vcsError('VCS_ERR_SOURCE_NOT_FOUND', `source not found: ${where} answered ${status}`);
  if (status === 401 || status === 403) throw vcsError('VCS_ERR_SOURCE_REJECTED', `source access denied: ${where} answered ${status}`);
  if (status === 408 || status === 429 || status >= 500) throw vcsError('VCS_ERR_SOURCE_UNAVAILABLE', `source temporarily unavailable: ${where} answered ${status}`);
  throw vcsError('VCS_ERR_SOURCE_REJECTED', `source refused: ${where} answered ${status}`);
}

function checkHeaders(res: http.IncomingMessage, maxBytes: number): number | null {
  const type = res.headers['content-type'] ?? '';
  if (NOT_VIDEO_TYPES.test(type)) throw vcsError('VCS_ERR_NOT_A_VIDEO', `source is served as ${type.split(';')[0]}, not a video`);
  const lengthHeader = res.headers['content-length'];
  if (lengthHeader === undefined) return null;
  const length = Number(lengthHeader);
  if (!Number.isSafeInteger(length) || length < 0) return null;
  if (length === 0) throw vcsError('VCS_ERR_SOURCE_EMPTY', 'source is empty (Content-Length: 0)');
  if (length > maxBytes) throw vcsError('VCS_ERR_SOURCE_TOO_LARGE', `source is ${length} bytes, over MAX_SOURCE_BYTES (${maxBytes})`);
  return length;
}

/** URLs are logged and reported without their query string (it often carries signatures). */
export function redact(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

/** A socket or DNS error as a coded error (coded errors pass through unchanged). */
function networkError(err: unknown, url: URL): unknown {
  if (err instanceof VcsError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOTFOUND') return vcsError('VCS_ERR_SOURCE_NOT_FOUND', `source host ${url.hostname} does not exist`, err);
  return vcsError('VCS_ERR_DOWNLOAD_FAILED', `could not fetch ${redact(url)}: ${e.code ?? e.message}`, err);
}

/**
 * What may cut a fetch short: the caller's cancellation, the deadline, and a connection gone
 * silent. All three abort one signal, so the socket and the stream stop together; `cutShort()`
 * then reports the limit that fired rather than the socket error it left behind (a silence that
 * destroyed the socket mid-body would otherwise surface as ECONNRESET).
 */
class FetchLimits {
  readonly signal: AbortSignal;
  readonly #silence = new AbortController();

  constructor(
    private readonly cancel: AbortSignal,
    deadline: AbortSignal,
    private readonly opts: Pick<FetchOptions, 'timeoutMs' | 'idleTimeoutMs'>,
  ) {
    this.signal = AbortSignal.any([cancel, deadline, this.#silence.signal]);
  }

  /** The connection to `url` sent nothing for DOWNLOAD_IDLE_TIMEOUT. */
  silent(url: URL): void {
    this.#silence.abort(vcsError('VCS_ERR_DOWNLOAD_TIMEOUT', `no data from ${redact(url)} for ${this.opts.idleTimeoutMs / 1000} s (DOWNLOAD_IDLE_TIMEOUT)`));
  }

  /** The error to report if a limit ended the fetch (a cancellation keeps its own reason), else undefined. */
  cutShort(): unknown {
    if (!this.signal.aborted) return undefined;
    if (this.cancel.aborted) return this.cancel.reason;
    // The combined signal carries the reason of whichever limit fired first.
    if (this.signal.reason === this.#silence.signal.reason) return this.#silence.signal.reason;
    return vcsError('VCS_ERR_DOWNLOAD_TIMEOUT', `download took longer than DOWNLOAD_TIMEOUT (${this.opts.timeoutMs} ms)`);
  }
}

/** One request, following redirects; every hop's address is checked again. */
async function request(url: URL, method: 'HEAD' | 'GET', opts: FetchOptions, limits: FetchLimits): Promise<{ res: http.IncomingMessage; url: URL }> {
  let current = url;
  const policy = opts.addressPolicy !== undefined ? opts.addressPolicy : policyFor(opts.allowPrivate);
  for (let hop = 0; ; hop++) {
    checkLiteralHost(current, policy);
    // TLS is loaded when a source needs it: a local or http source starts ~10 ms sooner without it.
    const client = current.protocol === 'https:' ? (await import('node:https')).default : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = client.request(current, {
        method,
        signal: limits.signal,
        lookup: guardedLookup(policy),
        headers: { 'user-agent': 'video-compression-service', accept: 'video/*, application/octet-stream;q=0.9, */*;q=0.5' },
        timeout: opts.idleTimeoutMs,
      });
      const target = current;
      req.on('timeout', () => limits.silent(target));
      req.on('response', resolve);
      req.on('error', (err) => reject(limits.cutShort() ?? networkError(err, target)));
      req.end();
    });
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.resume();
      if (hop >= opts.maxRedirects) throw vcsError('VCS_ERR_SOURCE_REJECTED', `source redirected more than MAX_REDIRECTS (${opts.maxRedirects}) times`);
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw vcsError('VCS_ERR_SOURCE_FORBIDDEN', `source redirected to a ${next.protocol} URL`);
      current = next;
      continue;
    }
    return { res, url: current };
  }
}

/**
 * The whole fetch of a URL source: preflight, then download, under one deadline (DOWNLOAD_TIMEOUT)
 * that starts with the preflight, so no server can hold the run longer however slowly it answers.
 * Progress falls back to the size the HEAD announced.
 */
export async function fetchSource(url: URL, dest: string, opts: FetchOptions, onProgress: DownloadProgress, signal: AbortSignal): Promise<number> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const announced = await preflight(url, opts, signal, deadline);
  return download(url, dest, opts, (received, total) => onProgress(received, total ?? announced), signal, deadline);
}

/**
 * Preflight: a HEAD request for status, type and size. Servers that do not answer HEAD (405, 501)
 * are checked on the GET instead. Returns the announced size, if any. `deadline` defaults to
 * DOWNLOAD_TIMEOUT from now; fetchSource shares one with the download.
 */
export async function preflight(url: URL, opts: FetchOptions, signal: AbortSignal, deadline = AbortSignal.timeout(opts.timeoutMs)): Promise<number | null> {
  const { res, url: finalUrl } = await request(url, 'HEAD', opts, new FetchLimits(signal, deadline, opts));
  res.resume();
  const status = res.statusCode ?? 0;
  if (status === 405 || status === 501) return null;
  checkStatus(status, finalUrl, 'HEAD');
  return checkHeaders(res, opts.maxBytes);
}

/**
 * Streams `url` to `dest`, enforcing the size cap while streaming. Removes `dest` on any failure.
 * `deadline` defaults to DOWNLOAD_TIMEOUT from now.
 */
export async function download(
  url: URL,
  dest: string,
  opts: FetchOptions,
  onProgress: DownloadProgress,
  signal: AbortSignal,
  deadline = AbortSignal.timeout(opts.timeoutMs),
): Promise<number> {
  const limits = new FetchLimits(signal, deadline, opts);
  let received = 0;
  try {
    const { res, url: finalUrl } = await request(url, 'GET', opts, limits);
    checkStatus(res.statusCode ?? 0, finalUrl, 'GET');
    const total = checkHeaders(res, opts.maxBytes);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > opts.maxBytes) return done(vcsError('VCS_ERR_SOURCE_TOO_LARGE', `source exceeds MAX_SOURCE_BYTES (${opts.maxBytes}) while downloading`));
        onProgress(received, total);
        done(null, chunk);
      },
    });
    await pipeline(res, meter, createWriteStream(dest), { signal: limits.signal });
    if (total !== null && received !== total) {
      throw vcsError('VCS_ERR_DOWNLOAD_FAILED', `download ended after ${received} of ${total} bytes`);
    }
    if (received === 0) throw vcsError('VCS_ERR_SOURCE_EMPTY', 'source is empty (0 bytes)');
    return received;
  } catch (err) {
    const closed = (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE';
    const failure = limits.cutShort() ?? (closed ? vcsError('VCS_ERR_DOWNLOAD_FAILED', `connection closed after ${received} bytes`, err) : networkError(err, url));
    await rm(dest, { force: true });
    throw failure;
  }
}

/** A local source: exists, is a regular file, not empty, under the size cap. */
export async function checkLocalFile(file: string, maxBytes: number): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw vcsError('VCS_ERR_SOURCE_NOT_FOUND', `source file ${file} does not exist`);
  }
  if (!info.isFile()) throw vcsError('VCS_ERR_SOURCE_REJECTED', `source ${file} is not a regular file`);
  if (info.size === 0) throw vcsError('VCS_ERR_SOURCE_EMPTY', `source file ${file} is empty (0 bytes)`);
  if (info.size > maxBytes) throw vcsError('VCS_ERR_SOURCE_TOO_LARGE', `source is ${info.size} bytes, over MAX_SOURCE_BYTES (${maxBytes})`);
  return info.size;
}

export const toFileUrl = (file: string): string => pathToFileURL(file).href;
