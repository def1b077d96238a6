/**
 * transcoder/publish.ts: the package is moved into place by renames — the published files are the
 * staging files themselves (same inodes), a reader never sees a partial or mixed package, and a
 * failed swap puts the old package back.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VcsError } from '../../src/errors.ts';
import { publishPackage } from '../../transcoder/publish.ts';

/** A package's shape: files at the top and in rendition subfolders. */
const FILES = ['master.m3u8', 'poster.jpg', 'high/playlist.m3u8', 'high/segment000.ts', 'high/segment001.ts', 'low/playlist.m3u8', 'low/segment000.ts', 'low/segment001.ts'];
/** Large enough that copying a package takes a while a polling reader can catch. */
const FILE_BYTES = 64 * 1024;

let tmp = '';
test.before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'vcs-publish-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every file holds "gen <n>\n" then the byte n repeated (the format package-poller.mjs checks). */
async function writePackage(dir: string, gen: number): Promise<void> {
  for (const file of FILES) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    const buf = Buffer.alloc(FILE_BYTES, gen % 256);
    buf.write(`gen ${gen}\n`, 'latin1');
    await writeFile(path.join(dir, file), buf);
  }
}

async function generations(dir: string): Promise<number[]> {
  return Promise.all(FILES.map(async (f) => Number(/^gen (\d+)/.exec((await readFile(path.join(dir, f))).subarray(0, 16).toString('latin1'))?.[1])));
}

/** Inode of the folder, each subfolder and each file. */
async function inodes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = { '.': (await stat(dir)).ino };
  for (const f of FILES) {
    out[f] = (await stat(path.join(dir, f))).ino;
    out[path.dirname(f)] = (await stat(path.join(dir, path.dirname(f)))).ino;
  }
  return out;
}

test('fresh publish and re-publish: the published files are the staging files, moved (same inodes); nothing left behind', async () => {
  const work = path.join(tmp, 'work-a');
  const output = path.join(tmp, 'hls-a', '101');
  await mkdir(work);
  for (const gen of [1, 2]) {
    const staging = path.join(work, 'staging');
    await writePackage(staging, gen);
    const staged = await inodes(staging);
    await publishPackage(staging, output, work);
    assert.equal(await inodes(output), staged, `publish ${gen}: renamed, not copied`);
    assert.equal(await generations(output), FILES.map(() => gen));
    assert.is(existsSync(staging), false);
    assert.equal(await readdir(work), [], `publish ${gen}: the old package is removed`);
  }
});

test('a reader polling during re-publishes sees the old package whole, no folder, or the new one whole — never a mix or a partial folder', async () => {
  const work = path.join(tmp, 'work-b');
  const output = path.join(tmp, 'hls-b', '102');
  await mkdir(work);
  await writePackage(output, 1);
  const control = new SharedArrayBuffer(8);
  const flags = new Int32Array(control);
  const worker = new Worker(new URL('../support/package-poller.mjs', import.meta.url), { workerData: { dir: output, files: FILES, size: FILE_BYTES, control } });
  const report = once(worker, 'message');
  const seenWhole = async (gen: number) => {
    const deadline = Date.now() + 10_000;
    while (Atomics.load(flags, 1) < gen) {
      if (Date.now() > deadline) throw new Error(`the reader never saw generation ${gen} whole`);
      await nextTurn();
    }
  };
  const publishes = 40;
  try {
    await seenWhole(1);
    // Each publish starts while the reader is polling, after it has seen the previous package.
    for (let gen = 2; gen <= publishes + 1; gen++) {
      const staging = path.join(work, `staging-${gen}`);
      await writePackage(staging, gen);
      await publishPackage(staging, output, work);
      await seenWhole(gen);
    }
  } finally {
    Atomics.store(flags, 0, 1);
  }
  const [seen] = (await report) as [[string, number][]];
  await worker.terminate();
  const bad = seen.filter(([kind]) => !/^(whole \d+|absent|straddled)$/.test(kind));
  assert.equal(bad, [], 'observations of a partial or mixed package');
  const order = seen.filter(([kind]) => kind.startsWith('whole')).map(([kind]) => Number(kind.slice(6)));
  assert.equal(order, Array.from({ length: publishes + 1 }, (_, i) => i + 1), 'each generation seen whole, in order, never an old one after a new one');
  assert.equal(await readdir(work), []);
});

test('a failed swap (the staging folder is gone) puts the old package back, the same files', async () => {
  const work = path.join(tmp, 'work-c');
  const output = path.join(tmp, 'hls-c', '103');
  await mkdir(work);
  await writePackage(output, 1);
  const before = await inodes(output);
  const err = (await publishPackage(path.join(work, 'staging'), output, work).catch((e: unknown) => e)) as VcsError;
  assert.is(err.code, 'VCS_ERR_PUBLISH_FAILED');
  assert.is(err.message, `cannot publish to ${output}: ENOENT`);
  assert.equal(await inodes(output), before, 'the old package, renamed back');
  assert.equal(await generations(output), FILES.map(() => 1));
  assert.equal(await readdir(work), [], 'no retired copy left');
});

/** A tmpfs beside the temp folder's filesystem gives a real EXDEV; machines without one skip. */
const otherFilesystem = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(os.tmpdir()).dev ? '/dev/shm' : null;

(otherFilesystem ? test : test.skip)('staging on another filesystem (EXDEV): the message says TEMP_PATH and HLS_PATH must share one; the old package stays', async () => {
  const work = path.join(tmp, 'work-d');
  const output = path.join(tmp, 'hls-d', '104');
  const elsewhere = await mkdtemp(path.join(otherFilesystem!, 'vcs-publish-'));
  try {
    await mkdir(work);
    await writePackage(output, 1);
    const before = await inodes(output);
    const staging = path.join(elsewhere, 'staging');
    await writePackage(staging, 2);
    const err = (await publishPackage(staging, output, work).catch((e: unknown) => e)) as VcsError;
    assert.is(err.code, 'VCS_ERR_PUBLISH_FAILED');
    assert.is(err.message, `cannot publish to ${output}: the work folder (TEMP_PATH) and HLS_PATH must be on the same filesystem`);
    assert.equal(await inodes(output), before);
    assert.equal(await generations(staging), FILES.map(() => 2), 'the staging package is left as it was');
    assert.equal(await readdir(work), []);
  } finally {
    await rm(elsewhere, { recursive: true, force: true });
  }
});

test.run();
