/// <reference lib="dom" />
// Every failure in words a person can act on (docs/ARCHITECTURE.md#failures-in-words): a domain that
// does not exist, a closed port, a DNS server that never answers, a wrong password, a bad address, an
// untrusted POSH web certificate, the app's core killed under an online account, the window at
// 800x600. Each row takes a screenshot of what the person sees.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { until } from '../support/until.ts';
import { useTestbed } from '../support/use-testbed.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { currentAttempt, expectNoPageErrors, signIn, waitForState } from './support/flows.ts';
import { openApp, scratch, spawnShell, startShell, type AppPage, type ChildShell, type TestShell } from './support/shell.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
let browser: Browser;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  ({ testbed, release } = await useTestbed());
  browser = await launchChromium();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await browser?.close();
  await release?.();
});

/** A browser shell in this process and the app's page on it. */
async function freshApp(): Promise<{ shell: TestShell; app: AppPage; page: Page; errors: string[] }> {
  const shell = await startShell();
  cleanups.push(() => shell.dispose());
  const app = await openApp(browser, shell.shell.launchUrl());
  cleanups.push(() => app.context.close());
  return { shell, app, page: app.page, errors: collectPageErrors(app.page) };
}

const problem = (page: Page) => page.getByTestId('connection-problem');

async function countdown(page: Page): Promise<number | null> {
  const element = page.getByTestId('retry-countdown');
  if ((await element.count()) === 0) return null;
  return Number(await element.getAttribute('data-seconds'));
}

describe('a failure that retrying cannot fix is permanent: said once, not retried until asked', () => {
  it('RFC 6120 3.2.2: a domain that does not exist is a likely typo, not a lost connection and not the admin\'s to fix', async () => {
    const { page, errors } = await freshApp();
    await signIn(page, { jid: 'carol@nosuch.test', password: 'whatever-it-is', testbed });
    await waitForState(page, 'error');
    const shown = problem(page);
    expect(await shown.getAttribute('data-code')).toBe('NO_SUCH_DOMAIN');
    expect(await shown.getAttribute('data-permanent')).toBe('true');
    expect(await shown.textContent()).toContain('nosuch.test was not found: DNS knows neither an XMPP server nor an address for it. Check carol@nosuch.test for a typo.');
    expect(await page.getByTestId('connection-state').textContent()).toContain('Could not connect');
    expect(await page.getByTestId('connection-state').textContent()).not.toMatch(/lost|reconnecting/i);
    expect(await page.getByTestId('refusal').count(), 'no refusal: no certificate was judged').toBe(0);
    expect(await page.getByTestId('account-panel').textContent()).not.toContain('administrator');
    expect(await page.getByTestId('connect').textContent()).toBe('Retry');
    // Permanent: no countdown, and no new attempt by itself.
    const attempt = await currentAttempt(page);
    await sleep(2500);
    expect(await countdown(page)).toBeNull();
    expect(await currentAttempt(page)).toBe(attempt);
    await screenshot(page, 'failure-no-such-domain');
    // Retry runs a new attempt on request, with the same verdict.
    await page.getByTestId('connect').click();
    await page.locator(`[data-testid=account-panel]:not([data-attempt="${attempt}"])`).waitFor();
    await waitForState(page, 'error');
    expectNoPageErrors(errors);
  });

  it('RFC 6120 6.5.10: a wrong password is one sentence of ours, and the server\'s words are quoted once beside it', async () => {
    const { page, errors } = await freshApp();
    await signIn(page, { jid: 'alice@example.com', password: 'not-her-password', testbed });
    await waitForState(page, 'auth-failed');
    const text = (await problem(page).textContent()) ?? '';
    expect(text).toContain('The server refused the password for alice@example.com. Check it and connect again.');
    expect(text).not.toContain('(The server refused');
    expect(text.match(/refused/g)?.length, 'our sentence says it once').toBe(1);
    const quotes = page.getByTestId('server-quote');
    expect(await quotes.count()).toBe(1);
    expect(((await quotes.textContent()) ?? '').length).toBeGreaterThan(0);
    expect(await countdown(page)).toBeNull();
    await screenshot(page, 'failure-wrong-password', 'account-panel');
    expectNoPageErrors(errors);
  });

  it('a bad address and an empty password are refused in our words, with nothing added', async () => {
    const { shell, page, errors } = await freshApp();
    await page.getByTestId('setup-jid').fill('alice');
    await page.getByTestId('setup-submit').click();
    const error = page.getByTestId('setup-error');
    await error.waitFor();
    // The password is asked for before the address is judged, in a sentence, not the browser's bubble.
    expect(await error.textContent()).toContain('Enter the password for alice.');
    await page.getByTestId('setup-password').fill('some-password');
    await page.getByTestId('setup-submit').click();
    await page.locator('[data-testid=setup-error]', { hasText: 'is not an address' }).waitFor();
    const text = (await error.textContent()) ?? '';
    expect(text).toMatch(/^"alice" is not an address like alice@example\.com\. BAD_ARGUMENT$/);
    expect(text).not.toContain('accounts.add');
    expect(text).not.toContain('(jid)');
    expect(await shell.core.call('accounts.list', [])).toEqual([]);
    await screenshot(page, 'failure-bad-address', 'account-setup');
    expectNoPageErrors(errors);
  });
});

