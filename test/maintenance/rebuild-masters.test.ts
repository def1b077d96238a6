/**
 * `vcs maintenance rebuild-masters` (src/maintenance/rebuild-masters.ts) over real packages: a
 * rebuilt master is byte for byte the one the transcoder wrote; a damaged or missing one is
 * repaired, an intact one left alone, a package that cannot be measured reported.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rebuildMaster } from '../../src/maintenance/rebuild-masters.ts';
import { runMaintenance } from '../../src/roots/maintenance.ts';
import { ARGS, publishedWorld, type PublishedWorld } from '../support/published.ts';
import { runVcs } from '../support/vcs.ts';

const test = suite('maintenance rebuild-masters');
let w: PublishedWorld;
/** The master the transcoder wrote (every package is a copy of the same one). */
let written = '';

test.before(async () => {
  w = await publishedWorld([1, 2, 3, 4]);
  written = await readFile(path.join(w.dir(1), 'master.m3u8'), 'utf8');
});
test.after(async () => {
  await w.close();
});

const master = (id: number) => readFile(path.join(w.dir(id), 'master.m3u8'), 'utf8').catch(() => null);

test('the rebuilt master is the one the transcoder wrote; nothing is rewritten when it is already right', async () => {
  assert.match(written, /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,RESOLUTION=320x180,FRAME-RATE=30\.000,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"\nhigh\/playlist\.m3u8\n.*RESOLUTION=256x144.*\nlow\/playlist\.m3u8\n$/);
  await rm(path.join(w.dir(1), 'master.m3u8'));
  assert.equal(await rebuildMaster(w.dir(1), true), { changed: true }, 'dry run: would write');
  assert.is(await master(1), null, 'a dry run writes nothing');
  assert.equal(await rebuildMaster(w.dir(1), false), { changed: true });
  assert.is(await master(1), written);
  const before = (await stat(path.join(w.dir(1), 'master.m3u8'))).mtimeMs;
  assert.equal(await rebuildMaster(w.dir(1), false), { changed: false });
  assert.is((await stat(path.join(w.dir(1), 'master.m3u8'))).mtimeMs, before, 'an intact master is not touched');
});

test('vcs maintenance rebuild-masters: repairs a damaged master and a missing one, reports a package it cannot measure (exit 1)', async () => {
  // 2: nominal rates in place of the measured ones, as FFmpeg's own master states them; 3: gone;
  // 4: a segment missing, so the package cannot be measured.
  await writeFile(path.join(w.dir(2), 'master.m3u8'), written.replace(/BANDWIDTH=\d+/g, 'BANDWIDTH=5500000'));
  await rm(path.join(w.dir(3), 'master.m3u8'));
  await rm(path.join(w.dir(4), 'low/segment001.ts'));
  const damaged4 = await master(4);
  const dry = await runMaintenance('rebuild-masters', { ...ARGS, dryRun: true }, { settings: w.settings, store: w.store, log: pino({ level: 'silent' }), signal: new AbortController().signal });
  assert.equal([dry.exitCode, dry.summary.rewritten], [1, [2, 3]]);
  assert.is(await master(3), null, '--dry-run changes nothing');
  const run = await runVcs(['maintenance', 'rebuild-masters'], w.env);
  assert.is(run.code, 1, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal(summary, { maintenance: 'rebuild-masters', dry_run: false, checked: 4, rewritten: [2, 3], unchanged: 1, failed: [{ wp_post_id: 4, reason: 'low/segment001.ts is missing' }], stopped: false });
  for (const id of [1, 2, 3]) assert.is(await master(id), written, `master of ${id}`);
  assert.is(await master(4), damaged4, 'a package that cannot be measured keeps its master');
  for (const id of [1, 2, 3, 4]) assert.equal((await readdir(w.dir(id))).filter((n) => n.startsWith('.')), [], 'no temporary file left');
});

test.run();
