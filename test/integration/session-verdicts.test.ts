// Issue 3 scenarios 1-7, 10 and 12: a real login (or a refusal before any SASL byte) through the
// verifying session, against Prosody, dnsmasq and nginx on the testbed.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { authenticationAttempts, type TestbedControl, type VariantName } from '../../src/testbed/index.ts';
import type { DelegationReport } from '../../src/verify/report.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { nextEvent, testbedSession } from '../support/sessions.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const started: Array<XmppSession> = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(started.splice(0).map((session) => session.stop()));
  if (testbed.variant !== 'direct') await testbed.setVariant('direct');
});
afterAll(async () => release());

/** Starts a session and returns how its first attempt ended, with the delegation report. */
async function login(jid: string, overrides: Parameters<typeof testbedSession>[2] = {}): Promise<{ session: XmppSession; state: string; report: DelegationReport }> {
  const session = testbedSession(testbed, jid, overrides);
  started.push(session);
  const report = nextEvent(session.events, 'report').then(({ report }) => report);
  const state = await session.start();
  return { session, state, report: await report };
}

const stepNames = (report: DelegationReport) => report.steps.map((step) => step.name);

describe('verified servers: login', () => {
  it('scenario 1: a domain with a proper certificate is OK_PKIX, and carol logs in', async () => {
    const { session, state, report } = await login('carol@proper.example');
    expect(report.verdict).toMatchObject({ verified: true, prooftype: 'PKIX', code: 'OK_PKIX' });
    expect(state).toBe('online');
    expect(session.fullJid).toMatch(/^carol@proper\.example\//);
  });

  it('scenario 2: delegated with POSH fingerprints at the domain is OK_POSH; alice and bob exchange messages both ways', async () => {
    const clients: ChatFeatures[] = ['alice@example.com', 'bob@example.com'].map((jid) =>
      createChatClient({
        jid,
        password: () => testbed.users[jid] ?? '',
        resolver: createResolver({ server: testbed.dnsServer }),
        trust: trustStore([testbed.caPem]),
        cache: new PoshCache(new MemoryStore()),
      }),
    );
    const [alice, bob] = clients as [ChatFeatures, ChatFeatures];
    started.push(alice.session, bob.session);
    const reports = clients.map((client) => nextEvent(client.session.events, 'report'));
    expect(await Promise.all([alice.session.start(), bob.session.start()])).toEqual(['online', 'online']);
    for (const { report } of await Promise.all(reports)) expect(report.verdict).toMatchObject({ verified: true, prooftype: 'POSH', code: 'OK_POSH' });

    const toBob = nextEvent(bob.messaging.events, 'message', (message) => message.body === 'Hello Bob, from Alice');
    const sent = await alice.messaging.send('bob@example.com', 'Hello Bob, from Alice');
    expect(await toBob).toMatchObject({ peer: 'alice@example.com', direction: 'in', source: 'live', senderId: sent.id });
    const toAlice = nextEvent(alice.messaging.events, 'message', (message) => message.body === 'Hello Alice, from Bob');
    await bob.messaging.send('alice@example.com', 'Hello Alice, from Bob');
    expect(await toAlice).toMatchObject({ peer: 'bob@example.com', direction: 'in', source: 'live' });
  });

  it('scenario 3: POSH behind a 302 redirect is OK_POSH, and the chain shows the redirect', async () => {
    await testbed.setVariant('redirect');
    const { state, report } = await login('alice@example.com');
    expect(report.verdict.code).toBe('OK_POSH');
    expect(state).toBe('online');
    expect(report.posh.steps.map((step) => [step.kind, step.httpStatus])).toEqual([
      ['redirect', 302],
      ['fingerprints', 200],
    ]);
    expect(report.posh.steps[0]?.location).toBe('https://hosting.example.net/.well-known/posh/xmpp-client.json');
  });

  it('scenario 4: a POSH reference document is OK_POSH, and the effective expiry is the smaller expires', async () => {
    await testbed.setVariant('reference');
    const { state, report } = await login('alice@example.com');
    expect(report.verdict.code).toBe('OK_POSH');
    expect(state).toBe('online');
    expect(report.posh.steps.map((step) => [step.kind, step.expires])).toEqual([
      ['reference', 3600],
      ['fingerprints', 86_400],
    ]);
    expect(report.posh.expires).toBe(3600);
    const lifetime = Date.parse(report.posh.expiresAt ?? '') - Date.parse(report.posh.fetchedAt ?? '');
    expect(lifetime).toBe(3600 * 1000);
  });

  it('scenario 7: direct TLS on 5223 with SNI example.com (manual host) is OK_POSH', async () => {
    const { session, state, report } = await login('alice@example.com', { manual: { host: 'hosting.example.net', port: 5223, directTls: true } });
    expect(report.verdict.code).toBe('OK_POSH');
    expect(state).toBe('online');
    expect(report.srv.candidates).toEqual([{ host: 'hosting.example.net', port: 5223, tls: 'direct', source: 'manual' }]);
    expect(report.connection).toMatchObject({ host: 'hosting.example.net', port: 5223, tls: 'direct', sni: 'example.com' });
    expect(report.connection?.protocol).toMatch(/^TLSv1\.[23]$/);
    // The timeline goes on past the verdict: SASL and binding happened on that verified socket.
    const ended = session.steps.filter((event) => event.phase === 'end').map((event) => event.step.name);
    expect(ended.slice(ended.indexOf('verify'))).toEqual(['verify', 'stream', 'auth', 'bind']);
  });
});

describe('unproven servers: refused before any SASL byte', () => {
  it.each<[string, VariantName, string]>([
    ['scenario 5: no POSH (404) is NO_PROOF', 'absent', 'NO_PROOF'],
    ['scenario 6: a wrong fingerprint is POSH_MISMATCH', 'wrong-fingerprint', 'POSH_MISMATCH'],
    ['scenario 10: an expired certificate whose fingerprint is published is CERT_EXPIRED', 'expired-certificate', 'CERT_EXPIRED'],
  ])('%s; Prosody logs no authentication and the session does not retry', async (_name, variant, code) => {
    await testbed.setVariant(variant);
    const logBefore = (await testbed.prosodyLog()).length;
    const attempts: string[] = [];
    const { session, state, report } = await login('alice@example.com');
    session.events.on('attempt', ({ attemptId }) => attempts.push(attemptId));
    expect(report.verdict).toMatchObject({ verified: false, code });
    expect(state).toBe('refused');
    // Permanent: the verdict's own sentence, and the admin is pointed at the refusal's hint.
    expect(session.problem).toMatchObject({ code, kind: 'refused-proof', permanent: true, message: report.verdict.reason, quote: null });
    expect(session.problem?.admin).toMatch(/^Publish what the refusal below shows for example\.com/);
    expect(stepNames(report)).toEqual(expect.arrayContaining(['srv', 'posh', 'tcp', 'tls', 'verify']));
    // Longer than several backoff periods (base 200 ms): a refused session stays refused.
    await sleep(800);
    expect(attempts).toEqual([]);
    expect(authenticationAttempts((await testbed.prosodyLog()).slice(logBefore))).toEqual([]);
  });
});

describe('wrong password', () => {
  it('scenario 12: a wrong password is one clear AUTH_FAILED, with no retry storm', async () => {
    const logBefore = (await testbed.prosodyLog()).length;
    const states: string[] = [];
    const session = testbedSession(testbed, 'alice@example.com', { password: () => 'not-her-password' });
    started.push(session);
    session.events.on('state', ({ state }) => states.push(state));
    expect(await session.start()).toBe('auth-failed');
    expect(session.problem?.code).toBe('AUTH_FAILED');
    expect(session.problem).toMatchObject({ kind: 'wrong-password', permanent: true, message: 'The server refused the password for alice@example.com. Check it and connect again.' });
    // RFC 6120 6.5.10: the server's condition (Prosody sends no text) is quoted once, beside our sentence.
    expect(session.problem?.quote).toMatch(/not-authorized|match/);
    // A bounded window far longer than the backoff (200 ms base, 2 s cap): exactly one <auth/> (or XEP-0388 <authenticate/>).
    await sleep(1500);
    expect(states).toEqual(['connecting', 'auth-failed']);
    const auths = authenticationAttempts((await testbed.prosodyLog()).slice(logBefore)).filter((line) => /<auth(enticate)? /.test(line));
    expect(auths).toHaveLength(1);
  });
});
