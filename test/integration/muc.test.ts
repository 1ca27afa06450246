// Group chat (XEP-0045) between real clients on both servers of the testbed (one table, the server
// as a column): Prosody 13's conference.example.com and ejabberd 24.12's conference.example.org,
// both archiving rooms (XEP-0313). Create, configure and join; messages both ways; nick changes and
// conflicts; subjects; history on join with no duplicates; kick and ban; password and members-only
// rooms; invitations; bookmarks (XEP-0402) across sessions; and, on Prosody, self-ping (XEP-0410)
// after the room forgot us, and the server-to-server proof of a room on another domain.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccountRooms } from '../../src/app/account-rooms.ts';
import type { EventPayloads } from '../../src/app/model.ts';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import type { RoomMessage, RoomStatus } from '../../src/xmpp/muc.ts';
import { nextEvent } from '../support/sessions.ts';
import { until } from '../support/until.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const clients: ChatFeatures[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (client) => {
    client.rooms.close();
    await client.session.stop();
  }));
});
afterAll(async () => release());

const SERVERS = [
  { server: 'Prosody 13', domain: 'example.com', service: 'conference.example.com' },
  { server: 'ejabberd 24.12', domain: 'example.org', service: 'conference.example.org' },
];

const hex = () => randomBytes(4).toString('hex');

/** An app-side view of one client's rooms (what the UI is fed), with every event it emitted. */
function roomsView(client: ChatFeatures, id: string) {
  const events: Array<{ event: string; payload: unknown }> = [];
  const view = new AccountRooms({ id, jid: client.session.jid, checkOptions: () => ({ dns: testbed.dnsServer, extraAnchorsPem: [testbed.caPem], maxPoshLifetimeSeconds: 604_800 }) }, (event, payload) => {
    events.push({ event, payload });
  });
  view.attach(client);
  const messages = () => events.filter((entry) => entry.event === 'message').map((entry) => (entry.payload as EventPayloads['message']).message);
  return { view, events, messages };
}

