// The login as the best clients do it, against the testbed's Prosody 13 (prosody-modules mod_sasl2,
// mod_sasl2_bind2, mod_sasl2_sm): one <authenticate/> (XEP-0388) with our SCRAM, Bind 2 inline
// (XEP-0386) with stream management and carbons inside it; and the RFC 6120 login where a host
// offers only that (proper.example). Chosen from the stream features, never by server name.
import { readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { xml } from '@xmpp/xml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { encodePathPart } from '../../src/testbed/prosody.ts';
import type { TimedStep } from '../../src/verify/types.ts';
import { enableCarbons } from '../../src/xmpp/carbons.ts';
import { createChatClient } from '../../src/xmpp/chat-client.ts';
import { memoryTokenStore } from '../../src/xmpp/fast.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { withMiddleman, type Rewrites } from '../support/middleman.ts';
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

/** What Prosody logged receiving since `from` (the first line of each top-level element). */
async function sentSince(from: number): Promise<string> {
  return (await testbed.prosodyLog()).slice(from).split('\n').filter((line) => /Received\[c2s/.test(line)).join('\n');
}

/** Every top-level element the session sent and received, as XML, from its first byte on. */
function record(session: XmppSession): { sent: string[]; received: string[] } {
  const seen = { sent: [] as string[], received: [] as string[] };
  session.parts.entity.on('send', (element: { toString(): string }) => seen.sent.push(element.toString()));
  session.parts.entity.on('element', (element: { toString(): string }) => seen.received.push(element.toString()));
  return seen;
}

/** Prosody's direct TLS port for example.com, and the certificate it presents there. */
const prosodyUpstream = () => ({ host: testbed.addresses.xmpp, port: 5223, servername: 'example.com', certificate: testbed.certificates.presented });

function steps(session: XmppSession): TimedStep[] {
  return session.steps.flatMap((event) => (event.phase === 'end' ? [event.step] : []));
}

interface ProfileRow {
  rule: string;
  jid: string;
  profile: 'sasl2' | 'sasl';
  /** In what the client sent. */
  sent: RegExp[];
  notSent: RegExp[];
  /** In what the server answered. */
  received: RegExp[];
  bindLabel: RegExp;
}

const PROFILES: ProfileRow[] = [
  {
    rule: 'XEP-0388 + XEP-0386: one <authenticate/> with SCRAM, the resource, stream management and carbons bound inline',
    jid: 'alice@example.com',
    profile: 'sasl2',
    sent: [
      /^<authenticate xmlns="urn:xmpp:sasl:2" mechanism="SCRAM-SHA-(1|256)(-PLUS)?">.*<user-agent id="[0-9a-f-]{36}">/,
      /<bind xmlns="urn:xmpp:bind:0"><tag>posh<\/tag>.*<enable xmlns="urn:xmpp:sm:3"/,
      /<bind xmlns="urn:xmpp:bind:0">.*<enable xmlns="urn:xmpp:carbons:2"\/>/,
    ],
    notSent: [/^<auth /, /urn:ietf:params:xml:ns:xmpp-bind/, /^<enable xmlns="urn:xmpp:sm:3"/, /<iq[^>]*type="set"[^>]*>.*urn:xmpp:carbons:2/],
    received: [/^<success xmlns="urn:xmpp:sasl:2">.*<additional-data>/, /<bound xmlns="urn:xmpp:bind:0">.*<enabled [^>]*xmlns="urn:xmpp:sm:3"/, /<bound xmlns="urn:xmpp:bind:0">.*<enabled xmlns="urn:xmpp:carbons:2"\/>/],
    bindLabel: /^Bind 2, inline in the login/,
  },
  {
    rule: 'RFC 6120 6 and 7: a host that offers only SASL gets SASL, a stream restart and resource binding',
    jid: 'carol@proper.example',
    profile: 'sasl',
    sent: [/^<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="SCRAM-SHA-/, /urn:ietf:params:xml:ns:xmpp-bind/, /^<enable xmlns="urn:xmpp:sm:3"/],
    notSent: [/urn:xmpp:sasl:2/, /urn:xmpp:bind:0/],
    received: [/^<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/],
    bindLabel: /^Bind a resource/,
  },
];

describe('the login profile follows the stream features', () => {
  it.each(PROFILES)('$rule', async ({ jid, profile, sent, notSent, received, bindLabel }) => {
    const session = testbedSession(testbed, jid);
    started.push(session);
    const seen = record(session);
    const carbons = enableCarbons(session);
    const online = nextEvent(session.events, 'online');
    expect(await session.start()).toBe('online');
    await online;
    expect(session.login?.profile).toBe(profile);
    expect(session.fullJid).toMatch(new RegExp(`^${jid.replace('.', '\\.')}/.+`));
    // The legacy profile enables XEP-0198 beside binding; its answer may come after the bind result.
    await until(() => session.parts.streamManagement.enabled, 2000, 'XEP-0198 enabled');
    await until(() => carbons.enabled, 2000, 'XEP-0280 enabled');
    for (const pattern of sent) expect(seen.sent.some((xml) => pattern.test(xml)), `sent ${pattern}`).toBe(true);
    for (const pattern of notSent) expect(seen.sent.some((xml) => pattern.test(xml)), `not sent ${pattern}`).toBe(false);
    for (const pattern of received) expect(seen.received.some((xml) => pattern.test(xml)), `received ${pattern} in ${seen.received.join("\n").slice(0, 1500)}`).toBe(true);
    const bind = steps(session).find((step) => step.name === 'bind');
    expect(bind?.label).toMatch(bindLabel);
    expect(bind?.ok).toBe(true);
    // RFC 5802 6 and RFC 9266: Prosody 13 offers SCRAM-SHA-1-PLUS and lists tls-exporter (XEP-0440);
    // on TLS 1.3 the login is bound to this very channel, and the timeline says so.
    expect(session.login?.channelBinding).toBe('tls-exporter');
    expect(seen.sent.some((xml) => /mechanism="SCRAM-SHA-(1|256)-PLUS"/.test(xml))).toBe(true);
    expect(steps(session).find((step) => step.name === 'auth')?.label).toMatch(/-PLUS \(channel binding tls-exporter\)$/);
    // XEP-0474 (mod_sasl_ssdp): the server's hash of its offer came in its first SCRAM message, and matched.
    expect(session.login?.downgradeChecked).toBe(true);
  });

  it('XEP-0388 7.3.2 and RFC 5802 5.1: a server whose SASL2 success carries a wrong signature is refused, and nothing is sent after it', async () => {
    const jid = await testbed.addUser('tampered', 'example.com', 'tampered-password');
    // Flip the stored ServerKey: Prosody accepts our proof, then signs with a key that is not the password's.
    const file = join(testbed.runtimeDir, 'prosody', 'data', encodePathPart('example.com'), 'accounts', `${encodePathPart('tampered')}.dat`);
    const text = await readFile(file, 'utf8');
    const tampered = text.replace(/(\["server_key"\] = ")([0-9a-f])/, (_, prefix: string, digit: string) => prefix + (digit === '0' ? '1' : '0'));
    expect(tampered).not.toBe(text);
    await writeFile(file, tampered);

    const logFrom = (await testbed.prosodyLog()).length;
    const tokens = memoryTokenStore();
    const session = testbedSession(testbed, jid, { password: () => 'tampered-password', fastTokens: tokens });
    started.push(session);
    let wentOnline = false;
    session.events.on('online', () => (wentOnline = true));
    expect(await session.start()).toBe('auth-failed');
    expect(session.loginAttempt?.profile).toBe('sasl2');
    expect(session.problem).toMatchObject({ code: 'AUTH_SERVER_SIGNATURE', permanent: true });
    expect(wentOnline).toBe(false);
    // XEP-0484: the token that came in that <success/> is not kept from a server that proved nothing.
    expect(tokens.get()).toBeNull();
    const log = await sentSince(logFrom);
    expect(log).toMatch(/<authenticate/);
    // No roster, no presence, no carbons iq: nothing after the success that proved nothing.
    expect(log).not.toMatch(/<iq |<presence/);
  });

  it('RFC 5802 6: a server that offers -PLUS while this client cannot bind is refused, before any SASL byte (no silent downgrade)', async () => {
    const session = testbedSession(testbed, 'alice@example.com', { bindChannel: false });
    started.push(session);
    const seen = record(session);
    expect(await session.start()).toBe('auth-failed');
    expect(session.problem).toMatchObject({ code: 'AUTH_CHANNEL_BINDING', permanent: true });
    expect(seen.sent.some((xml) => /^<(auth|authenticate) /.test(xml))).toBe(false);
  });

  it('RFC 9266: a man in the middle holding the very certificate the client accepts cannot log in as the user', async () => {
    // It terminates TLS with the certificate Prosody presents (so POSH proves it) and opens its own
    // TLS to Prosody: the two channels' exporters differ, and the server sees a binding that is not its own.
    await withMiddleman(prosodyUpstream(), null, async (manual) => {
      const session = testbedSession(testbed, 'alice@example.com', { manual });
      started.push(session);
      const state = await session.start();
      expect(session.lastReport?.verdict.code, 'the certificate itself is accepted').toBe('OK_POSH');
      // The proof was bound to the proxy's channel, not to the one Prosody sees: refused, never online.
      expect(session.loginAttempt?.channelBinding).toBe('tls-exporter');
      expect(state).toBe('auth-failed');
      expect(session.isOnline).toBe(false);
    });
  });

  it('XEP-0474 3: a man in the middle who strips -PLUS and the binding types from the offer is caught by the server\'s hash before the proof is sent', async () => {
    // It also turns the client's GS2 "y" (RFC 5802 6: "I could have bound") into "n", so that the
    // server's own check of that flag does not catch it first: only the hash can.
    const rewrites: Rewrites = {
      fromServer: (text) => text.replace(/<mechanism>[A-Z0-9-]+-PLUS<\/mechanism>/g, '').replace(/<sasl-channel-binding\b.*?<\/sasl-channel-binding>/g, ''),
      fromClient: (text) =>
        text.replace(/<initial-response>([^<]+)<\/initial-response>/, (_, encoded: string) => {
          const first = Buffer.from(encoded, 'base64').toString('utf8').replace(/^y,,/, 'n,,');
          return `<initial-response>${Buffer.from(first).toString('base64')}</initial-response>`;
        }),
    };
    await withMiddleman(prosodyUpstream(), rewrites, async (manual) => {
      const session = testbedSession(testbed, 'alice@example.com', { manual });
      started.push(session);
      const seen = record(session);
      expect(await session.start()).toBe('auth-failed');
      expect(session.problem).toMatchObject({ code: 'AUTH_DOWNGRADE', permanent: true });
      expect(session.problem?.message).toMatch(/removed or changed options/);
      // The offer did reach the client stripped (no -PLUS to choose), and no client-final (the proof) left it.
      expect(seen.sent.some((xml) => /^<authenticate [^>]*mechanism="SCRAM-SHA-1"/.test(xml))).toBe(true);
      expect(seen.sent.some((xml) => /^<response /.test(xml))).toBe(false);
    });
  });

  it('XEP-0198 inside XEP-0388: after a dropped socket the session resumes in the <authenticate/> itself, and a message sent meanwhile arrives once', async () => {
    const [aJid, bJid] = await Promise.all([
      testbed.addUser(`resume-a-${Date.now()}`, 'example.com', 'pw-resume-a'),
      testbed.addUser(`resume-b-${Date.now()}`, 'example.com', 'pw-resume-b'),
    ]);
    const chat = (jid: string, password: string) => {
      const features = createChatClient({
        jid, password: () => password, resolver: createResolver({ server: testbed.dnsServer }), trust: trustStore([testbed.caPem]),
        cache: new PoshCache(new MemoryStore()), backoff: { baseMs: 200, capMs: 1000 },
      });
      started.push(features.session);
      return features;
    };
    const a = chat(aJid, 'pw-resume-a');
    const b = chat(bJid, 'pw-resume-b');
    expect(await a.session.start()).toBe('online');
    expect(await b.session.start()).toBe('online');
    const jidBefore = a.session.fullJid;
    const seen = record(a.session);
    const bodies: string[] = [];
    a.messaging.events.on('message', (message) => bodies.push(message.body));

    const back = nextEvent(a.session.events, 'online', () => true, 10_000);
    (a.session.parts.entity.socket as Socket).destroy();
    // While a is away, b writes to a's full JID: the server holds it for the resumption.
    await b.session.send(xml('message', { to: jidBefore!, type: 'chat', id: 'while-away' }, xml('body', {}, 'while you were away')));
    const online = await back;
    expect(online.resumed).toBe(true);
    expect(a.session.fullJid).toBe(jidBefore);
    expect(steps(a.session).find((step) => step.name === 'bind')).toMatchObject({ ok: true, detail: 'resumed' });
    expect(seen.sent.some((sent) => /^<authenticate xmlns="urn:xmpp:sasl:2".*<resume xmlns="urn:xmpp:sm:3"/.test(sent)), 'resumed inside SASL2').toBe(true);
    // The server answers the resumption and binds nothing new (XEP-0386 3: a successful resume wins over the bind beside it).
    const success = seen.received.find((received) => /^<success xmlns="urn:xmpp:sasl:2"/.test(received)) ?? '';
    expect(success).toMatch(/<resumed [^>]*xmlns="urn:xmpp:sm:3"/);
    expect(success).not.toMatch(/<bound /);
    expect(seen.sent.some((sent) => /urn:ietf:params:xml:ns:xmpp-bind/.test(sent)), 'no RFC 6120 binding').toBe(false);
    await until(() => bodies.includes('while you were away'), 5000, 'the held message');
    await sleep(300);
    expect(bodies.filter((body) => body === 'while you were away')).toHaveLength(1);
  });
});
