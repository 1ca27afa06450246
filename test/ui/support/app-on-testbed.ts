// The set-up most UI files share: the testbed, a browser shell in this process, Chromium, and the
// app's page with its errors collected. close() undoes whatever of it was started, in reverse.
import type { Browser, Page } from 'playwright-core';
import type { TestbedControl } from '../../../src/testbed/index.ts';
import { useTestbed } from '../../support/use-testbed.ts';
import { collectPageErrors, launchChromium } from './browser.ts';
import { openApp, startShell, type AppPage, type TestShell } from './shell.ts';

export interface AppOnTestbed {
  testbed: TestbedControl;
  shell: TestShell;
  browser: Browser;
  app: AppPage;
  page: Page;
  /** Uncaught errors and console errors of the page, as they happen. */
  errors: string[];
  close(): Promise<void>;
}

export async function openAppOnTestbed(): Promise<AppOnTestbed> {
  const undo: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const step of undo.reverse()) await step();
    undo.length = 0;
  };
  try {
    const { testbed, release } = await useTestbed();
    undo.push(release);
    const shell = await startShell();
    undo.push(() => shell.dispose());
    const browser = await launchChromium();
    undo.push(() => browser.close());
    const app = await openApp(browser, shell.shell.launchUrl());
    return { testbed, shell, browser, app, page: app.page, errors: collectPageErrors(app.page), close };
  } catch (error) {
    await close();
    throw error;
  }
}
