// The app owns the demo's servers: `npm run demo` (the browser shell with --demo, its own process
// here) starts them and prints its progress; when the app quits they are stopped before it exits,
// and when it is killed with SIGKILL the testbed's reaper stops them. Either way nothing of the
// demo is left listening or running. Where programs are missing, the command line and the window
// both say what to install.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_XMPP_PORTS } from '../../src/demo/config.ts';
import { PID_RECORD, type PidRecord } from '../../src/testbed/pid-record.ts';
import { busySockets, formatSocket, isRunning, type SocketAddress } from '../../src/testbed/processes.ts';
import { until } from '../support/until.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { expectNoPageErrors } from './support/flows.ts';
import { openApp, scratch, spawnShell, type ChildShell } from './support/shell.ts';

const IPS = { dns: '127.0.62.1', web: '127.0.62.2', xmpp: '127.0.62.3' };
const ENV_ADDRESSES = `${IPS.dns}:5353,${IPS.web},${IPS.xmpp}`;

/** Every socket the demo's servers hold: dnsmasq (UDP and TCP), nginx on both HTTPS hosts, Prosody's three ports. */
const DEMO_SOCKETS: SocketAddress[] = [
  { protocol: 'udp', ip: IPS.dns, port: 5353 },
  { protocol: 'tcp', ip: IPS.dns, port: 5353 },
  { protocol: 'tcp', ip: IPS.web, port: 443 },
  { protocol: 'tcp', ip: IPS.xmpp, port: 443 },
  ...Object.values(DEMO_XMPP_PORTS).map((port) => ({ protocol: 'tcp' as const, ip: IPS.xmpp, port })),
];

const dirs: string[] = [];
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function demoShell(env: NodeJS.ProcessEnv = {}): Promise<{ shell: ChildShell; runtimeDir: string }> {
  const dataDir = await scratch('demo-life-data');
  const runtimeDir = await scratch('demo-life-runtime');
  dirs.push(dataDir, runtimeDir);
  const shell = await spawnShell(dataDir, { args: ['--demo'], env: { POSH_DEMO_ADDRESSES: ENV_ADDRESSES, POSH_DEMO_RUNTIME_DIR: runtimeDir, ...env } });
  return { shell, runtimeDir };
}

const running = async (pids: readonly number[]): Promise<number[]> => {
  const alive = await Promise.all(pids.map(async (pid) => ((await isRunning(pid)) ? pid : null)));
  return alive.filter((pid) => pid !== null);
};

describe('nothing of the demo outlives the app', () => {
  it.each([
    { rule: 'the app quits (SIGTERM): it stops the servers before it exits', signal: 'SIGTERM' as const, graceMs: 0 },
    { rule: "the app is killed (SIGKILL): the testbed's reaper stops what it left", signal: 'SIGKILL' as const, graceMs: 10_000 },
  ])('$rule', async ({ signal, graceMs }) => {
    const { shell, runtimeDir } = await demoShell();
    try {
      // Inside the test's own 60 s, so that a demo that does not start says why (its output) here.
      await until(() => /alice@example\.com is online/.test(shell.output()), 40_000, 'the demo starting from the command line');
    } catch (error) {
      await shell.stop('SIGKILL');
      throw new Error(`${(error as Error).message}\n${shell.output()}`, { cause: error });
    }
    // npm run demo prints each step and the outcome.
    expect(shell.output()).toMatch(/Starting the local demo…\n {2}✔ Look for Prosody, dnsmasq, nginx and openssl \(\d+ ms\)\n/);
    expect(shell.output()).toMatch(/The local demo runs on 127\.0\.62\.1:5353, 127\.0\.62\.2 and 127\.0\.62\.3, started in \d+\.\d s\./);
    expect(shell.output()).toContain('alice@example.com is online: example.com proven by POSH (OK_POSH).');

    const record = JSON.parse(await readFile(join(runtimeDir, PID_RECORD), 'utf8')) as PidRecord;
    expect(record.owner, 'the app owns the servers').toBe(shell.process.pid);
    expect(record.processes.map((entry) => entry.name).sort()).toEqual(['dnsmasq', 'nginx', 'prosody', 'reaper']);
    const pids = record.processes.map((entry) => entry.pid);
    expect(await running(pids)).toEqual(pids);
    expect((await busySockets(DEMO_SOCKETS)).map(formatSocket)).toEqual(DEMO_SOCKETS.map(formatSocket));

    await shell.stop(signal);
    // After a quit, immediately; after a kill, as soon as the reaper has noticed.
    await until(async () => (await busySockets(DEMO_SOCKETS)).length === 0 && (await running(pids)).length === 0, graceMs, 'freeing every demo socket and process').catch(
      async (error: unknown) => {
        const left = (await busySockets(DEMO_SOCKETS)).map(formatSocket);
        throw new Error(`${(error as Error).message} Still bound: ${left.join(', ') || 'none'}; still running: ${(await running(pids)).join(', ') || 'none'}.`, { cause: error });
      },
    );
    await expect(readFile(join(runtimeDir, PID_RECORD), 'utf8'), 'the PID record is removed').rejects.toThrow(/ENOENT/);
    if (signal === 'SIGTERM') expect(shell.output()).toContain('The local demo stopped.');
  });
});

