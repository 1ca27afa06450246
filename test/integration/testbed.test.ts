// The testbed itself, checked with real clients: DNS through our resolver, HTTPS through undici
// trusting only the testbed CA, XMPP through a hand-made STARTTLS and direct TLS, and a SIGKILLed
// owner whose servers must not outlive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver, type DnsResolver } from '../../src/lookup/resolver.ts';
import {
  authenticationAttempts,
  INSTALL_HINT,
  loginPlain,
  missingPrograms,
  probeXmpp,
  startTestbed,
  type IssuedCertificate,
  type TestbedControl,
  type TestbedState,
  type VariantName,
} from '../../src/testbed/index.ts';
import { readPidRecord, stopRecorded } from '../../src/testbed/pid-record.ts';
import { busySockets, isRunning, type SocketAddress } from '../../src/testbed/processes.ts';
import { matchFingerprints } from '../../src/verify/fingerprints.ts';
import type { ServiceName } from '../../src/verify/types.ts';
import { until } from '../support/until.ts';
import { useTestbed, type TestbedLease } from '../support/use-testbed.ts';

const CLI = fileURLToPath(new URL('../../src/testbed/cli.ts', import.meta.url));

// A second set of addresses (inside the testbed's 127.0.0.0/29), so the crash rows can run while a
// shared testbed holds the usual ones.
const SPARE = { dns: '127.0.0.6:5353', web: '127.0.0.4', xmpp: '127.0.0.5', ejabberd: '127.0.0.7' };
const SPARE_SOCKETS: SocketAddress[] = [
  { protocol: 'udp', ip: '127.0.0.6', port: 5353 },
  { protocol: 'tcp', ip: '127.0.0.6', port: 5353 },
  { protocol: 'tcp', ip: '127.0.0.4', port: 443 },
  { protocol: 'tcp', ip: '127.0.0.5', port: 443 },
  { protocol: 'tcp', ip: '127.0.0.5', port: 5222 },
  { protocol: 'tcp', ip: '127.0.0.5', port: 5223 },
  { protocol: 'tcp', ip: '127.0.0.5', port: 5269 },
  { protocol: 'tcp', ip: '127.0.0.7', port: 5222 },
  { protocol: 'tcp', ip: '127.0.0.7', port: 5223 },
  { protocol: 'tcp', ip: '127.0.0.7', port: 5280 },
];

interface CliRun {
  child: ChildProcess;
  state: TestbedState;
}

/** `npm run testbed -- --json` on the spare addresses, as a child this test can SIGKILL. */
async function startCliTestbed(runtimeDir: string): Promise<CliRun> {
  const child = spawn(
    process.execPath,
    [CLI, '--json', '--runtime-dir', runtimeDir, '--dns', SPARE.dns, '--web-address', SPARE.web, '--xmpp-address', SPARE.xmpp, '--ejabberd-address', SPARE.ejabberd],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  const ready = new Promise<TestbedState>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve(JSON.parse(line) as TestbedState);
    });
    child.once('exit', (code) => reject(new Error(`the testbed CLI exited with ${code}: ${stderr}`)));
  });
  const state = await Promise.race([ready, sleep(15_000).then(() => Promise.reject(new Error(`no ready line in 15 s: ${stderr}`)))]);
  return { child, state };
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function waitForFree(sockets: readonly SocketAddress[], timeoutMs: number): Promise<SocketAddress[]> {
  const deadline = Date.now() + timeoutMs;
  let busy = await busySockets(sockets);
  while (busy.length > 0 && Date.now() < deadline) {
    await sleep(50);
    busy = await busySockets(sockets);
  }
  return busy;
}

const refused = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

