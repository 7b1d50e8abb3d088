/**
 * Test support for the dashboard's browser tests: Debian's Chromium driven by playwright-core. `browserSkip` is
 * false when Chromium is there, else the reason to skip; in CI a missing Chromium throws (browser tests must run
 * there, never skip). `launchChromium` starts it headless, without any network of its own.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const missing = `Chromium not found at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
  if (process.env.CI) throw new Error(`${missing}: CI must run the browser tests, not skip them`);
  return `skipped: ${missing}`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
