import { mkdir, mkdtemp, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createFileLookup, requestedFile } from '../../../src/gateway/hls/file-lookup.ts';

const paths = suite('requestedFile');

paths('plain package paths are accepted, with their extension', () => {
  assert.equal(requestedFile('101/master.m3u8'), { relative: '101/master.m3u8', extension: '.m3u8' });
  assert.equal(requestedFile('101/high/segment000.ts'), { relative: '101/high/segment000.ts', extension: '.ts' });
  assert.equal(requestedFile('101/poster.jpg'), { relative: '101/poster.jpg', extension: '.jpg' });
  assert.equal(requestedFile('101/manifest.json'), { relative: '101/manifest.json', extension: '.json' });
  assert.equal(requestedFile('101/high/segment%30%30%30.ts'), { relative: '101/high/segment000.ts', extension: '.ts' }, 'one decoding of unreserved characters');
});

paths('anything else is refused', () => {
  const refused = [
    '', '101', '101/', '101/high', '101/notes.txt', '101/.m3u8', '101/master.M3U8x',
    '../x.m3u8', '101/../x.m3u8', '%2e%2e/x.m3u8', '..%2fx.m3u8', '%252e%252e/x.m3u8', '..\\x.m3u8', '..%5cx.m3u8',
    '101/master.m3u8%00', '%00.m3u8', '/etc/x.m3u8', '101//master.m3u8', './101/master.m3u8',
    '.vcs-work-101/staging/master.m3u8', '101/.hidden.m3u8', '%2ehidden.m3u8', '101/a b.m3u8', '101/%E2%82%AC.m3u8', '101/%zz.m3u8',
  ];
  for (const p of refused) assert.is(requestedFile(p), null, p);
});

paths.run();

const lookups = suite('createFileLookup');
let tmp = '';

lookups.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-file-lookup-'));
});
lookups.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

lookups('finds files by real path and stat; folders and missing files are null', async () => {
  await mkdir(path.join(tmp, 'a/1'), { recursive: true });
  await writeFile(path.join(tmp, 'a/1/master.m3u8'), '#EXTM3U\n');
  const lookup = createFileLookup(path.join(tmp, 'a'));
  const found = await lookup('1/master.m3u8');
  assert.is(found?.realPath, path.join(await realpath(tmp), 'a/1/master.m3u8'));
  assert.is(found?.stat.size, 8);
  assert.is(await lookup('1'), null);
  assert.is(await lookup('1/missing.m3u8'), null);
  assert.is(await lookup('1/master.m3u8/x.ts'), null, 'ENOTDIR');
});

lookups('a request that arrives while a lookup is under way gets a later one, shared with the others that arrived meanwhile', async () => {
  const dir = path.join(tmp, 'b');
  await mkdir(path.join(dir, '1'), { recursive: true });
  await writeFile(path.join(dir, '1/master.m3u8'), 'old');
  const lookup = createFileLookup(dir);
  const first = lookup('1/master.m3u8');
  const second = lookup('1/master.m3u8');
  const third = lookup('1/master.m3u8');
  assert.is(second, third, 'one shared lookup for requests that arrived during the first');
  assert.is.not(first, second);
  // Replaced before the first lookup can have settled (settling needs a later turn of the loop).
  writeFileSync(path.join(dir, 'new.m3u8'), 'new!');
  renameSync(path.join(dir, 'new.m3u8'), path.join(dir, '1/master.m3u8'));
  const now = await stat(path.join(dir, '1/master.m3u8'));
  const [, later] = await Promise.all([first, second]);
  assert.is(later?.stat.ino, now.ino, 'the later lookup sees the replacement');
  assert.is(later?.stat.size, 4);
  const fresh = await lookup('1/master.m3u8');
  assert.is(fresh?.stat.ino, now.ino, 'nothing under way: a new lookup');
});

lookups('an HLS_PATH missing at first is looked for again; a renamed folder is found under its new name', async () => {
  const dir = path.join(tmp, 'c');
  const lookup = createFileLookup(dir);
  assert.is(await lookup('1/master.m3u8'), null, 'HLS_PATH does not exist yet');
  await mkdir(path.join(dir, '1'), { recursive: true });
  await writeFile(path.join(dir, '1/master.m3u8'), 'x');
  await rename(path.join(dir, '1'), path.join(dir, '2'));
  assert.ok(await lookup('2/master.m3u8'));
});

lookups.run();
