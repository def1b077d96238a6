import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSmallFileCache, sameVersion } from '../../../src/gateway/hls/small-file-cache.ts';

const test = suite('small-file-cache');
let tmp = '';

test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-small-files-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const playlist = (tag: string) => `#EXTM3U\n#EXT-X-VERSION:6\n${'#EXTINF:10.000000,\nsegment000.ts\n'.repeat(40)}# ${tag}\n`;

test('read gives bytes and their stat, gzipped text when asked and smaller; kept while the stat describes that version', async () => {
  const file = path.join(tmp, 'a.m3u8');
  await writeFile(file, playlist('v1'));
  const cache = createSmallFileCache(1024 * 1024);
  const first = await cache.read(file, await stat(file), true);
  assert.ok(first);
  assert.is(first.bytes.toString(), playlist('v1'));
  assert.ok(first.gzip && first.gzip.length < first.bytes.length);
  assert.is(gunzipSync(first.gzip).toString(), playlist('v1'));
  assert.is(await cache.read(file, await stat(file), true), first, 'kept');
  // Replaced by a rename, as publish.ts does it: same size, new inode.
  await writeFile(`${file}.new`, playlist('v2'));
  await rename(`${file}.new`, file);
  const second = await cache.read(file, await stat(file), false);
  assert.is(second?.bytes.toString(), playlist('v2'));
  assert.is(second?.gzip, null, 'not asked to compress');
  assert.ok(second && sameVersion(second.stat, await stat(file)));
  assert.is(await cache.read(path.join(tmp, 'missing.m3u8'), first.stat, true), null);
});

test('requests that share a lookup (one stat object) share one read', async () => {
  const file = path.join(tmp, 'b.jpg');
  await writeFile(file, Buffer.alloc(1000, 1));
  const cache = createSmallFileCache(0);
  const seen = await stat(file);
  const [a, b] = await Promise.all([cache.read(file, seen, false), cache.read(file, seen, false)]);
  assert.is(a, b);
  assert.is.not(await cache.read(file, await stat(file), false), a, 'nothing kept with 0 bytes: a new lookup reads again');
});

test('the bound holds: least recently used out first', async () => {
  const names = ['1', '2', '3'].map((n) => path.join(tmp, `p${n}.jpg`));
  for (const n of names) await writeFile(n, Buffer.alloc(40_000, n));
  const cache = createSmallFileCache(100_000);
  const loaded = [];
  for (const n of names) loaded.push(await cache.read(n, await stat(n), false));
  assert.is.not(await cache.read(names[0]!, await stat(names[0]!), false), loaded[0], 'the first was dropped');
  assert.is(await cache.read(names[2]!, await stat(names[2]!), false), loaded[2]);
});

test('sameVersion compares inode, device, size, mtime and ctime', async () => {
  const file = path.join(tmp, 'v.json');
  await writeFile(file, '{}');
  const a = await stat(file);
  assert.ok(sameVersion(a, await stat(file)));
  // File times advance with the kernel's clock tick (a few ms): rewrite after one has passed.
  await new Promise((resolve) => setTimeout(resolve, 25));
  await writeFile(file, '[]');
  assert.not.ok(sameVersion(a, await stat(file)), 'rewritten in place, same size');
});

test.run();
