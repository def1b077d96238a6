/**
 * `vcs maintenance recompress-all` (src/maintenance/recompress.ts): the pacing rule, a rollout on a
 * real SQLite store with an injected clock (the rate holds across a stop and a resumed run, the
 * queue threshold lets new uploads go first), and the command as a user runs it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.ts';
import { createSqliteStore } from '../../src/jobs/sqlite-store.ts';
import type { JobStore } from '../../src/jobs/store.ts';
import { openJournal } from '../../src/maintenance/journal.ts';
import { HOUR_MS, pace, recompressAll, type RecompressOptions, type RolloutEntry } from '../../src/maintenance/recompress.ts';
import { runMaintenance } from '../../src/roots/maintenance.ts';
import { ARGS } from '../support/published.ts';
import { runVcs } from '../support/vcs.ts';

const test = suite('maintenance recompress-all');
const log = pino({ level: 'silent' });
const T0 = Date.parse('2030-01-15T10:00:00Z');
const MIN = 60_000;

test('pace: a full queue waits a poll; the rate counts the last 60 minutes and waits until one more fits', () => {
  const base = { now: T0, queuedAt: [] as number[], perHour: 2, pending: 0, maxPending: 3, pollMs: 30_000 };
  assert.equal(pace(base), { go: true });
  assert.equal(pace({ ...base, pending: 3 }), { go: false, waitMs: 30_000, why: 'queue full' });
  assert.equal(pace({ ...base, queuedAt: [T0 - 50 * MIN] }), { go: true });
  assert.equal(pace({ ...base, queuedAt: [T0 - 10 * MIN, T0 - 50 * MIN] }), { go: false, waitMs: 10 * MIN, why: 'hourly rate reached' });
  assert.equal(pace({ ...base, queuedAt: [T0 - 60 * MIN, T0 - 50 * MIN] }), { go: true }, 'an hour ago is outside the window');
  assert.equal(pace({ ...base, perHour: 1, queuedAt: [T0 - 5 * MIN, T0 - 20 * MIN, T0 - 30 * MIN] }), { go: false, waitMs: 55 * MIN, why: 'hourly rate reached' });
});

/** A storage folder with a SQLite store holding completed videos (no files: queueing needs none). */
async function world(ids: number[]) {
  const storage = await mkdtemp(path.join(os.tmpdir(), 'vcs-recompress-'));
  const store = createSqliteStore({ file: path.join(storage, 'vcs.sqlite'), now: Date.now });
  await store.init();
  for (const id of ids) {
    await store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://example.com/${id}.mp4`, priority: id === 2 ? 'high' : 'normal' });
    await store.transition(id, 'processing', {});
    await store.transition(id, 'completed', {});
  }
  return { storage, store, close: async () => (await store.close(), await rm(storage, { recursive: true, force: true })) };
}

/** A clock that moves only when the rollout sleeps; `onSleep` plays the rest of the world meanwhile. */
function fakeClock(onSleep: () => Promise<void> = async () => undefined) {
  const clock = { t: T0, now: () => clock.t, sleep: async (ms: number) => void ((clock.t += ms), await onSleep()) };
  return clock;
}

function options(store: JobStore, storage: string, o: Partial<RecompressOptions>): RecompressOptions {
  return {
    store,
    status: 'completed',
    perHour: 2,
    maxPending: 100,
    pollMs: 30_000,
    journalFile: path.join(storage, 'rollout.jsonl'),
    dryRun: false,
    log,
    clock: fakeClock(),
    signal: new AbortController().signal,
    poke: async () => undefined,
    ...o,
  };
}

