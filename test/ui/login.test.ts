// alice@example.com signs in through the UI on the testbed's POSH-delegated domain: example.com's
// SRV records point at hosting.example.net, whose certificate does not name example.com; example.com
// publishes its fingerprint (RFC 7711), so the client connects without a prompt (RFC 7712 POSH).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { openAppOnTestbed, type AppOnTestbed } from './support/app-on-testbed.ts';
import { screenshot } from './support/browser.ts';
import { currentAttempt, datasets, expectNoPageErrors, signIn, waitForNewAttempt, waitForState } from './support/flows.ts';
import type { TestShell } from './support/shell.ts';

let ui: AppOnTestbed;
let page: Page;
let errors: string[];
let shell: TestShell;
let testbed: TestbedControl;

beforeAll(async () => {
  ui = await openAppOnTestbed();
  ({ testbed, shell, page, errors } = ui);
});

afterAll(() => ui?.close());

interface StepRow {
  step: string;
  state: string;
  start: number;
  duration: number;
}

const timelineSteps = async (target: Page): Promise<StepRow[]> =>
  (await datasets(target.getByTestId('timeline-step'))).map((data) => ({
    step: data['step'] ?? '',
    state: data['state'] ?? '',
    start: Number(data['startMs']),
    duration: Number(data['durationMs']),
  }));

