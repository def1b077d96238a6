import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkCsrf, csrfToken, newSession, openSession, sealSession, SESSION_TTL_MS } from '../../../src/gateway/admin/session.ts';

const SECRET = Buffer.from('a'.repeat(64), 'hex');
const OTHER = Buffer.from('b'.repeat(64), 'hex');
const T0 = Date.parse('2030-01-01T00:00:00Z');

test('a sealed session opens with the same secret until it expires, 24 hours later', () => {
  const s = newSession('admin@example.com', 'appwrite', T0);
  const cookie = sealSession(s, SECRET);
  assert.equal(openSession(cookie, SECRET, T0), s);
  assert.equal(openSession(cookie, SECRET, T0 + SESSION_TTL_MS - 1), s);
  assert.is(openSession(cookie, SECRET, T0 + SESSION_TTL_MS), null);
  assert.is(openSession(cookie, OTHER, T0), null, 'another secret (another installation)');
});

test('tampered, truncated or foreign values open to nothing', () => {
  const cookie = sealSession(newSession('api-key:1234abcd', 'api-key', T0), SECRET);
  const [v, payload, sig] = cookie.split('.') as [string, string, string];
  const longer = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), expires: T0 + 10 * SESSION_TTL_MS })).toString('base64url');
  // The same signature bytes spelt differently (base64url's last character carries spare bits).
  const respelt = sig.slice(0, -1) + (sig.at(-1) === 'A' ? 'B' : sig.at(-1) === 'B' ? 'A' : sig.at(-1) === 'Q' ? 'R' : 'Q');
  for (const bad of [`${v}.${payload}.${respelt}`, undefined, '', 'v1', `${v}.${payload}`, `v2.${payload}.${sig}`, `${v}.${longer}.${sig}`, `${v}.${payload}.${sig.slice(1)}`, `${v}.${payload}.${'A'.repeat(sig.length)}`, `${v}.bm90IGpzb24.${sig}`]) {
    assert.is(openSession(bad, SECRET, T0), null, String(bad));
  }
});

test('the CSRF token belongs to one session and is checked in constant time', () => {
  const a = newSession('a@example.com', 'appwrite', T0);
  const b = newSession('a@example.com', 'appwrite', T0);
  const token = csrfToken(a, SECRET);
  assert.ok(checkCsrf(a, token, SECRET));
  assert.not.ok(checkCsrf(b, token, SECRET), 'another sign-in of the same person');
  assert.not.ok(checkCsrf(a, token, OTHER));
  for (const bad of [undefined, '', token.slice(1), `${token}x`]) assert.not.ok(checkCsrf(a, bad, SECRET), String(bad));
});

test.run();
