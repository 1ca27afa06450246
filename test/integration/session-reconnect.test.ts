// Issue 3 scenario 11: Prosody restarted under two live sessions. Each reconnects by itself (the
// whole pipeline again), and what alice sent while the server was down arrives once, after.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import type { IncomingMessage } from '../../src/xmpp/messages.ts';
import { nextEvent } from '../support/sessions.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const clients: ChatFeatures[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterAll(async () => {
  await Promise.all(clients.map((client) => client.session.stop()));
  await release();
});

function client(jid: string): ChatFeatures {
  const features = createChatClient({
    jid,
    password: () => testbed.users[jid] ?? '',
    resolver: createResolver({ server: testbed.dnsServer }),
    trust: trustStore([testbed.caPem]),
    cache: new PoshCache(new MemoryStore()),
    backoff: { baseMs: 250, capMs: 1000 },
    attemptTimeoutMs: 5000,
  });
  clients.push(features);
  return features;
}

it('scenario 11: Prosody restarted mid-session; both reconnect by themselves, and messages sent while it was down arrive once each', async () => {
  // Fresh accounts: messages other suites left in the shared server's offline store stay out of the count.
  const suffix = Date.now().toString(36);
  const [aliceJid, bobJid] = await Promise.all([
    testbed.addUser(`alice-${suffix}`, 'example.com', 'alice-restart-pw'),
    testbed.addUser(`bob-${suffix}`, 'example.com', 'bob-restart-pw'),
  ]);
  const alice = client(aliceJid);
  const bob = client(bobJid);
  expect(await Promise.all([alice.session.start(), bob.session.start()])).toEqual(['online', 'online']);
  const received: IncomingMessage[] = [];
  bob.messaging.events.on('message', (message) => {
    if (message.peer === aliceJid) received.push(message);
  });
  const aliceAttempts: string[] = [];
  alice.session.events.on('attempt', ({ attemptId }) => aliceAttempts.push(attemptId));

  const lost = nextEvent(alice.session.events, 'state', ({ state }) => state === 'reconnecting');
  await testbed.stopProsody();
  const { problem, retryInMs } = await lost;
  expect(problem?.code).toBe('CONNECTION_LOST');
  expect(retryInMs).toBeGreaterThan(0);
  expect(retryInMs).toBeLessThanOrEqual(1000);

  const bodies = ['while down 1', 'while down 2', 'while down 3'];
  const sent = await Promise.all(bodies.map((body) => alice.messaging.send(bobJid, body)));
  expect(sent.map((message) => message.state)).toEqual(['sending', 'sending', 'sending']);
  expect(alice.messaging.queued).toBe(3);

  const downAt = performance.now();
  const aliceBack = nextEvent(alice.session.events, 'online', () => true, 20_000);
  const bobBack = nextEvent(bob.session.events, 'online', () => true, 20_000);
  const allAcked = Promise.all(sent.map((message) => nextEvent(alice.messaging.events, 'state', ({ id, state }) => id === message.id && state !== 'sending', 20_000)));
  await testbed.startProsody();
  const [aliceOnline] = await Promise.all([aliceBack, bobBack]);
  const reconnectMs = performance.now() - downAt;
  // Prosody lost every session when it stopped: a new session, not a resumption.
  expect(aliceOnline.resumed).toBe(false);
  expect(aliceAttempts.length).toBeGreaterThanOrEqual(1);
  expect((await allAcked).map(({ state }) => state)).not.toContain('error');

  const deadline = Date.now() + 10_000;
  while (received.length < bodies.length && Date.now() < deadline) await nextEvent(bob.messaging.events, 'message', () => true, 10_000).catch(() => null);
  // Give a duplicate the chance to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(received.map((message) => message.body).sort()).toEqual(bodies);
  expect(new Set(received.map((message) => message.senderId)).size).toBe(3);
  expect(alice.session.lastReport?.verdict.code).toBe('OK_POSH');
  console.log(`scenario 11: back online ${Math.round(reconnectMs)} ms after Prosody was started again`);
});

it('a dropped connection while the server stays up: the whole pipeline runs again and XEP-0198 resumes the session', async () => {
  const carol = client('carol@proper.example');
  expect(await carol.session.start()).toBe('online');
  const jidBefore = carol.session.fullJid;
  const attempt = nextEvent(carol.session.events, 'attempt');
  const back = nextEvent(carol.session.events, 'online', () => true, 10_000);
  // The network drops the socket under the session (no stream close).
  (carol.session.parts.entity.socket as import('node:net').Socket).destroy();
  await attempt;
  const online = await back;
  expect(online.resumed).toBe(true);
  expect(carol.session.fullJid).toBe(jidBefore);
  const ended = carol.session.steps.filter((event) => event.phase === 'end').map((event) => event.step.name);
  expect(ended).toEqual(expect.arrayContaining(['srv', 'posh', 'tcp', 'tls', 'verify', 'stream', 'auth', 'bind']));
  expect(carol.session.lastReport?.verdict.code).toBe('OK_PKIX');
});
