import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLiveFeed, type LiveSnapshot } from '../../../src/gateway/admin/live.ts';
import type { VideoJob } from '../../../src/jobs/model.ts';

const log = pino({ level: 'silent' });
const counts = { pending: 1, processing: 1, completed: 0, failed: 0, deleted: 0 };

function fakeStore() {
  const calls = { counts: 0, processing: 0 };
  let fail = false;
  return {
    calls,
    failNext: () => (fail = true),
    store: {
      countByStatus: async () => {
        calls.counts++;
        if (fail) {
          fail = false;
          throw new Error('store down');
        }
        return counts;
      },
      isPaused: async () => false,
      listProcessing: async () => {
        calls.processing++;
        return [{ wp_post_id: 7, title: 'T', compression_step: 'compressing', compression_progress: 40 } as VideoJob];
      },
    },
  };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one poll per interval for every open page together; none while nobody listens', async () => {
  const f = fakeStore();
  const feed = createLiveFeed({ store: f.store, log, intervalMs: 50, now: () => Date.parse('2030-01-01T00:00:00Z') });
  await tick(120);
  assert.is(f.calls.counts, 0, 'no page, no poll');
  const a: LiveSnapshot[] = [];
  const b: LiveSnapshot[] = [];
  const stopA = feed.subscribe((s) => a.push(s));
  const stopB = feed.subscribe((s) => b.push(s));
  await tick(230);
  // Two pages polling each would make 8–10; a loaded machine makes fewer, never more.
  assert.ok(f.calls.counts >= 1 && f.calls.counts <= 6, `${f.calls.counts} polls for two pages in ~230 ms at 50 ms`);
  assert.is(a.length, b.length);
  assert.equal(a[0], { at: '2030-01-01T00:00:00.000Z', counts, paused: false, processing: [{ wp_post_id: 7, title: 'T', compression_step: 'compressing', compression_progress: 40 }] });
  const c: LiveSnapshot[] = [];
  const stopC = feed.subscribe((s) => c.push(s));
  assert.is(c.length, 1, 'a new page gets the latest snapshot at once');
  stopA();
  stopB();
  stopC();
  const after = f.calls.counts;
  await tick(150);
  assert.is(f.calls.counts, after, 'polling stops with the last page');
  assert.is(feed.listeners, 0);
});

test('a failed poll keeps the pages on their last view; the next one goes on', async () => {
  const f = fakeStore();
  const feed = createLiveFeed({ store: f.store, log, intervalMs: 40, now: Date.now });
  const seen: LiveSnapshot[] = [];
  f.failNext();
  const stop = feed.subscribe((s) => seen.push(s));
  await tick(130);
  stop();
  assert.ok(seen.length >= 1, 'later polls delivered');
  feed.close();
});

test.run();
