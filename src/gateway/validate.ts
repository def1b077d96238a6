/**
 * Request validation: every check names the field and what was expected, and fails with 400
 * (VCS_ERR_BAD_REQUEST). Pure.
 */
import { vcsError } from '../errors.ts';

const bad = (message: string) => vcsError('VCS_ERR_BAD_REQUEST', message);

export function positiveInt(raw: unknown, field: string): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw bad(`${field} must be a positive integer, got ${JSON.stringify(raw ?? null)}`);
  }
  return Number(text);
}

export function intInRange(raw: unknown, field: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const text = String(raw).trim();
  if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) throw bad(`${field} must be an integer ${min}–${max}, got ${JSON.stringify(raw)}`);
  return Number(text);
}

export function oneOf<T extends string>(raw: unknown, field: string, values: readonly T[], fallback: T): T;
export function oneOf<T extends string>(raw: unknown, field: string, values: readonly T[], fallback?: undefined): T | undefined;
export function oneOf<T extends string>(raw: unknown, field: string, values: readonly T[], fallback?: T): T | undefined {
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !values.includes(raw as T)) throw bad(`${field} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

export function booleanParam(raw: unknown, field: string, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === true) return true;
  if (raw === 'false' || raw === false) return false;
  throw bad(`${field} must be true or false, got ${JSON.stringify(raw)}`);
}

export function text(raw: unknown, field: string, opts: { required?: boolean; max: number }): string | undefined {
  if (raw === undefined || raw === null || raw === '') {
    if (opts.required) throw bad(`${field} is required`);
    return undefined;
  }
  if (typeof raw !== 'string') throw bad(`${field} must be a string`);
  const value = raw.trim();
  if (opts.required && value === '') throw bad(`${field} is required`);
  if (value.length > opts.max) throw bad(`${field} must be at most ${opts.max} characters`);
  return value;
}

/** A JSON object body (an absent body counts as {}); arrays, strings and unknown fields are refused. */
export function bodyObject(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) throw bad(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; expected ${allowed.join(', ') || 'none'}`);
  return body as Record<string, unknown>;
}

/** An http(s) URL without credentials (file: URLs only when local sources are allowed). */
export function sourceUrl(raw: unknown, field: string, allowLocal: boolean): string {
  const value = text(raw, field, { required: true, max: 4096 })!;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad(`${field} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  const okScheme = url.protocol === 'http:' || url.protocol === 'https:' || (allowLocal && url.protocol === 'file:');
  if (!okScheme) {
    const local = url.protocol === 'file:' ? '; local files are accepted only by vcs serve with the embedded store from calls made on its machine, or with ALLOW_LOCAL_SOURCES' : '';
    throw bad(`${field} must be an http(s) URL${allowLocal ? ' or a file: URL' : ''}, got ${url.protocol}${local}`);
  }
  // Stored as given, shown in the dashboard and logs, and refused by the transcoder anyway:
  // credentials in a source URL are refused here, and never repeated in the answer.
  if (url.username || url.password) throw bad(`${field} must not carry credentials (user:password@); give a URL the service can fetch without them, e.g. a signed URL`);
  return url.href;
}

/**
 * A day (YYYY-MM-DD, UTC) or an ISO time, as milliseconds; `endOfDay` turns a day into the start of
 * the next one (a "to" date includes its whole day). Undefined when absent.
 */
export function dateParam(raw: unknown, field: string, endOfDay = false): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const v = typeof raw === 'string' ? raw.trim() : '';
  const day = /^\d{4}-\d{2}-\d{2}$/.test(v);
  const ms = day ? Date.parse(`${v}T00:00:00.000Z`) : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw vcsError('VCS_ERR_BAD_REQUEST', `${field} must be a date (YYYY-MM-DD) or an ISO time, got ${JSON.stringify(typeof raw === 'string' ? raw.slice(0, 40) : raw)}`);
  return day && endOfDay ? ms + 86_400_000 : ms;
}
