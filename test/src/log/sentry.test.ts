import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogging } from '../../../src/log.ts';
import { scrubText, secretValues } from '../../../src/log/sentry.ts';
import { startSentryIngest } from '../../support/sentry-ingest.ts';
import { waitFor } from '../../support/service.ts';

test('scrubbing: configured secrets (also JSON-escaped), URL passwords and query strings', () => {
  const secrets = secretValues({ API_KEY: 'key"with\\quote-123', WEBHOOK_URLS: ['https://hooks.slack.com/services/T0/B0/XYZsecret'], PROGRESS_SECRET: 'short', SENTRY_DSN: undefined });
  assert.equal(secrets, ['https://hooks.slack.com/services/T0/B0/XYZsecret', 'key"with\\quote-123'], 'lists item by item; values under 6 characters are no key');
  assert.is(scrubText(JSON.stringify({ m: 'key"with\\quote-123 sent' }), secrets), '{"m":"[redacted] sent"}');
  assert.is(scrubText('posting to https://hooks.slack.com/services/T0/B0/XYZsecret failed', secrets), 'posting to [redacted] failed');
  assert.is(scrubText('fetch http://user:pa55@cdn.example.com/v.mp4?X-Amz-Signature=abc#t failed', []), 'fetch http://[redacted]@cdn.example.com/v.mp4?[redacted]#t failed');
  assert.is(scrubText('nothing to hide at https://example.com/a/b', []), 'nothing to hide at https://example.com/a/b');
});

test('with SENTRY_DSN: error lines and failed videos arrive, tagged with the video id, without secrets', async () => {
  const ingest = await startSentryIngest();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcs-sentry-'));
  const fd = openSync(path.join(dir, 'stdout'), 'w');
  try {
    const settings = { LOG_LEVEL: 'info', ENABLE_LOGGING: true, LOG_FORMAT: 'json', LOG_DIR: undefined, SENTRY_DSN: ingest.dsn, API_KEY: 'the-api-key-0123456789' } as const;
    const logging = await createLogging(settings, { program: 'serve', fd });
    logging.log.warn({ videoId: 7 }, 'only a warning: not sent');
    logging.log.child({ part: 'controller' }).error({ videoId: 7, err: new Error('store unreachable with the-api-key-0123456789'), source: 'https://cdn.example.com/v.mp4?sig=s3cr3t' }, 'pass failed');
    logging.forward(JSON.stringify({ level: 50, name: 'transcoder', msg: 'a child’s error: reported as its failed video instead' }));
    logging.reporter!.videoFailed({ wp_post_id: 8, failed_at_step: 'probing', error_code: 'VCS_ERR_SOURCE_UNREADABLE', error_message: 'not a video' });
    await logging.close();
    const events = await waitFor(() => (ingest.events().length >= 2 ? ingest.events() : false), 5000, 'two events');
    assert.is(events.length, 2);
    const [logged, failed] = [events.find((e) => (e.tags as Record<string, string>).video_id === '7')!, events.find((e) => (e.tags as Record<string, string>).video_id === '8')!];
    assert.equal([logged.level, (logged.tags as Record<string, string>).part, (logged.tags as Record<string, string>).process], ['error', 'controller', 'serve']);
    const exception = (logged.exception as { values: { type: string; value: string }[] }).values[0]!;
    assert.equal([exception.type, exception.value], ['Error', 'store unreachable with [redacted]']);
    assert.is((logged.extra as Record<string, unknown>).source, 'https://cdn.example.com/v.mp4?[redacted]');
    assert.equal([failed.message, (failed.tags as Record<string, string>).error_code, failed.fingerprint], ['video 8 failed at probing: VCS_ERR_SOURCE_UNREADABLE', 'VCS_ERR_SOURCE_UNREADABLE', ['video-failed', 'VCS_ERR_SOURCE_UNREADABLE']]);
    for (const e of ingest.envelopes) assert.not.match(e.raw, /the-api-key-0123456789|s3cr3t/);
    assert.not.ok('request' in logged || 'user' in logged);
  } finally {
    closeSync(fd);
    await ingest.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
