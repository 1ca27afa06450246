// The testbed's second XMPP server: ejabberd 24.12 for example.org, delegated to
// ejabberd.example.net and proven by POSH only (its certificate never names example.org). Checked
// with real clients: the sockets it holds, DNS through our resolver, HTTPS through undici trusting
// only the testbed CA, TLS by hand, and XmppSession logging in and chatting.
import { randomBytes, X509Certificate } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver, type DnsResolver } from '../../src/lookup/resolver.ts';
import {
  EJABBERD_DOMAIN,
  EJABBERD_HOST,
  EJABBERD_PORTS,
  ejabberdAuthentications,
  probeXmpp,
  type TestbedControl,
} from '../../src/testbed/index.ts';
import { parseProcNet } from '../../src/testbed/processes.ts';
import { matchFingerprints } from '../../src/verify/fingerprints.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { nextEvent, testbedSession } from '../support/sessions.ts';
import { until } from '../support/until.ts';
import { useTestbed, type TestbedLease } from '../support/use-testbed.ts';

let lease: TestbedLease;
let testbed: TestbedControl;
let resolver: DnsResolver;
let agent: Agent;
const sessions: XmppSession[] = [];

beforeAll(async () => {
  lease = await useTestbed();
  testbed = lease.testbed;
  resolver = createResolver({ server: testbed.dnsServer });
  agent = new Agent({ connect: { ca: testbed.caPem, lookup: resolver.lookup } });
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.stop()));
});
afterAll(async () => {
  await agent?.close();
  await lease?.release();
});

const DAVE = `dave@${EJABBERD_DOMAIN}`;
const ERIN = `erin@${EJABBERD_DOMAIN}`;

/** Every TCP listener (IPv4 and IPv6) whose socket `pid` holds, as `IP:PORT` (IPv6 ones as `[v6]:PORT`). */
async function listenersOf(pid: number): Promise<string[]> {
  const links = await Promise.all((await readdir(`/proc/${pid}/fd`)).map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  const inodes = new Set(links.flatMap((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1] ?? []));
  const [tcp, tcp6] = await Promise.all([readFile('/proc/net/tcp', 'utf8'), readFile('/proc/net/tcp6', 'utf8')]);
  return [
    ...parseProcNet(tcp, 'tcp').filter((s) => inodes.has(s.inode)).map((s) => `${s.ip}:${s.port}`),
    ...parseProcNet(tcp6, 'tcp').filter((s) => inodes.has(s.inode)).map((s) => `[v6]:${s.port}`),
  ];
}

/** Clock ticks since boot at which `pid` started (/proc/PID/stat field 22). */
async function startTicks(pid: string | number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

async function epmdPids(): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const names = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')));
  return pids.filter((_, index) => names[index]?.trim() === 'epmd');
}

const get = async (url: string) => {
  const response = await request(url, { dispatcher: agent });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
};

async function online(jid: string): Promise<ChatFeatures> {
  const features = createChatClient({
    jid,
    password: () => testbed.users[jid] ?? '',
    resolver: createResolver({ server: testbed.dnsServer }),
    trust: trustStore([testbed.caPem]),
    cache: new PoshCache(new MemoryStore()),
  });
  sessions.push(features.session);
  expect(await features.session.start()).toBe('online');
  return features;
}

describe('ejabberd: the process and its sockets', () => {
  it('listens on its own address only (5222, 5223, its API on 5280), with no Erlang distribution and no epmd of its own', async () => {
    const pid = await testbed.ejabberdPid();
    expect(pid).not.toBeNull();
    const address = testbed.addresses.ejabberd;
    expect((await listenersOf(pid!)).sort()).toEqual(Object.values(EJABBERD_PORTS).map((port) => `${address}:${port}`).sort());
    expect(testbed.state().servers.ejabberd).toEqual({ pid, sockets: Object.values(EJABBERD_PORTS).map((port) => `${address}:${port}/tcp`) });
    // A node name (-name/-sname) is what starts distribution and epmd.
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^-s?name$/)]));
    const started = await startTicks(pid!);
    const epmds = await epmdPids();
    const ticks = await Promise.all(epmds.map(startTicks));
    expect(epmds.filter((_, index) => ticks[index]! >= started)).toEqual([]);
  });

  it('stopEjabberd frees its sockets; startEjabberd brings it back on its spool, accounts kept', async () => {
    const pid = await testbed.ejabberdPid();
    await testbed.stopEjabberd();
    expect(await testbed.ejabberdPid()).toBeNull();
    expect(testbed.state().servers.ejabberd.pid).toBeNull();
    await testbed.startEjabberd();
    expect(await testbed.ejabberdPid()).not.toBe(pid);
    await online(DAVE);
  });
});

