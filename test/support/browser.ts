import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, used when the machine has it. */
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

// The flags this machine needs: no sandbox as root, and no background calls to Google's hosts.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Launches headless Chromium: Debian's when installed, else the build that ships inside the
 * `@sparticuz/chromium` npm package (unpacked to the temp folder on first use), so `npm ci && npm test`
 * needs nothing else on a new machine.
 */
export async function launchChromium(): Promise<Browser> {
  if (existsSync(SYSTEM_CHROMIUM)) return chromium.launch({ executablePath: SYSTEM_CHROMIUM, args: FLAGS });
  const packaged = (await import('@sparticuz/chromium')).default;
  return chromium.launch({ executablePath: await packaged.executablePath(), args: [...packaged.args, ...FLAGS] });
}
