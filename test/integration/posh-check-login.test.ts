// posh-check --login (docs/ARCHITECTURE.md#posh-check): the real command in a child process logs in
// on both servers of the testbed and says how: the profile, the mechanism, the channel binding and
// XEP-0474. The password goes in on stdin, never on the command line.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { useTestbed } from '../support/use-testbed.ts';

const BIN = join(import.meta.dirname, '../../bin/posh-check.js');

let testbed: TestbedControl;
let release: () => Promise<void>;
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterAll(async () => release());

function poshCheck(args: string[], stdin: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

const common = () => ['--dns', testbed.dnsServer, '--ca', testbed.caPath];

describe.each([
  { server: 'Prosody 13', domain: 'example.com', jid: 'alice@example.com', mechanism: /^SCRAM-SHA-(1|256)-PLUS$/ },
  { server: 'ejabberd 24.12', domain: 'example.org', jid: 'dave@example.org', mechanism: /^SCRAM-SHA-256-PLUS$/ },
])('posh-check --login on $server', ({ domain, jid, mechanism }) => {
  it('--json: the report carries how the login went (SASL2, -PLUS with tls-exporter, XEP-0474)', async () => {
    const run = await poshCheck([domain, ...common(), '--login', jid, '--json'], `${testbed.users[jid]}\n`);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { verdict: { code: string }; login: { jid: string; login: Record<string, unknown> | null } };
    expect(report.verdict.code).toBe('OK_POSH');
    expect(report.login.login).toMatchObject({ profile: 'sasl2', method: 'password', channelBinding: 'tls-exporter', downgradeChecked: true });
    expect(report.login.login?.['mechanism']).toMatch(mechanism);
    // The password is nowhere in what the command printed.
    expect(run.stdout + run.stderr).not.toContain(testbed.users[jid]!);
  });

  it('the human report ends with the login under the verdict; a wrong password exits 1 with the reason', async () => {
    const good = await poshCheck([domain, ...common(), '--login', jid], `${testbed.users[jid]}\n`);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`Login +✔ ${jid.replace('.', '\\.')} with SCRAM-SHA-(1|256)-PLUS`));
    expect(good.stdout).toContain('bound to the TLS channel with tls-exporter');
    expect(good.stdout).toContain('(XEP-0474)');
    const bad = await poshCheck([domain, ...common(), '--login', jid], 'not-the-password\n');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`Login +✘ ${jid.replace('.', '\\.')} did not log in \\(AUTH_FAILED\\)`));
    expect(bad.stdout).toContain('The server refused the password');
  });
});

describe('posh-check --login usage', () => {
  it('an empty stdin is refused with a sentence before any login (exit 2)', async () => {
    const run = await poshCheck(['example.com', ...common(), '--login', 'alice@example.com'], '');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/first line of stdin is empty/);
  });

  it.each([
    { rule: 'a JID of another domain', args: ['example.com', '--login', 'dave@example.org'], message: /--login takes a bare JID of example\.com/ },
    { rule: 'a full JID', args: ['example.com', '--login', 'alice@example.com/phone'], message: /--login takes a bare JID/ },
    { rule: 'with --no-connect', args: ['example.com', '--no-connect', '--login', 'alice@example.com'], message: /--login needs the client delegation with a connection/ },
  ])('refused with a sentence: $rule', async ({ args, message }) => {
    const run = await poshCheck(args, '');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
