import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VcsError } from '../../src/errors.ts';
import { classifyAddress } from '../../transcoder/address-guard.ts';
import { checkLocalFile, download, fetchSource, parseSource, preflight, type FetchOptions } from '../../transcoder/source.ts';
import { startServer, type TestServer } from '../support/http-server.ts';

const test = suite('source');
let tmp = '';
let server: TestServer;
const body = Buffer.alloc(256 * 1024, 7);

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-source-'));
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = url.pathname;
    if (route === '/video.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (route === '/no-head.mp4') {
      if (req.method === 'HEAD') return void res.writeHead(405).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(body);
    }
    if (route === '/chunked.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      if (req.method === 'HEAD') return void res.end();
      for (let i = 0; i < 8; i++) res.write(body);
      return void res.end();
    }
    if (route === '/big.mp4') return void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(10 ** 12) }).end();
    if (route === '/page') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html></html>');
    if (route === '/empty.mp4') return void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '0' }).end();
    if (route === '/gone') return void res.writeHead(404).end();
    if (route === '/denied') return void res.writeHead(403).end();
    if (route === '/busy') return void res.writeHead(503).end();
    if (route === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (route === '/hop') return void res.writeHead(301, { location: '/video.mp4' }).end();
    if (route === '/to-other-host') return void res.writeHead(302, { location: `http://127.0.0.2:${url.searchParams.get('port')}/video.mp4` }).end();
    if (route === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (route === '/cut.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length * 4 });
      if (req.method === 'HEAD') return void res.end();
      res.write(body);
      return void setTimeout(() => res.destroy(), 50);
    }
    if (route === '/stall.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length * 4 });
      if (req.method === 'HEAD') return void res.end();
      return void res.write(body); // never ends
    }
    if (route === '/silent.mp4') return; // accepts the request, never answers
    if (route === '/trickle-headers.mp4') {
      // The status line, then one header byte every 200 ms, never finished: every byte resets an
      // idle timeout, so only an overall deadline stops it.
      const socket = req.socket;
      socket.write('HTTP/1.1 200 OK\r\n');
      const header = `x-padding: ${'a'.repeat(1000)}`;
      let i = 0;
      const timer = setInterval(() => socket.write(header[i++ % header.length]!), 200);
      return void socket.once('close', () => clearInterval(timer));
    }
    if (route === '/slow.mp4' || route === '/slow-hop') {
      // Every answer takes 600 ms: the HEAD and the GET each fit in a 1 s deadline, together they do not.
      return void setTimeout(() => {
        if (route === '/slow-hop') return void res.writeHead(302, { location: '/slow.mp4' }).end();
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      }, 600);
    }
    if (route === '/announced.mp4') {
      // The HEAD announces the size, the GET streams without a Content-Length.
      if (req.method === 'HEAD') return void res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end();
      res.writeHead(200, { 'content-type': 'video/mp4' });
      return void res.end(body);
    }
    res.writeHead(500).end();
  });
});

test.after(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

// The test server is on loopback, so loopback is allowed here except 127.0.0.2 ("another host").
const opts = (over: Partial<FetchOptions> = {}): FetchOptions => ({
  maxBytes: 10 * 1024 * 1024,
  timeoutMs: 5000,
  idleTimeoutMs: 60_000,
  maxRedirects: 3,
  allowPrivate: false,
  addressPolicy: (a) => (a === '127.0.0.1' ? { allowed: true } : classifyAddress(a)),
  ...over,
});
const signal = () => new AbortController().signal;
const url = (p: string) => new URL(`${server.url}${p}`);

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof VcsError ? `${err.code}: ${err.message}` : `unexpected ${String(err)}`;
  }
  return 'no error';
}

