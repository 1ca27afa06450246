// What the app keeps survives a crash, and one damaged store file costs only that file: it is set
// aside, reported in the UI, and replaced, while the other stores are untouched.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AccountSummary } from '../../src/app/contract.ts';
import { SUBPROTOCOL } from '../../src/app/wire.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import type { ReadyMessage } from '../../src/web/main.ts';
import { useTestbed } from '../support/use-testbed.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { expectNoPageErrors, signIn, waitForState } from './support/flows.ts';
import { openApp, scratch, spawnShell, startShell } from './support/shell.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
let browser: Browser;
const dirs: string[] = [];

beforeAll(async () => {
  ({ testbed, release } = await useTestbed());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  await release?.();
});

const newDir = async (): Promise<string> => {
  const dir = await scratch('store');
  dirs.push(dir);
  return dir;
};

/** One call over the shell's socket, as the page makes it. */
async function callShell(ready: ReadyMessage, name: string, args: unknown[]): Promise<unknown> {
  const { origin } = new URL(ready.url);
  const socket = new WebSocket(`${origin.replace('http', 'ws')}/api`, [SUBPROTOCOL, `token.${ready.token}`], { origin });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const reply = await new Promise<{ ok: boolean; value: unknown; error?: unknown }>((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; ok: boolean; value: unknown };
      if (message.type === 'result') resolve(message);
    });
    socket.send(JSON.stringify({ type: 'call', id: 1, name, args }));
  });
  socket.close();
  if (!reply.ok) throw new Error(JSON.stringify(reply.error));
  return reply.value;
}

async function filesUnder(dir: string): Promise<Array<{ name: string; text: string }>> {
  const names = await readdir(dir);
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8').catch(() => '') })));
}

describe('a killed app (kill -9 of the shell process)', () => {
  it('loses no account or setting, and never wrote the password to disk', async () => {
    const dir = await newDir();
    const password = testbed.users['alice@example.com']!;
    const first = await spawnShell(dir);
    const opened = await openApp(browser, first.ready.url);
    try {
      await signIn(opened.page, { jid: 'alice@example.com', password, testbed });
      await waitForState(opened.page, 'online');
      await callShell(first.ready, 'settings.set', [{ maxPoshLifetimeSeconds: 3600 }]);
    } finally {
      await first.stop('SIGKILL');
    }
    expect(first.process.signalCode).toBe('SIGKILL');
    // The open window says that the app is gone instead of failing silently.
    await opened.page.getByTestId('shell-lost').waitFor({ timeout: 5_000 });
    await opened.context.close();

    const second = await spawnShell(dir);
    try {
      const { page, context } = await openApp(browser, second.ready.url);
      const errors = collectPageErrors(page);
      await page.getByTestId('account-panel').waitFor();
      expect(await page.getByTestId('account-jid').textContent()).toBe('alice@example.com');
      expect(await page.getByTestId('notice').count()).toBe(0);
      const accounts = (await callShell(second.ready, 'accounts.list', [])) as AccountSummary[];
      expect(accounts.map((account) => [account.jid, account.settings.resolver, account.settings.extraAnchorsPem])).toEqual([
        ['alice@example.com', testbed.dnsServer, testbed.caPem.trim()],
      ]);
      expect(await callShell(second.ready, 'settings.get', [])).toEqual({ maxPoshLifetimeSeconds: 3600 });
      expectNoPageErrors(errors);
      await context.close();
    } finally {
      await second.stop();
    }
    const stored = await filesUnder(dir);
    expect(stored.map((file) => file.name).sort()).toEqual(['accounts.json', 'posh-cache.json', 'settings.json']);
    for (const file of stored) expect(file.text).not.toContain(password);
  });
});

interface DamageRow {
  rule: string;
  store: 'accounts' | 'settings' | 'posh-cache';
  damage: string;
  notice: RegExp;
}

const DAMAGE: DamageRow[] = [
  { rule: 'accounts.json that is not JSON: accounts start empty, settings and cache kept', store: 'accounts', damage: '{"accounts": {"acct-1": ', notice: /accounts could not be read/ },
  { rule: 'settings.json refused by its schema: settings back to defaults, accounts and cache kept', store: 'settings', damage: '{"maxPoshLifetimeSeconds": "a week"}', notice: /settings could not be read/ },
  { rule: 'posh-cache.json cut short: the cache starts empty, accounts and settings kept', store: 'posh-cache', damage: '{"account:', notice: /cached POSH material could not be read/ },
];

describe('a damaged store file is reported and replaced without losing the others', () => {
  it.each(DAMAGE)('$rule', async (row) => {
    const dir = await newDir();
    // A store with one account, a changed setting and cached POSH material.
    const before = await startShell(dir);
    const account = (await before.core.call('accounts.add', [
      {
        jid: 'alice@example.com',
        password: testbed.users['alice@example.com']!,
        rememberPassword: false,
        settings: { resolver: testbed.dnsServer, host: null, port: null, directTls: false, extraAnchorsPem: testbed.caPem },
      },
    ])) as AccountSummary;
    await before.core.call('settings.set', [{ maxPoshLifetimeSeconds: 3600 }]);
    await before.core.call('posh.refresh', [{ accountId: account.id }]);
    await before.stop();
    const intact = Object.fromEntries((await filesUnder(dir)).map((file) => [file.name, file.text]));
    expect(Object.keys(intact).sort()).toEqual(['accounts.json', 'posh-cache.json', 'settings.json']);
    expect(intact['posh-cache.json']).toContain('fingerprints');

    await writeFile(join(dir, `${row.store}.json`), row.damage);
    const after = await startShell(dir);
    try {
      const { page, context } = await openApp(browser, after.shell.launchUrl());
      const notice = page.locator('[data-testid=notice][data-kind=recovered]');
      await notice.waitFor();
      expect(await notice.textContent()).toMatch(row.notice);
      await screenshot(page, `store-recovered-${row.store}`);
      await context.close();

      const files = await filesUnder(dir);
      const backup = files.find((file) => file.name.startsWith(`${row.store}.corrupt-`));
      expect(backup?.text).toBe(row.damage);
      // The other two files are byte for byte what they were.
      for (const name of ['accounts.json', 'settings.json', 'posh-cache.json'].filter((name) => name !== `${row.store}.json`)) {
        expect(files.find((file) => file.name === name)?.text).toBe(intact[name]);
      }
      const accounts = (await after.core.call('accounts.list', [])) as AccountSummary[];
      const settings = await after.core.call('settings.get', []);
      expect(accounts.map((entry) => entry.jid)).toEqual(row.store === 'accounts' ? [] : ['alice@example.com']);
      expect(settings).toEqual({ maxPoshLifetimeSeconds: row.store === 'settings' ? 604_800 : 3600 });
      // The replacement is a valid, empty store that takes writes again.
      await after.core.call('settings.set', [{ maxPoshLifetimeSeconds: 7200 }]);
      expect(await after.core.call('settings.get', [])).toEqual({ maxPoshLifetimeSeconds: 7200 });
    } finally {
      await after.stop();
    }
  });
});
