/**
 * The daily old-video cleanup (src/controller/retention.ts) on a real SQLite store and folder, and
 * `vcs cleanup temp|old|stuck [--dry-run]` as a user runs it.
 */
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deleteOldVideos, msUntilHour } from '../../src/controller/retention.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { runVcs } from '../support/vcs.ts';

const test = suite('old-video cleanup');
const log = pino({ level: 'silent' });
const DAY = 86_400_000;
const exists = (p: string) => stat(p).then(() => true, () => false);

test('msUntilHour: the next time the clock shows that hour, local time', () => {
  const at = (h: number, m: number) => new Date(2030, 0, 15, h, m, 0, 0);
  assert.is(msUntilHour(at(2, 30), 3), 30 * 60_000);
  assert.is(msUntilHour(at(3, 0), 3), DAY, 'exactly then: tomorrow');
  assert.is(msUntilHour(at(3, 1), 3), DAY - 60_000);
  assert.is(msUntilHour(at(23, 0), 0), 60 * 60_000);
});

/** A storage folder with a SQLite store whose clock the test sets, and packages on disk. */
async function world() {
  const storage = await mkdtemp(path.join(os.tmpdir(), 'vcs-retention-'));
  const clock = { now: Date.now() - 100 * DAY };
  const store: JobStore = createSqliteStore({ file: path.join(storage, 'vcs.sqlite'), now: () => clock.now });
  await store.init();
  const volume = { hlsPath: path.join(storage, 'hls'), tempPath: path.join(storage, 'temp') };
  const completed = async (id: number, ageDays: number) => {
    clock.now = Date.now() - ageDays * DAY;
    await store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://example.com/${id}.mp4` });
    await store.transition(id, 'processing', { job_name: `vcs-${id}-1` });
    await store.transition(id, 'completed', { master_playlist_url: `https://cdn.example.com/storage/hls/${id}/master.m3u8`, completed_at: new Date(clock.now).toISOString() });
    await mkdir(path.join(volume.hlsPath, String(id)), { recursive: true });
    await writeFile(path.join(volume.hlsPath, String(id), 'master.m3u8'), 'x'.repeat(1000));
    await mkdir(path.join(volume.tempPath, 'logs', String(id)), { recursive: true });
    await writeFile(path.join(volume.tempPath, 'logs', String(id), `vcs-${id}-1.log`), 'y'.repeat(24));
  };
  return { storage, store, volume, clock, completed, close: async () => (await store.close(), await rm(storage, { recursive: true, force: true })) };
}

test('completed videos older than the setting lose their files and are marked deleted; newer ones and other states stay', async () => {
  const w = await world();
  try {
    await w.completed(1, 120);
    await w.completed(2, 95);
    await w.completed(3, 10);
    w.clock.now = Date.now() - 200 * DAY;
    await w.store.create({ wp_post_id: 4, title: 'Old but pending', original_video_url: 'https://example.com/4.mp4' });
    w.clock.now = Date.now();
    const dry = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, now: Date.now(), log, dryRun: true });
    assert.equal([dry.dryRun, dry.videos.map((v) => v.wp_post_id), dry.bytesFreed], [true, [1, 2], 0]);
    assert.is((await w.store.get(1))!.compression_status, 'completed', 'a dry run changes nothing');
    const report = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, now: Date.now(), log });
    assert.equal(report.videos.map((v) => [v.wp_post_id, v.bytes]), [[1, 1024], [2, 1024]]);
    assert.is(report.bytesFreed, 2048);
    for (const id of [1, 2]) {
      const v = (await w.store.get(id))!;
      assert.equal([v.compression_status, v.master_playlist_url], ['deleted', null], `video ${id} kept as a deleted document`);
      assert.not.ok(await exists(path.join(w.volume.hlsPath, String(id))));
      assert.not.ok(await exists(path.join(w.volume.tempPath, 'logs', String(id))));
    }
    assert.is((await w.store.get(3))!.compression_status, 'completed');
    assert.ok(await exists(path.join(w.volume.hlsPath, '3', 'master.m3u8')));
    assert.is((await w.store.get(4))!.compression_status, 'pending');
    assert.equal((await deleteOldVideos({ store: w.store, volume: w.volume, days: 0, now: Date.now(), log })).videos, [], '0: off');
  } finally {
    await w.close();
  }
});

