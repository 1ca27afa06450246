// The Electron shell through Playwright's _electron, wherever an Electron binary is present (it
// cannot be downloaded on every machine: docs/ARCHITECTURE.md#environment). Where it is absent each test is reported
// as skipped, with the reason.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../src/main/binary.ts';
import { ROOT } from './support/browser.ts';
import { requireBuild } from './support/shell.ts';

const binary = findElectronBinary(ROOT);
const SKIPPED = binary.found ? '' : `No Electron binary on this machine: ${binary.reason}`;

let electronApp: ElectronApplication | null = null;
let window: Page;
let userData: string;

beforeAll(async () => {
  if (!binary.found) {
    console.warn(`Electron UI tests skipped: ${SKIPPED}`);
    return;
  }
  requireBuild();
  userData = await mkdtemp(join(tmpdir(), 'posh-electron-data-'));
  electronApp = await _electron.launch({
    executablePath: binary.path,
    args: [ROOT, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    env: { ...process.env, POSH_MESSENGER_USER_DATA: userData },
  });
  window = await electronApp.firstWindow();
  await window.getByTestId('nav-account').waitFor();
});

afterAll(async () => {
  await electronApp?.close();
  if (userData) await rm(userData, { recursive: true, force: true });
});

describe('the Electron shell', () => {
  it('shows the app from its own origin, with window.api and no Node in the page', async ({ skip }) => {
    if (!binary.found) skip(SKIPPED);
    expect(window.url()).toBe('app://posh-messenger/index.html');
    const globals = await window.evaluate<Record<string, string>>(
      "Object.fromEntries(['require', 'process', 'module', 'Buffer', 'api'].map((name) => [name, typeof globalThis[name]]))",
    );
    expect(globals).toEqual({ require: 'undefined', process: 'undefined', module: 'undefined', Buffer: 'undefined', api: 'object' });
    expect(await window.evaluate<string>("window.api.call('app.info').then((info) => info.shell)")).toBe('electron');
  });

  it('the window is isolated and sandboxed, with no Node integration', async ({ skip }) => {
    if (!binary.found) skip(SKIPPED);
    const preferences = await electronApp!.evaluate(({ BrowserWindow }) => {
      const contents = BrowserWindow.getAllWindows()[0]!.webContents;
      const prefs = (contents as unknown as { getLastWebPreferences(): Record<string, unknown> }).getLastWebPreferences();
      return { contextIsolation: prefs['contextIsolation'], sandbox: prefs['sandbox'], nodeIntegration: prefs['nodeIntegration'] };
    });
    expect(preferences).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false });
  });

  it('serves its CSP as a header and refuses window.open and navigation away', async ({ skip }) => {
    if (!binary.found) skip(SKIPPED);
    const policy = await window.evaluate<string>("fetch('app://posh-messenger/index.html').then((response) => response.headers.get('content-security-policy'))");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'none'");
    expect(policy).not.toContain('unsafe');
    expect(await window.evaluate<boolean>("window.open('https://example.org/') === null")).toBe(true);
    expect(electronApp!.windows()).toHaveLength(1);
    await window.evaluate("location.href = 'https://example.org/'").catch(() => undefined);
    await window.waitForTimeout(400);
    expect(window.url()).toBe('app://posh-messenger/index.html');
  });

  it('a malformed call is refused with BAD_ARGUMENT and changes nothing', async ({ skip }) => {
    if (!binary.found) skip(SKIPPED);
    const outcome = await window.evaluate<{ code: string; accounts: number }>(`(async () => {
      let code = 'none';
      try { await window.api.call('accounts.add', { jid: 'not a jid', password: 'x', rememberPassword: false }); } catch (error) { code = error.code; }
      return { code, accounts: (await window.api.call('accounts.list')).length };
    })()`);
    expect(outcome).toEqual({ code: 'BAD_ARGUMENT', accounts: 0 });
  });
});
