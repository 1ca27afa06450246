// The local demo through the app core, as every shell drives it: real servers on the demo's own
// loopback addresses beside the shared testbed, the demo's resolver and CA as the demo account's
// settings only, bob on the roster from the first login, the start/stop lifecycle, and a machine
// without prosody, dnsmasq or nginx told exactly what to install.
import { createHash, X509Certificate } from 'node:crypto';
import { access, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CallError, type AccountSummary, type DelegationReport, type DemoStatus, type SessionSnapshot } from '../../src/app/contract.ts';
import { DEMO_XMPP_PORTS, type DemoOptions } from '../../src/demo/config.ts';
import { createDemoFactory } from '../../src/demo/controller.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { PID_RECORD } from '../../src/testbed/pid-record.ts';
import { scratchDir } from '../../src/testbed/pki.ts';
import { busySockets, type SocketAddress } from '../../src/testbed/processes.ts';
import { findProgram } from '../../src/testbed/programs.ts';
import { recordedCore, type RecordedCore } from '../support/app-core.ts';

const ADDRESSES = { dns: '127.0.65.1:5353', web: '127.0.65.2', xmpp: '127.0.65.3' };
const DEMO_SOCKETS: SocketAddress[] = [
  { protocol: 'udp', ip: '127.0.65.1', port: 5353 },
  { protocol: 'tcp', ip: '127.0.65.1', port: 5353 },
  { protocol: 'tcp', ip: ADDRESSES.web, port: 443 },
  ...[443, ...Object.values(DEMO_XMPP_PORTS)].map((port) => ({ protocol: 'tcp' as const, ip: ADDRESSES.xmpp, port })),
];

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function demoCore(options: Partial<DemoOptions> = {}): Promise<{ recorded: RecordedCore; runtimeDir: string }> {
  const runtimeDir = (await scratchDir('demo-runtime')).dir;
  dirs.push(runtimeDir);
  const recorded = recordedCore({ demo: createDemoFactory({ runtimeDir, addresses: ADDRESSES, bob: { presenceEveryMs: 60_000, replyDelayMs: 10 }, ...options }) });
  return { recorded, runtimeDir };
}

const call = <T>(recorded: RecordedCore, name: string, ...args: unknown[]): Promise<T> => recorded.core.call(name, args) as Promise<T>;

const failure = (promise: Promise<unknown>): Promise<CallError> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as CallError,
  );

describe('a machine that lacks the servers is told what to install', () => {
  const ALL = ['prosody', 'dnsmasq', 'nginx', 'openssl'];
  it.each([
    { rule: 'no prosody: apt-get install prosody', absent: ['prosody'], install: 'apt-get install prosody', words: 'needs prosody, which is not installed (Debian and Ubuntu package prosody)' },
    { rule: 'no dnsmasq and no nginx: their Debian packages, dnsmasq-base and nginx-light', absent: ['dnsmasq', 'nginx'], install: 'apt-get install dnsmasq-base nginx-light', words: 'needs dnsmasq and nginx, which are not installed (Debian and Ubuntu packages dnsmasq-base and nginx-light)' },
    { rule: 'none of them: all four packages', absent: ALL, install: 'apt-get install prosody dnsmasq-base nginx-light openssl', words: 'needs prosody, dnsmasq, nginx and openssl' },
  ])('$rule', async ({ absent, install, words }) => {
    // A PATH holding only the programs this row keeps (links to the real ones).
    const path = (await scratchDir('demo-path')).dir;
    dirs.push(path);
    await mkdir(path, { recursive: true });
    for (const program of ALL.filter((name) => !absent.includes(name))) {
      await symlink((await findProgram(program))!, join(path, program));
    }
    const { recorded, runtimeDir } = await demoCore({ programPath: path });
    try {
      const status = await call<DemoStatus>(recorded, 'demo.start');
      expect(status).toMatchObject({ state: 'failed', missing: absent, install, variant: null, addresses: null, accountId: null });
      expect(status.message).toContain(words);
      expect(status.message).toContain(`install ${absent.length === 1 ? 'it' : 'them'} as root with \`${install}\`, then try again. (TESTBED_MISSING_PROGRAM)`);
      expect(status.steps.map((step) => step.state)).toEqual(['failed', 'pending', 'pending', 'pending']);
      // The UI was told as it happened, and nothing was started.
      expect(recorded.events.filter(({ event }) => event === 'demo.status').at(-1)?.payload).toEqual(status);
      await expect(access(join(runtimeDir, PID_RECORD))).rejects.toThrow(/ENOENT/);
      expect(await busySockets(DEMO_SOCKETS)).toEqual([]);
      expect((await failure(call(recorded, 'demo.setVariant', { variant: 'absent' }))).code).toBe('DEMO_NOT_RUNNING');
    } finally {
      await recorded.core.dispose();
    }
  });
});

