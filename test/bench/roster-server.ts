// Scenario (f)'s server as a process of its own, so that writing thousands of stanzas never stalls
// the event loop being measured: the scripted server of test/support/hostile-server.ts, playing a
// well-behaved one whose roster of N contacts comes online at login (the roster result, then one
// presence per contact, written as a server answers its probes: a few dozen stanzas per write).
// Driven over the IPC channel by test/bench/scenario-roster.ts; exits when that channel closes.
import { startHostileServer, type HostileEndpoint, type HostileServer } from '../support/hostile-server.ts';

export type RosterServerRequest = { type: 'start'; spec: HostileEndpoint } | { type: 'contacts'; count: number };
export type RosterServerReply = { type: 'ready' } | { type: 'failed'; message: string };

const PRESENCES_PER_WRITE = 50;
const SHOWS = ['', 'away', '', 'dnd', '', 'xa', 'chat'];

export const contactJid = (index: number, domain: string): string => `c${String(index).padStart(5, '0')}@${domain}`;

function rosterResult(id: string, count: number, domain: string): string {
  const items: string[] = [];
  for (let index = 1; index <= count; index += 1) {
    items.push(`<item jid='${contactJid(index, domain)}' name='Contact ${index}' subscription='both'><group>${index % 3 === 0 ? 'Work' : 'Friends'}</group></item>`);
  }
  return `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster' ver='bench'>${items.join('')}</query></iq>`;
}

function presence(index: number, domain: string, to: string): string {
  const show = SHOWS[index % SHOWS.length]!;
  return (
    `<presence from='${contactJid(index, domain)}/laptop' to='${to}'>${show ? `<show>${show}</show>` : ''}` +
    `<status>Status of contact ${index}</status><priority>5</priority>` +
    `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org/client' ver='k7yZ0kdsHrbSPRV4ck9wOyLWaqQ='/></presence>`
  );
}

let server: HostileServer | null = null;
let contacts = 0;

async function start(spec: HostileEndpoint): Promise<void> {
  server = await startHostileServer({
    ...spec,
    script: {
      rosterReply: (id) => rosterResult(id, contacts, spec.domain),
      online: async (connection) => {
        const to = `${spec.jid}/hostile`;
        for (let start = 1; start <= contacts; start += PRESENCES_PER_WRITE) {
          const batch: string[] = [];
          for (let index = start; index < start + PRESENCES_PER_WRITE && index <= contacts; index += 1) batch.push(presence(index, spec.domain, to));
          await connection.write(batch.join(''));
        }
      },
    },
  });
}

const send = (reply: RosterServerReply): void => {
  process.send?.(reply);
};

process.on('message', (message: RosterServerRequest) => {
  switch (message.type) {
    case 'start':
      start(message.spec).then(
        () => send({ type: 'ready' }),
        (error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
      );
      break;
    case 'contacts':
      contacts = message.count;
      send({ type: 'ready' });
      break;
  }
});

process.once('disconnect', () => {
  void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