test('KEEP_WATCHED_VIDEOS_DAYS: an old video served within the days is kept, one served before them or never is deleted', async () => {
  const w = await world();
  try {
    for (const id of [1, 2, 3]) await w.completed(id, 120);
    const now = Date.now();
    await w.store.recordAccess(new Map([[1, new Date(now - 2 * DAY).toISOString()], [2, new Date(now - 40 * DAY).toISOString()]]));
    const report = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, keepWatchedDays: 30, now, log });
    assert.equal(report.kept.map((v) => [v.wp_post_id, v.last_accessed_at]), [[1, new Date(now - 2 * DAY).toISOString()]]);
    assert.equal(report.videos.map((v) => v.wp_post_id), [2, 3]);
    assert.is((await w.store.get(1))!.compression_status, 'completed');
    assert.ok(await exists(path.join(w.volume.hlsPath, '1', 'master.m3u8')), 'still served');
    for (const id of [2, 3]) assert.is((await w.store.get(id))!.compression_status, 'deleted');
    const off = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, keepWatchedDays: 0, now, log, dryRun: true });
    assert.equal([off.kept, off.videos.map((v) => v.wp_post_id)], [[], [1]], '0: by age alone');
    // Unwatched since: kept while the last access is under 30 days old, deleted once it is not.
    const nearly = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, keepWatchedDays: 30, now: now + 27 * DAY, log });
    assert.equal([nearly.kept.length, nearly.videos.length], [1, 0], '29 days since the last access');
    const expired = await deleteOldVideos({ store: w.store, volume: w.volume, days: 90, keepWatchedDays: 30, now: now + 28 * DAY, log });
    assert.equal([expired.kept, expired.videos.map((v) => v.wp_post_id)], [[], [1]], '30 days since the last access');
    assert.is((await w.store.get(1))!.compression_status, 'deleted');
  } finally {
    await w.close();
  }
});

test('vcs cleanup old|temp|stuck, with and without --dry-run, prints what it did', async () => {
  const w = await world();
  try {
    await w.completed(7, 40);
    await w.completed(6, 40);
    await w.store.recordAccess(new Map([[6, new Date(Date.now() - DAY).toISOString()]]));
    w.clock.now = Date.now() - 5 * 3600_000;
    await w.store.create({ wp_post_id: 8, title: 'Hung', original_video_url: 'https://example.com/8.mp4' });
    await w.store.transition(8, 'processing', { job_name: 'vcs-8-1', started_at: new Date(w.clock.now).toISOString() });
    await mkdir(path.join(w.volume.tempPath, 'work', 'vcs-9-1'), { recursive: true });
    await writeFile(path.join(w.volume.tempPath, 'work', 'vcs-9-1', 'source.mp4'), Buffer.alloc(5000));
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(w.volume.tempPath, 'work', 'vcs-9-1', 'source.mp4'), old, old);
    await utimes(path.join(w.volume.tempPath, 'work', 'vcs-9-1'), old, old);
    await w.store.close();
    const env = { STORAGE_PATH: w.storage, DELETE_OLD_VIDEOS_AFTER: '30', KEEP_WATCHED_VIDEOS_DAYS: '7', PROCESSING_TIMEOUT: String(2 * 3600_000) };
    const run = async (...args: string[]) => {
      const r = await runVcs(['cleanup', ...args], env);
      assert.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const dryOld = await run('old', '--dry-run');
    assert.equal([dryOld.dry_run, dryOld.videos.map((v: { wp_post_id: number }) => v.wp_post_id)], [true, [7]]);
    assert.equal([dryOld.keep_watched_days, dryOld.kept_watched.map((v: { wp_post_id: number }) => v.wp_post_id)], [7, [6]], 'watched yesterday: kept');
    assert.ok(await exists(path.join(w.volume.hlsPath, '7')));
    const realOld = await run('old');
    assert.equal([realOld.videos.length, realOld.bytes_freed], [1, 1024]);
    assert.not.ok(await exists(path.join(w.volume.hlsPath, '7')));
    const dryTemp = await run('temp', '--dry-run');
    assert.equal([dryTemp.removed.length, dryTemp.bytes_freed], [1, 5000]);
    assert.ok(await exists(path.join(w.volume.tempPath, 'work', 'vcs-9-1')));
    assert.equal((await run('temp')).removed.length, 1);
    assert.not.ok(await exists(path.join(w.volume.tempPath, 'work', 'vcs-9-1')));
    const stuck = await run('stuck', '--dry-run');
    assert.equal(stuck.stuck.map((v: { wp_post_id: number }) => v.wp_post_id), [8]);
    const bad = await runVcs(['cleanup', 'everything'], env);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /Unknown argument: everything|Name a subcommand/);
  } finally {
    await rm(w.storage, { recursive: true, force: true });
  }
});

test.run();