describe('testbed start-up and hygiene', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) await killAndWait(child);
    // Whatever a failed row left behind is stopped by PID through the record it wrote.
    for (const dir of dirs) {
      const record = await readPidRecord(join(dir, 'pids.json'));
      await stopRecorded(record?.processes ?? []);
      await rm(dir, { recursive: true, force: true });
    }
  });

  const scratch = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'testbed-test-'));
    dirs.push(dir);
    return dir;
  };

  it('a missing program fails with TESTBED_MISSING_PROGRAM and the apt-get line, before anything starts', async () => {
    const empty = await scratch();
    expect(await missingPrograms(empty)).toEqual(['prosody', 'dnsmasq', 'nginx', 'openssl', 'ejabberdctl']);
    expect(await missingPrograms()).toEqual([]);
    const failure = startTestbed({ programPath: empty, runtimeDir: join(empty, 'runtime') });
    await expect(failure).rejects.toMatchObject({ code: 'TESTBED_MISSING_PROGRAM' });
    await expect(failure).rejects.toThrow(INSTALL_HINT);
  });

  it('a port already in use fails with TESTBED_PORT_BUSY naming it and the process that holds it, and starts nothing', async () => {
    const dir = await scratch();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(5222, SPARE.xmpp, resolve));
    try {
      const failure = startTestbed({ runtimeDir: dir, addresses: SPARE });
      await expect(failure).rejects.toMatchObject({ code: 'TESTBED_PORT_BUSY' });
      await expect(failure).rejects.toThrow(`${SPARE.xmpp}:5222/tcp`);
      // The listener is this test's own process: the message names it, not a guess.
      await expect(failure).rejects.toThrow(new RegExp(`\\(PID ${process.pid}\\) listens on ${SPARE.xmpp.replaceAll('.', '\\.')}:5222`));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    expect(await busySockets(SPARE_SOCKETS)).toEqual([]);
    expect(await readPidRecord(join(dir, 'pids.json'))).toBeNull();
  });

  it('a SIGKILLed owner leaves nothing listening: the reaper stops its servers', async () => {
    const dir = await scratch();
    const run = await startCliTestbed(dir);
    children.push(run.child);
    const record = await readPidRecord(join(dir, 'pids.json'));
    const servers = (record?.processes ?? []).filter((entry) => entry.name !== 'reaper');
    expect(servers.map((entry) => entry.name).sort()).toEqual(['dnsmasq', 'ejabberd', 'nginx', 'prosody']);
    expect(await busySockets(SPARE_SOCKETS)).toEqual(SPARE_SOCKETS);

    await killAndWait(run.child);

    expect(await waitForFree(SPARE_SOCKETS, 8000)).toEqual([]);
    expect(await refused(SPARE.web, 443)).toBe('ECONNREFUSED');
    expect(await refused(SPARE.xmpp, 5223)).toBe('ECONNREFUSED');
    // ejabberd closes its listeners first and exits about a second later.
    for (const entry of servers) await until(async () => !(await isRunning(entry.pid)), 5000, `${entry.name} (PID ${entry.pid}) exiting`);
  });

  it('the next start stops what a crash left behind when the reaper died too', async () => {
    const dir = await scratch();
    const run = await startCliTestbed(dir);
    children.push(run.child);
    const record = await readPidRecord(join(dir, 'pids.json'));
    const reaper = record?.processes.find((entry) => entry.name === 'reaper');
    const servers = (record?.processes ?? []).filter((entry) => entry.name !== 'reaper');
    process.kill(reaper!.pid, 'SIGKILL');
    await killAndWait(run.child);
    await sleep(300);
    // Orphaned and unwatched: still listening.
    expect(await busySockets(SPARE_SOCKETS)).toEqual(SPARE_SOCKETS);

    const testbed = await startTestbed({ runtimeDir: dir, addresses: SPARE });
    try {
      for (const entry of servers) expect(await isRunning(entry.pid), entry.name).toBe(false);
      expect(await testbed.prosodyPid()).not.toBe(servers.find((entry) => entry.name === 'prosody')?.pid);
    } finally {
      await testbed.stop();
    }
    expect(await busySockets(SPARE_SOCKETS)).toEqual([]);
  });
});

