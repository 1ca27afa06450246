// The local demo as a newcomer meets it: "Try the local demo" on the account screen starts real
// servers (dnsmasq, nginx, Prosody) on the demo's own loopback addresses, shows its progress, signs
// alice in through example.com's delegation; the variant switch walks every POSH variant with its
// chain or its refusal (code and hint); bob answers and changes his presence. The shared testbed of
// the other suites keeps running on 127.0.0.1-3 meanwhile.
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountSummary, DemoStatus, DemoVariant } from '../../src/app/contract.ts';
import { launchBrowserShell, type RunningBrowserShell } from '../../src/web/shell.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { currentAttempt, datasets, expectNoPageErrors, waitForNewAttempt, waitForState } from './support/flows.ts';
import { openApp, RENDERER_DIR, requireBuild, scratch } from './support/shell.ts';

const ADDRESSES = { dns: '127.0.61.1:5353', web: '127.0.61.2', xmpp: '127.0.61.3' };
const WELL_KNOWN = 'https://example.com/.well-known/posh/xmpp-client.json';

let browser: Browser;
let shell: RunningBrowserShell;
let dataDir: string;
let runtimeDir: string;
let page: Page;
let errors: string[];
const statuses: DemoStatus[] = [];

beforeAll(async () => {
  requireBuild();
  dataDir = await scratch('demo-data');
  runtimeDir = await scratch('demo-runtime');
  shell = await launchBrowserShell({
    dataDir,
    rendererDir: RENDERER_DIR,
    demo: { runtimeDir, addresses: ADDRESSES, bob: { presenceEveryMs: 1500, replyDelayMs: 100 } },
  });
  shell.core.subscribe(({ event, payload }) => {
    if (event === 'demo.status') statuses.push(payload as DemoStatus);
  });
  browser = await launchChromium();
  ({ page } = await openApp(browser, shell.shell.launchUrl()));
  errors = collectPageErrors(page);
});

afterAll(async () => {
  await browser?.close();
  await shell?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(runtimeDir, { recursive: true, force: true });
});

/** base64 SHA-256 of the certificate Prosody presents for example.com now (the form POSH publishes). */
async function presentedSha256(): Promise<string> {
  const pem = await readFile(join(runtimeDir, 'prosody', 'tls', 'example.com.pem'), 'utf8');
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64');
}

// Page script (a string: the tests are type-checked without the DOM library).
const RECORD_STEP_STATES = `{
  const seen = new Set();
  window.demoStepsSeen = seen;
  new MutationObserver(() => {
    for (const step of document.querySelectorAll('[data-testid=demo-step]')) seen.add(step.getAttribute('data-state'));
  }).observe(document.body, { subtree: true, childList: true, attributes: true });
}`;

const demoPanel = (attributes: string) => page.locator(`[data-testid=demo-panel]${attributes}`);