describe.each(SERVERS)('$server ($service)', ({ domain, service }) => {
  async function online(prefix: string, jid?: string, resource?: string): Promise<ChatFeatures> {
    const user = jid ?? (await testbed.addUser(`${prefix}-${hex()}`, domain, `pw-${prefix}`));
    const features = createChatClient(
      {
        jid: user,
        password: () => testbed.users[user] ?? '',
        ...(resource ? { resource } : {}),
        resolver: createResolver({ server: testbed.dnsServer }),
        trust: trustStore([testbed.caPem]),
        cache: new PoshCache(new MemoryStore()),
      },
      { rooms: { selfPingIdleMs: 1000 } },
    );
    clients.push(features);
    expect(await features.session.start()).toBe('online');
    return features;
  }

  const newRoom = (name = 'room') => `${name}-${hex()}@${service}`;
  const nextMessage = (client: ChatFeatures, test: (message: RoomMessage) => boolean) => nextEvent(client.rooms.events, 'message', test, 15_000);
  const roomWhere = (client: ChatFeatures, room: string, test: (status: RoomStatus) => boolean) =>
    test(client.rooms.status(room) ?? ({} as RoomStatus)) ? Promise.resolve(client.rooms.status(room)!) : nextEvent(client.rooms.events, 'room', (status) => status.jid === room && test(status), 15_000);

  /** A room `owner` created and configured (persistent, so it outlives its last occupant). */
  async function createdRoom(owner: ChatFeatures, settings: Parameters<ChatFeatures['rooms']['configure']>[1] = {}, nick = 'owner'): Promise<string> {
    const room = newRoom();
    const status = await owner.rooms.join(room, nick);
    expect(status).toMatchObject({ state: 'joined', created: true });
    await owner.rooms.configure(room, { persistent: true, ...settings });
    expect(owner.rooms.status(room)?.created).toBe(false);
    return room;
  }

  it('XEP-0045 6.1, 6.3: the account finds its room service and lists a persistent public room', async () => {
    const owner = await online('owner');
    expect(await owner.rooms.service()).toBe(service);
    const room = await createdRoom(owner, { name: 'Listed room', public: true });
    const listed = await owner.rooms.list(service);
    expect(listed).toContainEqual({ jid: room, name: expect.stringMatching(/Listed room|room-/) });
  });

  it('XEP-0045 10.1, 7.2, 7.4: create, join, and messages both ways, each echo marking ours sent', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner, { name: 'Both ways' });
    const ownerSeesGuest = nextEvent(owner.rooms.events, 'occupant', (change) => change.room === room && change.nick === 'guest' && change.occupant !== null);
    const joined = await guest.rooms.join(room, 'guest');
    expect(joined).toMatchObject({ state: 'joined', nick: 'guest', self: { role: 'participant' } });
    expect((await ownerSeesGuest).occupant).toMatchObject({ role: 'participant', affiliation: 'none' });
    expect(guest.rooms.occupants(room).map((occupant) => occupant.nick).sort()).toEqual(['guest', 'owner']);
    expect(guest.rooms.occupants(room).find((occupant) => occupant.nick === 'owner')).toMatchObject({ role: 'moderator', affiliation: 'owner' });

    const heard = nextMessage(guest, (message) => message.body === 'hello room');
    const echo = nextEvent(owner.rooms.events, 'reflected', (change) => change.room === room);
    const id = await owner.rooms.send(room, 'hello room');
    expect(await echo).toMatchObject({ id });
    expect(await heard).toMatchObject({ room, nick: 'owner', direction: 'in', source: 'live', private: false });

    const back = nextMessage(owner, (message) => message.body === 'hello owner');
    await guest.rooms.send(room, 'hello owner');
    expect(await back).toMatchObject({ nick: 'guest', direction: 'in' });

    // XEP-0045 7.5: a private message through the room reaches only its occupant.
    const whisper = nextMessage(owner, (message) => message.body === 'just you');
    await guest.rooms.sendPrivate(room, 'owner', 'just you');
    expect(await whisper).toMatchObject({ nick: 'guest', private: true });

    const gone = nextEvent(owner.rooms.events, 'occupant', (change) => change.nick === 'guest' && change.occupant === null);
    await guest.rooms.leave(room);
    expect((await gone).departure).toEqual({ kind: 'left' });
  });

  it('XEP-0045 7.6: a nick change is seen by the others; a nick in use is refused and the old one kept', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner);
    await guest.rooms.join(room, 'guest');
    const renamed = nextEvent(owner.rooms.events, 'occupant', (change) => change.nick === 'guest' && change.occupant === null);
    await guest.rooms.setNick(room, 'visitor');
    expect((await renamed).departure).toEqual({ kind: 'nick-changed', newNick: 'visitor' });
    await until(() => owner.rooms.occupants(room).some((occupant) => occupant.nick === 'visitor'), 10_000, 'the owner seeing the new nick');
    expect(guest.rooms.status(room)?.nick).toBe('visitor');

    await expect(guest.rooms.setNick(room, 'owner')).rejects.toMatchObject({ code: 'MUC_NICK_CONFLICT', message: expect.stringContaining('already uses that nickname') });
    expect(guest.rooms.status(room)).toMatchObject({ state: 'joined', nick: 'visitor' });
  });

  it('XEP-0045 8.1: the subject, set by the owner, reaches the occupants and those who join later', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner);
    await guest.rooms.join(room, 'guest');
    const seen = roomWhere(guest, room, (status) => status.subject === 'Today: trust');
    await owner.rooms.setSubject(room, 'Today: trust');
    expect(await seen).toMatchObject({ subject: 'Today: trust', subjectBy: 'owner' });

    const late = await online('late');
    await late.rooms.join(room, 'late');
    expect(await roomWhere(late, room, (status) => status.subject === 'Today: trust')).toMatchObject({ subjectBy: 'owner' });
  });

  it('XEP-0045 6.4 and 10.1.1: a join that may not create a room refuses one that does not exist, in words, and creates nothing', async () => {
    const [guest, other] = await Promise.all([online('guest'), online('other')]);
    const absent = newRoom();
    await expect(guest.rooms.join(absent, 'guest', { create: false })).rejects.toMatchObject({ code: 'MUC_NO_SUCH_ROOM', message: expect.stringContaining(`There is no room at ${absent}`) });
    expect(guest.rooms.status(absent)).toBeNull();
    // Still absent for anyone else: the refused join sent no presence.
    await expect(other.rooms.join(absent, 'other', { create: false })).rejects.toMatchObject({ code: 'MUC_NO_SUCH_ROOM' });
    // A room that exists is joined as before.
    const room = await createdRoom(other);
    expect(await guest.rooms.join(room, 'guest', { create: false })).toMatchObject({ state: 'joined', created: false });
  });

  it("XEP-0045 8.1 and 10.2: where the owner lets anyone change the subject, the room's disco#info says so and a participant's subject reaches everyone", async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner);
    // Each server has its own default (Prosody: moderators only; ejabberd: anyone): set it first.
    await owner.rooms.configure(room, { anyoneMaySetSubject: false });
    expect(await guest.rooms.join(room, 'guest')).toMatchObject({ anyoneMaySetSubject: false });
    await owner.rooms.configure(room, { anyoneMaySetSubject: true });
    // The room's info is read at the join: a new join sees the new setting.
    await guest.rooms.leave(room);
    expect(await guest.rooms.join(room, 'guest')).toMatchObject({ anyoneMaySetSubject: true, self: { role: 'participant' } });
    const seen = roomWhere(owner, room, (status) => status.subject === 'Set by a guest');
    await guest.rooms.setSubject(room, 'Set by a guest');
    expect(await seen).toMatchObject({ subjectBy: 'guest' });
  });

  it('XEP-0045 7.2.15 with XEP-0313: the join history and the archive together give each message once', async () => {
    const owner = await online('owner');
    const room = await createdRoom(owner);
    const bodies = Array.from({ length: 30 }, (_, index) => `line ${index}`);
    for (const body of bodies) {
      const echoed = nextEvent(owner.rooms.events, 'reflected', () => true);
      await owner.rooms.send(room, body);
      await echoed;
    }
    const reader = await online('reader');
    const { view } = roomsView(reader, 'reader');
    await view.join(room, 'reader', null, false);
    // The join history (the latest 20) has arrived with the self-presence; the archive adds the rest.
    await until(() => view.summaries().some((summary) => summary.jid === room && summary.state === 'joined'), 10_000, 'the reader joined');
    const { messages, complete } = await view.history(room, null, 100);
    const seen = messages.map((message) => message.body);
    expect(seen.filter((body) => body.startsWith('line '))).toEqual(bodies);
    expect(complete).toBe(true);
    expect(messages.every((message) => message.room?.nick === 'owner')).toBe(true);
  });

  it('XEP-0045 8.2, 9.1: the kicked occupant reads why and may rejoin; the banned one may not', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner);
    await guest.rooms.join(room, 'guest');
    const kicked = roomWhere(guest, room, (status) => status.state === 'left');
    await owner.rooms.setRole(room, 'guest', 'none', 'calm down');
    expect(await kicked).toMatchObject({ departure: 'kicked', problem: expect.stringContaining('"calm down"') });

    await guest.rooms.join(room, 'guest');
    const banned = roomWhere(guest, room, (status) => status.state === 'left');
    await owner.rooms.setAffiliation(room, guest.session.jid, 'outcast', 'enough');
    expect(await banned).toMatchObject({ departure: 'banned', problem: expect.stringContaining('banned') });
    await expect(guest.rooms.join(room, 'guest')).rejects.toMatchObject({ code: 'MUC_FORBIDDEN', message: expect.stringContaining(`You are banned from ${room}.`) });
  });

  it('XEP-0045 7.2.6: a password room refuses a join without its password and admits one with it', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner, { password: 'sesame' });
    await expect(guest.rooms.join(room, 'guest')).rejects.toMatchObject({ code: 'MUC_NOT_AUTHORIZED', message: expect.stringContaining('needs a password') });
    expect(await guest.rooms.join(room, 'guest', { password: 'sesame' })).toMatchObject({ state: 'joined' });
  });

  it('XEP-0045 7.2.7, 9.3: a members-only room refuses a stranger, and admits them once they are a member', async () => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner, { membersOnly: true });
    await expect(guest.rooms.join(room, 'guest')).rejects.toMatchObject({ code: 'MUC_REGISTRATION_REQUIRED', message: expect.stringContaining('members-only') });
    await owner.rooms.setAffiliation(room, guest.session.jid, 'member');
    expect(await guest.rooms.join(room, 'guest')).toMatchObject({ state: 'joined', self: { affiliation: 'member' } });
  });

  it.each([['mediated' as const, 'XEP-0045 7.8.2'], ['direct' as const, 'XEP-0249']])('%s invitation (%s): received as one, accepted by joining', async (kind, _rule) => {
    const [owner, guest] = await Promise.all([online('owner'), online('guest')]);
    const room = await createdRoom(owner, { password: 'letmein' });
    const invited = nextEvent(guest.rooms.events, 'invitation', (invitation) => invitation.room === room);
    await owner.rooms.invite(room, guest.session.jid, 'come in', kind);
    const invitation = await invited;
    // XEP-0045 7.8.2: the room names the inviter by real JID, or (Prosody, semi-anonymous) as the occupant.
    expect(invitation).toMatchObject({ room, reason: 'come in', kind });
    expect(kind === 'direct' ? [owner.session.jid] : [owner.session.jid, `${room}/owner`]).toContain(invitation.from);
    expect(guest.rooms.invitations()).toHaveLength(1);
    // The password travels with the direct invitation (XEP-0249 2) and with the room's (XEP-0045 7.8.2).
    expect(await guest.rooms.answerInvitation(room, true, 'guest')).toMatchObject({ state: 'joined' });
    expect(guest.rooms.invitations()).toEqual([]);
  });

  it('XEP-0402 3.5: a bookmark with autojoin from one session is joined by another session of the account, live and at its next login; autojoin cleared there makes the others leave', async () => {
    const phone = await online('owner', undefined, 'phone');
    const jid = phone.session.jid;
    const desk = await online('owner', jid, 'desk');
    const room = await createdRoom(phone);
    const deskJoins = roomWhere(desk, room, (status) => status.state === 'joined');
    const deskView = roomsView(desk, 'desk');
    await phone.bookmarks.set({ jid: room, name: 'Ours', autojoin: true, nick: 'desk-nick', password: null });
    // Live: PEP notified the desk (its capabilities ask for +notify), which joined.
    expect(await deskJoins).toMatchObject({ nick: 'desk-nick' });
    expect(deskView.view.summaries()).toContainEqual(expect.objectContaining({ jid: room, bookmarked: true, autojoin: true }));

    const laptop = await online('owner', jid, 'laptop');
    expect(laptop.bookmarks.get(room)).toMatchObject({ autojoin: true, name: 'Ours' });
    await roomWhere(laptop, room, (status) => status.state === 'joined');

    // XEP-0402 3.5: autojoin cleared on the phone: the other sessions leave; the phone, whose own
    // publish this was, stays.
    const deskLeaves = roomWhere(desk, room, (status) => status.state === 'left');
    const laptopLeaves = roomWhere(laptop, room, (status) => status.state === 'left');
    await phone.bookmarks.set({ jid: room, name: 'Ours', autojoin: false, nick: 'desk-nick', password: null });
    await Promise.all([deskLeaves, laptopLeaves]);
    expect(desk.rooms.status(room)).toBeNull();
    expect(phone.rooms.status(room)?.state).toBe('joined');
  });

  it.runIf(domain === 'example.com')('XEP-0410: a room that forgot us answers the self-ping, and we rejoin', async () => {
    const owner = await online('owner');
    const room = await createdRoom(owner);
    expect(await owner.rooms.selfPing(room)).toBe('joined');
    expect(await testbed.forgetMucOccupants(room)).toBe(1);
    // The room's idle timer (1 s here) pings by itself, finds us gone, and joins again.
    const rejoining = roomWhere(owner, room, (status) => status.state === 'joining');
    await rejoining;
    expect(await roomWhere(owner, room, (status) => status.state === 'joined')).toMatchObject({ nick: 'owner' });
    expect(await owner.rooms.selfPing(room)).toBe('joined');
  });

  it.runIf(domain === 'example.com')("RFC 7712: a room on another domain shows that domain's server-to-server proof", async () => {
    const owner = await online('owner');
    const { view } = roomsView(owner, 'owner');
    const remote = `lobby-${hex()}@conference.proper.example`;
    await view.create(remote, 'owner', null);
    expect(view.summaries().find((summary) => summary.jid === remote)).toMatchObject({ remote: true, state: 'joined' });
    const trust = await view.trust(remote, false);
    expect(trust).toMatchObject({ domain: 'conference.proper.example', sameService: false, fromCache: false });
    expect(trust.report?.service).toBe('xmpp-server');
    expect(trust.report?.verdict).toMatchObject({ verified: true, prooftype: 'PKIX', code: 'OK_PKIX' });
    expect(await view.trust(remote, false)).toMatchObject({ fromCache: true });
    const local = await view.trust(`x@${service}`, false);
    expect(local.sameService).toBe(true);
  });
});