/** `p`, or a rejection once `ms` have passed: a fetch that hangs fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const leftovers = async () => (await readdir(tmp)).filter((f) => f.startsWith('dl'));

test('parseSource: http(s) accepted; other schemes, credentials and local paths (unless allowed) refused', () => {
  assert.is(parseSource('https://cdn.example.com/a.mp4', false).kind, 'url');
  assert.match(String(failureSync(() => parseSource('ftp://x/a.mp4', false))), /scheme ftp: is not allowed/);
  assert.match(String(failureSync(() => parseSource('file:///etc/passwd', false))), /ALLOW_LOCAL_SOURCES/);
  assert.match(String(failureSync(() => parseSource('/etc/passwd', false))), /ALLOW_LOCAL_SOURCES/);
  assert.match(String(failureSync(() => parseSource('https://user:pw@x/a.mp4', false))), /credentials/);
  assert.equal(parseSource('/srv/a.mp4', true), { kind: 'file', path: '/srv/a.mp4' });
  assert.equal(parseSource('file:///srv/a.mp4', true), { kind: 'file', path: '/srv/a.mp4' });
});

function failureSync(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

test('preflight: size from HEAD; 404/403/503, web pages and oversize refused before any download', async () => {
  assert.is(await preflight(url('/video.mp4'), opts(), signal()), body.length);
  assert.is(await preflight(url('/no-head.mp4'), opts(), signal()), null);
  assert.match(await failure(preflight(url('/gone'), opts(), signal())), /^VCS_ERR_SOURCE_NOT_FOUND: source not found: HEAD .*answered 404/);
  assert.match(await failure(preflight(url('/denied'), opts(), signal())), /^VCS_ERR_SOURCE_REJECTED: .*403/);
  assert.match(await failure(preflight(url('/busy'), opts(), signal())), /^VCS_ERR_SOURCE_UNAVAILABLE/);
  assert.match(await failure(preflight(url('/page'), opts(), signal())), /^VCS_ERR_NOT_A_VIDEO: source is served as text\/html/);
  assert.match(await failure(preflight(url('/big.mp4'), opts(), signal())), /^VCS_ERR_SOURCE_TOO_LARGE/);
  assert.match(await failure(preflight(url('/empty.mp4'), opts(), signal())), /^VCS_ERR_SOURCE_EMPTY/);
});

test('redirects: followed, limited, and every hop is checked again', async () => {
  assert.is(await preflight(url('/hop'), opts(), signal()), body.length);
  assert.match(await failure(preflight(url('/loop'), opts(), signal())), /more than MAX_REDIRECTS \(3\)/);
  assert.match(await failure(preflight(url(`/to-other-host?port=${server.port}`), opts(), signal())), /^VCS_ERR_SOURCE_FORBIDDEN: source host 127.0.0.2 is a loopback address/);
  assert.match(await failure(preflight(url('/to-file'), opts(), signal())), /^VCS_ERR_SOURCE_FORBIDDEN: source redirected to a file: URL/);
});

test('private addresses refused unless allowed', async () => {
  assert.match(await failure(preflight(url('/video.mp4'), opts({ addressPolicy: undefined }), signal())), /127.0.0.1 is a loopback address/);
  assert.is(await preflight(url('/video.mp4'), opts({ addressPolicy: undefined, allowPrivate: true }), signal()), body.length);
  assert.match(await failure(preflight(new URL(`http://localhost:${server.port}/video.mp4`), opts({ addressPolicy: undefined }), signal())), /source host localhost \(.*\) is a loopback address/);
});

test('download: streamed to disk with progress', async () => {
  const seen: number[] = [];
  const dest = path.join(tmp, 'dl-ok');
  const bytes = await download(url('/video.mp4'), dest, opts(), (b, total) => { seen.push(b); assert.is(total, body.length); }, signal());
  assert.is(bytes, body.length);
  assert.is(seen.at(-1), body.length);
  await rm(dest);
});

test('download: the size cap holds while streaming; the partial file is removed', async () => {
  const dest = path.join(tmp, 'dl-big');
  assert.match(await failure(download(url('/chunked.mp4'), dest, opts({ maxBytes: body.length * 3 }), () => {}, signal())), /^VCS_ERR_SOURCE_TOO_LARGE: source exceeds MAX_SOURCE_BYTES/);
  assert.equal(await leftovers(), []);
});

test('download: a connection cut mid-way fails (retryable) and leaves nothing', async () => {
  const msg = await failure(download(url('/cut.mp4'), path.join(tmp, 'dl-cut'), opts(), () => {}, signal()));
  assert.match(msg, /^VCS_ERR_DOWNLOAD_FAILED/);
  assert.equal(await leftovers(), []);
});

test('download: the timeout holds and leaves nothing', async () => {
  const msg = await failure(download(url('/stall.mp4'), path.join(tmp, 'dl-stall'), opts({ timeoutMs: 1000 }), () => {}, signal()));
  assert.match(msg, /^VCS_ERR_DOWNLOAD_TIMEOUT: download took longer than DOWNLOAD_TIMEOUT \(1000 ms\)/);
  assert.equal(await leftovers(), []);
});

test('preflight: headers trickled byte by byte cannot hold it past DOWNLOAD_TIMEOUT', async () => {
  const started = Date.now();
  const msg = await failure(within(4000, preflight(url('/trickle-headers.mp4'), opts({ timeoutMs: 1000 }), signal())));
  const took = Date.now() - started;
  assert.match(msg, /^VCS_ERR_DOWNLOAD_TIMEOUT: download took longer than DOWNLOAD_TIMEOUT \(1000 ms\)/);
  assert.ok(took >= 900 && took < 3000, `failed after ${took} ms, expected about 1000 (the trickle lasts far longer)`);
});

test('one DOWNLOAD_TIMEOUT covers the HEAD, the GET and every redirect together', async () => {
  const o = opts({ timeoutMs: 1000 });
  const dest = path.join(tmp, 'dl-slow');
  assert.is(await preflight(url('/slow.mp4'), o, signal()), body.length, 'the HEAD alone fits');
  assert.is(await download(url('/slow.mp4'), dest, o, () => {}, signal()), body.length, 'the GET alone fits');
  await rm(dest);
  const deadline = /^VCS_ERR_DOWNLOAD_TIMEOUT: download took longer than DOWNLOAD_TIMEOUT \(1000 ms\)/;
  assert.match(await failure(within(4000, fetchSource(url('/slow.mp4'), dest, o, () => {}, signal()))), deadline);
  assert.match(await failure(within(4000, preflight(url('/slow-hop'), o, signal()))), deadline, 'a redirect does not restart the clock');
  assert.equal(await leftovers(), []);
});

test('fetchSource: progress falls back to the size the HEAD announced', async () => {
  const seen: [number, number | null][] = [];
  const dest = path.join(tmp, 'dl-announced');
  assert.is(await fetchSource(url('/announced.mp4'), dest, opts(), (b, total) => seen.push([b, total]), signal()), body.length);
  assert.equal(seen.at(-1), [body.length, body.length]);
  await rm(dest);
});

test('a silent connection fails after DOWNLOAD_IDLE_TIMEOUT, named as such, before or after the headers', async () => {
  const o = opts({ timeoutMs: 10_000, idleTimeoutMs: 1000 });
  const silence = /^VCS_ERR_DOWNLOAD_TIMEOUT: no data from http:\/\/127\.0\.0\.1:\d+\/(silent|stall)\.mp4 for 1 s \(DOWNLOAD_IDLE_TIMEOUT\)$/;
  assert.match(await failure(within(4000, preflight(url('/silent.mp4'), o, signal()))), silence);
  const started = Date.now();
  assert.match(await failure(within(4000, download(url('/stall.mp4'), path.join(tmp, 'dl-silent'), o, () => {}, signal()))), silence);
  assert.ok(Date.now() - started < 2500, 'well before the deadline');
  assert.equal(await leftovers(), []);
});

test('download: 404 on GET is permanent; cancelling aborts', async () => {
  assert.match(await failure(download(url('/gone'), path.join(tmp, 'dl-gone'), opts(), () => {}, signal())), /^VCS_ERR_SOURCE_NOT_FOUND/);
  const ctl = new AbortController();
  const pending = download(url('/stall.mp4'), path.join(tmp, 'dl-abort'), opts(), () => ctl.abort(new Error('stop')), ctl.signal);
  assert.match(await failure(pending), /^unexpected .*(abort|stop)/i, 'a cancellation is not turned into a download error');
  assert.equal(await leftovers(), []);
});

test('local files: must exist, be regular, non-empty and under the cap', async () => {
  const file = path.join(tmp, 'local.bin');
  await writeFile(file, body);
  assert.is(await checkLocalFile(file, 10 ** 9), body.length);
  assert.match(await failure(checkLocalFile(path.join(tmp, 'nope'), 10 ** 9)), /VCS_ERR_SOURCE_NOT_FOUND/);
  assert.match(await failure(checkLocalFile(tmp, 10 ** 9)), /not a regular file/);
  assert.match(await failure(checkLocalFile(file, 10)), /VCS_ERR_SOURCE_TOO_LARGE/);
  await writeFile(file, '');
  assert.match(await failure(checkLocalFile(file, 10)), /VCS_ERR_SOURCE_EMPTY/);
});

test.run();
