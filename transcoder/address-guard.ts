/**
 * Which addresses a source URL may reach: global unicast only. A URL whose host resolves to
 * anything else (loopback, private, link-local, carrier-grade NAT, multicast, documentation,
 * reserved or cloud metadata space, or an IPv6 form that leads to such an IPv4 address) is refused
 * unless ALLOW_PRIVATE_SOURCES is set: the service fetches user-supplied URLs, and without this an upload
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

type Block<T> = { net: [T, number]; range: string };

const blocks = <T>(parseCIDR: (cidr: string) => [T, number], list: [cidr: string, range: string][]): Block<T>[] =>
  list.map(([cidr, range]) => ({ net: parseCIDR(cidr), range }));

/**
 * IPv4 space that is not globally reachable (IANA IPv4 special-purpose address registry), named
 * for the refusal message; the rest of IPv4 is global unicast. First match names the address.
 */
const IPV4_NOT_GLOBAL = blocks((cidr) => ipaddr.IPv4.parseCIDR(cidr), [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrierGradeNat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'linkLocal'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // the retired 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

/** The only IPv6 space the service connects to (RFC 4291 global unicast), less IPV6_NOT_GLOBAL. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/** IPv6 blocks to refuse: first those inside 2000::/3, then names for the space outside it. */
const IPV6_NOT_GLOBAL = blocks((cidr) => ipaddr.IPv6.parseCIDR(cidr), [
  ['2001::/32', 'teredo'], // a tunnel to an (obfuscated) IPv4 address nobody checked
  ['2001:2::/48', 'benchmarking'],
  ['2001::/23', 'reserved'], // IETF protocol assignments
  ['2001:db8::/32', 'documentation'],
  ['2002::/16', '6to4'], // a tunnel to the IPv4 address in bits 16–47; retired by RFC 7526
  ['3fff::/20', 'documentation'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'ipv4Compatible'], // deprecated by RFC 4291; some stacks still route it to the IPv4 address
  ['64:ff9b:1::/48', 'nat64Local'], // site-chosen NAT64 layouts: the IPv4 address cannot be read reliably
  ['100::/64', 'discard'],
  ['fc00::/7', 'uniqueLocal'],
  ['fe80::/10', 'linkLocal'],
  ['fec0::/10', 'siteLocal'],
  ['ff00::/8', 'multicast'],
]);

/**
 * IPv6 forms whose last 32 bits are an IPv4 address that the connection really reaches: mapped
 * addresses (dual-stack sockets report IPv4 peers this way) and NAT64's well-known prefix (DNS64 on
 * IPv6-only clusters). They are judged by that IPv4 address.
 */
const IPV6_EMBEDDING_IPV4 = ['::ffff:0:0/96', '64:ff9b::/96'].map((cidr) => ipaddr.IPv6.parseCIDR(cidr));

const inBlock = <T extends ipaddr.IPv4 | ipaddr.IPv6>(ip: T, list: Block<T>[]) => list.find((b) => ip.match(b.net));

/**
 * Pure: may the service connect to `address` (an IP literal as sockets and resolvers write it)?
 * Only global unicast is allowed. Other spellings (`0x7f.1`, `2130706433`) are refused rather than
 * guessed at: URLs reach here already normalised, and resolvers return canonical addresses.
 */
export function classifyAddress(address: string): AddressVerdict {
  const family = net.isIP(address);
  if (family === 0) return { allowed: false, range: 'invalid' };
  return family === 4 ? classifyIPv4(ipaddr.IPv4.parse(address)) : classifyIPv6(ipaddr.IPv6.parse(dottedTailAsHex(address)));
}

/**
 * `::127.0.0.1` with its IPv4 tail written as two hex groups (`::7f00:1`). ipaddr.js reads a
 * dotted `::a.b.c.d` as the mapped `::ffff:a.b.c.d`, but sockets connect to the IPv4-compatible
 * `::a.b.c.d` (and glibc's resolver prints those addresses in that spelling); the guard must judge
 * the address that is connected to.
 */
function dottedTailAsHex(address: string): string {
  return address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)(%.*)?$/, (_, a, b, c, d, zone = '') => {
    const group = (hi: string, lo: string) => ((Number(hi) << 8) | Number(lo)).toString(16);
    return `${group(a, b)}:${group(c, d)}${zone}`;
  });
}

function classifyIPv4(ip: ipaddr.IPv4): AddressVerdict {
  if (METADATA_ADDRESSES.has(ip.toString())) return { allowed: false, range: 'cloud metadata' };
  const block = inBlock(ip, IPV4_NOT_GLOBAL);
  return block ? { allowed: false, range: block.range } : { allowed: true };
}

function classifyIPv6(ip: ipaddr.IPv6): AddressVerdict {
  if (METADATA_ADDRESSES.has(ip.toRFC5952String())) return { allowed: false, range: 'cloud metadata' };
  if (IPV6_EMBEDDING_IPV4.some((prefix) => ip.match(prefix))) {
    return classifyIPv4(ipaddr.fromByteArray(ip.toByteArray().slice(12)) as ipaddr.IPv4);
  }
  const block = inBlock(ip, IPV6_NOT_GLOBAL);
  if (block) return { allowed: false, range: block.range };
  return ip.match(IPV6_GLOBAL_UNICAST) ? { allowed: true } : { allowed: false, range: 'reserved' };
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
