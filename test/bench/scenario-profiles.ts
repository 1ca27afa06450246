// Scenario (g): the login profiles side by side, on both servers, behind the same injected XMPP
// latency: the RFC 6120 login, SASL2 + Bind 2 with SCRAM, a FAST token at the next start, and a
// reconnection that resumes the stream (XEP-0198) inside SASL2. Each is timed from "both lookups
// settled" (the later of the SRV and POSH steps' ends) to online, and its round trips on the XMPP
// connection are counted by the delaying proxy, against the limit counted round trip by round trip.
import type { Socket } from 'node:net';
import { trustStore } from '../../src/lookup/anchors.ts';
import { epochMs } from '../../src/lookup/clock.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import { memoryTokenStore, type FastTokenStore } from '../../src/xmpp/fast.ts';
import type { SessionOptions } from '../../src/xmpp/session.ts';
import { roundTripsOf } from '../support/delay-tcp.ts';
import { nextEvent } from '../support/sessions.ts';
import type { BenchNetwork, Delays } from './network.ts';
import { summarize, type Summary } from './stats.ts';
import { DOMAIN, ORG, PROPER } from './topology.ts';

/** One profile's round trips after the lookups, as the limit counts them. */
export const PROFILE_ROUND_TRIPS = {
  legacy: [['TCP', 1], ['TLS 1.3', 1], ['stream features', 1], ['SASL SCRAM (auth, response)', 2], ['stream restart', 1], ['resource binding', 1], ['roster', 1]],
  sasl2: [['TCP', 1], ['TLS 1.3', 1], ['stream features', 1], ['SASL2 SCRAM with Bind 2 inline', 2], ['roster', 1]],
  fast: [['TCP', 1], ['TLS 1.3', 1], ['stream features', 1], ['SASL2 with the FAST token, Bind 2 inline', 1], ['roster', 1]],
  resumed: [['TCP', 1], ['TLS 1.3', 1], ['stream features', 1], ['SASL2 with the FAST token, XEP-0198 resumed inline', 1]],
} as const satisfies Record<string, ReadonlyArray<readonly [string, number]>>;
export type ProfileName = keyof typeof PROFILE_ROUND_TRIPS;

const limitRoundTrips = (profile: ProfileName): number => PROFILE_ROUND_TRIPS[profile].reduce((total, [, trips]) => total + trips, 0);

export interface ProfileResult {
  server: string;
  profile: ProfileName;
  jid: string;
  limitRoundTrips: number;
  limitMs: number;
  /** Median XMPP round trips the proxy counted up to online (the initial presence may add one flight). */
  roundTrips: number;
  sinceLookups: Summary;
  /** sinceLookups median / limit. */
  ratio: number;
  mechanism: string | null;
  failures: string[];
}

interface ProfilesContext {
  testbed: Testbed;
  network: BenchNetwork;
  delays: Delays;
  runs: number;
  log: (line: string) => void;
}

interface Column {
  server: string;
  domain: string;
  /** The delaying proxy's name for this server's direct TLS port. */
  proxy: string;
  profiles: ProfileName[];
}

const COLUMNS: Column[] = [
  { server: 'Prosody 13', domain: DOMAIN, proxy: 'xmpp-direct', profiles: ['legacy', 'sasl2', 'fast', 'resumed'] },
  // ejabberd offers SASL2 on every listener: there is no RFC 6120-only login to measure there.
  { server: 'ejabberd 24.12', domain: ORG, proxy: 'ejabberd-direct', profiles: ['sasl2', 'fast', 'resumed'] },
];

/**
 * When both lookups had answered: the later end of the SRV branch (SRV, then the first target's
 * A/AAAA, as the limit of scenario a counts it) and the POSH step, in the current attempt.
 */
function lookupsSettledAt(client: ChatFeatures): number | null {
  const ended = (name: string) => client.session.steps.flatMap((event) => (event.phase === 'end' && event.step.name === name ? [event.step.endedAt] : []))[0];
  const [srv, dns, posh] = [ended('srv'), ended('dns'), ended('posh')];
  return srv === undefined || posh === undefined ? null : Math.max(srv, dns ?? srv, posh);
}