describe('the testbed', () => {
  let lease: TestbedLease;
  let testbed: TestbedControl;
  let resolver: DnsResolver;
  let agent: Agent;

  beforeAll(async () => {
    lease = await useTestbed();
    testbed = lease.testbed;
    resolver = createResolver({ server: testbed.dnsServer });
    agent = new Agent({ connect: { ca: testbed.caPem, lookup: resolver.lookup } });
  });

  afterAll(async () => {
    await agent?.close();
    await lease?.release();
  });

  const get = async (url: string) => {
    const response = await request(url, { dispatcher: agent });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  };

  const xmpp = (tls: 'starttls' | 'direct', domain = 'example.com') => ({
    address: testbed.addresses.xmpp,
    port: tls === 'direct' ? 5223 : 5222,
    tls,
    domain,
  });

  describe('DNS (dnsmasq through src/lookup/resolver.ts)', () => {
    it.each([
      ['_xmpp-client._tcp.example.com', 'hosting.example.net', 5222],
      ['_xmpps-client._tcp.example.com', 'hosting.example.net', 5223],
      ['_xmpp-server._tcp.example.com', 'hosting.example.net', 5269],
      ['_xmpp-client._tcp.proper.example', 'proper.example', 5222],
      ['_xmpps-client._tcp.proper.example', 'proper.example', 5223],
      ['_xmpp-server._tcp.proper.example', 'proper.example', 5269],
      ['_xmpp-server._tcp.conference.proper.example', 'proper.example', 5269],
    ])('SRV %s -> %s:%i', async (name, target, port) => {
      expect(await resolver.resolveSrv(name)).toEqual([{ name: target, port, priority: 0, weight: 0 }]);
    });

    it('XEP-0368: direct TLS and STARTTLS records share one priority, so direct TLS goes first', async () => {
      const [starttls] = await resolver.resolveSrv('_xmpp-client._tcp.example.com');
      const [direct] = await resolver.resolveSrv('_xmpps-client._tcp.example.com');
      expect(direct?.priority).toBe(starttls?.priority);
    });

    it.each([
      ['example.com', 'web'],
      ['hosting.example.net', 'xmpp'],
      ['proper.example', 'xmpp'],
      ['conference.proper.example', 'xmpp'],
    ] as const)('A %s -> the %s address', async (host, which) => {
      expect(await resolver.resolveAddresses(host)).toEqual([{ address: testbed.addresses[which], family: 4 }]);
    });

    it('a name the testbed does not serve has no records', async () => {
      expect(await resolver.resolveSrv('_xmpp-client._tcp.unknown.example')).toEqual([]);
    });
  });

  describe('POSH variants over HTTPS trusted through the testbed CA', () => {
    const exampleUrl = (service: ServiceName) => `https://example.com/.well-known/posh/${service}.json`;
    const hostingUrl = (service: ServiceName) => `https://hosting.example.net/.well-known/posh/${service}.json`;
    const matches = (text: string, certificate: IssuedCertificate) =>
      matchFingerprints((JSON.parse(text) as { fingerprints: Record<string, string>[] }).fingerprints, certificate.der) !== null;

    type Check = (service: ServiceName) => Promise<void>;
    const rows: Array<[string, VariantName, Check]> = [
      ['RFC 7711 3.2: direct publishes the presented certificate at example.com', 'direct', async (service) => {
        const { status, headers, text } = await get(exampleUrl(service));
        expect(status).toBe(200);
        expect(headers['content-type']).toBe('application/json');
        expect(headers['cache-control']).toBe('no-cache');
        expect(JSON.parse(text)).toMatchObject({ expires: 86400 });
        expect(matches(text, testbed.certificates.presented)).toBe(true);
        expect((await get(hostingUrl(service))).status).toBe(404);
      }],
      ['RFC 7711 3.4: redirect answers 302 to hosting.example.net, which publishes it', 'redirect', async (service) => {
        const first = await get(exampleUrl(service));
        expect(first.status).toBe(302);
        expect(first.headers.location).toBe(hostingUrl(service));
        const second = await get(hostingUrl(service));
        expect(second.status).toBe(200);
        expect(matches(second.text, testbed.certificates.presented)).toBe(true);
      }],
      ['RFC 7711 3.3: reference points (expires 3600) at fingerprints (expires 86400)', 'reference', async (service) => {
        const first = await get(exampleUrl(service));
        expect(first.status).toBe(200);
        expect(JSON.parse(first.text)).toEqual({ url: hostingUrl(service), expires: 3600 });
        const second = await get(hostingUrl(service));
        expect(JSON.parse(second.text)).toMatchObject({ expires: 86400 });
        expect(matches(second.text, testbed.certificates.presented)).toBe(true);
      }],
      ['RFC 7711 3.2: wrong-fingerprint publishes a certificate Prosody does not present', 'wrong-fingerprint', async (service) => {
        const { status, text } = await get(exampleUrl(service));
        expect(status).toBe(200);
        expect(matches(text, testbed.certificates.presented)).toBe(false);
        expect(matches(text, testbed.certificates.other)).toBe(true);
      }],
      ['RFC 7711 3.2: absent answers 404 on both hosts', 'absent', async (service) => {
        expect((await get(exampleUrl(service))).status).toBe(404);
        expect((await get(hostingUrl(service))).status).toBe(404);
      }],
      ['RFC 7712 prooftype POSH: expired-certificate publishes the expired certificate Prosody presents', 'expired-certificate', async (service) => {
        const { text } = await get(exampleUrl(service));
        expect(testbed.certificates.presented.sha256).toBe(testbed.certificates.expired.sha256);
        expect(matches(text, testbed.certificates.expired)).toBe(true);
      }],
      ['RFC 7712 prooftype POSH: self-signed publishes the self-signed certificate Prosody presents', 'self-signed', async (service) => {
        const { text } = await get(exampleUrl(service));
        expect(testbed.certificates.presented.sha256).toBe(testbed.certificates.selfSigned.sha256);
        expect(matches(text, testbed.certificates.selfSigned)).toBe(true);
      }],
    ];

    it.each(rows)('%s', async (_rule, variant, check) => {
      await testbed.setVariant(variant);
      expect(testbed.variant).toBe(variant);
      await check('xmpp-client');
      await check('xmpp-server');
    });

    it.each(['proper.example', 'conference.proper.example'])('%s answers 404 over its own certificate', async (host) => {
      expect((await get(`https://${host}/.well-known/posh/xmpp-server.json`)).status).toBe(404);
    });

    it('the access log records host, method, path, status and time of each request', async () => {
      await testbed.setVariant('direct');
      const marker = `probe=${Date.now()}`;
      const before = Date.now();
      await get(`${exampleUrl('xmpp-client')}?${marker}`);
      const logged = (await testbed.webRequests()).find((r) => r.path.endsWith(marker));
      expect(logged).toMatchObject({ host: 'example.com', sni: 'example.com', method: 'GET', status: 200, server: testbed.addresses.web });
      expect(logged!.time.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(logged!.time.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });
  });

  describe('Prosody', () => {
    it.each(['starttls', 'direct'] as const)('presents the hosting certificate for SNI example.com over %s', async (tls) => {
      await testbed.setVariant('direct');
      const { der, protocol } = await probeXmpp(xmpp(tls));
      expect(der.equals(testbed.certificates.hosting.der)).toBe(true);
      expect(der.equals(testbed.certificates.example.der)).toBe(false);
      expect(protocol).toMatch(/^TLSv1\.[23]$/);
    });

    it.each(['starttls', 'direct'] as const)('presents the proper.example certificate for proper.example over %s', async (tls) => {
      const { der } = await probeXmpp(xmpp(tls, 'proper.example'));
      expect(der.equals(testbed.certificates.proper.der)).toBe(true);
    });

    it('a switch of variant and a rotation change the presented certificate without restarting Prosody', async () => {
      const pid = await testbed.prosodyPid();
      const presentedOnBoth = async () => {
        const [starttls, direct] = await Promise.all([probeXmpp(xmpp('starttls')), probeXmpp(xmpp('direct'))]);
        expect(starttls.der.equals(direct.der)).toBe(true);
        return direct.der;
      };
      await testbed.setVariant('expired-certificate');
      expect((await presentedOnBoth()).equals(testbed.certificates.expired.der)).toBe(true);

      await testbed.setVariant('direct');
      const before = await presentedOnBoth();
      const fresh = await testbed.rotateCertificate();
      const after = await presentedOnBoth();
      expect(after.equals(before)).toBe(false);
      expect(after.equals(fresh.der)).toBe(true);
      expect(testbed.certificates.hosting.sha256).toBe(fresh.sha256);
      // The rotation is published too.
      const { text } = await get('https://example.com/.well-known/posh/xmpp-client.json');
      expect(matchFingerprints((JSON.parse(text) as { fingerprints: Record<string, string>[] }).fingerprints, fresh.der)).not.toBeNull();
      expect(await testbed.prosodyPid()).toBe(pid);
    });

    it('the known users log in, a wrong password does not, and the log shows each attempt', async () => {
      const logBefore = (await testbed.prosodyLog()).length;
      expect(await loginPlain(xmpp('direct'), 'alice', testbed.users['alice@example.com']!)).toBe(true);
      expect(await loginPlain(xmpp('starttls'), 'bob', testbed.users['bob@example.com']!)).toBe(true);
      expect(await loginPlain(xmpp('direct', 'proper.example'), 'carol', testbed.users['carol@proper.example']!)).toBe(true);
      expect(await loginPlain(xmpp('direct'), 'alice', 'not-her-password')).toBe(false);
      const attempts = authenticationAttempts((await testbed.prosodyLog()).slice(logBefore));
      expect(attempts.filter((line) => line.includes('<auth '))).toHaveLength(4);
    });

    it('a TLS probe alone leaves no authentication attempt in the log', async () => {
      const logBefore = (await testbed.prosodyLog()).length;
      await probeXmpp(xmpp('starttls'));
      await probeXmpp(xmpp('direct'));
      expect(authenticationAttempts((await testbed.prosodyLog()).slice(logBefore))).toEqual([]);
    });

    it('addUser makes an account that logs in at once', async () => {
      const jid = await testbed.addUser('dave', 'example.com', 'dave-password');
      expect(jid).toBe('dave@example.com');
      expect(testbed.users[jid]).toBe('dave-password');
      expect(await loginPlain(xmpp('starttls'), 'dave', 'dave-password')).toBe(true);
    });

    it('stopProsody frees its ports and startProsody brings it back with the same accounts', async () => {
      const pid = await testbed.prosodyPid();
      await testbed.stopProsody();
      expect(await testbed.prosodyPid()).toBeNull();
      expect(await refused(testbed.addresses.xmpp, 5222)).toBe('ECONNREFUSED');
      await testbed.startProsody();
      expect(await testbed.prosodyPid()).not.toBe(pid);
      expect(await loginPlain(xmpp('direct'), 'alice', testbed.users['alice@example.com']!)).toBe(true);
    });
  });
});
