/**
 * Notifications (src/controller/notify-format.ts, notifier.ts): the signed JSON event and the chat
 * messages, a receiver's signature check, and delivery over real HTTP — in the background, retried
 * with back-off on 5xx and unreachable hosts, not on a 4xx, every outcome counted.
 */
import type http from 'node:http';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyFor, eventBody, signature, targetKind, verifySignature } from '../../src/controller/notify-format.ts';
import { createNotifier, type DeliveryTarget } from '../../src/controller/notifier.ts';
import type { VideoJob } from '../../src/jobs/model.ts';
import { startServer } from '../support/http-server.ts';
import { freePort } from '../support/service.ts';

const test = suite('notifications');
const log = pino({ level: 'silent' });
const video = { wp_post_id: 12, title: 'My <b>clip</b>', compression_status: 'completed', master_playlist_url: 'https://cdn.example.com/storage/hls/12/master.m3u8', poster_url: null, duration_seconds: 61.5, error_code: null, error_message: null, failed_at_step: null, retryable: null } as unknown as VideoJob;

test('targets by host: Slack and Discord hooks get chat messages that ping nobody, anything else the JSON event', () => {
  assert.is(targetKind('https://hooks.slack.com/services/T/B/x'), 'slack');
  assert.is(targetKind('https://discord.com/api/webhooks/1/abc'), 'discord');
  assert.is(targetKind('https://discord.com/channels/1'), 'generic');
  assert.is(targetKind('https://wp.example.com/wp-json/vcs/v1/done'), 'generic');
  const b = eventBody('video.completed', video, '2030-01-01T00:00:00.000Z', 'id-1');
  assert.equal(JSON.parse(bodyFor('slack', b)), { text: 'Video #12 “My <b>clip</b>” is ready: https://cdn.example.com/storage/hls/12/master.m3u8' });
  assert.equal(JSON.parse(bodyFor('discord', b)).allowed_mentions, { parse: [] });
  assert.equal(JSON.parse(bodyFor('generic', b)), b);
  const failed = eventBody('video.failed', { ...video, compression_status: 'failed', error_message: 'not a video', failed_at_step: 'probing', retryable: false } as VideoJob, 'x', 'id-2');
  assert.match(JSON.parse(bodyFor('slack', failed)).text, /failed at probing: not a video$/);
});

test('the signature: a receiver accepts the body it was made for, and nothing older than 5 minutes', () => {
  const body = '{"event":"video.completed"}';
  const header = signature('s3cret', 1_900_000_000, body);
  assert.match(header, /^t=1900000000,v1=[0-9a-f]{64}$/);
  assert.ok(verifySignature('s3cret', header, body, 1_900_000_100));
  assert.not.ok(verifySignature('s3cret', header, `${body} `, 1_900_000_100), 'another body');
  assert.not.ok(verifySignature('other', header, body, 1_900_000_100), 'another secret');
  assert.not.ok(verifySignature('s3cret', header, body, 1_900_000_400), 'a replay after 5 minutes');
  assert.not.ok(verifySignature('s3cret', undefined, body, 1_900_000_000));
});

test('delivery: retried on 5xx until it lands, once on a 4xx, given up on an unreachable host; the caller never waits', async () => {
  const got: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let flaky = 2;
  const server = await startServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/flaky' && flaky-- > 0) return void res.writeHead(503).end();
      if (req.url === '/gone') return void res.writeHead(410).end();
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end(), 300);
      res.writeHead(200).end();
    });
  });
  const outcomes: [DeliveryTarget, string][] = [];
  const dead = `http://127.0.0.1:${await freePort()}/nobody`;
  const notifier = createNotifier({
    webhooks: [`${server.url}/flaky`, `${server.url}/gone`, dead, `${server.url}/slow`],
    events: new Set(['video.completed', 'video.failed']),
    publisherUrl: `${server.url}/publisher`,
    secret: 's3cret',
    log,
    attempts: 3,
    firstDelayMs: 20,
    record: (t, r) => outcomes.push([t, r]),
  });
  try {
    await (await fetch(`${server.url}/warm-up`)).text(); // Node loads its fetch on first use
    got.length = 0;
    const returned: unknown = notifier.notify('video.completed', video);
    notifier.notify('video.started', video); // no webhook wants it; the publisher never gets it
    assert.is(returned, undefined, 'notify hands back nothing to wait on');
    assert.is(got.length, 0, 'notify returns before any request has reached a receiver');
    await notifier.idle();
    const hits = (p: string) => got.filter((g) => g.path === p).length;
    assert.equal([hits('/flaky'), hits('/gone'), hits('/slow'), hits('/publisher')], [3, 1, 1, 1]);
    assert.equal(outcomes.filter(([, r]) => r === 'failed').length, 2, 'the 410 and the unreachable host');
    assert.equal(outcomes.filter(([, r]) => r === 'delivered').length, 3);
    const publisher = got.find((g) => g.path === '/publisher')!;
    assert.ok(verifySignature('s3cret', publisher.headers['x-vcs-signature'] as string, publisher.body, Math.floor(Date.now() / 1000)));
    assert.equal([publisher.headers['x-vcs-event'], JSON.parse(publisher.body).video.wp_post_id], ['video.completed', 12]);
    const retries = got.filter((g) => g.path === '/flaky').map((g) => g.headers['x-vcs-delivery']);
    assert.is(new Set(retries).size, 1, 'retries carry the same delivery id');
  } finally {
    notifier.close();
    await server.close();
  }
});

test.run();
