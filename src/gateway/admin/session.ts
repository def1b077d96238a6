/**
 * The admin dashboard's own session (the plan's "Session expires after 24 hours"): a cookie that
 * carries who signed in, how and until when, signed with HMAC-SHA256 — so any gateway replica with
 * the same ADMIN_SESSION_SECRET accepts it and none keeps state. The CSRF token of a session is
 * derived from it (an HMAC of its id under another label): the page reads it from
 * GET <ADMIN_PATH>/session and sends it as X-CSRF-Token with every state-changing call; a forged
 * cross-site request carries the cookie but cannot know the token.
 *
 * Pure functions of (secret, clock): no I/O.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'vcs_admin';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

export interface AdminSession {
  /** Random id of this sign-in (what the CSRF token is bound to). */
  id: string;
  /** Who: an e-mail address, or `api-key:<fingerprint>` for a key sign-in. */
  subject: string;
  /** How they signed in. */
  method: 'api-key' | 'appwrite';
  /** Expiry, milliseconds since the epoch. */
  expires: number;
}

const b64 = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url');
const mac = (secret: Buffer, label: string, text: string): Buffer => createHmac('sha256', secret).update(`${label}\n${text}`).digest();

/** A new session for `subject`, valid for SESSION_TTL_MS from `now`. */
export function newSession(subject: string, method: AdminSession['method'], now: number): AdminSession {
  return { id: randomBytes(16).toString('base64url'), subject, method, expires: now + SESSION_TTL_MS };
}

/** The cookie value: `v1.<payload>.<signature>`. */
export function sealSession(session: AdminSession, secret: Buffer): string {
  const payload = b64(JSON.stringify(session));
  return `v1.${payload}.${b64(mac(secret, 'session', payload))}`;
}

/** The session a cookie value holds, or null when it is malformed, forged, or expired at `now`. */
export function openSession(value: string | undefined, secret: Buffer, now: number): AdminSession | null {
  const parts = (value ?? '').split('.');
  if (parts.length !== 3 || parts[0] !== 'v1') return null;
  const [, payload, signature] = parts as [string, string, string];
  // Compared as text: base64 decoding would accept other spellings of the same bytes.
  const expected = Buffer.from(b64(mac(secret, 'session', payload)));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let session: AdminSession;
  try {
    session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AdminSession;
  } catch {
    return null;
  }
  if (typeof session?.id !== 'string' || typeof session.subject !== 'string' || typeof session.expires !== 'number') return null;
  return session.expires > now ? session : null;
}

/** The CSRF token of a session. */
export function csrfToken(session: AdminSession, secret: Buffer): string {
  return b64(mac(secret, 'csrf', session.id));
}

/** Whether `token` is the session's CSRF token (constant time). */
export function checkCsrf(session: AdminSession, token: string | undefined, secret: Buffer): boolean {
  const expected = Buffer.from(csrfToken(session, secret));
  const given = Buffer.from(token ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
