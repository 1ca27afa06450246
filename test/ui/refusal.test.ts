// When nothing proves the server, the UI refuses in plain words, sends nothing to it, offers no way
// to accept it anyway, and gives the domain's admin the URL and the exact document to publish
// (docs/ARCHITECTURE.md#the-verdict). One row per rule; the testbed's variants produce each case.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl, VariantName } from '../../src/testbed/index.ts';
import { authenticationAttempts } from '../../src/testbed/index.ts';
import { openAppOnTestbed, type AppOnTestbed } from './support/app-on-testbed.ts';
import { screenshot } from './support/browser.ts';
import { currentAttempt, datasets, expectNoPageErrors, signIn, waitForNewAttempt, waitForState } from './support/flows.ts';

const WELL_KNOWN = 'https://example.com/.well-known/posh/xmpp-client.json';

let ui: AppOnTestbed;
let page: Page;
let errors: string[];
let testbed: TestbedControl;

beforeAll(async () => {
  ui = await openAppOnTestbed();
  ({ testbed, page, errors } = ui);
  await ui.app.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.shell.shell.origin });
});

afterAll(() => ui?.close());

/** Signs alice in (the form the first time, the account's Connect button after that); waits for that attempt to end in `state`. */
async function connectAlice(state: string): Promise<void> {
  const password = testbed.users['alice@example.com']!;
  if (await page.getByTestId('account-setup').isVisible()) {
    await signIn(page, { jid: 'alice@example.com', password, testbed });
    await waitForState(page, state);
    return;
  }
  const previous = await currentAttempt(page);
  // The core keeps the password typed at sign-in for this run; it asks again only when it has none.
  if (await page.getByTestId('connect-password').isVisible()) await page.getByTestId('connect-password').fill(password);
  await page.getByTestId('connect').click();
  await waitForNewAttempt(page, previous, state);
}

interface RefusalRow {
  rule: string;
  variant: VariantName;
  code: string;
  headline: RegExp;
  /** Whether publishing fingerprints would make the presented certificate verify. */
  hint: boolean;
  poshFinding: RegExp;
}

const ROWS: RefusalRow[] = [
  {
    rule: 'RFC 7712 / ARCHITECTURE#the-verdict rule 3: no POSH document and a certificate that does not name the domain is NO_PROOF',
    variant: 'absent',
    code: 'NO_PROOF',
    headline: /Nothing proves that this server may speak for example\.com/,
    hint: true,
    poshFinding: /publishes no POSH document/,
  },
  {
    rule: 'RFC 7711 4.1 / ARCHITECTURE#the-verdict rule 3: published fingerprints that match nothing presented is POSH_MISMATCH',
    variant: 'wrong-fingerprint',
    code: 'POSH_MISMATCH',
    headline: /vouches for a different certificate/,
    hint: true,
    poshFinding: /publishes one fingerprint, and it does not match the presented certificate/,
  },
  {
    rule: 'RFC 7712 / ARCHITECTURE#the-verdict rule 2: a published but expired certificate is CERT_EXPIRED, and publishing cannot fix it (no hint)',
    variant: 'expired-certificate',
    code: 'CERT_EXPIRED',
    headline: /certificate has expired/,
    hint: false,
    poshFinding: /publishes valid POSH material/,
  },
];

describe('the refusal view', () => {
  it.each(ROWS)('$rule', async (row) => {
    await testbed.setVariant(row.variant);
    const logBefore = authenticationAttempts(await testbed.prosodyLog()).length;
    await connectAlice('refused');

    const refusal = page.getByTestId('refusal');
    expect(await refusal.getAttribute('data-code')).toBe(row.code);
    expect(await refusal.getAttribute('role')).toBe('alert');
    expect(await refusal.locator('h2').textContent()).toMatch(row.headline);
    expect(await page.getByTestId('refusal-reason').textContent()).toContain(row.code);
    const findings = await datasets(page.getByTestId('refusal-finding'));
    expect(findings.map((finding) => finding['proof'])).toEqual(['PKIX', 'POSH']);
    expect(await page.locator('[data-testid=refusal-finding][data-proof=POSH]').textContent()).toMatch(row.poshFinding);

    // No way around it: no button offers to accept, trust or continue.
    const buttons = await refusal.getByRole('button').allTextContents();
    expect(buttons.filter((text) => /accept|trust|anyway|continue|ignore/i.test(text))).toEqual([]);
    // Nothing was sent to the unproven server: no SASL exchange reached Prosody (ARCHITECTURE#the-connection-pipeline step 4).
    expect(authenticationAttempts(await testbed.prosodyLog()).length).toBe(logBefore);
    const steps = (await datasets(page.getByTestId('timeline-step'))).map((step) => step['step']);
    expect(steps).not.toContain('auth');

    if (row.hint) {
      expect(await page.getByTestId('hint-url').textContent()).toBe(WELL_KNOWN);
      const documentText = (await page.getByTestId('hint-json').textContent())!;
      const document = JSON.parse(documentText) as { fingerprints: Array<Record<string, string>>; expires: number };
      expect(document.fingerprints[0]!['sha-256']).toBe(testbed.certificates.presented.sha256);
      expect(document.expires).toBeGreaterThan(0);
      await page.getByTestId('hint-copy').click();
      await expect.poll(() => page.getByTestId('hint-copy').getAttribute('data-status')).toBe('copied');
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(documentText);
    } else {
      expect(await page.getByTestId('hint').count()).toBe(0);
    }
    await screenshot(page, `refusal-${row.variant}`, 'refusal');
    expectNoPageErrors(errors);
  });
});