describe('a failure that may pass is transient: retried with a countdown that counts', () => {
  it('a closed port: the server is down or restarting, each try is announced and comes when it says', async () => {
    const { page, errors } = await freshApp();
    await page.getByTestId('setup-jid').fill('alice@example.com');
    await page.getByTestId('setup-password').fill(testbed.users['alice@example.com']!);
    await page.getByTestId('setup-advanced').locator('summary').click();
    await page.getByTestId('setup-resolver').fill(testbed.dnsServer);
    await page.getByTestId('setup-ca').fill(testbed.caPem);
    // Nothing listens there: every connection is refused at once.
    await page.getByTestId('setup-host').fill('127.0.70.1');
    await page.getByTestId('setup-port').fill('5222');
    await page.getByTestId('setup-submit').click();
    await page.locator('[data-testid=connection-problem][data-code=CONNECTION_REFUSED]').waitFor({ timeout: 20_000 });
    expect(await problem(page).getAttribute('data-permanent')).toBe('false');
    expect(await problem(page).textContent()).toContain('Nothing accepts connections at 127.0.70.1 port 5222: the server is down or restarting.');
    expect(await page.getByTestId('connection-state').textContent()).not.toMatch(/lost/i);
    // The backoff grows; once a wait is a few seconds long, the countdown must visibly count down.
    await until(async () => ((await countdown(page)) ?? 0) >= 3, 40_000, 'a retry wait of 3 s or more');
    const attempt = await currentAttempt(page);
    const first = (await countdown(page))!;
    await screenshot(page, 'failure-closed-port', 'account-panel');
    await sleep(1200);
    const second = await countdown(page);
    expect(await currentAttempt(page)).toBe(attempt);
    expect(second).not.toBeNull();
    expect(second!).toBeLessThan(first);
    // And the next try starts when the countdown said (within a second and a half of slack).
    const started = Date.now();
    await page.locator(`[data-testid=account-panel]:not([data-attempt="${attempt}"])`).waitFor({ timeout: (second! + 3) * 1000 });
    expect(Date.now() - started).toBeLessThan((second! + 1.5) * 1000);
    expectNoPageErrors(errors);
  });

  it('a DNS server that never answers: the waiting step says what it waits for while it waits, and the failure says "timed out"', async () => {
    const silent: UdpSocket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    await new Promise<void>((resolve) => silent.bind(5353, '127.0.70.2', resolve));
    silent.on('message', () => undefined);
    const { page, errors } = await freshApp();
    await page.getByTestId('setup-jid').fill('dave@example.com');
    await page.getByTestId('setup-password').fill('any-password');
    await page.getByTestId('setup-advanced').locator('summary').click();
    await page.getByTestId('setup-resolver').fill('127.0.70.2:5353');
    await page.getByTestId('setup-submit').click();
    // During the attempt: the reason, live, with how long it has waited.
    const waiting = page.getByTestId('waiting-for').filter({ hasText: 'the DNS server 127.0.70.2:5353' }).first();
    await waiting.waitFor({ timeout: 10_000 });
    await sleep(1500);
    expect(await waiting.textContent()).toMatch(/^Waiting \d+(\.\d)? (ms|s) for the DNS server 127\.0\.70\.2:5353 \(/);
    expect(Number(/Waiting (\d+)/.exec((await waiting.textContent()) ?? '')?.[1])).toBeGreaterThan(0);
    await screenshot(page, 'failure-dns-waiting', 'account-panel');
    // After it: timed out, never "has no address", and a countdown.
    await page.locator('[data-testid=connection-problem][data-code=DNS_TIMEOUT]').waitFor({ timeout: 40_000 });
    const text = (await problem(page).textContent()) ?? '';
    expect(text).toContain('The DNS server 127.0.70.2:5353 did not answer');
    expect(text).toContain('timed out');
    expect(text).not.toContain('has no address');
    expect(await countdown(page)).not.toBeNull();
    await screenshot(page, 'failure-dns-timeout', 'account-panel');
    expectNoPageErrors(errors);
  });
});

describe('"Check a domain" gives the advice that fixes what failed', () => {
  it('RFC 7711 3: an untrusted POSH web certificate is named as such, and the hint does not only say "publish"', async () => {
    const { page, errors } = await freshApp();
    await page.getByTestId('nav-check').click();
    await page.getByTestId('check-domain').fill('example.com');
    await page.locator('details summary', { hasText: 'Advanced settings' }).click();
    // The testbed's DNS, but not its CA: example.com's web server is then untrusted.
    await page.getByTestId('check-resolver').fill(testbed.dnsServer);
    await page.getByTestId('check-run').click();
    const poshError = page.getByTestId('chain-posh-error');
    await poshError.waitFor({ timeout: 20_000 });
    expect(await poshError.textContent()).toContain('The HTTPS certificate of example.com is not trusted: no certificate authority this client trusts issued it');
    expect(await poshError.textContent()).not.toContain('not valid for it');
    const advice = page.getByTestId('hint-https');
    expect(await advice.textContent()).toContain('First fix the web server');
    expect(await advice.textContent()).toContain('If the document below is not published there yet');
    await screenshot(page, 'failure-check-untrusted-web', 'refusal');
    expectNoPageErrors(errors);
  });
});

describe('the app\'s core gone, and a small window', () => {
  let child: ChildShell | null = null;
  afterAll(async () => child?.stop('SIGKILL'));

  it('at 800x600 nothing scrolls sideways; when the core is killed nothing claims to be online, proven or running', async () => {
    const dataDir = await scratch('failures-killed');
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    child = await spawnShell(dataDir);
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(child.ready.url);
    await page.getByTestId('nav-account').waitFor();
    await signIn(page, { jid: 'alice@example.com', password: testbed.users['alice@example.com']!, testbed });
    await waitForState(page, 'online');
    await page.getByTestId('proof-badge').waitFor();

    for (const view of ['account', 'chat', 'check'] as const) {
      await page.getByTestId(`nav-${view}`).click();
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        window: window.innerWidth,
        main: document.querySelector('main')!.scrollWidth - document.querySelector('main')!.clientWidth,
        header: document.querySelector('header')!.getBoundingClientRect().height,
      }));
      expect(widths.page, `no horizontal scrolling on ${view}`).toBeLessThanOrEqual(widths.window);
      expect(widths.main, `nothing in ${view} wider than the window`).toBeLessThanOrEqual(0);
      expect(widths.header, 'the header stays on one line').toBeLessThan(60);
      // The status field is whole inside the window.
      const status = await page.locator('header input').first().boundingBox();
      expect(status).not.toBeNull();
      expect(status!.x + status!.width).toBeLessThanOrEqual(800);
      await screenshot(page, `failure-800x600-${view}`);
    }

    await page.getByTestId('nav-account').click();
    await child.stop('SIGKILL');
    await page.getByTestId('shell-lost').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=connection-state][data-state=unknown]').waitFor();
    expect(await page.getByTestId('connection-state').textContent()).toContain('Unknown');
    expect(await page.getByTestId('proof-badge').count(), 'no "proven by POSH" badge without a core').toBe(0);
    expect(await page.getByTestId('chain').count(), 'no live chain without a core').toBe(0);
    expect(await page.getByTestId('chain-unknown').textContent()).toContain('unknown');
    expect(await page.getByText('Online', { exact: true }).count()).toBe(0);
    await screenshot(page, 'failure-core-killed');
    await page.getByTestId('nav-chat').click();
    expect(await page.getByTestId('chat-offline').textContent()).toContain("the app's core stopped");
    child = null;
  });
});
