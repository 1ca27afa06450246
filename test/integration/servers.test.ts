// The login as the best clients do it, on both real servers of the testbed (one table, the server
// as a column): Prosody 13 (prosody-modules SASL2 family) for example.com, ejabberd 24.12 for
// example.org, each delegated by POSH. What a server did is read from its own log.
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { ejabberdAuthentications, EJABBERD_PORTS, type TestbedControl } from '../../src/testbed/index.ts';
import { createChatClient } from '../../src/xmpp/chat-client.ts';
import { memoryTokenStore } from '../../src/xmpp/fast.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { withMiddleman, type Upstream } from '../support/middleman.ts';
import { nextEvent, testbedSession } from '../support/sessions.ts';
import { until } from '../support/until.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const started: XmppSession[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(started.splice(0).map((session) => session.stop()));
});
afterAll(async () => release());

interface ServerColumn {
  server: string;
  domain: string;
  /** The SCRAM -PLUS mechanism it prefers. */
  plus: RegExp;
  /** Where its log is now, so that later reads see only what came after. */
  logMark(): Promise<number>;
  /** The SASL mechanisms `jid` authenticated with (or tried) since `mark`, in order; waits for `count` of them. */
  logins(jid: string, mark: number, count: number): Promise<string[]>;
  upstream(): Upstream;
  /** An account on a host of this server that offers only the RFC 6120 login, where it has one. */
  legacy?: string;
  /** A direct TLS port held to TLS 1.2 that lists tls-server-end-point (XEP-0440), where the server has one. */
  tls12?: () => { host: string; port: number; directTls: boolean };
}

/** Prosody logs the opening tag of every SASL2 <authenticate/> it receives, mechanism included (debug level). */
const prosodyLogins = async (mark: number): Promise<string[]> =>
  (await testbed.prosodyLog())
    .slice(mark)
    .split('\n')
    .flatMap((line) => (/Received\[c2s_unauthed\]: <(authenticate|auth)\b/.test(line) ? [/mechanism='([A-Z0-9-]+)'/.exec(line)?.[1] ?? '?'] : []));

const SERVERS: ServerColumn[] = [
  {
    server: 'Prosody 13',
    domain: 'example.com',
    plus: /^SCRAM-SHA-(1|256)-PLUS$/,
    logMark: async () => (await testbed.prosodyLog()).length,
    logins: async (_jid, mark, count) => {
      await until(async () => (await prosodyLogins(mark)).length >= count, 3000, `${count} logins in Prosody's log`);
      return prosodyLogins(mark);
    },
    upstream: () => ({ host: testbed.addresses.xmpp, port: 5223, servername: 'example.com', certificate: testbed.certificates.presented }),
    // proper.example's VirtualHost offers only the RFC 6120 login.
    legacy: 'carol@proper.example',
  },
  {
    server: 'ejabberd 24.12',
    domain: 'example.org',
    plus: /^SCRAM-SHA-256-PLUS$/,
    logMark: async () => (await testbed.ejabberdLog()).length,
    // ejabberd logs "Accepted/Failed c2s MECH authentication for JID" a moment after it answers.
    logins: async (jid, mark, count) => {
      const mine = async () => ejabberdAuthentications((await testbed.ejabberdLog()).slice(mark)).filter((entry) => entry.jid === '' || entry.jid === jid);
      await until(async () => (await mine()).length >= count, 3000, `${count} logins of ${jid} in ejabberd's log`);
      return (await mine()).map((entry) => entry.mechanism);
    },
    upstream: () => ({ host: testbed.addresses.ejabberd, port: EJABBERD_PORTS.directTls, servername: 'example.org', certificate: testbed.certificates.ejabberd }),
    tls12: () => ({ host: 'ejabberd.example.net', port: EJABBERD_PORTS.directTls12, directTls: true }),
    // No legacy-only host: ejabberd 24.12 offers SASL2 on every stream it encrypts, and behind a
    // TLS-offloading front (plain TCP to ejabberd) it refuses the client's GS2 "y" (RFC 5802 6)
    // with "Invalid channel binding", although it offers no -PLUS there (see docs/ARCHITECTURE.md).
  },
];

