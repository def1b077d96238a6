/**
 * hlsFiles over real HTTP: a Koa app on 127.0.0.1 port 0, real files in a temp HLS_PATH, `fetch`
 * for ordinary requests and http.request for the raw paths fetch would normalise.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Koa from 'koa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hlsFiles, type HlsFilesOptions } from '../../src/gateway/hls-files.ts';
import { publishPackage } from '../../transcoder/publish.ts';

// ------------------------------------------------------------------------------------------------
// Helpers

interface Served {
  base: string;
  port: number;
  close(): Promise<void>;
}

/** hlsFiles in a Koa app, with a last middleware that marks requests it passed on. */
async function serve(options: HlsFilesOptions): Promise<Served> {
  const app = new Koa();
  app.silent = true;
  app.use(hlsFiles(options));
  app.use((ctx) => {
    ctx.status = 418;
    ctx.body = 'passed on';
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request with the path sent exactly as given (no normalisation, no decompression). */
function raw(port: number, rawPath: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const NOT_FOUND = { error: { code: 'VCS_ERR_NOT_FOUND', message: 'no such file' } };
const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8'));

function assertNotFound(r: RawResponse, what: string) {
  assert.is(r.status, 404, what);
  assert.equal(json(r), NOT_FOUND, what);
  assert.ok(!r.body.includes('SECRET'), `${what}: nothing from outside`);
}

/** Pseudo-random bytes, different per seed, so ranges and replacements are checked byte for byte. */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = Buffer.alloc(0);
  for (let i = 0, counter = 0; i < n; i += block.length, counter++) {
    block = createHash('sha256').update(`${seed}:${counter}`).digest();
    block.copy(out, i);
  }
  return out;
}

const MASTER = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n' + '#EXT-X-STREAM-INF:BANDWIDTH=3112228,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\nhigh/playlist.m3u8\n'.repeat(3);
const MEDIA = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:10\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:10.000000,\nsegment000.ts\n#EXT-X-ENDLIST\n';

/** A package like the transcoder's (docs/adr/0004), with distinct bytes per `version`. */
async function writePackage(dir: string, version: string): Promise<void> {
  await mkdir(path.join(dir, 'high'), { recursive: true });
  await writeFile(path.join(dir, 'master.m3u8'), `${MASTER}# ${version}\n`);
  await writeFile(path.join(dir, 'high/playlist.m3u8'), MEDIA);
  await writeFile(path.join(dir, 'high/segment000.ts'), bytes(300_000, `segment-${version}`));
  await writeFile(path.join(dir, 'poster.jpg'), bytes(20_000, `poster-${version}`));
  const renditions = ['high', 'medium', 'low'].map((name) => ({ name, codecs: 'avc1.64001f,mp4a.40.2', segments: 2, bytes: 4652624 }));
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ version, renditions }, null, 2));
}

let tmp = '';
let root = '';
let outside = '';
let server: Served;

const test = suite('hlsFiles');

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-hls-files-'));
  root = path.join(tmp, 'hls');
  outside = path.join(tmp, 'outside');
  await writePackage(path.join(root, '101'), 'v1');
  await writeFile(path.join(root, '101/empty.ts'), '');
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'secret.m3u8'), '#EXTM3U\n# SECRET\n');
  await symlink(path.join(outside, 'secret.m3u8'), path.join(root, '101/escape.m3u8'));
  await symlink(outside, path.join(root, 'evil'));
  await symlink(path.join(root, '101/master.m3u8'), path.join(root, '101/alias.m3u8'));
  // The transcoder's work folder and a dotfile, beside and inside the package.
  await mkdir(path.join(root, '.vcs-work-101-abc/staging'), { recursive: true });
  await writeFile(path.join(root, '.vcs-work-101-abc/staging/master.m3u8'), '#EXTM3U\n# SECRET staging\n');
  await writeFile(path.join(root, '101/.secret.m3u8'), '#EXTM3U\n# SECRET dotfile\n');
  await symlink(path.join(root, '.vcs-work-101-abc/staging/master.m3u8'), path.join(root, '101/sneaky.m3u8'));
  server = await serve({ root });
});

