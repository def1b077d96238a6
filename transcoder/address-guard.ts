/**
 * Which addresses a source URL may reach. A URL whose host resolves to loopback, private,
 * link-local, carrier-grade NAT, multicast, reserved or cloud metadata space is refused unless
 * ALLOW_PRIVATE_SOURCES is set: the service fetches user-supplied URLs, and without this an upload
 * URL could read internal services (SSRF). The check runs inside the socket's own DNS lookup, so the
 * address that is checked is the address that is connected to (no DNS-rebinding window).
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { vcsError } from '../src/errors.ts';

/** Well-known instance metadata endpoints, named in refusals so the cause is obvious. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2']);

export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

/** Decides per address; `null` allows everything (ALLOW_PRIVATE_SOURCES). Tests inject their own. */
export type AddressPolicy = ((address: string) => AddressVerdict) | null;

export const policyFor = (allowPrivate: boolean): AddressPolicy => (allowPrivate ? null : classifyAddress);

/** Pure: may the service connect to `address` (an IP literal)? */
export function classifyAddress(address: string): AddressVerdict {
  if (!ipaddr.isValid(address)) return { allowed: false, range: 'invalid' };
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const normalized = ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
  if (METADATA_ADDRESSES.has(normalized)) return { allowed: false, range: 'cloud metadata' };
  const range = ip.range();
  return range === 'unicast' ? { allowed: true } : { allowed: false, range };
}

export function forbiddenAddressError(host: string, address: string, range: string) {
  const shown = host === address ? address : `${host} (${address})`;
  return vcsError(
    'VCS_ERR_SOURCE_FORBIDDEN',
    `source host ${shown} is a ${range} address; set ALLOW_PRIVATE_SOURCES=true to allow it`,
  );
}

/**
 * A `lookup` for http.request/net.connect that refuses forbidden addresses (all of them must be
 * allowed, so a round-robin name cannot smuggle one in).
 */
export function guardedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (policy) {
        for (const a of list) {
          const verdict = policy(a.address);
          if (!verdict.allowed) return callback(forbiddenAddressError(hostname, a.address, verdict.range) as unknown as NodeJS.ErrnoException, '', 0);
        }
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** Checks a URL's host when it is an IP literal (sockets skip `lookup` for those). */
export function checkLiteralHost(url: URL, policy: AddressPolicy): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy || net.isIP(host) === 0) return;
  const verdict = policy(host);
  if (!verdict.allowed) throw forbiddenAddressError(host, host, verdict.range);
}
