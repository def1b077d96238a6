/** Asking a running controller on this machine for a pass now (its internal port), best effort. */
import type { Settings } from '../config.ts';
import { POKE_ROUTE } from '../http/routes.ts';
import { localAddress } from './wiring.ts';

/** Best effort: tells a running `vcs serve` (or `vcs controller`) on this machine to look at the store now. */
export async function pokeService(settings: Pick<Settings, 'INTERNAL_PORT' | 'INTERNAL_BIND_ADDRESS'>): Promise<boolean> {
  try {
    const res = await fetch(`http://${localAddress(settings.INTERNAL_BIND_ADDRESS)}:${settings.INTERNAL_PORT}${POKE_ROUTE}`, { method: 'POST', signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}
