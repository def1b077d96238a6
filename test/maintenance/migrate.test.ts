/**
 * `vcs maintenance migrate-storage` (src/maintenance/migrate.ts) over real packages: a run that
 * fails after its first video (the store refuses the second switch; a crash leaves a staging
 * folder and a torn journal line) is resumed, repeats no finished step, and ends with every
 * package copied byte for byte, every document on the new URLs and the old copies removed.
 */
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { vcsError, type VcsError } from '../../src/errors.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { openJournal } from '../../src/maintenance/journal.ts';
import { MIGRATION_JOURNAL, migrateStorage, stepsToDo, type MigrationEntry } from '../../src/maintenance/migrate.ts';
import { sha256File } from '../../src/maintenance/verified-copy.ts';
import { packageProblem } from '../../src/maintenance/verify.ts';
import { runMaintenance } from '../../src/roots/maintenance.ts';
import { ARGS, publishedWorld, PUBLIC_URL, type PublishedWorld } from '../support/published.ts';
import { runVcs } from '../support/vcs.ts';

const test = suite('maintenance migrate-storage');
const log = pino({ level: 'silent' });
const NEW_URL = 'https://cdn2.example.com';
let w: PublishedWorld;
let to = '';
/** sha256 of every file of the package every id has, by relative path. */
let digests: Record<string, string> = {};

async function treeDigests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath, e.name))] = await sha256File(path.join(e.parentPath, e.name));
  }
  return out;
}

const journal = async () => (await openJournal<MigrationEntry>(path.join(to, MIGRATION_JOURNAL))).entries;

test.before(async () => {
  w = await publishedWorld([1, 2, 3]);
  to = path.join(w.storage, 'new-volume', 'hls');
  digests = await treeDigests(w.dir(1));
});
test.after(async () => {
  await w.close();
});

test('stepsToDo: copy, then switch (with a new URL), then remove (when asked), skipping what the journal has', () => {
  assert.equal(stepsToDo(new Set(), { publicUrl: null, removeOld: false }), ['copied']);
  assert.equal(stepsToDo(new Set(), { publicUrl: NEW_URL, removeOld: true }), ['copied', 'switched', 'removed']);
  assert.equal(stepsToDo(new Set(['copied']), { publicUrl: NEW_URL, removeOld: true }), ['switched', 'removed']);
  assert.equal(stepsToDo(new Set(['copied', 'switched']), { publicUrl: NEW_URL, removeOld: false }), []);
});