test.after(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------
// Types, caching, CORS

test('each file type has the plan’s Content-Type and Cache-Control, CORS, and its exact bytes', async () => {
  const expected: [string, string, string][] = [
    ['101/master.m3u8', 'application/vnd.apple.mpegurl', 'public, max-age=3600'],
    ['101/high/playlist.m3u8', 'application/vnd.apple.mpegurl', 'public, max-age=3600'],
    ['101/high/segment000.ts', 'video/mp2t', 'public, max-age=31536000, immutable'],
    ['101/poster.jpg', 'image/jpeg', 'public, max-age=31536000'],
    ['101/manifest.json', 'application/json', 'no-cache'],
  ];
  for (const [file, type, cache] of expected) {
    const res = await fetch(`${server.base}/storage/hls/${file}`, { headers: { Origin: 'https://player.example' } });
    assert.is(res.status, 200, file);
    assert.is(res.headers.get('content-type'), type, file);
    assert.is(res.headers.get('cache-control'), cache, file);
    assert.is(res.headers.get('access-control-allow-origin'), '*', file);
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /Content-Length.*Content-Range/, file);
    assert.is(res.headers.get('accept-ranges'), 'bytes', file);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(await readFile(path.join(root, file))), file);
  }
});

test('a symlink inside HLS_PATH to a file inside is served; HLS_PATH itself may be a symlink', async () => {
  const res = await raw(server.port, '/storage/hls/101/alias.m3u8');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), await readFile(path.join(root, '101/master.m3u8'), 'utf8'));
  const linkedRoot = path.join(tmp, 'hls-link');
  await symlink(root, linkedRoot);
  const other = await serve({ root: linkedRoot });
  try {
    assert.is((await raw(other.port, '/storage/hls/101/poster.jpg')).status, 200);
    assertNotFound(await raw(other.port, '/storage/hls/101/escape.m3u8'), 'escape through a linked root');
  } finally {
    await other.close();
  }
});

test('CORS preflight: 204 with the methods, the asked headers and a max age', async () => {
  const res = await raw(server.port, '/storage/hls/101/high/segment000.ts', {
    method: 'OPTIONS',
    headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' },
  });
  assert.is(res.status, 204);
  assert.is(res.headers['access-control-allow-origin'], '*');
  assert.is(res.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
  assert.is(res.headers['access-control-allow-headers'], 'range');
  assert.is(res.headers['access-control-max-age'], '86400');
});

test('HEAD: the GET headers and length, no body, for segments and playlists', async () => {
  for (const file of ['101/high/segment000.ts', '101/master.m3u8']) {
    const head = await raw(server.port, `/storage/hls/${file}`, { method: 'HEAD' });
    const get = await raw(server.port, `/storage/hls/${file}`);
    assert.is(head.status, 200, file);
    assert.is(head.body.length, 0, file);
    assert.is(head.headers['content-length'], String((await readFile(path.join(root, file))).length), file);
    assert.is(head.headers.etag, get.headers.etag, file);
    assert.is(head.headers['content-type'], get.headers['content-type'], file);
  }
});

test('other methods: 405 with Allow and a JSON error', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await raw(server.port, '/storage/hls/101/master.m3u8', { method });
    assert.is(res.status, 405, method);
    assert.is(res.headers.allow, 'GET, HEAD, OPTIONS', method);
    assert.is(json(res).error.code, 'VCS_ERR_METHOD_NOT_ALLOWED', method);
  }
});