describe('missing programs are named, with the command that installs them', () => {
  it('npm run demo prints the apt-get line, and the window shows it with the missing programs', async () => {
    const emptyPath = await scratch('demo-life-empty-path');
    dirs.push(emptyPath);
    await mkdir(emptyPath, { recursive: true });
    const { shell } = await demoShell({ POSH_DEMO_PROGRAM_PATH: emptyPath });
    try {
      await until(() => shell.output().includes('TESTBED_MISSING_PROGRAM'), 15_000, 'the missing-program message');
      expect(shell.output()).toContain('  ✘ Look for Prosody, dnsmasq, nginx and openssl');
      expect(shell.output()).toContain(
        'The local demo runs real servers on this machine and needs prosody, dnsmasq, nginx and openssl, which are not installed ' +
          '(Debian and Ubuntu packages prosody, dnsmasq-base, nginx-light and openssl): install them as root with ' +
          '`apt-get install prosody dnsmasq-base nginx-light openssl`, then try again. (TESTBED_MISSING_PROGRAM)',
      );

      const { page } = await openApp(browser, shell.ready.url);
      const errors = collectPageErrors(page);
      const slot = page.locator('[data-testid=demo-slot][data-state=failed]');
      await slot.waitFor();
      expect(await slot.getByTestId('demo-install').textContent()).toBe('apt-get install prosody dnsmasq-base nginx-light openssl');
      expect(await slot.getByTestId('demo-missing').allTextContents()).toEqual(['prosody', 'dnsmasq', 'nginx', 'openssl']);
      expect(await slot.getByTestId('demo-failure-message').textContent()).toContain('install them as root');
      expect(await slot.locator('[data-testid=demo-step][data-state=failed]').count()).toBe(1);
      expect(await slot.getByTestId('demo-start').textContent()).toBe('Try the local demo again');
      await screenshot(page, 'demo-missing-programs', 'demo-slot');
      expectNoPageErrors(errors);
      await page.context().close();
      expect(await busySockets(DEMO_SOCKETS)).toEqual([]);
    } finally {
      await shell.stop();
    }
  });
});

describe('the demo starts on a desktop where another XMPP server holds the standard ports', () => {
  it("RFC 6120 3.2.1: SRV may name any port, so a Prosody or ejabberd on 5222 and 5269 does not stop the demo; its sign-in shows every step", async () => {
    // What Debian's own Prosody holds after `apt-get install prosody`, on the very address the demo
    // uses (a listener on every address collides with the same binds; this machine's tests bind only
    // loopback addresses of their own).
    const squatters = await Promise.all(
      [5222, 5269].map(async (port) => {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(port, IPS.xmpp, resolve));
        return server;
      }),
    );
    const { shell } = await demoShell();
    try {
      await until(() => /alice@example\.com is online/.test(shell.output()), 60_000, 'the demo starting beside the squatters').catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${shell.output()}`, { cause: error });
      });
      const { page } = await openApp(browser, shell.ready.url);
      const errors = collectPageErrors(page);
      await page.locator('[data-testid=demo-panel][data-state=running]').waitFor();
      await page.locator('[data-testid=connection-state][data-state=online]').waitFor();
      // Every step of the login is on the timeline, the first time too, and its total is the real one.
      const steps = (await page.getByTestId('timeline-step').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-step')))) as string[];
      for (const name of ['srv', 'posh', 'tcp', 'tls', 'verify', 'stream', 'auth', 'bind']) expect(steps).toContain(name);
      const total = Number(await page.getByTestId('timeline-total').getAttribute('data-total-ms'));
      const ends = await page.getByTestId('timeline-step').evaluateAll((rows) =>
        rows.map((row) => Number(row.getAttribute('data-start-ms')) + Number(row.getAttribute('data-duration-ms'))),
      );
      expect(total).toBeCloseTo(Math.max(...ends), 0);
      await screenshot(page, 'demo-beside-system-prosody', 'timeline');

      // "Check a domain" offers the demo's resolver and CA, and then sees what the account sees.
      await page.getByTestId('nav-check').click();
      await page.getByTestId('check-use-demo').click();
      await page.getByTestId('check-domain').fill('example.com');
      await page.getByTestId('check-run').click();
      await page.locator('[data-testid=chain-verdict][data-code=OK_POSH]').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('check-demo-offer').textContent()).toContain("the local demo's DNS server");
      await screenshot(page, 'demo-check-with-demo-dns');
      expectNoPageErrors(errors);
      await page.context().close();
    } finally {
      await shell.stop();
      await Promise.all(squatters.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    }
  });
});
