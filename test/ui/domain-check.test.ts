// The domain check: any domain, client and server delegation, the same chain view, no login. One
// row per rule, each on the testbed variant that shows it.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationAttempts, type TestbedControl, type VariantName } from '../../src/testbed/index.ts';
import { openAppOnTestbed, type AppOnTestbed } from './support/app-on-testbed.ts';
import { screenshot } from './support/browser.ts';
import { datasets, expectNoPageErrors } from './support/flows.ts';
import type { TestShell } from './support/shell.ts';

let ui: AppOnTestbed;
let page: Page;
let errors: string[];
let shell: TestShell;
let testbed: TestbedControl;

beforeAll(async () => {
  ui = await openAppOnTestbed();
  ({ testbed, shell, page, errors } = ui);
  await page.getByTestId('nav-check').click();
  await page.getByTestId('check-domain').fill('example.com');
  await page.getByTestId('domain-check-form').locator('summary').click();
  await page.getByTestId('check-resolver').fill(testbed.dnsServer);
  await page.getByTestId('check-ca').fill(testbed.caPem);
});

afterAll(() => ui?.close());

type Service = 'xmpp-client' | 'xmpp-server';

interface CheckRow {
  rule: string;
  variant: VariantName;
  services: Service[];
  connect: boolean;
  code: string;
  prooftype: string;
  /** The kinds of POSH steps the chain marks, in order. */
  kinds: string[];
}

const ROWS: CheckRow[] = [
  { rule: 'RFC 7711 3: a fingerprints document at the well-known URL proves the client delegation', variant: 'direct', services: ['xmpp-client'], connect: true, code: 'OK_POSH', prooftype: 'POSH', kinds: ['fingerprints'] },
  { rule: 'RFC 7711 3.1 / ARCHITECTURE#posh-retrieval: a redirect is followed and marked as one', variant: 'redirect', services: ['xmpp-client'], connect: true, code: 'OK_POSH', prooftype: 'POSH', kinds: ['redirect', 'fingerprints'] },
  { rule: 'RFC 7711 3.2: a reference document is followed and marked as one', variant: 'reference', services: ['xmpp-client'], connect: true, code: 'OK_POSH', prooftype: 'POSH', kinds: ['reference', 'fingerprints'] },
  { rule: 'RFC 7711 8 / RFC 7712: client and server delegation are checked side by side', variant: 'direct', services: ['xmpp-client', 'xmpp-server'], connect: true, code: 'OK_POSH', prooftype: 'POSH', kinds: ['fingerprints'] },
  { rule: 'RFC 7712 / ARCHITECTURE#the-verdict rule 3: no POSH and no PKIX proof is NO_PROOF, with the admin hint', variant: 'absent', services: ['xmpp-client'], connect: true, code: 'NO_PROOF', prooftype: '', kinds: ['absent'] },
  { rule: 'ARCHITECTURE#posh-check (--no-connect): lookups only judge no certificate: LOOKUP_ONLY', variant: 'direct', services: ['xmpp-client'], connect: false, code: 'LOOKUP_ONLY', prooftype: '', kinds: ['fingerprints'] },
];

async function setChecked(testid: string, checked: boolean): Promise<void> {
  const box = page.getByTestId(testid);
  if ((await box.isChecked()) !== checked) await box.click();
}

describe('checking a domain without logging in', () => {
  it.each(ROWS)('$rule', async (row) => {
    await testbed.setVariant(row.variant);
    const attemptsBefore = authenticationAttempts(await testbed.prosodyLog()).length;
    await setChecked('check-client', row.services.includes('xmpp-client'));
    await setChecked('check-server', row.services.includes('xmpp-server'));
    await setChecked('check-connect', row.connect);
    await page.getByTestId('check-run').click();
    await expect.poll(() => page.getByTestId('check-run').textContent(), { timeout: 20_000 }).toBe('Check');

    const results = page.getByTestId('check-result');
    expect((await datasets(results)).map((result) => result['service'])).toEqual(row.services);
    for (const service of row.services) {
      const result = page.locator(`[data-testid=check-result][data-service=${service}]`);
      const verdict = result.getByTestId('chain-verdict');
      expect(await verdict.getAttribute('data-code')).toBe(row.code);
      expect(await verdict.getAttribute('data-prooftype')).toBe(row.prooftype);
      const steps = await datasets(result.getByTestId('chain-posh-step'));
      expect(steps.map((step) => step['kind'])).toEqual(row.kinds);
      expect(steps[0]!['url']).toBe(`https://example.com/.well-known/posh/${service}.json`);
      const srvPrefix = service === 'xmpp-client' ? '_xmpp' : '_xmpp-server';
      expect(await result.getByTestId('chain-srv').textContent()).toContain(`${srvPrefix}`);
      expect(await result.getByTestId('timeline-step').count()).toBeGreaterThanOrEqual(2);
      if (row.code === 'NO_PROOF') expect(await result.getByTestId('hint-url').textContent()).toBe(`https://example.com/.well-known/posh/${service}.json`);
      if (!row.connect) expect(await result.getByTestId('chain-certificate').count()).toBe(0);
      if (row.prooftype === 'POSH') {
        expect(await result.getByTestId('cert-sha256').getAttribute('data-value')).toBe(testbed.certificates.presented.sha256);
        expect(await result.locator('[data-testid=chain-fingerprint][data-matched=true]').count()).toBe(1);
      }
    }
    // No login: nothing authenticated, no account appeared.
    expect(authenticationAttempts(await testbed.prosodyLog()).length).toBe(attemptsBefore);
    expect(await shell.core.call('accounts.list', [])).toEqual([]);
    await screenshot(page, `domain-check-${row.variant}-${row.services.join('+')}${row.connect ? '' : '-lookups'}`, 'check-result');
    expectNoPageErrors(errors);
  });
});
