// bob, the demo's live peer: a bot on the app's own session code (the whole DNA pipeline, SCRAM,
// roster, presence, messages) that answers what it is sent, greets alice once, and changes his
// presence now and then. Every timer is his own and is cleared by stop().
import { trustStore } from '../lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../lookup/posh-cache.ts';
import { createResolver } from '../lookup/resolver.ts';
import { createChatClient, type ChatFeatures } from '../xmpp/chat-client.ts';
import type { SessionState } from '../xmpp/session.ts';
import { BOB_MOODS, bobGreeting, bobReply, proofOf, type BobFacts } from './bob-replies.ts';
import type { BobTuning } from './config.ts';

export interface BobSetup extends BobTuning {
  jid: string;
  password: string;
  /** The demo's resolver and CA: trusted by bob's session alone. */
  dnsServer: string;
  caPem: string;
  /** The one he greets when she first comes online. */
  friend: string;
  /** What the demo publishes now (read at every answer). */
  variant: () => Pick<BobFacts, 'variant' | 'variantDescription'>;
}

export interface Bob {
  readonly client: ChatFeatures;
  /** Starts his session again when it is not online or on its way (e.g. refused by a variant). */
  ensureOnline(): Promise<SessionState>;
  stop(): Promise<void>;
}

export class BobError extends Error {
  readonly code = 'DEMO_BOB_OFFLINE';
}

export async function startBob(setup: BobSetup): Promise<Bob> {
  const presenceEveryMs = setup.presenceEveryMs ?? 20_000;
  const replyDelayMs = setup.replyDelayMs ?? 600;
  const cache = new PoshCache(new MemoryStore());
  const client = createChatClient({
    jid: setup.jid,
    password: () => setup.password,
    resource: 'demo-bot',
    resolver: createResolver({ server: setup.dnsServer }),
    trust: trustStore([setup.caPem]),
    cache,
    backoff: { baseMs: 500, capMs: 5000 },
    attemptTimeoutMs: 15_000,
  });
  const { session, messaging, presence } = client;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let greeted = false;

  const later = (ms: number, work: () => Promise<unknown>): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) work().catch(() => undefined);
    }, ms);
    timers.add(timer);
  };
  const facts = (): BobFacts => ({ ...setup.variant(), proof: proofOf(session.lastReport) });
  const say = (to: string, body: string): void => later(replyDelayMs, () => messaging.send(to, body));

  messaging.events.on('message', (message) => {
    // Only what arrives now: never the archive, a carbon, or his own words.
    if (message.direction !== 'in' || message.source !== 'live' || !message.body.trim()) return;
    say(message.peer, bobReply(message.body, facts()));
  });
  presence.events.on('contact', ({ jid, resources }) => {
    if (jid !== setup.friend || resources.length === 0 || greeted) return;
    greeted = true;
    say(jid, bobGreeting(facts()));
  });

  let mood = 0;
  const nextMood = async (): Promise<void> => {
    mood = (mood + 1) % BOB_MOODS.length;
    await presence.setOwn(BOB_MOODS[mood]!);
    later(presenceEveryMs, nextMood);
  };
  await presence.setOwn(BOB_MOODS[0]!);

  const state = await session.start();
  if (state !== 'online') {
    await session.stop();
    const problem = session.problem;
    throw new BobError(`bob (${setup.jid}) could not sign in: ${problem ? `${problem.message} (${problem.code})` : state}.`);
  }
  later(presenceEveryMs, nextMood);

  return {
    client,
    ensureOnline: async () => {
      if (stopped || ['online', 'connecting', 'reconnecting'].includes(session.state)) return session.state;
      await session.stop();
      cache.forget(session.domain, 'xmpp-client');
      return session.start();
    },
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await session.stop();
    },
  };
}