describe('a running demo', () => {
  let recorded: RecordedCore;
  let runtimeDir: string;
  let status: DemoStatus;
  beforeAll(async () => {
    ({ recorded, runtimeDir } = await demoCore());
    status = await call<DemoStatus>(recorded, 'demo.start');
  });
  afterAll(async () => {
    await recorded?.core.dispose();
    expect(await busySockets(DEMO_SOCKETS), 'disposing the core stops the demo').toEqual([]);
  });

  const snapshot = () => call<SessionSnapshot>(recorded, 'session.snapshot', { accountId: status.accountId });

  it('signs alice in through the delegated domain, proven by POSH', async () => {
    expect(status).toMatchObject({ state: 'running', variant: 'direct', addresses: ADDRESSES, missing: [], install: null });
    expect(status.steps.map((step) => step.state)).toEqual(['done', 'done', 'done', 'done']);
    const { account, attempt } = await snapshot();
    expect(account).toMatchObject({ jid: 'alice@example.com', state: 'online', isDemo: true });
    expect(attempt?.report?.verdict).toMatchObject({ verified: true, prooftype: 'POSH', code: 'OK_POSH' });
    expect(attempt?.report?.connection?.host).toBe('hosting.example.net');
  });

  it('testbed contacts: bob is on alice\'s roster with a mutual subscription from her first login', async () => {
    const { roster } = await snapshot();
    expect(roster).toEqual([expect.objectContaining({ jid: 'bob@example.com', name: 'Bob (demo bot)', subscription: 'both', pendingOut: false })]);
  });

  it("the demo's resolver and CA are the demo account's settings, trusted by nothing else", async () => {
    const accounts = await call<AccountSummary[]>(recorded, 'accounts.list');
    const demo = accounts.find((account) => account.isDemo)!;
    const caPem = await readFile(join(runtimeDir, 'certs', 'ca', 'root-ca.pem'), 'utf8');
    expect(demo.settings).toEqual({ resolver: ADDRESSES.dns, host: null, port: null, directTls: false, extraAnchorsPem: caPem });
    // The same check without the account's CA: example.com's HTTPS certificate is not trusted, so POSH is unreachable.
    const without = await call<DelegationReport>(recorded, 'domain.check', { checkId: 'no-ca', domain: 'example.com', service: 'xmpp-client', resolver: ADDRESSES.dns });
    expect(without.posh.error?.code).toBe('POSH_HTTPS_CERT');
    expect(without.verdict).toMatchObject({ verified: false, code: 'NO_PROOF' });
    const withCa = await call<DelegationReport>(recorded, 'domain.check', { checkId: 'ca', domain: 'example.com', service: 'xmpp-client', resolver: ADDRESSES.dns, extraAnchorsPem: demo.settings.extraAnchorsPem });
    expect(withCa.verdict).toMatchObject({ verified: true, code: 'OK_POSH' });
  });

  it('runs beside the shared testbed: each resolver answers with its own addresses', async () => {
    const shared = inject('testbed');
    expect(shared, 'the integration project starts the shared testbed').toBeDefined();
    const [demoHosting, sharedHosting] = await Promise.all([
      createResolver({ server: ADDRESSES.dns }).resolveAddresses('hosting.example.net'),
      createResolver({ server: shared!.dnsServer }).resolveAddresses('hosting.example.net'),
    ]);
    expect(demoHosting.map(({ address }) => address)).toEqual([ADDRESSES.xmpp]);
    expect(sharedHosting.map(({ address }) => address)).toEqual([shared!.addresses.xmpp]);
  });

  it('bob answers "fingerprint" with the SHA-256 of the certificate Prosody presents', async () => {
    const pem = await readFile(join(runtimeDir, 'prosody', 'tls', 'example.com.pem'), 'utf8');
    const sha256 = createHash('sha256').update(new X509Certificate(pem).raw).digest('base64');
    const reply = recorded.waitFor('message', ({ message }) => message.direction === 'in' && message.body.includes(sha256));
    await call(recorded, 'chat.send', { accountId: status.accountId, to: 'bob@example.com', body: 'Which fingerprint did you see?' });
    expect((await reply).message).toMatchObject({ peer: 'bob@example.com', source: 'live' });
  });

  it('start while running changes nothing; setVariant switches and reconnects', async () => {
    const again = await call<DemoStatus>(recorded, 'demo.start');
    expect(again).toMatchObject({ state: 'running', accountId: status.accountId, startedInMs: status.startedInMs });
    const switched = await call<DemoStatus>(recorded, 'demo.setVariant', { variant: 'wrong-fingerprint' });
    expect(switched).toMatchObject({ state: 'running', variant: 'wrong-fingerprint' });
    expect(switched.steps.map((step) => step.state)).toEqual(['done', 'done']);
    const { account, attempt } = await snapshot();
    expect(account.state).toBe('refused');
    expect(attempt?.report?.verdict.code).toBe('POSH_MISMATCH');
  });

  it('start while running brings back a removed demo account and signs it in', async () => {
    await call(recorded, 'accounts.remove', { accountId: status.accountId });
    const again = await call<DemoStatus>(recorded, 'demo.start');
    expect(again.state).toBe('running');
    expect(again.accountId).not.toBe(status.accountId);
    status = again;
    const { account, attempt } = await snapshot();
    expect(account).toMatchObject({ jid: 'alice@example.com', isDemo: true, state: 'refused' });
    expect(attempt?.report?.verdict.code).toBe('POSH_MISMATCH');
  });

  it('stop frees every socket; a new start signs the same demo account in again', async () => {
    const stopped = await call<DemoStatus>(recorded, 'demo.stop');
    expect(stopped).toMatchObject({ state: 'stopped', variant: null, addresses: null, accountId: status.accountId });
    expect(await busySockets(DEMO_SOCKETS)).toEqual([]);
    await expect(access(join(runtimeDir, PID_RECORD))).rejects.toThrow(/ENOENT/);
    expect((await snapshot()).account.state).toBe('offline');

    status = await call<DemoStatus>(recorded, 'demo.start');
    expect(status).toMatchObject({ state: 'running', variant: 'direct', accountId: stopped.accountId });
    const accounts = await call<AccountSummary[]>(recorded, 'accounts.list');
    expect(accounts.filter((account) => account.isDemo)).toHaveLength(1);
    expect((await snapshot()).account.state).toBe('online');
  });
});

describe('a stop that overtakes a start', () => {
  it('ends stopped with nothing left listening', async () => {
    const { recorded } = await demoCore();
    try {
      const starting = call<DemoStatus>(recorded, 'demo.start');
      await recorded.waitFor('demo.status', (status) => status.steps[1]?.state === 'active');
      const stopped = await call<DemoStatus>(recorded, 'demo.stop');
      expect((await starting).state).toBe('stopped');
      expect(stopped.state).toBe('stopped');
      expect(await busySockets(DEMO_SOCKETS)).toEqual([]);
    } finally {
      await recorded.core.dispose();
    }
  });
});
