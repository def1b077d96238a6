import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLiteralHost, classifyAddress, guardedLookup, policyFor } from '../../transcoder/address-guard.ts';

const table: [string, string | 'allowed'][] = [
  ['8.8.8.8', 'allowed'],
  ['93.184.216.34', 'allowed'],
  ['2606:4700:4700::1111', 'allowed'],
  ['127.0.0.1', 'loopback'],
  ['127.8.9.10', 'loopback'],
  ['::1', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.1.1', 'linkLocal'],
  ['169.254.169.254', 'cloud metadata'],
  ['fd00:ec2::254', 'cloud metadata'],
  ['100.100.100.200', 'cloud metadata'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['0.0.0.0', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['fe80::1', 'linkLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:8.8.8.8', 'allowed'],
  // Only global unicast is allowed: every special-purpose IPv4 block is refused by name.
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['192.0.2.10', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['192.31.196.1', 'allowed'],
  // IPv6 outside 2000::/3 is refused, named where the block has a name.
  ['::', 'unspecified'],
  ['::127.0.0.1', 'ipv4Compatible'],
  ['::7f00:1', 'ipv4Compatible'],
  ['::8.8.8.8', 'ipv4Compatible'],
  ['::ffff:0:7f00:1', 'reserved'],
  ['64:ff9b:1::a00:1', 'nat64Local'],
  ['100::1', 'discard'],
  ['fec0::1', 'siteLocal'],
  ['ff02::1', 'multicast'],
  ['fe80::1%eth0', 'linkLocal'],
  ['::ffff:127.0.0.1%eth0', 'loopback'],
  ['4000::1', 'reserved'],
  ['5f00::1', 'reserved'],
  // Inside 2000::/3, the blocks that are not global.
  ['2001::1', 'teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  ['2001:2::1', 'benchmarking'],
  ['2001:10::1', 'reserved'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2002:7f00:1::', '6to4'],
  ['2002:808:808::1', '6to4'],
  ['2620:4f:8000::1', 'allowed'],
  ['2a00:1450:4001:80b::200e', 'allowed'],
  // Forms that reach an embedded IPv4 address are judged by that address.
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:a9fe:a9fe', 'cloud metadata'],
  ['::ffff:c000:201', 'documentation'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'cloud metadata'],
  ['64:ff9b::808:808', 'allowed'],
  // Spellings the resolver might read differently are not guessed at.
  ['2130706433', 'invalid'],
  ['0x7f.1', 'invalid'],
  ['0177.0.0.1', 'invalid'],
  ['127.1', 'invalid'],
  ['example.com', 'invalid'],
];

for (const [address, expected] of table) {
  test(`address ${address} → ${expected}`, () => {
    const verdict = classifyAddress(address);
    assert.is(verdict.allowed ? 'allowed' : verdict.range, expected);
  });
}

test('literal hosts are checked before connecting (sockets skip lookup for them)', () => {
  assert.throws(() => checkLiteralHost(new URL('http://127.0.0.1:8080/a.mp4'), policyFor(false)), /loopback address; set ALLOW_PRIVATE_SOURCES/);
  assert.throws(() => checkLiteralHost(new URL('http://[::1]/a.mp4'), policyFor(false)), /loopback/);
  assert.throws(() => checkLiteralHost(new URL('http://169.254.169.254/latest/meta-data'), policyFor(false)), /cloud metadata/);
  checkLiteralHost(new URL('http://127.0.0.1/a.mp4'), policyFor(true));
  checkLiteralHost(new URL('http://8.8.8.8/a.mp4'), policyFor(false));
});

/** URL spellings of refused addresses, with the hostname Node's URL parser turns each into. */
const spellings: [string, string, string][] = [
  ['http://[::127.0.0.1]/', '[::7f00:1]', 'ipv4Compatible'],
  ['http://[0:0:0:0:0:0:127.0.0.1]/', '[::7f00:1]', 'ipv4Compatible'],
  ['http://[::ffff:7f00:1]/', '[::ffff:7f00:1]', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', 'loopback'],
  ['http://[0:0:0:0:0:ffff:127.0.0.1]/', '[::ffff:7f00:1]', 'loopback'],
  ['http://[::FFFF:169.254.169.254]/', '[::ffff:a9fe:a9fe]', 'cloud metadata'],
  ['http://[64:ff9b::a00:1]/', '[64:ff9b::a00:1]', 'private'],
  ['http://[64:ff9b::10.0.0.1]/', '[64:ff9b::a00:1]', 'private'],
  ['http://[64:ff9b:1::a00:1]/', '[64:ff9b:1::a00:1]', 'nat64Local'],
  ['http://[2002:7f00:1::]/', '[2002:7f00:1::]', '6to4'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', '[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'teredo'],
  ['http://[::]/', '[::]', 'unspecified'],
  ['http://[0::1]:8080/', '[::1]', 'loopback'],
  ['http://2130706433/', '127.0.0.1', 'loopback'],
  ['http://0x7f000001/', '127.0.0.1', 'loopback'],
  ['http://0x7f.1/', '127.0.0.1', 'loopback'],
  ['http://0177.0.0.1/', '127.0.0.1', 'loopback'],
  ['http://017700000001/', '127.0.0.1', 'loopback'],
  ['http://127.1/', '127.0.0.1', 'loopback'],
  ['http://%31%32%37.0.0.1/', '127.0.0.1', 'loopback'],
  ['http://0/', '0.0.0.0', 'unspecified'],
  ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254', 'cloud metadata'],
  ['http://3232235777/', '192.168.1.1', 'private'],
  ['http://192.0.2.1./', '192.0.2.1', 'documentation'],
];

for (const [spelling, hostname, range] of spellings) {
  test(`URL ${spelling} (host ${hostname}) refused as ${range}`, () => {
    const url = new URL(spelling);
    assert.is(url.hostname, hostname, 'what the URL parser makes of it');
    assert.throws(() => checkLiteralHost(url, policyFor(false)), (err: Error) => err.message.includes(` is a ${range} address`));
  });
}

test('URLs on global addresses pass, however spelled', () => {
  for (const allowed of ['http://[::ffff:8.8.8.8]/', 'http://[64:ff9b::8.8.8.8]/', 'http://134744072/', 'http://0x8.0x8.0x8.0x8/', 'http://[2606:4700:4700::1111]/']) {
    checkLiteralHost(new URL(allowed), policyFor(false));
  }
});

test('names are checked on the addresses they resolve to', async () => {
  const lookup = guardedLookup(policyFor(false));
  const err = await new Promise<Error | null>((resolve) => lookup('localhost', { family: 0 }, (e) => resolve(e)));
  assert.match(String(err?.message), /source host localhost \(.*\) is a loopback address/);
  const ok = await new Promise<string>((resolve, reject) => guardedLookup(policyFor(true))('localhost', { family: 4 }, (e, a) => (e ? reject(e) : resolve(a as string))));
  assert.is(ok, '127.0.0.1');
});

test.run();
