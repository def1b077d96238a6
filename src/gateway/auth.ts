/**
 * API keys (the plan’s "API Authentication", docs/adr/0015): `Authorization: Bearer <key>`. Keys are kept
 * only as SHA-256 hashes — API_KEY is hashed at start, API_KEY_HASHES adds more for rotation —
 * and a presented key is hashed and compared against every stored hash in constant time. Calls
 * are logged with a fingerprint (the first 8 hex digits of the key's hash), never the key.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { vcsError } from '../errors.ts';
import type { Logger } from '../log.ts';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A new 64-character key and the hash to configure (API_KEY_HASHES). */
export function generateApiKey(): { key: string; hash: string } {
  const key = randomBytes(32).toString('hex');
  return { key, hash: sha256Hex(key) };
}

export type KeyCheck = { ok: true; fingerprint: string } | { ok: false; reason: 'missing' | 'invalid' | 'none configured' };

export interface Keyring {
  readonly size: number;
  check(authorization: string | undefined): KeyCheck;
}

export function createKeyring(apiKey: string | undefined, hashes: readonly string[]): Keyring {
  const stored = [...new Set([...(apiKey ? [sha256Hex(apiKey)] : []), ...hashes])].map((h) => Buffer.from(h, 'hex'));
  return {
    size: stored.length,
    check(authorization) {
      if (stored.length === 0) return { ok: false, reason: 'none configured' };
      const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!key) return { ok: false, reason: 'missing' };
      const presented = createHash('sha256').update(key).digest();
      // Compare against every hash, so the time taken does not tell which one (or none) matched.
      let match = -1;
      stored.forEach((h, i) => {
        if (timingSafeEqual(h, presented) && match < 0) match = i;
      });
      return match >= 0 ? { ok: true, fingerprint: presented.toString('hex').slice(0, 8) } : { ok: false, reason: 'invalid' };
    },
  };
}

const MESSAGES: Record<Exclude<KeyCheck, { ok: true }>['reason'], string> = {
  missing: 'an API key is required: send Authorization: Bearer <key>',
  invalid: 'the API key is not valid',
  'none configured': 'this call needs an API key, and the service has none configured (set API_KEY or API_KEY_HASHES)',
};

/**
 * Koa middleware: `required` checks every call; otherwise a key is checked only when sent (a wrong
 * key is still refused). The fingerprint lands in `ctx.state.keyFingerprint` and the log.
 */
export function apiKeyAuth(keyring: Keyring, log: Logger, required: boolean): Middleware {
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization') || undefined;
    if (!required && !header) return next();
    const result = keyring.check(header);
    if (!result.ok) {
      log.warn({ ip: ctx.ip, method: ctx.method, path: ctx.path, reason: result.reason }, 'API call refused');
      ctx.set('WWW-Authenticate', 'Bearer');
      throw vcsError('VCS_ERR_UNAUTHORIZED', MESSAGES[result.reason]);
    }
    ctx.state.keyFingerprint = result.fingerprint;
    log.info({ key: result.fingerprint, ip: ctx.ip, method: ctx.method, path: ctx.path }, 'API call');
    return next();
  };
}
