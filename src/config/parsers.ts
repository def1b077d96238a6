/**
 * How a setting's text becomes a value. Each parser either returns the value or throws `Invalid`
 * with what was expected; loadConfig (src/config.ts) turns that into "NAME must be …, got …".
 * Pure.
 */
import path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export type Parser<T> = (raw: string, env: Env) => T;

/** A value that does not parse; the message completes "NAME must be …". */
export class Invalid extends Error {}

export const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Invalid(`an integer ${min}–${max}`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Invalid(`an integer ${min}–${max}`);
    return n;
  };

export const boolean: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new Invalid('true or false');
};

export const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!values.includes(v)) throw new Invalid(`one of ${values.join(', ')}`);
    return v;
  };

/** Case-sensitive choice (Kubernetes enums such as IfNotPresent). */
export const exactly =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new Invalid(`one of ${values.join(', ')}`);
    return v;
  };

export const text: Parser<string> = (raw) => raw.trim();

export const optionalText: Parser<string | undefined> = (raw) => (raw.trim() === '' ? undefined : raw.trim());

export const absoluteOrRelativePath: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Invalid('a path');
  return path.resolve(raw.trim());
};

export const httpUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Invalid('an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Invalid('an absolute http(s) URL');
  return url.href.replace(/\/+$/, '');
};

export const optionalHttpUrl: Parser<string | undefined> = (raw, env) => (raw.trim() === '' ? undefined : httpUrl(raw, env));

/** An IPv4 or IPv6 address to listen on (0.0.0.0 / :: for every interface). */
export const listenAddress: Parser<string> = (raw) => {
  const v = raw.trim();
  const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  const ipv6 = /^[0-9a-f:]+$/i;
  if (!(ipv4.test(v) || (v.includes(':') && ipv6.test(v)))) throw new Invalid('an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::');
  return v;
};

/** "5000k", "5M" or "5000000" → bits per second. */
export function parseBitrate(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(raw);
  if (!m) throw new Invalid('a bit rate such as 5000k, 5M or 5000000');
  const factor = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1_000 : 1_000_000;
  const bps = Math.round(Number(m[1]) * factor);
  if (bps < 16_000 || bps > 200_000_000) throw new Invalid('a bit rate between 16k and 200M');
  return bps;
}

export const bitrate: Parser<number> = (raw) => parseBitrate(raw);

/** Comma-separated list; empty → []. */
export const list =
  (item: (v: string) => string): Parser<string[]> =>
  (raw) =>
    raw
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
      .map(item);

export const sha256Hex = (v: string): string => {
  if (!/^[0-9a-f]{64}$/i.test(v)) throw new Invalid('comma-separated SHA-256 hashes (64 hex characters each; see vcs apikey generate)');
  return v.toLowerCase();
};

export const hostName = (v: string): string => {
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(v)) throw new Invalid('comma-separated host names such as example.com,www.example.com');
  return v.toLowerCase();
};

export const urlPath: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^\/[A-Za-z0-9/_-]*$/.test(v)) throw new Invalid('a URL path starting with /');
  return v.replace(/\/+$/, '') || '/';
};

/** A Kubernetes object name (DNS-1123 label). */
export const dnsLabel: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) || v.length > 63) throw new Invalid('a lowercase DNS-1123 name (a-z, 0-9, -; at most 63 characters)');
  return v;
};
export const optionalDnsLabel: Parser<string | undefined> = (raw, env) => (raw.trim() === '' ? undefined : dnsLabel(raw, env));
/** A DNS-1123 label of at most `max` characters (a prefix of longer names). */
export const shortDnsLabel =
  (max: number): Parser<string> =>
  (raw, env) => {
    const v = dnsLabel(raw, env);
    if (v.length > max) throw new Invalid(`a lowercase DNS-1123 name of at most ${max} characters`);
    return v;
  };

/** A Kubernetes resource quantity ("500m", "2", "4Gi"); empty or "none" → unset. */
export const optionalQuantity: Parser<string | undefined> = (raw) => {
  const v = raw.trim();
  if (v === '' || v === 'none') return undefined;
  if (!/^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(v)) throw new Invalid('a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi (or none)');
  return v;
};

/** "workload=ffmpeg,disk=ssd" → { workload: 'ffmpeg', disk: 'ssd' }. */
export const labelMap: Parser<Record<string, string>> = (raw) => {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)$/.exec(pair);
    if (!m) throw new Invalid('comma-separated label pairs such as workload=ffmpeg,disk=ssd');
    out[m[1]!] = m[2]!;
  }
  return out;
};

/** JSON of a given shape (Kubernetes tolerations, affinity); empty → `empty`. */
export const json =
  <T>(what: string, empty: T, check: (v: unknown) => boolean): Parser<T> =>
  (raw) => {
    if (raw.trim() === '') return empty;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new Invalid(`${what} as JSON`);
    }
    if (!check(v)) throw new Invalid(`${what} as JSON`);
    return v as T;
  };

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
