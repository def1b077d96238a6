/**
 * `vcs status --watch` (src/roots/watch.ts): the line for each status, the ETA's format, and the
 * loop's output on a terminal (one line redrawn in place) and elsewhere (a line per change).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEta, renderProgress, watchVideo, type PostView } from '../../src/roots/watch.ts';
import type { ServiceClient } from '../../src/roots/service-client.ts';

const NOW = Date.parse('2026-01-01T10:00:00Z');
const post = (p: Partial<PostView>): PostView => ({
  wp_post_id: 7,
  title: 'Clip',
  status: 'pending',
  step: 'queued',
  progress: 0,
  estimated_completion: null,
  position_in_queue: null,
  urls: null,
  error_message: null,
  failed_at_step: null,
  ...p,
});

test('the line of each status: queue place and pause, a bar with step, percent and ETA, the result', () => {
  assert.is(renderProgress(post({ position_in_queue: 2 }), NOW, false), 'video 7: queued · position 2 in the queue');
  assert.is(renderProgress(post({ position_in_queue: 1 }), NOW, true), 'video 7: queued · position 1 in the queue · the worker is paused: nothing starts until vcs resume');
  const running = post({ status: 'processing', step: 'compressing', progress: 45, estimated_completion: new Date(NOW + 75_000).toISOString() });
  assert.is(renderProgress(running, NOW, false), 'video 7: [###########-------------]  45% compressing · ETA 1m 15s');
  assert.is(renderProgress({ ...running, progress: 0, estimated_completion: null, step: null }, NOW, false), 'video 7: [------------------------]   0% starting · ETA —');
  assert.is(renderProgress(post({ status: 'completed', urls: { master_playlist_url: 'http://x/storage/hls/7/master.m3u8' } }), NOW, false), 'video 7: completed · http://x/storage/hls/7/master.m3u8');
  assert.is(renderProgress(post({ status: 'failed', failed_at_step: 'probing', error_message: 'not a video' }), NOW, false), 'video 7: failed at probing: not a video');
  assert.is(renderProgress(post({ status: 'deleted' }), NOW, false), 'video 7: deleted');
});

test('ETA: seconds, minutes with seconds, hours with minutes; never negative', () => {
  assert.equal([formatEta(42), formatEta(75), formatEta(3600 + 5 * 60 + 9), formatEta(-3)], ['42s', '1m 15s', '1h 05m', '0s']);
});

/** A service whose video goes through `states`, one per look. */
function scripted(states: Partial<PostView>[]): ServiceClient {
  let i = 0;
  return {
    url: 'http://127.0.0.1:3000',
    async call<T>(_method: string, route: string) {
      if (route === '/api/worker') return { paused: false } as T;
      return post(states[Math.min(i++, states.length - 1)]!) as T;
    },
  };
}

const states: Partial<PostView>[] = [
  { position_in_queue: 1 },
  { status: 'processing', step: 'downloading', progress: 1 },
  { status: 'processing', step: 'downloading', progress: 2 },
  { status: 'processing', step: 'compressing', progress: 50 },
  { status: 'completed', step: 'completed', progress: 100 },
];

test('on a terminal one line is redrawn at every look, and the last one ends it', async () => {
  let screen = '';
  const end = await watchVideo(scripted(states), 7, { tty: true, columns: 100, write: (t) => (screen += t) }, { intervalMs: 0, now: () => NOW });
  assert.is(end, 'completed');
  const frames = screen.split('\r\x1b[2K');
  assert.equal(frames.length, 6);
  assert.is(frames.at(-1), 'video 7: completed\n');
  assert.not.ok(frames.slice(1, -1).some((f) => f.includes('\n')), 'live frames stay on their line');
});

test('elsewhere a plain line per change (not per look), ending with the result; a failure ends the watch too', async () => {
  let text = '';
  await watchVideo(scripted(states), 7, { tty: false, write: (t) => (text += t) }, { intervalMs: 0, now: () => NOW });
  assert.equal(text.trim().split('\n'), [
    'video 7: queued · position 1 in the queue',
    'video 7: [------------------------]   1% downloading · ETA —',
    'video 7: [############------------]  50% compressing · ETA —',
    'video 7: completed',
  ]);
  const end = await watchVideo(scripted([{ status: 'failed', error_message: 'gone' }]), 7, { tty: false, write: () => undefined }, { intervalMs: 0 });
  assert.is(end, 'failed');
});

test('a narrow terminal gets a cut line, so the redraw never wraps', async () => {
  let screen = '';
  await watchVideo(scripted([{ position_in_queue: 1 }, { status: 'deleted' }]), 7, { tty: true, columns: 30, write: (t) => (screen += t) }, { intervalMs: 0 });
  assert.is(screen.split('\r\x1b[2K')[1], 'video 7: queued · position 1…');
});

test.run();