test('headers set by earlier middleware (rate limits) survive, and it sees the status and can log it', async () => {
  const app = new Koa();
  const seen: number[] = [];
  app.use(async (ctx, next) => {
    ctx.set('X-RateLimit-Remaining', '99');
    await next();
    seen.push(ctx.status);
  });
  app.use(hlsFiles({ root }));
  const s = http.createServer(app.callback());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = s.address() as AddressInfo;
    for (const file of ['101/master.m3u8', '101/high/segment000.ts', '101/missing.m3u8']) {
      const res = await raw(port, `/storage/hls/${file}`, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.is(res.headers['x-ratelimit-remaining'], '99', file);
      assert.is(res.headers['access-control-allow-origin'], '*', file);
    }
    const plain = await raw(port, '/storage/hls/101/master.m3u8');
    assert.ok(plain.body.equals(await readFile(path.join(root, '101/master.m3u8'))));
    assert.is(plain.headers['content-type'], 'application/vnd.apple.mpegurl');
    assert.equal(seen, [200, 200, 404, 200]);
  } finally {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

test('paths outside /storage/hls/ are passed on untouched', async () => {
  for (const p of ['/storage/hlsx/101/master.m3u8', '/storage/hls', '/health']) {
    const res = await raw(server.port, p);
    assert.is(res.status, 418, p);
    assert.is(res.headers['access-control-allow-origin'], undefined, p);
  }
});

// ------------------------------------------------------------------------------------------------
// Validators

test('ETag and If-None-Match: 304 without a body; another tag: 200', async () => {
  for (const file of ['101/master.m3u8', '101/high/segment000.ts', '101/poster.jpg']) {
    const first = await raw(server.port, `/storage/hls/${file}`);
    const etag = first.headers.etag ?? '';
    assert.match(etag, /^"[0-9a-f-]+"$/, file);
    const again = await raw(server.port, `/storage/hls/${file}`, { headers: { 'If-None-Match': etag } });
    assert.is(again.status, 304, file);
    assert.is(again.body.length, 0, file);
    assert.is(again.headers.etag, etag, file);
    assert.is(again.headers['cache-control'], first.headers['cache-control'], file);
    const other = await raw(server.port, `/storage/hls/${file}`, { headers: { 'If-None-Match': '"other"' } });
    assert.is(other.status, 200, file);
  }
});

test('Last-Modified and If-Modified-Since: 304; an older date: 200', async () => {
  const first = await raw(server.port, '/storage/hls/101/high/segment000.ts');
  const lastModified = first.headers['last-modified'] ?? '';
  assert.ok(!Number.isNaN(Date.parse(lastModified)));
  const same = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { 'If-Modified-Since': lastModified } });
  assert.is(same.status, 304);
  const older = new Date(Date.parse(lastModified) - 60_000).toUTCString();
  assert.is((await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { 'If-Modified-Since': older } })).status, 200);
});

// ------------------------------------------------------------------------------------------------
// Ranges

test('byte ranges: 206 with Content-Range and exactly those bytes (segments from disk, posters and playlists from memory)', async () => {
  for (const file of ['101/high/segment000.ts', '101/poster.jpg', '101/master.m3u8']) {
    const whole = await readFile(path.join(root, file));
    const size = whole.length;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      [`bytes=${size - 50}-`, size - 50, size - 1],
      ['bytes=-30', size - 30, size - 1],
      [`bytes=10-${size + 1000}`, 10, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await raw(server.port, `/storage/hls/${file}`, { headers: { Range: range } });
      assert.is(res.status, 206, `${file} ${range}`);
      assert.is(res.headers['content-range'], `bytes ${start}-${end}/${size}`, `${file} ${range}`);
      assert.is(res.headers['content-length'], String(end - start + 1), `${file} ${range}`);
      assert.ok(res.body.equals(whole.subarray(start, end + 1)), `${file} ${range}`);
      assert.is(res.headers['content-encoding'], undefined, `${file} ${range}: ranges are of the identity bytes`);
    }
  }
});

test('unsatisfiable range: 416 with Content-Range bytes */size; several ranges or a malformed one: the whole file', async () => {
  const size = (await readFile(path.join(root, '101/high/segment000.ts'))).length;
  const res = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { Range: `bytes=${size}-` } });
  assert.is(res.status, 416);
  assert.is(res.headers['content-range'], `bytes */${size}`);
  assert.is(res.headers['cache-control'], 'no-store');
  for (const range of ['bytes=0-9,100-109', 'bytes=abc', 'items=0-9']) {
    const whole = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { Range: range } });
    assert.is(whole.status, 200, range);
    assert.is(whole.body.length, size, range);
  }
  const empty = await raw(server.port, '/storage/hls/101/empty.ts', { headers: { Range: 'bytes=0-' } });
  assert.is(empty.status, 416);
  const emptyWhole = await raw(server.port, '/storage/hls/101/empty.ts');
  assert.is(emptyWhole.status, 200);
  assert.is(emptyWhole.headers['content-length'], '0');
});

