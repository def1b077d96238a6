/**
 * Hotlink protection (the plan’s "Security Considerations" 2, docs/adr/0015): a page on another site may not
 * embed the videos. Only the Referer is judged, and its absence is allowed: players in apps,
 * CDNs and privacy settings send none, and refusing them would break playback, not hotlinking.
 */

/** `allowed` holds lower-case hosts, optionally with `:port`; an empty set allows every site. */
export function refererAllowed(referer: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0 || referer === '') return true;
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return false;
  }
  return allowed.has(url.host) || allowed.has(url.hostname);
}
