// What scenario (h) puts on the real server before the UI joins: a persistent public room on the
// testbed's MUC service whose archive (mod_muc_mam) holds thousands of messages, sent by its owner
// while alone in it, and hundreds of occupants, each a real account on its own stream. The
// occupants join without history, the room's messages are only in its archive and its join history.
// Each join is broadcast to everyone already in (XEP-0045 7.2.3), so bringing n occupants in costs
// the server n²/2 presences: about two minutes for 500 here, set-up the report keeps apart.
import { xml, type Element } from '@xmpp/xml';
import { EXAMPLE_MUC_DOMAIN, type Testbed } from '../../src/testbed/index.ts';
import { NS_MUC, NS_MUC_OWNER, NS_MUC_USER } from '../../src/xmpp/muc-presence.ts';
import { NS_DATA } from '../../src/xmpp/namespaces.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { DOMAIN } from './topology.ts';
import { messageBody, startBenchSession } from './ui-load.ts';

export interface RoomSize {
  name: string;
  /** Occupants before the bench user joins (the owner among them). */
  occupants: number;
  /** Messages in the room's archive. */
  messages: number;
}

export const ROOM_SIZE: RoomSize = { name: 'room', occupants: 500, messages: 20_000 };
export const SMOKE_ROOM_SIZE: RoomSize = { name: 'room-smoke', occupants: 20, messages: 450 };

/** Members logging in and joining at once. */
const JOINING_AT_ONCE = 25;

export interface RoomLoad {
  room: string;
  user: { jid: string; password: string };
  /** Time to send the archive's messages until the owner had the room's echo of the last. */
  archiveMs: number;
  /** Time for the other occupants to log in and join. */
  occupantsMs: number;
  stop(): Promise<void>;
}

function nextStanza(session: XmppSession, test: (stanza: Element) => boolean, timeoutMs: number, what: string): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`Scenario (h): ${what} did not arrive within ${timeoutMs} ms.`));
    }, timeoutMs);
    const off = session.events.on('stanza', (stanza) => {
      if (!test(stanza)) return;
      clearTimeout(timer);
      off();
      resolve(stanza);
    });
  });
}

/** Joins `room` as `nick` without history; resolves at the room's self-presence (status 110). */
async function join(session: XmppSession, room: string, nick: string): Promise<void> {
  const occupant = `${room}/${nick}`;
  const isSelf = (stanza: Element): boolean => stanza.getChild('x', NS_MUC_USER)?.getChildren('status').some((status) => status.attrs.code === '110') === true;
  const answer = nextStanza(session, (stanza) => stanza.name === 'presence' && stanza.attrs.from === occupant && (stanza.attrs.type === 'error' || isSelf(stanza)), 30_000, `${nick}'s self-presence from ${room}`);
  await session.send(xml('presence', { to: occupant }, xml('x', { xmlns: NS_MUC }, xml('history', { maxstanzas: '0' }))));
  const stanza = await answer;
  if (stanza.attrs.type === 'error') throw new Error(`Scenario (h): ${room} refused ${nick}: ${stanza.toString().slice(0, 300)}`);
}

const field = (name: string, value: string): Element => xml('field', { var: name }, xml('value', {}, value));

/** Submits room configuration fields as the owner (XEP-0045 10.2); the rest keep their values. */
async function configure(owner: XmppSession, room: string, fields: Element[]): Promise<void> {
  const form = xml('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig'), ...fields);
  await owner.parts.iqCaller.set(xml('query', { xmlns: NS_MUC_OWNER }, form), room, 30_000);
}

export async function prepareRoom(testbed: Testbed, size: RoomSize, log: (line: string) => void): Promise<RoomLoad> {
  const tag = size.name.toLowerCase();
  const room = `bench-${tag}@${EXAMPLE_MUC_DOMAIN}`;
  const user = { jid: await testbed.addUser(`${tag}-user`, DOMAIN, `${tag}-user-password`), password: `${tag}-user-password` };
  const ownerJid = await testbed.addUser(`${tag}-owner`, DOMAIN, `${tag}-owner-password`);
  const sessions: XmppSession[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(sessions.splice(0).map((session) => session.stop().catch(() => undefined)));
  };
  try {
    const owner = await startBenchSession(testbed, ownerJid, `${tag}-owner-password`);
    sessions.push(owner);
    await join(owner, room, 'owner');
    // Persistent and public: listed by the service, kept while empty, archived (muc_log_by_default).
    await configure(owner, room, [field('muc#roomconfig_persistentroom', '1'), field('muc#roomconfig_publicroom', '1'), field('muc#roomconfig_roomname', `Bench room (${size.occupants} occupants)`)]);

    const archiveStarted = performance.now();
    const lastId = `room-${tag}-${size.messages}`;
    const lastEcho = nextStanza(owner, (stanza) => stanza.name === 'message' && stanza.attrs.id === lastId && stanza.attrs.from === `${room}/owner`, 120_000 + size.messages * 10, "the room's echo of the last message");
    for (let index = 1; index <= size.messages; index += 1) {
      await owner.send(xml('message', { to: room, type: 'groupchat', id: `room-${tag}-${index}` }, xml('body', {}, messageBody(index))));
    }
    await lastEcho;
    const archiveMs = performance.now() - archiveStarted;
    log(`  (h) ${size.messages} messages in the room's archive in ${Math.round(archiveMs)} ms`);

    const occupantsStarted = performance.now();
    // Each join is broadcast to everyone already in (XEP-0045 7.2.3): n joins cost n² presences,
    // minutes of the server's time. While they join, only the owner's presence is broadcast
    // (muc#roomconfig_presencebroadcast); then every role's again, so the bench user's join gets
    // the presence of all of them, as in any room.
    const members = Array.from({ length: size.occupants - 1 }, (_, index) => `${tag}-m${String(index + 1).padStart(4, '0')}`);
    for (let start = 0; start < members.length; start += JOINING_AT_ONCE) {
      await Promise.all(
        members.slice(start, start + JOINING_AT_ONCE).map(async (local) => {
          const password = `${local}-password`;
          const session = await startBenchSession(testbed, await testbed.addUser(local, DOMAIN, password), password);
          sessions.push(session);
          await join(session, room, local);
        }),
      );
      if ((start + JOINING_AT_ONCE) % 100 === 0) log(`  (h) ${start + JOINING_AT_ONCE + 1} of ${size.occupants} occupants in, ${Math.round(performance.now() - occupantsStarted)} ms`);
    }
    const occupantsMs = performance.now() - occupantsStarted;
    log(`  (h) ${size.occupants} occupants in the room after ${Math.round(occupantsMs)} ms`);
    return { room, user, archiveMs, occupantsMs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