test('If-Range: the range applies only to the version the client has', async () => {
  const { headers } = await raw(server.port, '/storage/hls/101/high/segment000.ts');
  const matching = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { Range: 'bytes=0-9', 'If-Range': headers.etag ?? '' } });
  assert.is(matching.status, 206);
  const stale = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { Range: 'bytes=0-9', 'If-Range': '"an-old-version"' } });
  assert.is(stale.status, 200);
  assert.is(stale.body.length, 300_000);
});

test('a range is read from its first byte: the last 1 KB of an 8 GiB (sparse) segment comes back at once', async () => {
  const big = path.join(root, '101/high/huge.ts');
  const file = await open(big, 'w');
  await file.truncate(8 * 1024 ** 3);
  await file.write(Buffer.from('THE-END'), 0, 7, 8 * 1024 ** 3 - 7);
  await file.close();
  try {
    const t0 = Date.now();
    const res = await raw(server.port, '/storage/hls/101/high/huge.ts', { headers: { Range: 'bytes=-1024' } });
    const ms = Date.now() - t0;
    assert.is(res.status, 206);
    assert.is(res.body.length, 1024);
    assert.is(res.body.subarray(-7).toString(), 'THE-END');
    // Reading 8 GiB of holes from byte 0 takes seconds even from the page cache.
    assert.ok(ms < 1000, `took ${ms} ms`);
  } finally {
    await rm(big);
  }
});

test('a client that hangs up mid-segment leaves no open file behind, and the server goes on serving', async () => {
  const big = path.join(root, '101/high/long.ts');
  await writeFile(big, bytes(8 * 1024 * 1024, 'long'));
  const real = await realpath(big);
  // Open descriptors of that file; a leaked handle is either still open, or closed by the GC
  // with a warning.
  const openOnIt = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === real; } catch { return false; } }).length;
  const gcClosed: string[] = [];
  const onWarning = (w: Error) => void (/file descriptor|FileHandle/i.test(w.message) && gcClosed.push(w.message));
  process.on('warning', onWarning);
  try {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: server.port, path: '/storage/hls/101/high/long.ts', agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      });
    }
    for (let waited = 0; openOnIt() > 0 && waited < 2000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.is(openOnIt(), 0, 'no descriptor left open');
    const after = await raw(server.port, '/storage/hls/101/high/long.ts');
    assert.ok(after.body.equals(await readFile(big)));
    assert.is(openOnIt(), 0);
    assert.equal(gcClosed, [], 'no handle left for the GC to close');
  } finally {
    process.off('warning', onWarning);
    await rm(big);
  }
});

// ------------------------------------------------------------------------------------------------
// Compression

