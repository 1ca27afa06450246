// What a person does in the UI, as steps the tests share.
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestbedControl } from '../../../src/testbed/index.ts';

export interface SignIn {
  jid: string;
  password: string;
  testbed: TestbedControl;
}

/** Fills the account form (advanced: the testbed's resolver and CA) and signs in. */
export async function signIn(page: Page, { jid, password, testbed }: SignIn): Promise<void> {
  await page.getByTestId('setup-jid').fill(jid);
  await page.getByTestId('setup-password').fill(password);
  await page.getByTestId('setup-advanced').locator('summary').click();
  await page.getByTestId('setup-resolver').fill(testbed.dnsServer);
  await page.getByTestId('setup-ca').fill(testbed.caPem);
  await page.getByTestId('setup-submit').click();
}

export async function waitForState(page: Page, state: string, timeout = 20_000): Promise<void> {
  await page.locator(`[data-testid=connection-state][data-state="${state}"]`).waitFor({ timeout });
}

/** The id of the account's current connection attempt ('' before the first). */
export async function currentAttempt(page: Page): Promise<string> {
  return (await page.getByTestId('account-panel').getAttribute('data-attempt')) ?? '';
}

/** Waits for an attempt other than `previous` to end in `state`. */
export async function waitForNewAttempt(page: Page, previous: string, state: string, timeout = 20_000): Promise<void> {
  await page
    .locator(`[data-testid=account-panel]:not([data-attempt="${previous}"]):not([data-attempt=""])`)
    .waitFor({ timeout });
  await waitForState(page, state, timeout);
}

/** The attribute of the first element with this test id. */
export async function attribute(page: Page, testid: string, name: string): Promise<string | null> {
  return page.getByTestId(testid).first().getAttribute(name);
}

export async function texts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

export function expectNoPageErrors(errors: readonly string[]): void {
  expect(errors, 'the page reported errors').toEqual([]);
}

/** The data-* attributes of every element the locator matches (the page's stable hooks). */
export function datasets(locator: Locator): Promise<Array<Record<string, string>>> {
  return locator.evaluateAll((elements) => elements.map((element) => ({ ...(element as unknown as { dataset: Record<string, string> }).dataset })));
}
