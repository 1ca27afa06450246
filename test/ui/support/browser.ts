// Debian's Chromium driven by playwright-core, the way docs/ARCHITECTURE.md#environment says: no sandbox (root), no
// GPU, no background traffic, a fresh profile per launch. Screenshots go to test-results/screenshots.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['POSH_BROWSER'] ?? '/usr/bin/chromium';
export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Saves the page (or one element of it) as test-results/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string, testid?: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  if (testid) await page.getByTestId(testid).first().screenshot({ path });
  else await page.screenshot({ path });
  return path;
}

/** Everything the page printed as an error or that failed in it: a UI test expects none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}
