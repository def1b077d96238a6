import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adminEvent, createAdminLog, mergeActivity, videoEvent } from '../../../src/gateway/admin/activity.ts';
import type { VideoJob } from '../../../src/jobs/model.ts';

const v = (patch: Partial<VideoJob>) => ({ wp_post_id: 7, updated_at: '2030-01-01T00:00:09Z', error_message: null, started_at: null, completed_at: null, failed_at: null, ...patch }) as VideoJob;

test('a video’s latest change, as one event at the time it happened', () => {
  assert.equal(videoEvent(v({ compression_status: 'completed', completed_at: '2030-01-01T00:00:05Z' })), { at: '2030-01-01T00:00:05Z', kind: 'completed', text: 'Video #7 completed', wp_post_id: 7 });
  assert.equal(videoEvent(v({ compression_status: 'processing', started_at: '2030-01-01T00:00:02Z' })).text, 'Video #7 started processing');
  assert.equal(videoEvent(v({ compression_status: 'failed', failed_at: '2030-01-01T00:00:03Z', error_message: '<b>bad</b>' })).text, 'Video #7 failed: <b>bad</b>');
  assert.equal(videoEvent(v({ compression_status: 'pending' })).kind, 'queued');
  assert.equal(videoEvent(v({ compression_status: 'deleted' })).at, '2030-01-01T00:00:09Z');
});

test('admin calls that change something become events with who; reads and unknown calls do not', () => {
  const at = '2030-01-01T00:00:00Z';
  assert.equal(adminEvent('a@example.com', 'POST', '/api/worker/pause', at), { at, kind: 'admin', text: 'a@example.com paused the worker', actor: 'a@example.com' });
  assert.equal(adminEvent('k', 'DELETE', '/api/post/42', at)?.wp_post_id, 42);
  assert.is(adminEvent('k', 'POST', '/api/compress/5', at)?.text, 'k queued video #5 again');
  for (const [m, p] of [['GET', '/api/jobs'], ['POST', '/api/compress/5/x'], ['POST', '/api/worker/pause/']]) assert.is(adminEvent('k', m!, p!, at), null, `${m} ${p}`);
});

test('merged newest first, bounded; the log keeps the last 100', () => {
  const e = (at: string) => ({ at, kind: 'admin' as const, text: at });
  assert.equal(mergeActivity(2, [e('2030-01-01T00:00:01Z'), e('2030-01-01T00:00:03Z')], [e('2030-01-01T00:00:02Z')]).map((x) => x.text), ['2030-01-01T00:00:03Z', '2030-01-01T00:00:02Z']);
  const log = createAdminLog(3);
  for (let i = 0; i < 5; i++) log.record(e(String(i)));
  assert.equal(log.recent().map((x) => x.text), ['4', '3', '2']);
});

test.run();