describe.each(SERVERS)('$server ($domain)', (column) => {
  const freshUser = async (name: string) => {
    const password = `pw-${name}`;
    return { jid: await testbed.addUser(`${name}-${Date.now()}`, column.domain, password), password };
  };

  it('XEP-0388 + XEP-0386: the password logs in inside SASL2 with the resource bound inline; SCRAM -PLUS bound with tls-exporter (RFC 9266); the offer checked (XEP-0474)', async () => {
    const { jid, password } = await freshUser('login');
    const mark = await column.logMark();
    const session = testbedSession(testbed, jid, { password: () => password, fastTokens: null });
    started.push(session);
    expect(await session.start()).toBe('online');
    expect(session.lastReport?.verdict.code).toBe('OK_POSH');
    expect(session.login).toMatchObject({ profile: 'sasl2', method: 'password', channelBinding: 'tls-exporter', downgradeChecked: true, resumed: false });
    expect(session.login?.mechanism).toMatch(column.plus);
    expect(session.fullJid).toMatch(new RegExp(`^${jid.replace('.', '\\.')}/posh`));
    expect(await column.logins(jid, mark, 1)).toEqual([session.login?.mechanism]);
  });

  it.runIf(column.legacy)('RFC 6120 6 and 7: where only the legacy login is offered, SASL, a stream restart and resource binding log in (no SASL2 attempted)', async () => {
    const jid = column.legacy!;
    const session = testbedSession(testbed, jid, { fastTokens: memoryTokenStore() });
    started.push(session);
    const sent: string[] = [];
    session.parts.entity.on('send', (element: { toString(): string }) => sent.push(element.toString()));
    expect(await session.start()).toBe('online');
    expect(session.lastReport?.verdict.verified).toBe(true);
    expect(session.login).toMatchObject({ profile: 'sasl', method: 'password' });
    expect(session.login?.mechanism).toMatch(/^SCRAM-/);
    expect(session.fullJid).toMatch(new RegExp(`^${jid.replace('.', '\\.')}/.+`));
    expect(sent.some((xml) => /urn:xmpp:sasl:2/.test(xml)), 'no SASL2').toBe(false);
    expect(sent.some((xml) => /urn:ietf:params:xml:ns:xmpp-bind/.test(xml)), 'RFC 6120 7 resource binding').toBe(true);
  });

  it('XEP-0484: the first login is given a token; a reconnection proves it instead of the password, and resumes (XEP-0198) in the same <authenticate/>', async () => {
    const { jid, password } = await freshUser('fast');
    const store = memoryTokenStore();
    const session = testbedSession(testbed, jid, { password: () => password, fastTokens: store, userAgentId: crypto.randomUUID() });
    started.push(session);
    const first = await column.logMark();
    expect(await session.start()).toBe('online');
    expect(store.get()?.mechanism).toBe('HT-SHA-256-EXPR');
    // The password login's own line first (ejabberd writes it a moment late), so the mark is past it.
    expect(await column.logins(jid, first, 1)).toEqual([expect.stringMatching(column.plus)]);
    const mark = await column.logMark();
    const back = nextEvent(session.events, 'online', () => true, 15_000);
    (session.parts.entity.socket as Socket).destroy();
    expect(await back).toMatchObject({ resumed: true });
    expect(session.login).toMatchObject({ method: 'token', mechanism: 'HT-SHA-256-EXPR', channelBinding: 'tls-exporter', resumed: true });
    expect(await column.logins(jid, mark, 1), "the server's log names the token mechanism, not SCRAM").toEqual(['HT-SHA-256-EXPR']);
  });

  it('XEP-0484 4.4: a token the server rejects is dropped, and the password logs in once on the same stream', async () => {
    const { jid, password } = await freshUser('fast-refused');
    const store = memoryTokenStore();
    store.set({ mechanism: 'HT-SHA-256-EXPR', token: 'secret-token:not-issued-here', expiry: new Date(Date.now() + 3_600_000).toISOString() });
    const mark = await column.logMark();
    const session = testbedSession(testbed, jid, { password: () => password, fastTokens: store, userAgentId: crypto.randomUUID() });
    started.push(session);
    expect(await session.start()).toBe('online');
    expect(session.login?.method).toBe('password');
    expect(await column.logins(jid, mark, 2)).toEqual(['HT-SHA-256-EXPR', expect.stringMatching(column.plus)]);
    expect(store.get()?.token).not.toBe('secret-token:not-issued-here');
  });

  it('XEP-0198 inside XEP-0388: after a dropped socket the session resumes, and a message sent meanwhile arrives once', async () => {
    const [a, b] = await Promise.all([freshUser('resume-a'), freshUser('resume-b')]);
    const chat = ({ jid, password }: { jid: string; password: string }) => {
      const features = createChatClient({
        jid, password: () => password, resolver: createResolver({ server: testbed.dnsServer }), trust: trustStore([testbed.caPem]),
        cache: new PoshCache(new MemoryStore()), backoff: { baseMs: 200, capMs: 1000 },
      });
      started.push(features.session);
      return features;
    };
    const [alice, bob] = [chat(a), chat(b)];
    expect(await alice.session.start()).toBe('online');
    expect(await bob.session.start()).toBe('online');
    const seen: string[] = [];
    alice.messaging.events.on('message', (message) => seen.push(message.body));
    const back = nextEvent(alice.session.events, 'online', () => true, 15_000);
    (alice.session.parts.entity.socket as Socket).destroy();
    await bob.messaging.send(a.jid, 'while you were away');
    expect(await back).toMatchObject({ resumed: true });
    await until(() => seen.includes('while you were away'), 5000, 'the held message');
    await bob.messaging.send(a.jid, 'and after');
    await until(() => seen.includes('and after'), 5000, 'the next message');
    expect(seen.filter((body) => body === 'while you were away')).toHaveLength(1);
  });

  it('RFC 9266: a man in the middle holding the very certificate the server presents cannot log in as the user', async () => {
    const { jid, password } = await freshUser('mitm');
    await withMiddleman(column.upstream(), null, async (manual) => {
      const session = testbedSession(testbed, jid, { password: () => password, manual });
      started.push(session);
      const state = await session.start();
      expect(session.lastReport?.verdict.code, 'the certificate itself is accepted').toBe('OK_POSH');
      expect(state).toBe('auth-failed');
      expect(session.isOnline).toBe(false);
    });
  });

  it.runIf(column.tls12)('RFC 5929 and XEP-0440: on TLS 1.2, where the server lists tls-server-end-point, the login binds to the presented certificate, and so does its FAST token (HT-SHA-256-ENDP)', async () => {
    const { jid, password } = await freshUser('endpoint');
    const store = memoryTokenStore();
    const agent = crypto.randomUUID();
    const session = testbedSession(testbed, jid, { password: () => password, manual: column.tls12!(), fastTokens: store, userAgentId: agent });
    started.push(session);
    expect(await session.start()).toBe('online');
    expect(session.lastReport?.connection?.protocol).toBe('TLSv1.2');
    expect(session.login).toMatchObject({ channelBinding: 'tls-server-end-point', downgradeChecked: true });
    expect(session.login?.mechanism).toMatch(column.plus);
    expect(store.get()?.mechanism, 'never the unbound HT-SHA-256-NONE where the channel can bind').toBe('HT-SHA-256-ENDP');
    await session.stop();
    const next = testbedSession(testbed, jid, { password: () => password, manual: column.tls12!(), fastTokens: store, userAgentId: agent });
    started.push(next);
    expect(await next.start()).toBe('online');
    expect(next.login).toMatchObject({ method: 'token', mechanism: 'HT-SHA-256-ENDP', channelBinding: 'tls-server-end-point' });
  });

  it('RFC 5802 6: a server that offers -PLUS to a client that cannot bind is refused before any SASL byte', async () => {
    const { jid, password } = await freshUser('nobind');
    const session = testbedSession(testbed, jid, { password: () => password, bindChannel: false });
    started.push(session);
    const sent: string[] = [];
    session.parts.entity.on('send', (element: { toString(): string }) => sent.push(element.toString()));
    expect(await session.start()).toBe('auth-failed');
    expect(session.problem).toMatchObject({ code: 'AUTH_CHANNEL_BINDING', permanent: true });
    expect(sent.some((xml) => /^<(auth|authenticate) /.test(xml))).toBe(false);
  });
});