/** The next online of `client`, and when it came (on the clock the steps use). */
const online = (client: ChatFeatures): Promise<{ resumed: boolean; at: number }> =>
  nextEvent(client.session.events, 'online', () => true, 20_000).then(({ resumed }) => ({ resumed, at: epochMs() }));

export async function runScenarioG({ testbed, network, delays, runs, log }: ProfilesContext): Promise<ProfileResult[]> {
  log('(g) login profiles on both servers: RFC 6120, SASL2 + Bind 2, FAST at the next start, SM resumed inside SASL2');
  const results: ProfileResult[] = [];
  for (const column of COLUMNS) {
    for (const profile of column.profiles) {
      const newJid = () => testbed.addUser(`bench-${profile}-${Date.now()}`, column.domain, `pw-bench-${profile}`);
      const fixedJid = profile === 'legacy' ? `carol@${PROPER}` : await newJid();
      const cache = new PoshCache(new MemoryStore());
      const options = (jid: string, tokens: FastTokenStore | null, userAgentId: string): SessionOptions => ({
        jid, password: () => testbed.users[jid]!, resolver: createResolver({ server: network.resolver }), trust: trustStore([testbed.caPem]), cache,
        backoff: { baseMs: 50, capMs: 50 }, attemptTimeoutMs: 20_000, userAgentId, fastTokens: tokens,
      });
      // One client across the samples (its FAST token kept between them, for 'fast'); the password
      // profiles ask for none, so SCRAM runs every time.
      const agent = crypto.randomUUID();
      const kept = profile === 'fast' ? memoryTokenStore() : null;
      // Unmeasured: the POSH material cached, and for FAST the first token issued.
      const primer = createChatClient(options(fixedJid, kept, agent));
      await primer.session.start();
      await primer.session.stop();
      const since: number[] = [];
      const trips: number[] = [];
      const failures: string[] = [];
      let mechanism: string | null = null;
      for (let run = 0; run < runs; run += 1) {
        // A resumption sample is a user of its own: a server that gives a client the same resource
        // at every login (ejabberd) may still be tearing down the last sample's stream of it.
        const client = profile === 'resumed' ? createChatClient(options(await newJid(), memoryTokenStore(), crypto.randomUUID())) : createChatClient(options(fixedJid, kept, agent));
        try {
          if (profile === 'resumed') {
            // The password login asks for the token that the resumption below proves.
            if ((await client.session.start()) !== 'online') throw new Error(`${client.session.state}: ${client.session.problem?.message ?? ''}`);
            await network.clear();
            const back = online(client);
            (client.session.parts.entity.socket as Socket).destroy();
            const { resumed, at } = await back;
            if (!resumed) throw new Error('the reconnection bound afresh instead of resuming');
            since.push(at - lookupsSettledAt(client)!);
          } else {
            await network.clear();
            const up = online(client);
            void client.session.start();
            const { at } = await up;
            since.push(at - lookupsSettledAt(client)!);
          }
          const connection = (await network.connections())[column.proxy]?.at(-1);
          if (connection) trips.push(roundTripsOf(connection));
          mechanism = client.session.login?.mechanism ?? mechanism;
        } catch (error) {
          failures.push((error as Error).message);
        } finally {
          await client.session.stop();
        }
      }
      const sinceLookups = summarize(since);
      const limit = limitRoundTrips(profile);
      const row: ProfileResult = {
        server: column.server, profile, jid: fixedJid, limitRoundTrips: limit, limitMs: limit * delays.xmppMs,
        roundTrips: summarize(trips).median, sinceLookups, ratio: sinceLookups.median / (limit * delays.xmppMs), mechanism, failures,
      };
      results.push(row);
      log(`  ${column.server} ${profile}: ${Math.round(sinceLookups.median)} ms after the lookups (limit ${row.limitMs} ms, ${row.ratio.toFixed(2)}x), ${row.roundTrips} round trips (limit ${limit}), ${mechanism ?? '?'}${failures.length ? `, ${failures.length} failed: ${failures[0]}` : ''}`);
    }
  }
  return results;
}
