import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyring, generateApiKey, sha256Hex } from '../../src/gateway/auth.ts';
import { runVcs } from '../support/vcs.ts';

test('keyring: API_KEY hashed at start, extra hashes accepted, wrong and missing refused', () => {
  const ring = createKeyring('secret', [sha256Hex('second')]);
  assert.is(ring.size, 2);
  assert.equal(ring.check('Bearer secret'), { ok: true, fingerprint: sha256Hex('secret').slice(0, 8) });
  assert.is(ring.check('Bearer second').ok, true);
  assert.equal(ring.check('Bearer third'), { ok: false, reason: 'invalid' });
  assert.equal(ring.check(undefined), { ok: false, reason: 'missing' });
  assert.equal(ring.check('Basic c2VjcmV0'), { ok: false, reason: 'missing' });
  assert.equal(createKeyring(undefined, []).check('Bearer x'), { ok: false, reason: 'none configured' });
});

/** A stored hash with `key`'s fingerprint (its first 8 hex digits) and different digits after it. */
function sameFingerprint(key: string, rest: 'last digit' | 'every digit'): string {
  const real = sha256Hex(key);
  const flip = (d: string) => ((parseInt(d, 16) + 8) % 16).toString(16);
  return rest === 'last digit' ? real.slice(0, -1) + flip(real.at(-1)!) : real.slice(0, 8) + [...real.slice(8)].map(flip).join('');
}

test('a key whose fingerprint matches a stored hash but whose full hash does not is refused', () => {
  for (const rest of ['last digit', 'every digit'] as const) {
    const stored = sameFingerprint('lookalike', rest);
    assert.is(stored.slice(0, 8), sha256Hex('lookalike').slice(0, 8));
    assert.is.not(stored, sha256Hex('lookalike'));
    const ring = createKeyring(undefined, [stored]);
    assert.equal(ring.check('Bearer lookalike'), { ok: false, reason: 'invalid' }, `differs in the ${rest}`);
  }
});

test('rotation: the full hash is compared against each of several stored hashes', () => {
  const ring = createKeyring('current', [sha256Hex('previous'), sameFingerprint('lookalike', 'every digit'), sameFingerprint('other', 'last digit'), sha256Hex('next')]);
  assert.is(ring.size, 5);
  for (const key of ['current', 'previous', 'next']) assert.equal(ring.check(`Bearer ${key}`), { ok: true, fingerprint: sha256Hex(key).slice(0, 8) }, key);
  for (const key of ['lookalike', 'other', 'unknown']) assert.equal(ring.check(`Bearer ${key}`), { ok: false, reason: 'invalid' }, key);
  assert.is(createKeyring('same', [sha256Hex('same')]).size, 1, 'API_KEY also listed in API_KEY_HASHES counts once');
});

test('the Authorization header: scheme case-insensitive (RFC 6750), whitespace around the key, other schemes and empty keys', () => {
  const ring = createKeyring('secret', []);
  const accepted = { ok: true, fingerprint: sha256Hex('secret').slice(0, 8) };
  for (const header of ['Bearer secret', 'bearer secret', 'BEARER secret', 'Bearer   secret', 'Bearer\tsecret', 'Bearer secret  ', 'Bearer secret\t']) {
    assert.equal(ring.check(header), accepted, JSON.stringify(header));
  }
  for (const header of ['', 'Bearer', 'Bearer ', 'Bearer    ', 'Bearersecret', 'Basic c2VjcmV0', 'Basic secret', 'Token secret', 'secret', 'Bearer sec ret']) {
    assert.equal(ring.check(header), { ok: false, reason: 'missing' }, JSON.stringify(header));
  }
  assert.equal(ring.check('Bearer  secret2 '), { ok: false, reason: 'invalid' });
  assert.equal(ring.check('Bearer Secret'), { ok: false, reason: 'invalid' }, 'the key itself is case-sensitive');
});

test('generated keys: 64 characters, and the printed hash is their SHA-256', async () => {
  const { key, hash } = generateApiKey();
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.is(hash, sha256Hex(key));
  const run = await runVcs(['apikey', 'generate']);
  assert.is(run.code, 0);
  const [printedKey, printedHash] = [...run.stdout.matchAll(/^\s+([0-9a-f]{64})$/gm)].map((m) => m[1]);
  assert.is(sha256Hex(printedKey!), printedHash);
});

test.run();