test('at most N an hour, across a stop and the resumed run; queued at normal priority; the journal names each video once', async () => {
  const w = await world([1, 2, 3, 4, 5, 6]);
  try {
    const clock = fakeClock();
    const stop = new AbortController();
    let pokes = 0;
    const first = await recompressAll(options(w.store, w.storage, { clock, signal: stop.signal, poke: async () => void (++pokes === 3 && stop.abort()) }));
    assert.equal([first.candidates, first.queued, first.remaining], [6, [1, 2, 3], 3]);
    assert.equal([(await w.store.get(2))!.compression_status, (await w.store.get(2))!.priority], ['pending', 'normal'], 'a high-priority video goes back at normal priority');
    assert.is((await w.store.get(4))!.compression_status, 'completed');

    const second = await recompressAll(options(w.store, w.storage, { clock }));
    assert.equal([second.candidates, second.already_queued, second.queued, second.remaining], [3, 3, [4, 5, 6], 0]);
    const entries = (await openJournal<RolloutEntry>(path.join(w.storage, 'rollout.jsonl'))).entries;
    assert.equal(entries.map((e) => e.wp_post_id), [1, 2, 3, 4, 5, 6]);
    const times = entries.map((e) => Date.parse(e.at));
    assert.equal(times.map((t) => (t - T0) / HOUR_MS), [0, 0, 1, 1, 2, 2]);
    for (const t of times) assert.ok(times.filter((u) => u > t - HOUR_MS && u <= t).length <= 2, 'never more than 2 in an hour');

    const third = await recompressAll(options(w.store, w.storage, { clock }));
    assert.equal([third.candidates, third.queued], [0, []], 'a finished rollout queues nothing again, though the videos are pending');
  } finally {
    await w.close();
  }
});

test('only while the queue is short: a new upload waiting meanwhile is started before the next video of the rollout', async () => {
  const w = await world([1, 2, 3]);
  try {
    const started: number[] = [];
    let uploaded = false;
    // The controller, meanwhile: starts and finishes whatever is pending, in queue order; a new
    // upload arrives during the first wait.
    const clock = fakeClock(async () => {
      if (!uploaded) {
        uploaded = true;
        await w.store.create({ wp_post_id: 100, title: 'New upload', original_video_url: 'https://example.com/100.mp4' });
        return;
      }
      for (const v of await w.store.listPending(1)) {
        started.push(v.wp_post_id);
        await w.store.transition(v.wp_post_id, 'processing', {});
        await w.store.transition(v.wp_post_id, 'completed', {});
      }
    });
    const pendingAtQueue: number[] = [];
    const poke = async () => void pendingAtQueue.push((await w.store.countByStatus()).pending);
    const report = await recompressAll(options(w.store, w.storage, { clock, perHour: 100, maxPending: 1, poke }));
    assert.equal(report.queued, [1, 2, 3]);
    assert.equal(pendingAtQueue, [1, 1, 1], 'each queued only when nothing else was pending');
    assert.equal(started.slice(0, 2), [1, 100], 'the new upload went before the rollout continued');
  } finally {
    await w.close();
  }
});

test('vcs maintenance recompress-all: --dry-run changes nothing; a run queues and keeps its journal under STORAGE_PATH; a bad --rate exits 2', async () => {
  const w = await world([1, 2, 3]);
  const env = { STORAGE_PATH: w.storage, LOG_LEVEL: 'warn' };
  try {
    const dry = await runMaintenance('recompress-all', { ...ARGS, dryRun: true }, { settings: loadConfig(env), store: w.store, log, signal: new AbortController().signal });
    const planned = dry.summary;
    assert.equal([dry.exitCode, planned.candidates, planned.queued, planned.rate_per_hour, planned.max_pending], [0, 3, [], 60, 1]);
    assert.match(String(planned.rollout), /^ladder-[0-9a-f]{8}$/);
    assert.is((await w.store.countByStatus()).pending, 0, 'a dry run queues nothing');
    await w.store.close();
    const run = await runVcs(['maintenance', 'recompress-all', '--rate', '10/h', '--max-pending', '5', '--rollout', 'test-1'], env);
    assert.is(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).queued, [1, 2, 3]);
    assert.equal(await readdir(path.join(w.storage, 'maintenance')), ['recompress-test-1.jsonl']);
    const bad = await runVcs(['maintenance', 'recompress-all', '--rate', '0/h'], env);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /--rate must be videos per hour/);
  } finally {
    await rm(w.storage, { recursive: true, force: true });
  }
});

test.run();