describe('Try the local demo', () => {
  it('starts the servers from the account screen, shows each step, and signs alice in by POSH', async () => {
    const slot = page.getByTestId('demo-slot');
    await expect.poll(() => slot.getByTestId('demo-start').textContent()).toBe('Try the local demo');
    // The progress list is short-lived (about a second): remember every state any step showed.
    await page.evaluate(RECORD_STEP_STATES);
    const clicked = performance.now();
    await slot.getByTestId('demo-start').click();
    await demoPanel('[data-state=running][data-busy=false]').waitFor({ timeout: 60_000 });
    await waitForState(page, 'online');
    const shownAfterMs = Math.round(performance.now() - clicked);

    const seen = (await page.evaluate('[...window.demoStepsSeen]')) as string[];
    expect(seen, 'the page showed the steps while they ran').toEqual(expect.arrayContaining(['active', 'done']));
    // Each of the four steps was published pending, then active, then done, in turn.
    const starting = statuses.filter((status) => status.state === 'starting');
    const history = [0, 1, 2, 3].map((index) =>
      starting.map((status) => status.steps[index]?.state).filter((state, at, all) => state !== all[at - 1]),
    );
    expect(history).toEqual(Array(4).fill(['pending', 'active', 'done']));
    const running = statuses.at(-1)!;
    expect(running).toMatchObject({ state: 'running', variant: 'direct', addresses: ADDRESSES, message: null, missing: [] });
    console.log(`demo: started in ${running.startedInMs} ms (core), online in the window ${shownAfterMs} ms after the click`);

    await expect.poll(() => page.getByTestId('account-jid').textContent()).toBe('alice@example.com');
    const verdict = page.getByTestId('chain-verdict');
    expect(await verdict.getAttribute('data-code')).toBe('OK_POSH');
    expect(await verdict.getAttribute('data-prooftype')).toBe('POSH');
    expect(await page.getByTestId('proof-badge').textContent()).toContain('example.com proven by POSH');

    // The demo's resolver and CA are the demo account's own settings.
    const accounts = (await shell.core.call('accounts.list', [])) as AccountSummary[];
    const demoAccount = accounts.find((account) => account.id === running.accountId);
    expect(demoAccount).toMatchObject({ jid: 'alice@example.com', isDemo: true, rememberPassword: false, settings: { resolver: ADDRESSES.dns } });
    expect(demoAccount?.settings.extraAnchorsPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await screenshot(page, 'demo-running');
  });
});

interface VariantRow {
  rule: string;
  variant: DemoVariant;
  state: 'online' | 'refused';
  code: string;
  /** Proven: the kinds of the POSH steps the chain shows, in order. */
  poshKinds?: string[];
  /** Refused: whether publishing fingerprints would make the presented certificate verify (so a hint is shown). */
  hint?: boolean;
}

// From the direct variant the demo starts in, through every other, and back.
const VARIANT_ROWS: VariantRow[] = [
  { rule: 'RFC 7711 10: a 302 from example.com to hosting.example.net is followed over HTTPS and proves the server', variant: 'redirect', state: 'online', code: 'OK_POSH', poshKinds: ['redirect', 'fingerprints'] },
  { rule: "RFC 7711 3.2: a reference document leads to hosting.example.net's fingerprints, which prove the server", variant: 'reference', state: 'online', code: 'OK_POSH', poshKinds: ['reference', 'fingerprints'] },
  { rule: 'RFC 7711 3.3: fingerprints that match nothing the server presents refuse it (POSH_MISMATCH)', variant: 'wrong-fingerprint', state: 'refused', code: 'POSH_MISMATCH', hint: true },
  { rule: 'RFC 7711 3 (404) and RFC 7712: no POSH and a certificate for another name: nothing proves the server (NO_PROOF)', variant: 'absent', state: 'refused', code: 'NO_PROOF', hint: true },
  { rule: 'RFC 7711 3.1 (the fingerprint goes out of date with the certificate): an expired certificate is refused (CERT_EXPIRED)', variant: 'expired-certificate', state: 'refused', code: 'CERT_EXPIRED', hint: false },
  { rule: 'RFC 7711 4: a self-signed certificate whose fingerprint example.com publishes is proven by POSH', variant: 'self-signed', state: 'online', code: 'OK_POSH', poshKinds: ['fingerprints'] },
  { rule: 'RFC 7711 3.1: fingerprints published by example.com itself prove the server', variant: 'direct', state: 'online', code: 'OK_POSH', poshKinds: ['fingerprints'] },
];

describe('the variant switch reconnects alice and shows each chain and each refusal', () => {
  it.each(VARIANT_ROWS)('$rule', async ({ variant, state, code, poshKinds, hint }) => {
    const previous = await currentAttempt(page);
    await page.locator(`[data-testid=demo-variant][data-variant="${variant}"]`).check();
    await waitForNewAttempt(page, previous, state, 30_000);
    await demoPanel(`[data-variant="${variant}"][data-busy=false]`).waitFor({ timeout: 30_000 });
    expect(await page.locator(`[data-testid=demo-variant][data-variant="${variant}"]`).isChecked()).toBe(true);

    const verdict = page.getByTestId('chain-verdict');
    expect(await verdict.getAttribute('data-code')).toBe(code);
    if (state === 'online') {
      expect(await verdict.getAttribute('data-prooftype')).toBe('POSH');
      expect((await datasets(page.getByTestId('chain-posh-step'))).map((step) => step['kind'])).toEqual(poshKinds);
      expect(await page.getByTestId('chain-match').textContent()).toContain('matches fingerprint #1 published by example.com');
      expect(await page.getByTestId('refusal').count()).toBe(0);
    } else {
      const refusal = page.getByTestId('refusal');
      expect(await refusal.getAttribute('data-code')).toBe(code);
      expect(await page.getByTestId('refusal-reason').textContent()).toContain(`(${code})`);
      expect(await page.getByTestId('connection-problem').textContent()).toContain(code);
      if (hint) {
        // Where to publish, and the document that would prove the certificate presented now.
        expect(await page.getByTestId('hint-url').textContent()).toBe(WELL_KNOWN);
        const document = JSON.parse((await page.getByTestId('hint-json').textContent()) ?? '') as { fingerprints: Array<Record<string, string>> };
        expect(document.fingerprints[0]?.['sha-256']).toBe(await presentedSha256());
      } else {
        // No document can vouch for an expired certificate: no hint to publish one.
        expect(await page.getByTestId('hint').count()).toBe(0);
      }
    }
    await screenshot(page, `demo-${variant}`);
  });
});

describe('bob is a live peer', () => {
  it('answers what alice asks, with what proved his connection, and changes his presence', async () => {
    await page.getByTestId('nav-chat').click();
    const bob = page.locator('[data-testid=roster-contact][data-jid="bob@example.com"]');
    await bob.click();
    const presence = page.getByTestId('peer-presence');
    await presence.waitFor();
    const before = await presence.textContent();
    await expect.poll(() => presence.textContent(), { timeout: 10_000, message: "bob's presence changes by itself" }).not.toBe(before);

    await page.getByTestId('composer-input').fill('How was this connection proven?');
    await page.getByTestId('composer-send').click();
    // bob's client sends a receipt (XEP-0184): delivered, not only sent.
    await page.locator('[data-testid=message][data-direction=out][data-state=delivered]').filter({ hasText: 'How was this connection proven?' }).waitFor({ timeout: 10_000 });
    const reply = page.locator('[data-testid=message][data-direction=in]').filter({ hasText: 'was proven by POSH (OK_POSH)' });
    await reply.first().waitFor({ timeout: 10_000 });
    expect(await reply.first().textContent()).toContain('hosting.example.net');
    await screenshot(page, 'demo-chat');
    expectNoPageErrors(errors);
  });
});
