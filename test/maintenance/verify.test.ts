/**
 * `vcs maintenance verify` (src/maintenance/verify.ts) over real packages the transcoder made, each
 * damaged in its own way: a truncated segment, a missing media playlist, a segment corrupted after
 * its first frame (only decoding finds it), a published video without a folder.
 */
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { VcsError } from '../../src/errors.ts';
import { verifyVideos } from '../../src/maintenance/verify.ts';
import { runMaintenance } from '../../src/roots/maintenance.ts';
import { videosWithStatus } from '../../src/maintenance/videos.ts';
import { ARGS, publishedWorld, type PublishedWorld } from '../support/published.ts';
import { runVcs } from '../support/vcs.ts';

const test = suite('maintenance verify');
const log = pino({ level: 'silent' });
let w: PublishedWorld;

test.before(async () => {
  w = await publishedWorld([1, 2, 3, 4]);
  // 2: the last segment of low cut short, as a disk-full copy leaves it.
  const truncated = path.join(w.dir(2), 'low/segment001.ts');
  const handle = await open(truncated, 'r+');
  await handle.truncate((await stat(truncated)).size - 1000);
  await handle.close();
  // 3: a media playlist gone.
  await rm(path.join(w.dir(3), 'low/playlist.m3u8'));
  // 4: the same size, but the middle of a segment overwritten: its first frame still decodes.
  const corrupted = path.join(w.dir(4), 'high/segment001.ts');
  const size = (await stat(corrupted)).size;
  const h = await open(corrupted, 'r+');
  await h.write(Buffer.alloc(Math.floor(size / 3), 0x5a), 0, Math.floor(size / 3), Math.floor(size / 3));
  await h.close();
  // 5: published, but its folder is gone.
  await w.publish(5);
});
test.after(async () => {
  await w.close();
});

const check = (deep: boolean) => ({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', deep, signal: new AbortController().signal });

test('the quick check names the truncated segment, the missing playlist and the missing folder; the corrupted segment passes it', async () => {
  const report = await verifyVideos({ videos: await videosWithStatus(w.store, 'completed'), store: w.store, hlsPath: w.hlsPath, check: check(false), mark: false, log });
  assert.is(report.checked, 5);
  const bytes = w.output.renditions.find((r) => r.name === 'low')!.bytes;
  assert.equal(report.broken, [
    { wp_post_id: 2, reason: `low has 2 segments of ${bytes - 1000} bytes, the manifest recorded 2 of ${bytes}`, marked: false },
    { wp_post_id: 3, reason: 'low/playlist.m3u8 is missing', marked: false },
    { wp_post_id: 5, reason: 'the package folder is missing', marked: false },
  ], '4 passes: its corrupted segment still starts with a good keyframe, and has its size');
});

test('vcs maintenance verify --deep --mark: exit 1, broken videos by id and reason, queued again; --id of a good one exits 0, of one not published is a usage error', async () => {
  const run = await runVcs(['maintenance', 'verify', '--deep', '--mark'], w.env);
  assert.is(run.code, 1, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal([summary.checked, summary.ok], [5, 1]);
  assert.equal(summary.broken.map((b: { wp_post_id: number; marked: boolean }) => [b.wp_post_id, b.marked]), [[2, true], [3, true], [4, true], [5, true]]);
  assert.match(summary.broken[2].reason, /^high\/segment001\.ts does not decode cleanly: /, 'only --deep finds the corrupted segment');
  assert.match(run.stderr, /package broken/, 'progress on stderr');
  for (const id of [2, 3, 4, 5]) {
    const v = (await w.store.get(id))!;
    assert.equal([v.compression_status, v.compression_step, v.retry_count], ['pending', 'queued', 0], `video ${id} marked for re-compression`);
  }
  assert.is((await w.store.get(1))!.compression_status, 'completed');
  const one = await runMaintenance('verify', { ...ARGS, id: 1 }, { settings: w.settings, store: w.store, log, signal: new AbortController().signal });
  assert.equal([one.exitCode, one.summary.checked, one.summary.broken], [0, 1, []]);
  const notPublished = await runMaintenance('verify', { ...ARGS, id: 2 }, { settings: w.settings, store: w.store, log, signal: new AbortController().signal }).catch((e: VcsError) => e);
  assert.equal([(notPublished as VcsError).code, (notPublished as VcsError).message], ['VCS_ERR_BAD_REQUEST', 'video 2 is pending: only completed videos have a published package']);
  assert.equal((await readdir(w.dir(1))).filter((n) => n.startsWith('.')), [], 'verify writes nothing into a package');
});

test.run();
