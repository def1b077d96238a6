import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedWindowMap, clientKey } from '../../src/gateway/rate-limit.ts';
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

test('routing and limiting agree: no spelling of a path reaches an API route around the limit', async () => {
  const gw = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '2' });
  try {
    for (let i = 0; i < 2; i++) assert.is((await gw.request('GET', '/api/stats')).status, 200);
    assert.is((await gw.request('GET', '/api/stats')).status, 429);
    // Other spellings either are no route at all, or are the same route and count against the limit.
    for (const spelling of ['/API/stats', '/Api/Stats', '/api/STATS', '/%61pi/stats', '/api/%73tats', '/api//stats', '/./api/stats', '/api/stats/', '/api/stats?x=1']) {
      const res = await gw.request('GET', spelling);
      assert.ok(res.status === 404 || res.status === 429, `${spelling} answered ${res.status}`);
    }
    for (const method of ['PUT', 'OPTIONS', 'DELETE']) assert.is((await gw.request(method, '/api/stats')).status, 429, `${method} /api/stats (a 405 or a preflight is counted too)`);
    const create = await gw.request('POST', '/API/JOBS', { key: 'k'.repeat(64), body: { wp_post_id: 1, title: 't', original_video_url: 'https://wp.example/1.mp4' } });
    assert.is(create.status, 404, 'POST /API/JOBS creates nothing');
    assert.is(await gw.store.get(1), null);
  } finally {
    await gw.close();
  }
});

test('TRUST_PROXY reads only the entries its own proxies added: a client rotating X-Forwarded-For stays one client', async () => {
  const gw = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '2', TRUST_PROXY: 'true' });
  try {
    // One ingress (TRUSTED_PROXY_HOPS=1) appends the address it saw: the last entry.
    for (let i = 0; i < 2; i++) assert.is((await gw.request('GET', '/api/stats', { headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` } })).status, 200);
    const spoofed = await gw.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '198.51.100.99, 203.0.113.7' } });
    assert.is(spoofed.status, 429, 'a forged first entry buys no new budget');
    assert.ok(gw.logs.some((l) => l.msg === 'rate limit exceeded' && l.ip === '203.0.113.7'), 'the log names the real client, not the forged one');
    assert.not.ok(gw.logs.some((l) => String(l.ip).startsWith('198.51.100.')), 'no forged address in the log');
  } finally {
    await gw.close();
  }
  const cdn = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '1', TRUST_PROXY: 'true', TRUSTED_PROXY_HOPS: '2' });
  try {
    // CDN then ingress: the client is the second entry from the right.
    assert.is((await cdn.request('GET', '/api/stats', { headers: { 'x-forwarded-for': 'forged, 203.0.113.1, 192.0.2.50' } })).status, 200);
    assert.is((await cdn.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '203.0.113.2, 192.0.2.50' } })).status, 200, 'another client behind the same CDN node');
    assert.is((await cdn.request('GET', '/api/stats', { headers: { 'x-forwarded-for': 'other, 203.0.113.1, 192.0.2.50' } })).status, 429);
  } finally {
    await cdn.close();
  }
});

test('clients: IPv6 counted per /64, IPv4-mapped as IPv4', () => {
  assert.is(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.is(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
  assert.is.not(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
  assert.is(clientKey('::ffff:203.0.113.9'), '203.0.113.9');
  assert.is(clientKey('203.0.113.9'), '203.0.113.9');
  assert.is(clientKey(''), '');
});

test('the counters are bounded: past the bound, the windows that end first are forgotten first', () => {
  const map = new BoundedWindowMap<string, number>(3);
  for (const k of ['a', 'b', 'c']) map.set(k, 1);
  map.set('a', 2); // a renewed window is the newest
  map.set('d', 1);
  assert.equal([...map.keys()], ['c', 'a', 'd']);
  for (let i = 0; i < 10_000; i++) map.set(`x${i}`, i);
  assert.is(map.size, 3);
});

test('IPv6 clients of one /64 share a budget (through the app)', async () => {
  const gw = await startGateway({ RATE_LIMIT_MAX_REQUESTS: '1', TRUST_PROXY: 'true' });
  try {
    assert.is((await gw.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '2001:db8:5:6::1' } })).status, 200);
    assert.is((await gw.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '2001:db8:5:6::2' } })).status, 429);
    assert.is((await gw.request('GET', '/api/stats', { headers: { 'x-forwarded-for': '2001:db8:5:7::1' } })).status, 200);
  } finally {
    await gw.close();
  }
});

test('nothing internal on the public port: progress, pokes and metrics answer 404 in every spelling', async () => {
  const gw = await startGateway();
  try {
    for (const [method, route] of [['POST', '/internal/poke'], ['POST', '/internal/progress'], ['GET', '/metrics'], ['GET', '/healthz'], ['POST', '/INTERNAL/POKE'], ['GET', '/Metrics']]) {
      assert.is((await gw.request(method!, route!, method === 'POST' ? { body: {} } : {})).status, 404, `${method} ${route}`);
    }
  } finally {
    await gw.close();
  }
});

test.run();
