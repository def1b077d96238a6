/**
 * The last-access record (src/gateway/access-recorder.ts): requests only take notes, the store is
 * written in batches — at most once per video per flush, once an hour per video — and on close;
 * then the same through the gateway's HLS route on a real store.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAccessRecorder } from '../../src/gateway/access-recorder.ts';
import { validatorsOf } from '../../src/gateway/hls/responses.ts';
import { startGateway } from '../support/gateway.ts';
import { waitFor } from '../support/service.ts';

const log = pino({ level: 'silent' });
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A store that keeps every recordAccess batch; `failing` makes the next calls throw. */
function recordingStore() {
  const batches: [number, string][][] = [];
  return {
    batches,
    failing: false,
    async recordAccess(accessed: ReadonlyMap<number, string>) {
      if (this.failing) throw new Error('store out of reach');
      batches.push([...accessed]);
    },
  };
}

const recorder = (store: ReturnType<typeof recordingStore>, clock: { now: number }, flushEveryMs = HOUR) =>
  createAccessRecorder({ store, now: () => clock.now, log, flushEveryMs, resolutionMs: HOUR });

test('a thousand requests for two videos are one batch of two, with each video’s latest time', async () => {
  const store = recordingStore();
  const clock = { now: T0 };
  const access = recorder(store, clock);
  for (let i = 0; i < 1000; i++) {
    clock.now = T0 + i;
    access.record(i % 2 === 0 ? 1 : 2);
  }
  assert.equal(store.batches, [], 'no store write per request');
  await access.flush();
  assert.equal(store.batches, [[[1, iso(T0 + 998)], [2, iso(T0 + 999)]]]);
  await access.flush();
  assert.is(store.batches.length, 1, 'nothing new, no write');
  await access.close();
});

test('a video written once is written again only after the hour; another video meanwhile at once', async () => {
  const store = recordingStore();
  const clock = { now: T0 };
  const access = recorder(store, clock);
  access.record(1);
  await access.flush();
  clock.now = T0 + 30 * MINUTE;
  access.record(1);
  access.record(2);
  await access.flush();
  assert.equal(store.batches.at(-1), [[2, iso(T0 + 30 * MINUTE)]]);
  clock.now = T0 + HOUR;
  access.record(1);
  await access.flush();
  assert.equal(store.batches.at(-1), [[1, iso(T0 + HOUR)]]);
  await access.close();
});

test('a failed write keeps its notes for the next flush; close writes what is left and ignores later notes', async () => {
  const store = recordingStore();
  const clock = { now: T0 };
  const access = recorder(store, clock);
  access.record(7);
  store.failing = true;
  await access.flush();
  store.failing = false;
  clock.now = T0 + MINUTE;
  access.record(8);
  await access.close();
  assert.equal(store.batches, [[[7, iso(T0)], [8, iso(T0 + MINUTE)]]]);
  access.record(9);
  await access.flush();
  assert.is(store.batches.length, 1);
});

test('the timer flushes by itself every flushEveryMs', async () => {
  const store = recordingStore();
  const access = recorder(store, { now: T0 }, 20);
  access.record(3);
  await waitFor(() => store.batches.length === 1, 2000, 'a timed flush');
  assert.equal(store.batches[0], [[3, iso(T0)]]);
  await access.close();
});

test('through the gateway: answered playlists (200 and 304, master or rendition) count; segments, misses and unknown videos do not', async () => {
  const gw = await startGateway({ HLS_RATE_LIMIT: '0' });
  try {
    for (const id of [1, 2, 3]) {
      await gw.store.create({ wp_post_id: id, title: `Video ${id}`, original_video_url: `https://wp.example/${id}.mp4` });
    }
    const before = (await gw.store.get(1))!;
    for (const id of [1, 2, 3, 9]) {
      await mkdir(path.join(gw.hlsPath, String(id), 'high'), { recursive: true });
      await writeFile(path.join(gw.hlsPath, String(id), 'master.m3u8'), '#EXTM3U\n');
      await writeFile(path.join(gw.hlsPath, String(id), 'high', 'playlist.m3u8'), '#EXTM3U\n');
      await writeFile(path.join(gw.hlsPath, String(id), 'high', 'segment000.ts'), Buffer.alloc(188));
    }
    const get = (p: string, headers: Record<string, string> = {}) => gw.request('GET', `/storage/hls/${p}`, { headers });
    // Video 1 only ever revalidated, as a CDN does: conditional requests (fetch would add
    // `no-cache` to one without a Cache-Control of its own).
    const etag = validatorsOf(await stat(path.join(gw.hlsPath, '1', 'master.m3u8'))).etag;
    const revalidate = { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' };
    for (let i = 0; i < 20; i++) assert.is((await get('1/master.m3u8', revalidate)).status, 304);
    assert.is((await get('2/high/playlist.m3u8')).status, 200);
    assert.is((await get('3/high/segment000.ts')).status, 200);
    assert.is((await get('3/low/playlist.m3u8')).status, 404);
    assert.is((await get('9/master.m3u8')).status, 200, 'files without a document');
    assert.equal([(await gw.store.get(1))!.last_accessed_at], [null], 'nothing written per request');
    await gw.access.flush();
    const [one, two, three] = [(await gw.store.get(1))!, (await gw.store.get(2))!, (await gw.store.get(3))!];
    assert.ok(one.last_accessed_at && Date.now() - Date.parse(one.last_accessed_at) < 60_000, String(one.last_accessed_at));
    assert.ok(two.last_accessed_at !== null, 'a rendition playlist counts too');
    assert.is(three.last_accessed_at, null, 'a segment or a missing playlist does not');
    assert.is(one.updated_at, before.updated_at, 'a last access is not a change of the video');
    assert.equal(await gw.store.get(9), null);
    assert.is((await gw.request('GET', '/api/post/1')).json.last_accessed_at, one.last_accessed_at, 'shown by the API');
  } finally {
    await gw.close();
  }
});

test.run();
