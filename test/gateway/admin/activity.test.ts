import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adminEvent, journalAdminLog, mergeActivity, videoEvent } from '../../../src/gateway/admin/activity.ts';
import { appendAudit, auditDir, recentAudit } from '../../../src/volume/audit.ts';
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

test('merged newest first, bounded', () => {
  const e = (at: string) => ({ at, kind: 'admin' as const, text: at });
  assert.equal(mergeActivity(2, [e('2030-01-01T00:00:01Z'), e('2030-01-01T00:00:03Z')], [e('2030-01-01T00:00:02Z')]).map((x) => x.text), ['2030-01-01T00:00:03Z', '2030-01-01T00:00:02Z']);
});

test('the audit journal on the volume: kept across processes and months, newest first, torn lines skipped', async () => {
  const storage = await mkdtemp(path.join(os.tmpdir(), 'vcs-audit-'));
  try {
    const log = journalAdminLog({ append: (entry) => appendAudit(storage, entry), recent: (n) => recentAudit(storage, n) });
    await log.record(adminEvent('a@example.com', 'POST', '/api/worker/pause', '2030-01-31T23:59:00.000Z')!, 'POST /api/worker/pause');
    await log.record(adminEvent('b@example.com', 'DELETE', '/api/post/9', '2030-02-01T00:01:00.000Z')!, 'DELETE /api/post/9');
    await appendFile(path.join(auditDir(storage), 'audit-2030-02.jsonl'), '{"torn":\n');
    await writeFile(path.join(auditDir(storage), 'notes.txt'), 'not a journal');
    const again = journalAdminLog({ append: (entry) => appendAudit(storage, entry), recent: (n) => recentAudit(storage, n) }); // another replica
    assert.equal((await again.recent(10)).map((e) => [e.text, e.actor, e.wp_post_id]), [
      ['b@example.com deleted video #9', 'b@example.com', 9],
      ['a@example.com paused the worker', 'a@example.com', undefined],
    ]);
    assert.is((await again.recent(1)).length, 1);
    assert.equal(await recentAudit(path.join(storage, 'none'), 5), []);
  } finally {
    await rm(storage, { recursive: true, force: true });
  }
});

test.run();
