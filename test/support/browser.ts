/** Debian's Chromium driven by playwright-core (installed by scripts/install.sh). */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium is missing: run scripts/install.sh (Debian package chromium)');
  // As root (CI) Chromium refuses its sandbox; the pages are our own, served on 127.0.0.1.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
