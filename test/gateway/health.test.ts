import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHealth } from '../../src/gateway/health.ts';
import { startGateway } from '../support/gateway.ts';

test('GET /health: the plan’s shape plus FFmpeg; 200 when healthy', async () => {
  const gw = await startGateway();
  try {
    const res = await gw.request('GET', '/health');
    assert.is(res.status, 200);
    const h = res.json;
    assert.equal([h.status, h.reasons, h.version, typeof h.uptime], ['healthy', [], 'test', 'number']);
    assert.match(h.storage.available, /^\d+(\.\d)? [KMGT]?B$/);
    assert.match(h.storage.used, /^\d+(\.\d)? [KMGT]?B$/);
    assert.equal([h.store.connected, typeof h.store.lastPing], [true, 'string']);
    assert.equal([h.ffmpeg.available, typeof h.ffmpeg.version], [true, 'string']);
    assert.is((await gw.request('GET', '/health/live')).status, 200);
    assert.equal((await gw.request('GET', '/health/ready')).json, { ready: true, reasons: [] });
  } finally {
    await gw.close();
  }
});

test('503 with the reasons: FFmpeg missing; the store unreachable (also not ready), while still alive', async () => {
  const gw = await startGateway({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
  try {
    const res = await gw.request('GET', '/health');
    assert.is(res.status, 503);
    assert.equal([res.json.status, res.json.ffmpeg.available], ['unhealthy', false]);
    assert.ok(res.json.reasons.some((r: string) => /ffmpeg/i.test(r)), JSON.stringify(res.json.reasons));
    await gw.store.close();
    const down = await gw.request('GET', '/health');
    assert.is(down.status, 503);
    assert.ok(down.json.reasons.some((r: string) => /store/i.test(r)), JSON.stringify(down.json.reasons));
    assert.is((await gw.request('GET', '/health/ready')).status, 503);
    assert.is((await gw.request('GET', '/health/live')).status, 200);
  } finally {
    await gw.close().catch(() => undefined);
  }
});

test('a flood of checks costs one store ping per pingEveryMs, concurrent ones included', async () => {
  let pings = 0;
  const store = { ping: async () => void pings++ } as never;
  const health = createHealth({ store, storeKind: 'sqlite', hlsPath: '/nonexistent', ffmpegPath: '/nonexistent', version: 't', startedAt: Date.now(), pingEveryMs: 60_000 });
  await Promise.all(Array.from({ length: 50 }, () => health.ready()));
  for (let i = 0; i < 50; i++) await health.ready();
  assert.is(pings, 1);
});

test.run();
