// A conversation between alice in the UI and bob in a second client (a second browser shell with
// its own app core and stores, driven through its own page): subscription requests both ways,
// presence changes, messages both ways with their states, unread counts, and history after a reload.
// Fresh accounts, so that earlier suites' rosters and offline messages on the shared server do not
// leak in.
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { useTestbed } from '../support/use-testbed.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { expectNoPageErrors, signIn, waitForState } from './support/flows.ts';
import { openApp, startShell, type TestShell } from './support/shell.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
let browser: Browser;
const shells: TestShell[] = [];
let alice: Page;
let bob: Page;
let aliceJid: string;
let bobJid: string;
const errors: string[][] = [];

const suffix = randomBytes(3).toString('hex');

beforeAll(async () => {
  ({ testbed, release } = await useTestbed());
  aliceJid = await testbed.addUser(`alice-${suffix}`, 'example.com', 'alice-password');
  bobJid = await testbed.addUser(`bob-${suffix}`, 'example.com', 'bob-password');
  browser = await launchChromium();
  for (const [jid, password] of [[aliceJid, 'alice-password'], [bobJid, 'bob-password']] as const) {
    const shell = await startShell();
    shells.push(shell);
    const { page } = await openApp(browser, shell.shell.launchUrl());
    errors.push(collectPageErrors(page));
    await signIn(page, { jid, password, testbed });
    await waitForState(page, 'online');
    await page.getByTestId('nav-chat').click();
    if (jid === aliceJid) alice = page;
    else bob = page;
  }
});

afterAll(async () => {
  await browser?.close();
  for (const shell of shells) await shell.dispose();
  await release?.();
});

const contactRow = (page: Page, jid: string) => page.locator(`[data-testid=roster-contact][data-jid="${jid}"]`);

async function addContact(page: Page, jid: string): Promise<void> {
  await page.getByTestId('add-contact-jid').fill(jid);
  await page.getByTestId('add-contact-submit').click();
  await contactRow(page, jid).waitFor();
}

async function approve(page: Page, from: string): Promise<void> {
  const request = page.locator(`[data-testid=subscription-request][data-jid="${from}"]`);
  await request.waitFor({ timeout: 10_000 });
  await request.getByTestId('subscription-approve').click();
  await request.waitFor({ state: 'detached' });
}

describe('alice and bob', () => {
  it('ask to see each other\'s presence, and each allows the other (RFC 6121 3)', async () => {
    await addContact(alice, bobJid);
    // The roster push that carries the pending request may follow the one that adds the contact.
    await expect.poll(() => contactRow(alice, bobJid).textContent(), { timeout: 10_000 }).toMatch(/waiting for approval/);
    await approve(bob, aliceJid);
    await addContact(bob, aliceJid);
    await approve(alice, bobJid);
    // Both now see the other online.
    await expect.poll(() => contactRow(alice, bobJid).getAttribute('data-presence'), { timeout: 10_000 }).toBe('online');
    await expect.poll(() => contactRow(bob, aliceJid).getAttribute('data-presence'), { timeout: 10_000 }).toBe('online');
  });

  it.each([
    ['away', 'away'],
    ['dnd', 'dnd'],
    ['online', 'online'],
  ])('bob sets his presence to %s and alice sees it (RFC 6121 4)', async (show, level) => {
    await bob.getByTestId('own-presence-show').selectOption(show);
    await expect.poll(() => contactRow(alice, bobJid).getAttribute('data-presence'), { timeout: 10_000 }).toBe(level);
  });

  it('alice writes to bob with Enter: the message is sent, then delivered; bob sees it unread until he opens it', async () => {
    await contactRow(alice, bobJid).click();
    const input = alice.getByTestId('composer-input');
    await input.fill('Hello Bob, is this really you?');
    await input.press('Enter');
    const sent = alice.locator('[data-testid=message][data-direction=out]').last();
    await expect.poll(() => sent.getByTestId('message-body').textContent()).toBe('Hello Bob, is this really you?');
    expect(await input.inputValue()).toBe('');
    await expect.poll(() => sent.getAttribute('data-state'), { timeout: 10_000 }).toBe('delivered');

    const unread = contactRow(bob, aliceJid).getByTestId('unread-count');
    await expect.poll(() => unread.textContent(), { timeout: 10_000 }).toBe('1');
    await contactRow(bob, aliceJid).click();
    const received = bob.locator('[data-testid=message][data-direction=in]').last();
    await expect.poll(() => received.getByTestId('message-body').textContent()).toBe('Hello Bob, is this really you?');
    await expect.poll(() => unread.count(), { timeout: 10_000 }).toBe(0);
  });

  it('bob answers with the Send button, and alice sees it in the open conversation', async () => {
    await bob.getByTestId('composer-input').fill('It is. Proven by POSH, no prompt.');
    await bob.getByTestId('composer-send').click();
    const answer = alice.locator('[data-testid=message][data-direction=in]').last();
    await expect.poll(() => answer.getByTestId('message-body').textContent(), { timeout: 10_000 }).toBe('It is. Proven by POSH, no prompt.');
    expect(await alice.getByTestId('conversation-announcer').textContent()).toContain('It is. Proven by POSH, no prompt.');
    await screenshot(alice, 'chat-alice');
    await screenshot(bob, 'chat-bob');
  });

  it('Shift+Enter makes a new line instead of sending', async () => {
    const input = alice.getByTestId('composer-input');
    await input.fill('first line');
    await input.press('Shift+Enter');
    await input.pressSequentially('second line');
    expect(await input.inputValue()).toBe('first line\nsecond line');
    await input.press('Enter');
    const last = alice.locator('[data-testid=message][data-direction=out]').last();
    await expect.poll(() => last.getByTestId('message-body').textContent()).toBe('first line\nsecond line');
  });

  it('after a reload, the conversation comes back from history in order', async () => {
    await alice.reload();
    await alice.getByTestId('nav-chat').click();
    await contactRow(alice, bobJid).click();
    const bodies = alice.locator('[data-testid=message] [data-testid=message-body]');
    await expect.poll(() => bodies.allTextContents(), { timeout: 10_000 }).toEqual([
      'Hello Bob, is this really you?',
      'It is. Proven by POSH, no prompt.',
      'first line\nsecond line',
    ]);
    expect(await alice.getByTestId('history-edge').textContent()).toMatch(/Start of the conversation|Load older/);
  });

  it('the roster is usable by keyboard: arrows move, Enter opens', async () => {
    await bob.getByTestId('roster').focus();
    await bob.keyboard.press('Home');
    await bob.keyboard.press('Enter');
    expect(await bob.getByTestId('conversation-header').textContent()).toContain(aliceJid);
    for (const pageErrors of errors) expectNoPageErrors(pageErrors);
  });
});
