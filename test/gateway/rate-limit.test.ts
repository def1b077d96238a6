import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startGateway } from '../support/gateway.ts';

test('API: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW, then 429 with Retry-After and JSON; the window resets', async () => {
  const gw = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '3', RATE_LIMIT_WINDOW: '1500' });
  try {
    for (let i = 0; i < 3; i++) assert.is((await gw.request('GET', '/api/stats')).status, 200);
    const limited = await gw.request('GET', '/api/stats');
    assert.is(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.is(limited.headers.get('x-ratelimit-limit'), '3');
    assert.is(limited.json.error.code, 'VCS_ERR_RATE_LIMITED');
    assert.ok(gw.logs.some((l) => l.msg === 'rate limit exceeded' && l.limit === 'api'), 'abuse logged');
    assert.is((await gw.request('GET', '/health/live')).status, 200, 'health is not limited');
    await new Promise((r) => setTimeout(r, 1600));
    assert.is((await gw.request('GET', '/api/stats')).status, 200, 'a new window');
  } finally {
    await gw.close();
  }
});

test('HLS files: HLS_RATE_LIMIT per minute per address, separate from the API; 0 turns it off', async () => {
  const gw = await startGateway({ HLS_RATE_LIMIT: '2' });
  try {
    await mkdir(path.join(gw.hlsPath, '1'), { recursive: true });
    await writeFile(path.join(gw.hlsPath, '1', 'master.m3u8'), '#EXTM3U\n');
    assert.is((await gw.request('GET', '/storage/hls/1/master.m3u8')).status, 200);
    assert.is((await gw.request('GET', '/storage/hls/1/master.m3u8')).status, 200);
    const limited = await gw.request('GET', '/storage/hls/1/master.m3u8');
    assert.is(limited.status, 429);
    assert.is(limited.json.error.code, 'VCS_ERR_RATE_LIMITED');
    assert.is((await gw.request('GET', '/api/stats')).status, 200, 'the API has its own budget');
  } finally {
    await gw.close();
  }
  const open = await startGateway({ HLS_RATE_LIMIT: '0' });
  try {
    for (let i = 0; i < 5; i++) assert.is((await open.request('GET', '/storage/hls/1/x.m3u8')).status, 404);
  } finally {
    await open.close();
  }
});

test('TRUST_PROXY: clients behind an ingress are told apart by X-Forwarded-For; without it, the header is ignored', async () => {
  const trusted = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '1', TRUST_PROXY: 'true' });
  try {
    assert.is((await trusted.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status, 200);
    assert.is((await trusted.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status, 200);
    assert.is((await trusted.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status, 429);
  } finally {
    await trusted.close();
  }
  const direct = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '1' });
  try {
    assert.is((await direct.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status, 200);
    assert.is((await direct.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status, 429, 'a spoofed header does not buy a new budget');
  } finally {
    await direct.close();
  }
});

test.run();