test('playlists and the manifest are gzipped when the client accepts it, with Vary; the body unzips to the file', async () => {
  for (const file of ['101/master.m3u8', '101/manifest.json']) {
    const original = await readFile(path.join(root, file));
    const zipped = await raw(server.port, `/storage/hls/${file}`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.is(zipped.status, 200, file);
    assert.is(zipped.headers['content-encoding'], 'gzip', file);
    assert.is(zipped.headers.vary, 'Accept-Encoding', file);
    assert.is(zipped.headers['content-length'], String(zipped.body.length), file);
    assert.ok(gunzipSync(zipped.body).equals(original), file);
    assert.match(zipped.headers.etag ?? '', /^W\//, `${file}: another representation, a weak tag`);
    const plain = await raw(server.port, `/storage/hls/${file}`);
    assert.is(plain.headers['content-encoding'], undefined, file);
    assert.is(plain.headers.vary, 'Accept-Encoding', file);
    assert.ok(plain.body.equals(original), file);
    const refused = await raw(server.port, `/storage/hls/${file}`, { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } });
    assert.is(refused.headers['content-encoding'], undefined, file);
    // A revalidation of the gzipped copy matches (weak comparison).
    const revalidated = await raw(server.port, `/storage/hls/${file}`, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': zipped.headers.etag ?? '' } });
    assert.is(revalidated.status, 304, file);
  }
  const segment = await raw(server.port, '/storage/hls/101/high/segment000.ts', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.is(segment.headers['content-encoding'], undefined, 'segments are not compressed');
  assert.is(segment.headers.vary, undefined);
});

// ------------------------------------------------------------------------------------------------
// What is never served

test('no directory listings: folders and the route root answer 404 JSON', async () => {
  for (const p of ['/storage/hls/', '/storage/hls/101', '/storage/hls/101/', '/storage/hls/101/high', '/storage/hls/101/high/', '/storage/hls/evil/', '/storage/hls/101/missing.m3u8', '/storage/hls/101/notes.txt']) {
    assertNotFound(await raw(server.port, p), p);
  }
});

test('path traversal in every form answers 404 and shows nothing from outside HLS_PATH', async () => {
  const attempts = [
    '/storage/hls/../outside/secret.m3u8',
    '/storage/hls/101/../../outside/secret.m3u8',
    '/storage/hls/101/high/../../../outside/secret.m3u8',
    '/storage/hls/%2e%2e/outside/secret.m3u8',
    '/storage/hls/%2E%2E/%2E%2E/etc/passwd',
    '/storage/hls/..%2foutside%2fsecret.m3u8',
    '/storage/hls/%2e%2e%2foutside%2fsecret.m3u8',
    '/storage/hls/%252e%252e/outside/secret.m3u8',
    '/storage/hls/%252e%252e%252foutside%252fsecret.m3u8',
    '/storage/hls/..\\outside\\secret.m3u8',
    '/storage/hls/101\\..\\..\\outside\\secret.m3u8',
    '/storage/hls/..%5coutside%5csecret.m3u8',
    '/storage/hls/101/master.m3u8%00.ts',
    '/storage/hls/101/master.m3u8%00',
    '/storage/hls/%00/101/master.m3u8',
    '/storage/hls//etc/passwd',
    '/storage/hls/%2fetc%2fpasswd',
    '/storage/hls/101/escape.m3u8',
    '/storage/hls/evil/secret.m3u8',
    '/storage/hls/./101/master.m3u8',
    '/storage/hls/101/%2e/master.m3u8',
  ];
  for (const p of attempts) assertNotFound(await raw(server.port, p), p);
});

test('dotfiles and dot-folders (the transcoder’s staging) answer 404, also through a symlink', async () => {
  for (const p of [
    '/storage/hls/.vcs-work-101-abc/staging/master.m3u8',
    '/storage/hls/%2evcs-work-101-abc/staging/master.m3u8',
    '/storage/hls/101/.secret.m3u8',
    '/storage/hls/101/%2Esecret.m3u8',
    '/storage/hls/101/sneaky.m3u8',
  ]) {
    assertNotFound(await raw(server.port, p), p);
  }
});

// ------------------------------------------------------------------------------------------------
// Hotlink protection

test('hotlink protection: listed hosts and requests without a Referer are served; other sites get 403 JSON', async () => {
  const guarded = await serve({ root, allowedReferers: ['example.com', 'www.example.com', 'localhost:8080'] });
  const get = (referer?: string) => raw(guarded.port, '/storage/hls/101/master.m3u8', { headers: referer === undefined ? {} : { Referer: referer } });
  try {
    for (const referer of [undefined, 'https://example.com/watch/1', 'https://WWW.Example.com/', 'http://example.com:8443/page', 'http://localhost:8080/post']) {
      assert.is((await get(referer)).status, 200, String(referer));
    }
    for (const referer of ['https://evil.example.net/', 'https://example.com.evil.net/', 'https://notexample.com/', 'http://localhost:9090/', 'not a url']) {
      const res = await get(referer);
      assert.is(res.status, 403, referer);
      assert.equal(json(res).error.code, 'VCS_ERR_FORBIDDEN', referer);
      assert.is(res.headers['cache-control'], 'no-store', referer);
    }
    assert.is((await raw(server.port, '/storage/hls/101/master.m3u8', { headers: { Referer: 'https://evil.example.net/' } })).status, 200, 'no list: every site');
  } finally {
    await guarded.close();
  }
});

// ------------------------------------------------------------------------------------------------
// Replaced packages

for (const cacheBytes of [undefined, 0]) {
  test(`a package replaced as publish.ts does it is served new at the next request (cacheBytes ${cacheBytes ?? 'default'})`, async () => {
    const live = path.join(tmp, `live-${cacheBytes ?? 'default'}`);
    await writePackage(path.join(live, '202'), 'v1');
    const s = await serve({ root: live, cacheBytes });
    const files = ['master.m3u8', 'poster.jpg', 'manifest.json', 'high/segment000.ts', 'high/playlist.m3u8'];
    try {
      const before: Record<string, RawResponse> = {};
      for (const f of files) {
        // Twice: the second is answered from memory where there is a cache.
        await raw(s.port, `/storage/hls/202/${f}`, { headers: { 'Accept-Encoding': 'gzip' } });
        before[f] = await raw(s.port, `/storage/hls/202/${f}`);
      }
      // v2 has the same sizes as v1 (same-length version tag, same byte counts): only the content differs.
      const staging = path.join(live, '.vcs-work-202-x/staging');
      await writePackage(staging, 'v2');
      await publishPackage(staging, path.join(live, '202'), path.join(live, '.vcs-work-202-x'));
      for (const f of files) {
        const expected = await readFile(path.join(live, '202', f));
        const after = await raw(s.port, `/storage/hls/202/${f}`);
        assert.is(after.status, 200, f);
        assert.ok(after.body.equals(expected), `${f}: the new bytes`);
        assert.is(after.body.length, before[f]!.body.length, f);
        if (f !== 'high/playlist.m3u8') assert.not.ok(after.body.equals(before[f]!.body), `${f}: not the old bytes`);
        assert.is.not(after.headers.etag, before[f]!.headers.etag, `${f}: a new ETag`);
        const revalidated = await raw(s.port, `/storage/hls/202/${f}`, { headers: { 'If-None-Match': before[f]!.headers.etag ?? '' } });
        assert.is(revalidated.status, 200, `${f}: the old ETag no longer matches`);
        const zipped = await raw(s.port, `/storage/hls/202/${f}`, { headers: { 'Accept-Encoding': 'gzip' } });
        const body = zipped.headers['content-encoding'] === 'gzip' ? gunzipSync(zipped.body) : zipped.body;
        assert.ok(body.equals(expected), `${f}: the new bytes, gzipped too`);
      }
    } finally {
      await s.close();
    }
  });
}

test('a package removed answers 404 at once, and served again when it comes back', async () => {
  const live = path.join(tmp, 'removed');
  await writePackage(path.join(live, '303'), 'v1');
  const s = await serve({ root: live });
  try {
    assert.is((await raw(s.port, '/storage/hls/303/master.m3u8')).status, 200);
    await rm(path.join(live, '303'), { recursive: true });
    assertNotFound(await raw(s.port, '/storage/hls/303/master.m3u8'), 'removed');
    // A new encode takes seconds; wait past the file clock's tick so the new files cannot carry
    // the old ones' freed inode numbers together with the same times and sizes.
    await new Promise((resolve) => setTimeout(resolve, 25));
    await writePackage(path.join(live, '303'), 'v3');
    assert.match((await raw(s.port, '/storage/hls/303/master.m3u8')).body.toString(), /# v3/);
  } finally {
    await s.close();
  }
});

test('HLS_PATH created after the server started is found', async () => {
  const late = path.join(tmp, 'late');
  const s = await serve({ root: late });
  try {
    assertNotFound(await raw(s.port, '/storage/hls/1/master.m3u8'), 'before');
    await writePackage(path.join(late, '1'), 'v1');
    assert.is((await raw(s.port, '/storage/hls/1/master.m3u8')).status, 200);
  } finally {
    await s.close();
  }
});

test('options are checked at the boundary', () => {
  assert.throws(() => hlsFiles({ root: '' }), /"root" must be the HLS_PATH folder/);
  assert.throws(() => hlsFiles({ root, cacheBytes: -1 }), /"cacheBytes" must be a whole number/);
  assert.throws(() => hlsFiles({ root, allowedReferers: [''] }), /"allowedReferers" must be a list of host names/);
  assert.type(hlsFiles(root), 'function', 'the HLS_PATH alone still works');
});

test.run();