test('interrupted after the first video, then resumed: nothing done twice, every package verified at the new root, the documents switched, old copies removed', async () => {
  const options = { from: w.hlsPath, to, publicUrl: NEW_URL, removeOld: true, log, now: Date.now, signal: new AbortController().signal };
  const dry = await migrateStorage({ ...options, store: w.store, dryRun: true });
  assert.equal([dry.copied, dry.switched, dry.removed], [[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  assert.is(await stat(to).then(() => true, () => false), false, 'a dry run creates nothing');

  // The store goes away after the first video's switch: every later step of the run fails.
  let updates = 0;
  const failing: JobStore = {
    ...w.store,
    update: (...args) => (++updates > 1 ? Promise.reject(vcsError('VCS_ERR_STORE_UNAVAILABLE', 'store unreachable')) : w.store.update(...args)),
  };
  const first = await migrateStorage({ ...options, store: failing, dryRun: false });
  assert.equal([first.copied, first.switched, first.removed], [[1, 2, 3], [1], [1]]);
  assert.equal(first.failed, [{ wp_post_id: 2, reason: 'store unreachable' }, { wp_post_id: 3, reason: 'store unreachable' }]);
  assert.is((await w.store.get(2))!.master_playlist_url, `${PUBLIC_URL}/storage/hls/2/master.m3u8`, 'not switched');
  assert.ok(await stat(w.dir(2)).then(() => true), 'an unswitched package keeps its old copy');

  // A kill between moving 3's copy into place and its journal line; then one in the middle of
  // copying 3 again, leaving a staging folder and a torn line.
  const copiedInode = (await stat(path.join(to, '2', 'high/segment000.ts'))).ino;
  const lines = (await readFile(path.join(to, MIGRATION_JOURNAL), 'utf8')).split('\n');
  await writeFile(path.join(to, MIGRATION_JOURNAL), lines.filter((l) => !(l.includes('"copied"') && l.includes('"wp_post_id":3'))).join('\n'));
  await mkdir(path.join(to, '.vcs-work-migrate-3', 'high'), { recursive: true });
  await writeFile(path.join(to, '.vcs-work-migrate-3', 'high', 'segment000.ts'), 'partial');
  await appendFile(path.join(to, MIGRATION_JOURNAL), '{"event":"copied","wp_po');

  const run = await runVcs(['maintenance', 'migrate-storage', '--to', to, '--public-url', NEW_URL, '--remove-old'], w.env);
  assert.is(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal([summary.already_done, summary.copied, summary.switched, summary.removed, summary.failed], [[1], [3], [2, 3], [2, 3], []]);
  assert.is(summary.next, `set HLS_PATH=${to} and PUBLIC_URL=${NEW_URL}, then restart the service`);
  assert.is((await stat(path.join(to, '2', 'high/segment000.ts'))).ino, copiedInode, 'the verified copy of 2 was not made again');

  const entries = await journal();
  assert.equal(entries.filter((e) => e.event === 'copied').map((e) => 'wp_post_id' in e && e.wp_post_id), [1, 2, 3], 'each package recorded as copied once');
  assert.equal(await readdir(w.hlsPath), [], 'the old copies are removed');
  assert.equal((await readdir(to)).sort(), [MIGRATION_JOURNAL, '1', '2', '3'], 'no staging or retired folder left');
  for (const id of [1, 2, 3]) {
    assert.equal(await treeDigests(path.join(to, String(id))), digests, `package ${id} byte for byte`);
    assert.is(await packageProblem(path.join(to, String(id)), { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', deep: false, signal: new AbortController().signal }), null);
    const v = (await w.store.get(id))!;
    assert.equal(
      // The package has no medium rendition (the source is 180 lines): its URL stays empty.
      [v.compression_status, v.master_playlist_url, v.poster_url, v.hls_high_url, v.hls_medium_url, v.hls_low_url],
      ['completed', ...['master.m3u8', 'poster.jpg', 'high/playlist.m3u8'].map((f) => `${NEW_URL}/storage/hls/${id}/${f}`), null, `${NEW_URL}/storage/hls/${id}/low/playlist.m3u8`],
    );
  }

  const stopped = await migrateStorage({ ...options, store: w.store, dryRun: false, signal: AbortSignal.abort() });
  assert.equal([stopped.stopped, stopped.already_done], [true, []], 'Ctrl-C: stops before the next package');
  const again = await migrateStorage({ ...options, store: w.store, dryRun: false });
  assert.equal([again.already_done, again.copied, again.failed, again.stopped], [[1, 2, 3], [], [], false], 'a finished migration has nothing left to do');
  const other = await migrateStorage({ ...options, publicUrl: 'https://elsewhere.example.com', store: w.store, dryRun: false }).catch((e: Error) => e);
  assert.match((other as Error).message, /belongs to a migration from .* with --public-url https:\/\/cdn2\.example\.com/);
});

test('usage errors: --remove-old without --public-url, --to inside HLS_PATH', async () => {
  const parts = { settings: w.settings, store: w.store, log, signal: new AbortController().signal };
  const noUrl = (await runMaintenance('migrate-storage', { ...ARGS, to: path.join(w.storage, 'x'), removeOld: true }, parts).catch((e: VcsError) => e)) as VcsError;
  assert.equal([noUrl.code, noUrl.message.split(':')[0]], ['VCS_ERR_BAD_REQUEST', '--remove-old needs --public-url']);
  const inside = (await runMaintenance('migrate-storage', { ...ARGS, to: path.join(w.hlsPath, 'new') }, parts).catch((e: VcsError) => e)) as VcsError;
  assert.equal([inside.code, inside.message], ['VCS_ERR_BAD_REQUEST', `--to must be a folder outside HLS_PATH (${w.hlsPath}), and HLS_PATH not inside it`]);
});

test.run();
