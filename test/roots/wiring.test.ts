/**
 * The shared wiring's start-up clean-up (src/roots/wiring.ts): packages of deleted videos a run
 * published while no controller watched, and work folders no running run owns.
 */
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Runner, RunStatus } from '../../src/controller/runner.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import { checkReadFolders, purgeDeletedPackages, startUpCleanup } from '../../src/roots/wiring.ts';

const exists = (file: string) => access(file).then(() => true, () => false);
const log = pino({ level: 'silent' });

async function world() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-wiring-'));
  const store = createSqliteStore({ file: path.join(dir, 'vcs.sqlite'), now: Date.now });
  await store.init();
  const settings = { HLS_PATH: path.join(dir, 'hls'), TEMP_PATH: path.join(dir, 'temp') };
  const publish = async (id: number) => {
    await mkdir(path.join(settings.HLS_PATH, String(id)), { recursive: true });
    await writeFile(path.join(settings.HLS_PATH, String(id), 'master.m3u8'), '#EXTM3U\n');
  };
  return { dir, store, settings, publish, close: async () => (await store.close(), await rm(dir, { recursive: true, force: true })) };
}

test('packages of videos deleted with their files are removed; kept ones and live videos stay', async () => {
  const w = await world();
  try {
    for (const id of [1, 2, 3]) await w.store.create({ wp_post_id: id, title: `v${id}`, original_video_url: `https://wp.example/${id}.mp4` });
    await w.store.transition(1, 'deleted', { master_playlist_url: null });
    await w.store.update(2, { master_playlist_url: 'https://cdn.example/storage/hls/2/master.m3u8' });
    await w.store.transition(2, 'deleted'); // delete_files=false: the URLs (and the files) stay
    await w.store.transition(3, 'processing', { job_name: 'vcs-3-1' });
    for (const id of [1, 2, 3]) await w.publish(id);
    await purgeDeletedPackages(w.store, w.settings, log);
    assert.equal(await Promise.all([1, 2, 3].map((id) => exists(path.join(w.settings.HLS_PATH, String(id))))), [false, true, true]);
  } finally {
    await w.close();
  }
});

test('many deleted videos: every page is looked at', async () => {
  const w = await world();
  try {
    for (let id = 1; id <= 230; id++) {
      await w.store.create({ wp_post_id: id, title: `v${id}`, original_video_url: `https://wp.example/${id}.mp4` });
      await w.store.transition(id, 'deleted', { master_playlist_url: null });
    }
    for (const id of [1, 150, 230]) await w.publish(id);
    await purgeDeletedPackages(w.store, w.settings, log);
    for (const id of [1, 150, 230]) assert.not.ok(await exists(path.join(w.settings.HLS_PATH, String(id))), String(id));
  } finally {
    await w.close();
  }
});

test('the start-up clean-up spares running runs’ work folders, and a failing part does not stop the other', async () => {
  const w = await world();
  try {
    for (const job of ['vcs-1-1', 'vcs-2-1']) await mkdir(path.join(w.settings.TEMP_PATH, 'work', job, 'staging'), { recursive: true });
    const runs: RunStatus[] = [{ jobName: 'vcs-2-1', videoId: 2, phase: 'running', startedAt: 0 }];
    const runner = { list: async () => runs } as unknown as Runner;
    await w.store.create({ wp_post_id: 9, title: 'v9', original_video_url: 'https://wp.example/9.mp4' });
    await w.store.transition(9, 'deleted', { master_playlist_url: null });
    await w.publish(9);
    await startUpCleanup(runner, w.store, w.settings, log);
    assert.equal([await exists(path.join(w.settings.TEMP_PATH, 'work', 'vcs-1-1')), await exists(path.join(w.settings.TEMP_PATH, 'work', 'vcs-2-1'))], [false, true]);
    assert.not.ok(await exists(path.join(w.settings.HLS_PATH, '9')));
    // The runner out of reach: the work sweep fails, the purge still runs, nothing throws.
    await w.publish(9);
    await startUpCleanup({ list: async () => Promise.reject(new Error('API server unavailable')) } as unknown as Runner, w.store, w.settings, log);
    assert.not.ok(await exists(path.join(w.settings.HLS_PATH, '9')));
  } finally {
    await w.close();
  }
});

test('the gateway’s folder check writes nothing: a missing HLS_PATH is a warning, a missing or non-folder STORAGE_PATH an error naming it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-wiring-'));
  try {
    const lines: string[] = [];
    const recording = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const hls = path.join(dir, 'hls');
    await checkReadFolders({ STORAGE_PATH: dir, HLS_PATH: hls }, recording);
    assert.is(await exists(hls), false); // read-only volume: nothing created
    assert.match(lines.join(''), /HLS_PATH does not exist yet/);
    await mkdir(hls);
    lines.length = 0;
    await checkReadFolders({ STORAGE_PATH: dir, HLS_PATH: hls }, recording);
    assert.equal(lines, []);
    const failure = (storage: string) => checkReadFolders({ STORAGE_PATH: storage, HLS_PATH: hls }, log).then(() => '', (err: Error) => err.message);
    assert.match(await failure(path.join(dir, 'missing')), /cannot read STORAGE_PATH .*missing \(ENOENT\)/);
    await writeFile(path.join(dir, 'file'), 'x');
    assert.match(await failure(path.join(dir, 'file')), /STORAGE_PATH .*file is not a folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