describe('signing in on a POSH-delegated domain', () => {
  it('connects with no prompt and draws the chain: SRV target, POSH URL, matched fingerprint, certificate, expiry', async () => {
    const password = testbed.users['alice@example.com']!;
    await signIn(page, { jid: 'alice@example.com', password, testbed });
    await waitForState(page, 'online');

    // The verdict: RFC 7712 POSH prooftype.
    const verdict = page.getByTestId('chain-verdict');
    expect(await verdict.getAttribute('data-verified')).toBe('true');
    expect(await verdict.getAttribute('data-prooftype')).toBe('POSH');
    expect(await verdict.getAttribute('data-code')).toBe('OK_POSH');

    // Domain -> SRV target (RFC 6120 3.2.1; XEP-0368 direct TLS first).
    expect(await page.getByTestId('chain-domain').textContent()).toContain('example.com');
    const targets = (await datasets(page.getByTestId('chain-srv-record'))).map((data) => data['target']);
    expect(new Set(targets)).toEqual(new Set(['hosting.example.net']));

    // Domain -> its POSH URL (RFC 7711 3): one fingerprints document at the well-known URL.
    const poshSteps = page.getByTestId('chain-posh-step');
    expect(await poshSteps.count()).toBe(1);
    expect(await poshSteps.first().getAttribute('data-kind')).toBe('fingerprints');
    expect(await poshSteps.first().getAttribute('data-url')).toBe('https://example.com/.well-known/posh/xmpp-client.json');

    // The matched fingerprint is the presented certificate's (RFC 7711 4.1), and the certificate shown is the one Prosody presents.
    const presented = testbed.certificates.presented.sha256;
    expect(await page.getByTestId('cert-sha256').getAttribute('data-value')).toBe(presented);
    const matched = page.locator('[data-testid=chain-fingerprint][data-matched=true]');
    expect(await matched.count()).toBe(1);
    expect((await matched.textContent())!.replaceAll(' ', '')).toContain(presented);
    expect(await page.getByTestId('chain-match').textContent()).toMatch(/fingerprint #1 published by example\.com/);
    expect(await page.getByTestId('cert-names').textContent()).toContain('hosting.example.net');
    expect(await page.getByTestId('chain-connection').textContent()).toContain('SNI example.com');

    // Expiry: the document's expires (86400 s, under the 7-day cap) from the fetch, as a date and a running countdown.
    const expiresAt = Date.parse((await page.getByTestId('posh-expiry-date').getAttribute('datetime'))!);
    expect(Math.abs(expiresAt - (Date.now() + 86_400_000))).toBeLessThan(120_000);
    const countdown = page.getByTestId('posh-countdown');
    const first = await countdown.textContent();
    expect(first).toMatch(/^2[34] h \d+ min \d+ s left$/);
    await expect.poll(() => countdown.textContent(), { timeout: 3_000 }).not.toBe(first);

    // The chain's last node: how the login went (SASL2 with SCRAM -PLUS, bound to this channel, XEP-0474 checked).
    const login = page.getByTestId('chain-login');
    expect(await login.getAttribute('data-method')).toBe('password');
    expect(await login.getAttribute('data-mechanism')).toMatch(/^SCRAM-SHA-(1|256)-PLUS$/);
    expect(await login.getAttribute('data-binding')).toBe('tls-exporter');
    expect(await login.textContent()).toMatch(/Logged in with the password \(SCRAM-SHA-(1|256)-PLUS\).*SASL2 \(XEP-0388\).*tls-exporter, RFC 9266.*XEP-0474/s);

    // The whole account view, timeline and chain, in one tall picture, and the chain alone.
    await page.setViewportSize({ width: 1280, height: 1700 });
    await screenshot(page, 'login-chain', 'chain');
    await screenshot(page, 'login-page');
    await page.setViewportSize({ width: 1280, height: 900 });
    expectNoPageErrors(errors);
  });

  it('the timeline draws SRV and POSH on one axis, started together and overlapping (ARCHITECTURE#the-connection-pipeline step 1), then TCP, TLS, verify, SASL, bind', async () => {
    const steps = await timelineSteps(page);
    const names = steps.map((step) => step.step);
    for (const name of ['srv', 'posh', 'dns', 'tcp', 'tls', 'verify', 'stream', 'auth', 'bind']) expect(names).toContain(name);
    expect(steps.every((step) => step.state === 'ok')).toBe(true);
    const srv = steps.find((step) => step.step === 'srv')!;
    const posh = steps.find((step) => step.step === 'posh')!;
    expect(srv.start < posh.start + posh.duration && posh.start < srv.start + srv.duration).toBe(true);
    // Nothing connects before both lookups have settled (ARCHITECTURE#the-connection-pipeline step 3).
    const tcp = steps.find((step) => step.step === 'tcp')!;
    expect(tcp.start).toBeGreaterThanOrEqual(Math.max(srv.start + srv.duration, posh.start + posh.duration) - 0.5);
    await screenshot(page, 'login-timeline', 'timeline');
  });

  it('"Refresh now" fetches the POSH document again and shows the new expiry', async () => {
    const before = Date.parse((await page.getByTestId('posh-expiry-date').getAttribute('datetime'))!);
    const requestsBefore = (await testbed.webRequests()).filter((request) => request.path === '/.well-known/posh/xmpp-client.json').length;
    await page.getByTestId('posh-refresh').click();
    await expect.poll(async () => Date.parse((await page.getByTestId('posh-expiry-date').getAttribute('datetime'))!), { timeout: 10_000 }).toBeGreaterThan(before);
    // nginx writes its access log line after the response, so the page can be ahead of the log.
    const poshRequests = async () => (await testbed.webRequests()).filter((request) => request.path === '/.well-known/posh/xmpp-client.json').length;
    await expect.poll(poshRequests, { timeout: 5_000 }).toBe(requestsBefore + 1);
    expect(await page.getByTestId('posh-refresh').isEnabled()).toBe(true);
    expectNoPageErrors(errors);
  });

  it('account settings: a bad port is refused in words; a manual host with direct TLS reconnects and is still judged against example.com', async () => {
    const settings = page.getByTestId('account-settings');
    await settings.locator('summary').click();
    await page.getByTestId('edit-port').fill('70000');
    await page.getByTestId('edit-save').click();
    expect(await page.getByTestId('edit-error').textContent()).toMatch(/port must be a whole number/);

    const previous = await currentAttempt(page);
    await page.getByTestId('edit-host').fill('hosting.example.net');
    await page.getByTestId('edit-port').fill('5223');
    await page.getByTestId('edit-direct-tls').check();
    await page.getByTestId('edit-save').click();
    await page.getByTestId('edit-saved').waitFor();
    await waitForNewAttempt(page, previous, 'online');
    expect(await page.getByTestId('chain-connection').textContent()).toMatch(/hosting\.example\.net .*port 5223\s+direct TLS, SNI example\.com/s);
    expect(await page.getByTestId('chain-verdict').getAttribute('data-code')).toBe('OK_POSH');
    // The new session of this run proved the FAST token the first login was given (XEP-0484), not the password.
    const login = page.getByTestId('chain-login');
    expect(await login.getAttribute('data-method')).toBe('token');
    expect(await login.textContent()).toMatch(/Logged in with a FAST token \(HT-SHA-256-EXPR, XEP-0484\)/);
    await screenshot(page, 'login-fast-chain', 'chain-login');
    const [account] = (await shell.core.call('accounts.list', [])) as Array<{ settings: { host: string | null; port: number | null; directTls: boolean } }>;
    expect(account!.settings).toMatchObject({ host: 'hosting.example.net', port: 5223, directTls: true });
    expectNoPageErrors(errors);
  });
});
