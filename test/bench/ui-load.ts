// What scenario (e) puts on the real server before the UI looks at it: a bench user whose roster
// (Prosody's roster store, written before the user's first login) holds thousands of contacts,
// each of whom lists the bench user back (so the server answers every presence probe with
// "unavailable", as it does for contacts who are offline), and a peer who sends the bench user a
// long conversation through Prosody while the bench user's app is online.
import { join } from 'node:path';
import { xml } from '@xmpp/xml';
import { trustStore } from '../../src/lookup/anchors.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { prosodyPaths, writeRoster, type RosterEntry } from '../../src/testbed/prosody.ts';
import { XmppSession, type SessionState } from '../../src/xmpp/session.ts';
import { DOMAIN } from './topology.ts';

export interface UiSize {
  name: string;
  contacts: number;
  messages: number;
}

export const UI_SIZES: readonly UiSize[] = [
  { name: 'S', contacts: 1250, messages: 5000 },
  { name: 'M', contacts: 2500, messages: 10_000 },
  { name: 'L', contacts: 5000, messages: 20_000 },
];

export const SMOKE_UI_SIZE: UiSize = { name: 'smoke', contacts: Number(process.env.SC ?? 40), messages: Number(process.env.SM ?? 120) };

export interface UiUsers {
  user: string;
  password: string;
  peer: string;
  peerPassword: string;
}

const pad = (index: number): string => String(index).padStart(5, '0');

/** Creates the bench user, its peer and `contacts - 1` other contacts, with mutual rosters. */
export async function prepareUiUsers(testbed: Testbed, size: UiSize): Promise<UiUsers> {
  const tag = size.name.toLowerCase();
  const password = `ui-bench-${tag}`;
  const peerPassword = `peer-bench-${tag}`;
  const user = await testbed.addUser(`ui-${tag}`, DOMAIN, password);
  const peer = await testbed.addUser(`peer-${tag}`, DOMAIN, peerPassword);
  const data = prosodyPaths(join(testbed.runtimeDir, 'prosody')).data;
  const contacts: RosterEntry[] = Array.from({ length: size.contacts - 1 }, (_, index) => ({
    jid: `c${tag}-${pad(index + 1)}@${DOMAIN}`,
    name: `Contact ${pad(index + 1)}`,
  }));
  await writeRoster(data, user, [{ jid: peer, name: 'Peer' }, ...contacts]);
  await writeRoster(data, peer, [{ jid: user, name: 'Bench user' }]);
  // Each contact lists the bench user too, so the server treats them as subscribed (offline) contacts.
  for (let start = 0; start < contacts.length; start += 200) {
    await Promise.all(contacts.slice(start, start + 200).map((contact) => writeRoster(data, contact.jid, [{ jid: user, name: 'Bench user' }])));
  }
  return { user, password, peer, peerPassword };
}

/** Message i of the conversation: mostly one line, every tenth a paragraph that wraps. */
export function messageBody(index: number): string {
  if (index % 10 === 0) {
    return `Message ${index}: ${'a longer paragraph that wraps over several lines in the conversation view, '.repeat(3)}end.`;
  }
  return `Message ${index}: ${'short words '.repeat(1 + (index % 5))}`.trim();
}

export interface Peer {
  session: XmppSession;
  /** Sends `count` chat messages to `to`, each written to the socket before the next. */
  flood(to: string, count: number): Promise<void>;
  stop(): Promise<void>;
}

/** A bench account logged in with our own session code (its server proven by POSH like any login). */
export async function startBenchSession(testbed: Testbed, jid: string, password: string): Promise<XmppSession> {
  const session = new XmppSession({
    jid,
    password: () => password,
    resolver: createResolver({ server: testbed.dnsServer }),
    trust: trustStore([testbed.caPem]),
  });
  let state = await session.start();
  // A transient failure is retried after a backoff: give it that chance before giving up.
  if (state === 'error' && !session.problem?.permanent) {
    state = await new Promise<SessionState>((resolve) => {
      const timer = setTimeout(() => resolve(session.state), 60_000);
      const off = session.events.on('state', ({ state: next }) => {
        if (next !== 'online' && next !== 'refused' && next !== 'auth-failed') return;
        clearTimeout(timer);
        off();
        resolve(next);
      });
    });
  }
  if (state !== 'online') {
    const problem = session.problem;
    await session.stop();
    throw new Error(`The bench account ${jid} could not log in (${state}: ${problem ? `${problem.code}: ${problem.message}` : 'no problem reported'}).`);
  }
  return session;
}

/** The peer of scenario (e), online and available. */
export async function startPeer(testbed: Testbed, users: UiUsers): Promise<Peer> {
  const session = await startBenchSession(testbed, users.peer, users.peerPassword);
  await session.send(xml('presence'));
  return {
    session,
    flood: async (to, count) => {
      for (let index = 1; index <= count; index += 1) {
        await session.send(xml('message', { to, type: 'chat', id: `bench-${index}` }, xml('body', {}, messageBody(index))));
      }
    },
    stop: () => session.stop(),
  };
}
