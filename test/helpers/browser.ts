/**
 * A real browser for the dashboard's tests and benchmark: Debian's chromium (installed by
 * scripts/install-deps.sh; SC_CHROMIUM names another binary), driven by playwright-core, which
 * downloads no browser of its own. Headless, one context per test.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.SC_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(`no browser at ${chromiumPath}: run scripts/install-deps.sh (it installs Debian's chromium)`);
  // As root, Chromium's sandbox cannot start; the pages are our own, served on loopback.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}
