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

test('names are checked on the addresses they resolve to', async () => {
  const lookup = guardedLookup(policyFor(false));
  const err = await new Promise<Error | null>((resolve) => lookup('localhost', { family: 0 }, (e) => resolve(e)));
  assert.match(String(err?.message), /source host localhost \(.*\) is a loopback address/);
  const ok = await new Promise<string>((resolve, reject) => guardedLookup(policyFor(true))('localhost', { family: 4 }, (e, a) => (e ? reject(e) : resolve(a as string))));
  assert.is(ok, '127.0.0.1');
});

test.run();