describe('ejabberd: what a client sees before login', () => {
  it.each([
    ['_xmpp-client._tcp.example.org', EJABBERD_PORTS.starttls],
    ['_xmpps-client._tcp.example.org', EJABBERD_PORTS.directTls],
  ])('SRV %s -> ejabberd.example.net:%i', async (name, port) => {
    expect(await resolver.resolveSrv(name)).toEqual([{ name: EJABBERD_HOST, port, priority: 0, weight: 0 }]);
  });

  it('A ejabberd.example.net -> the ejabberd address, A example.org -> the web address', async () => {
    expect(await resolver.resolveAddresses(EJABBERD_HOST)).toEqual([{ address: testbed.addresses.ejabberd, family: 4 }]);
    expect(await resolver.resolveAddresses(EJABBERD_DOMAIN)).toEqual([{ address: testbed.addresses.web, family: 4 }]);
  });

  it.each(['starttls', 'direct'] as const)('presents ejabberd.example.net, which does not name example.org, over %s (TLS 1.2 or later)', async (tls) => {
    const shown = await probeXmpp({ address: testbed.addresses.ejabberd, port: tls === 'direct' ? EJABBERD_PORTS.directTls : EJABBERD_PORTS.starttls, tls, domain: EJABBERD_DOMAIN });
    expect(shown.der.equals(testbed.certificates.ejabberd.der)).toBe(true);
    const certificate = new X509Certificate(shown.der);
    expect(certificate.checkHost(EJABBERD_DOMAIN)).toBeUndefined();
    expect(certificate.checkHost(EJABBERD_HOST)).toBe(EJABBERD_HOST);
    expect(certificate.subjectAltName).toBe(`DNS:${EJABBERD_HOST}`);
    expect(shown.protocol).toMatch(/^TLSv1\.[23]$/);
    // (SASL2 is offered only to a stream header with a `from`, which the probe does not send.)
    expect(shown.features).toContain('<mechanism>SCRAM-SHA-256-PLUS</mechanism>');
  });

  it('refuses TLS 1.1 with a protocol_version alert', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: testbed.addresses.ejabberd, port: EJABBERD_PORTS.directTls, servername: EJABBERD_DOMAIN, rejectUnauthorized: false,
        // The client side must allow TLS 1.1 for the refusal to be the server's.
        minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0',
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(outcome).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it.each(['xmpp-client', 'xmpp-server'])('RFC 7711 3.2: https://example.org/.well-known/posh/%s.json publishes ejabberd\'s certificate', async (service) => {
    const { status, headers, text } = await get(`https://${EJABBERD_DOMAIN}/.well-known/posh/${service}.json`);
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('application/json');
    const document = JSON.parse(text) as { fingerprints: Record<string, string>[]; expires: number };
    expect(document.expires).toBe(86400);
    expect(document.fingerprints[0]).toMatchObject({ 'sha-256': expect.any(String) });
    expect(matchFingerprints(document.fingerprints, testbed.certificates.ejabberd.der)).not.toBeNull();
  });

  it('example.org keeps its publication whatever example.com\'s variant', async () => {
    await testbed.setVariant('absent');
    try {
      const { status, text } = await get(`https://${EJABBERD_DOMAIN}/.well-known/posh/xmpp-client.json`);
      expect(status).toBe(200);
      expect(matchFingerprints((JSON.parse(text) as { fingerprints: Record<string, string>[] }).fingerprints, testbed.certificates.ejabberd.der)).not.toBeNull();
    } finally {
      await testbed.setVariant('direct');
    }
  });
});

describe('ejabberd: XmppSession logs in and chats', () => {
  it('dave@example.org goes online through POSH (RFC 7712), with SASL2 and SCRAM-SHA-256-PLUS', async () => {
    const session = testbedSession(testbed, DAVE);
    sessions.push(session);
    const report = nextEvent(session.events, 'report');
    const before = (await testbed.ejabberdLog()).length;
    expect(await session.start()).toBe('online');
    const { report: delegation } = await report;
    expect(delegation.verdict).toMatchObject({ verified: true, prooftype: 'POSH', code: 'OK_POSH' });
    expect(session.login?.profile).toBe('sasl2');
    // ejabberd's logger writes a moment after the login.
    const logins = async () => ejabberdAuthentications((await testbed.ejabberdLog()).slice(before));
    await until(async () => (await logins()).length > 0, 5000, 'ejabberd logging the login');
    expect(await logins()).toEqual([{ outcome: 'accepted', mechanism: 'SCRAM-SHA-256-PLUS', jid: DAVE }]);
  });

  it('dave and erin exchange a 1:1 message through ejabberd', async () => {
    const [dave, erin] = await Promise.all([online(DAVE), online(ERIN)]);
    const toErin = nextEvent(erin.messaging.events, 'message', (message) => message.direction === 'in');
    await dave.messaging.send(ERIN, 'hello erin');
    expect(await toErin).toMatchObject({ body: 'hello erin', direction: 'in' });
    const toDave = nextEvent(dave.messaging.events, 'message', (message) => message.direction === 'in');
    await erin.messaging.send(DAVE, 'hello dave');
    expect(await toDave).toMatchObject({ body: 'hello dave', direction: 'in' });
  });

  it('addUser registers an example.org account on ejabberd, which can log in', async () => {
    const jid = await testbed.addUser(`frank-${randomBytes(4).toString('hex')}`, EJABBERD_DOMAIN, 'frank-the-fresh');
    expect(testbed.users[jid]).toBe('frank-the-fresh');
    await online(jid);
  });
});
