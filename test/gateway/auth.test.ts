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
