// Multi-user chat (XEP-0045) for one session: the account's room service and its rooms, joining
// (with a password, the room's history from its archive, XEP-0313), leaving, nick changes,
// subjects, occupants with roles and affiliations, messages and private messages, the room going
// away in plain words, self-ping (XEP-0410) to notice a room that silently dropped us, and rejoining
// every joined room after a new session. Owners and moderators create, configure and moderate.
// Every stanza from a room costs O(1) here, and what a room can fill is bounded (MUC_LIMITS).
import { randomUUID } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { DnaError } from '../verify/errors.ts';
import { NS_PING } from './disco.ts';
import { Emitter } from './emitter.ts';
import { bareJid, domainOf, isOwnBareJid, resourceOf } from './jid.ts';
import { queryArchive, type ArchiveWindow } from './mam.ts';
import { NS_DELAY, NS_FORWARD, NS_MAM, NS_STANZA_ID } from './messages.ts';
import {
  departureWords, joinErrorWords, MUC_TEXT_LIMITS, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER, parseRoomPresence, stanzaErrorOf,
  type Affiliation, type Departure, type Occupant, type Role,
} from './muc-presence.ts';
import { NS_DATA, NS_DISCO_INFO, NS_DISCO_ITEMS } from './namespaces.ts';
import { presenceStanza, type OwnPresence } from './presence.ts';
import type { XmppSession } from './session.ts';

export type { Affiliation, Departure, Occupant, Role } from './muc-presence.ts';
export const NS_CONFERENCE = 'jabber:x:conference';
const NS_ROOMCONFIG = 'http://jabber.org/protocol/muc#roomconfig';
const NS_ROOMINFO = 'http://jabber.org/protocol/muc#roominfo';

/** What one room, or all of them, may make this client hold. */
export const MUC_LIMITS = {
  /** Occupants kept per room; more are counted, not kept. */
  occupants: 5000,
  /** Rooms joined at once. */
  rooms: 200,
  /** History messages taken per join (the join history we ask for is far less). */
  joinHistory: 100,
  /** Pending invitations; past this, the oldest gives way. */
  invitations: 50,
  /** Invitations whose room is being checked (disco#info) at once; more are dropped. */
  invitationChecks: 10,
  /** Our messages awaiting the room's echo, and our recent message ids known in its archive. */
  sentIds: 500,
  /** Nicks counted beyond the kept occupants (each counted once however often it speaks). */
  overflowNicks: 20_000,
  /** Rooms read from a service's room list. */
  listedRooms: 2000,
  bodyChars: 65_536,
  subjectChars: 4096,
} as const;

/**
 * The room-info fields (XEP-0045 6.4, its muc#roominfo form) saying participants may change the
 * subject: the registered name, and the config field's name that Prosody reports there.
 */
const SUBJECT_FIELDS = ['muc#roominfo_subjectmod', 'muc#roomconfig_changesubject'] as const;

/** The first value of a field of the disco#info's muc#roominfo form (XEP-0128), if it has one. */
function roomInfoField(info: Element | undefined, name: string): string | null {
  const form = info?.getChildren('x').slice(0, 10).find((x) => x.attrs.xmlns === NS_DATA && x.getChildren('field').some((candidate) => candidate.attrs.var === 'FORM_TYPE' && candidate.getChildText('value') === NS_ROOMINFO));
  const found = form?.getChildren('field').slice(0, 200).find((candidate) => candidate.attrs.var === name);
  return found?.getChildText('value')?.trim() ?? null;
}

/** How many messages a join asks the room to replay (XEP-0045 7.2.15); the archive has the rest. */
const JOIN_HISTORY = 20;

export interface RoomMessage {
  /** The room's stanza-id (XEP-0359) where it gives one, else one made from the sender's id. */
  id: string;
  room: string;
  nick: string;
  direction: 'in' | 'out';
  body: string;
  timestamp: string;
  source: 'live' | 'history' | 'archive';
  /** A private message through the room (XEP-0045 7.5), to or from `nick`. */
  private: boolean;
  /** The sender's own id for the message (origin-id, else its id attribute). */
  senderId: string | null;
  /** The sender's real JID, where the room shows it. */
  senderJid: string | null;
}

export type RoomState = 'joining' | 'joined' | 'left';

export interface RoomStatus {
  jid: string;
  state: RoomState;
  /** Our nick in the room (the one asked for while joining). */
  nick: string;
  name: string | null;
  subject: string | null;
  subjectBy: string | null;
  /** Our own occupant entry while joined. */
  self: Occupant | null;
  /** The room's features from disco#info (muc_passwordprotected, muc_membersonly, urn:xmpp:mam:2...). */
  features: string[];
  /** The room was created by our join (XEP-0045 10.1, status 201) and waits for its configuration. */
  created: boolean;
  /** Participants, not only moderators, may change the subject (the room's disco#info form says so). */
  anyoneMaySetSubject: boolean;
  /** Why we are not in the room, in words (a refused join, a kick, the room destroyed), or null. */
  problem: string | null;
  /** The departure that ended our presence, when the room ended it. */
  departure: Departure['kind'] | null;
  /** Occupants the room has beyond what is kept (MUC_LIMITS.occupants). */
  overflow: number;
}

export interface Invitation {
  room: string;
  from: string;
  reason: string | null;
  password: string | null;
  /** XEP-0249 (from a person) or XEP-0045 7.8.2 (through the room). */
  kind: 'direct' | 'mediated';
}

export interface ListedRoom {
  jid: string;
  name: string | null;
}

export interface RoomEvents {
  room: RoomStatus;
  occupant: { room: string; nick: string; occupant: Occupant | null; departure: Departure | null };
  message: RoomMessage;
  /** The room echoed our message (XEP-0045 7.4): it was sent to everyone. */
  reflected: { room: string; id: string; stanzaId: string | null };
  bounced: { room: string; id: string; error: string };
  invitation: Invitation;
  /** An invitation is no longer held: answered, its room joined, or given way to newer ones. */
  invitationGone: { room: string };
}

export interface JoinOptions {
  password?: string | null;
  /**
   * False: a room that does not exist is not created by the join (its disco#info answers
   * item-not-found, XEP-0045 6.4); the join is refused in words. Default true (XEP-0045 10.1.1).
   */
  create?: boolean;
}

interface PendingJoin {
  resolve: (status: RoomStatus) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Room {
  jid: string;
  nick: string;
  password: string | null;
  state: RoomState;
  name: string | null;
  anyoneMaySetSubject: boolean;
  /** The join may create the room (JoinOptions.create). */
  create: boolean;
  /** We have been in the room in this client's run (a refusal keeps it listed, with the reason). */
  joinedOnce: boolean;
  subject: string | null;
  subjectBy: string | null;
  features: Set<string>;
  occupants: Map<string, Occupant>;
  created: boolean;
  problem: string | null;
  departure: Departure['kind'] | null;
  /** The user wants to be in the room: rejoined after a new session and after a self-ping fails. */
  wanted: boolean;
  pending: PendingJoin | null;
  /** The join in progress, which a second join with the same nick shares. */
  joining: Promise<RoomStatus> | null;
  /** A nick change waiting for the room's answer. */
  nickChange: { nick: string; resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout } | null;
  /** History messages taken in the current join. */
  historyTaken: number;
  /** When anything last came from the room (XEP-0410: a quiet room is pinged). */
  lastHeard: number;
  /** The self-ping in flight, which a second asker shares. */
  pinging: Promise<'joined' | 'gone' | 'unknown'> | null;
  /** Our messages awaiting the room's echo: id to body (at most MUC_LIMITS.sentIds). */
  inFlight: Map<string, string>;
  /** Ids of our recent messages, to know them again in the room's archive (at most MUC_LIMITS.sentIds). */
  sentIds: Set<string>;
  /** Nicks of occupants beyond MUC_LIMITS.occupants, counted, not kept. */
  overflowNicks: Set<string>;
  /** The latest archive id seen, for the catch-up after a rejoin (XEP-0313 `after`). */
  lastArchiveId: string | null;
}

export interface RoomsOptions {
  /** A joined room this quiet is self-pinged (XEP-0410); default five minutes. */
  selfPingIdleMs?: number;
  joinTimeoutMs?: number;
  /** A bare JID that is a person (the account's contacts): never taken for a room an invitation names. */
  isPerson?: (bareJid: string) => boolean;
}

export class MucError extends DnaError {}

function textOf(element: Element | undefined, name: string, max: number): string | null {
  const text = element?.getChildText(name);
  return text ? text.slice(0, max) : null;
}

/** XEP-0359: the id the room stamped, believed only from the room itself. */
function roomStanzaId(message: Element, room: string): string | null {
  return message.getChildren('stanza-id', NS_STANZA_ID).find((element) => element.attrs.by && bareJid(element.attrs.by) === room)?.attrs.id ?? null;
}

/**
 * A join history stamp (XEP-0203) to the second means "during that second", and the room sent it
 * after everything before it: its last millisecond, so that it sorts after the archive's precise
 * stamps of the same second (Prosody stamps history to the second, its archive to the millisecond).
 */
function historyTime(stamp: string): number {
  const time = Date.parse(stamp);
  return /T\d\d:\d\d:\d\d(Z|[+-])/.test(stamp) ? time + 999 : time;
}

/** The inviter of a mediated invitation: a real bare JID, or an occupant of the room (its nick kept), as semi-anonymous rooms give it. */
function inviterOf(jid: string, room: string): string {
  return bareJid(jid) === room && resourceOf(jid) !== '' ? `${room}/${resourceOf(jid).slice(0, MUC_TEXT_LIMITS.nick)}` : bareJid(jid);
}

/** Adds to an insertion-ordered set or map, dropping the oldest entry past `max`. */
function addBounded<K>(table: Set<K> | Map<K, string>, key: K, max: number, value = ''): void {
  if (table instanceof Map) table.set(key, value);
  else table.add(key);
  if (table.size > max) table.delete(table.keys().next().value as K);
}

/** A data form's field with values, for muc#owner and muc#admin requests (XEP-0004). */
const field = (name: string, ...values: string[]): Element => xml('field', { var: name }, ...values.map((value) => xml('value', {}, value)));

export class Rooms {
  readonly events = new Emitter<RoomEvents>();
  readonly #session: XmppSession;
  readonly #rooms = new Map<string, Room>();
  readonly #invitations = new Map<string, Invitation>();
  readonly #options: Required<RoomsOptions>;
  /** Invitations waiting for their room's disco#info (room JID to the stanza's sender). */
  readonly #checking = new Set<string>();
  readonly #caps: () => Element;
  #service: Promise<string | null> | null = null;
  /** Our availability and status, which every room we are in sees too (XEP-0045 7.7). */
  #own: OwnPresence = { show: 'online', status: '' };
  #pingTimer: NodeJS.Timeout | null = null;

  constructor(session: XmppSession, caps: () => Element, options: RoomsOptions = {}) {
    this.#session = session;
    this.#caps = caps;
    this.#options = { selfPingIdleMs: options.selfPingIdleMs ?? 300_000, joinTimeoutMs: options.joinTimeoutMs ?? 20_000, isPerson: options.isPerson ?? (() => false) };
    session.parts.middleware.use(async (context, next) => {
      const { stanza } = context;
      const from = stanza.attrs.from ?? '';
      const room = this.#rooms.get(bareJid(from));
      if (stanza.name === 'message' && this.#invitation(stanza)) return undefined;
      if (!room || (stanza.name !== 'message' && stanza.name !== 'presence')) return next();
      // Archive results and pubsub go to whoever asked for them.
      if (stanza.name === 'message' && stanza.getChild('result', NS_MAM)) return next();
      room.lastHeard = Date.now();
      if (stanza.name === 'presence') this.#onPresence(room, stanza);
      else this.#onMessage(room, stanza);
      return undefined;
    });
    // Stage 1, with initial presence: joining is a presence, and the rooms come after the roster. A
    // resumed stream (XEP-0198) is still in every room; a new one is in none, and rejoins those
    // the user is in without waiting for them to answer.
    session.onOnline((resumed) => {
      if (resumed) {
        for (const room of this.#rooms.values()) if (room.wanted && room.state === 'joining' && !room.joining) void this.#join(room).catch(() => undefined);
        return;
      }
      this.#service = null;
      for (const room of this.#rooms.values()) {
        this.#clearOccupants(room);
        if (room.wanted) void this.#join(room).catch(() => undefined);
        else if (room.state !== 'left') {
          room.state = 'left';
          this.#emitRoom(room);
        }
      }
    }, 1);
    session.events.on('state', ({ state }) => {
      // A lost stream answers no join: the joins in flight end, and start again once a stream is
      // online (a resumed stream is still in the rooms it had joined).
      if (state === 'reconnecting') {
        for (const room of this.#rooms.values()) this.#settleJoin(room, new MucError('NOT_CONNECTED', `${this.#session.jid} lost its connection while joining ${room.jid}.`));
        return;
      }
      // A stopped session will not resume: nobody is in any room now; the wanted ones wait for the next login.
      if (!['offline', 'refused', 'auth-failed', 'error'].includes(state)) return;
      for (const room of this.#rooms.values()) {
        if (room.state === 'left') continue;
        this.#settleJoin(room, new MucError('NOT_CONNECTED', `${this.#session.jid} is not connected.`));
        room.state = room.wanted ? 'joining' : 'left';
        this.#clearOccupants(room);
        this.#emitRoom(room);
      }
    });
    this.#schedulePings();
  }

  /** The account's room service (XEP-0045 6.1: disco#items of our domain, the conference/text identity). */
  service(): Promise<string | null> {
    this.#service ??= this.#findService().catch(() => null);
    return this.#service;
  }

  async #findService(): Promise<string | null> {
    const { iqCaller } = this.#session.parts;
    const domain = domainOf(this.#session.jid);
    const items = await iqCaller.get(xml('query', { xmlns: NS_DISCO_ITEMS }), domain, 10_000);
    const jids = (items?.getChildren('item') ?? []).map((item) => item.attrs.jid).filter((jid): jid is string => typeof jid === 'string' && !jid.includes('@')).slice(0, 50);
    const infos = await Promise.all(
      jids.map((jid) => iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), jid, 10_000).then((info) => ({ jid, info }), () => ({ jid, info: undefined }))),
    );
    const found = infos.find(({ info }) => info?.getChildren('identity').some((identity) => identity.attrs.category === 'conference' && identity.attrs.type === 'text')
      && info.getChildren('feature').some((feature) => feature.attrs.var === NS_MUC));
    return found ? bareJid(found.jid) : null;
  }

  /** The public rooms of a service (XEP-0045 6.3), at most MUC_LIMITS.listedRooms. */
  async list(service: string): Promise<ListedRoom[]> {
    const items = await this.#session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_ITEMS }), service, 15_000);
    return (items?.getChildren('item') ?? [])
      .filter((item) => typeof item.attrs.jid === 'string' && item.attrs.jid.includes('@'))
      .slice(0, MUC_LIMITS.listedRooms)
      .map((item) => ({ jid: bareJid(item.attrs.jid as string), name: item.attrs.name ? String(item.attrs.name).slice(0, 256) : null }));
  }

  status(jid: string): RoomStatus | null {
    const room = this.#rooms.get(bareJid(jid));
    return room ? this.#status(room) : null;
  }

  all(): RoomStatus[] {
    return [...this.#rooms.values()].map((room) => this.#status(room));
  }

  occupants(jid: string): Occupant[] {
    return [...(this.#rooms.get(bareJid(jid))?.occupants.values() ?? [])].map((occupant) => ({ ...occupant }));
  }

  invitations(): Invitation[] {
    return [...this.#invitations.values()].map((invitation) => ({ ...invitation }));
  }

  /**
   * Joins a room (creating it when it does not exist: the status says `created`); resolves when the
   * room has sent our own presence, rejects with MucError and the refusal in words. Offline, the
   * room is remembered and joined at the next login.
   */
  join(jid: string, nick: string, options: JoinOptions = {}): Promise<RoomStatus> {
    const create = options.create ?? true;
    const key = bareJid(jid);
    let room = this.#rooms.get(key);
    if (!room) {
      if (this.#rooms.size >= MUC_LIMITS.rooms && !this.#forgetOneLeftRoom()) {
        return Promise.reject(new MucError('MUC_TOO_MANY_ROOMS', `You are in ${MUC_LIMITS.rooms} rooms already; leave one to join ${key}.`));
      }
      room = {
        jid: key, nick, password: options.password ?? null, state: 'left', name: null, subject: null, subjectBy: null, features: new Set(), occupants: new Map(),
        overflowNicks: new Set(), created: false, anyoneMaySetSubject: false, create: true, joinedOnce: false, problem: null, departure: null, wanted: true, pending: null, joining: null, nickChange: null, historyTaken: 0,
        lastHeard: Date.now(), pinging: null, inFlight: new Map(), sentIds: new Set(), lastArchiveId: null,
      };
      this.#rooms.set(key, room);
    } else {
      if (room.state === 'joined' && room.nick === nick) return Promise.resolve(this.#status(room));
      const samePassword = options.password === undefined || (options.password ?? null) === room.password;
      if (room.joining && room.nick === nick && samePassword && room.create === create) return room.joining;
      room.nick = nick;
      if (options.password !== undefined) room.password = options.password;
    }
    room.wanted = true;
    room.create = create;
    if (!this.#session.isOnline) {
      room.state = 'joining';
      this.#emitRoom(room);
      return Promise.resolve(this.#status(room));
    }
    return this.#join(room);
  }

  /** A room we are no longer in (kicked, refused, destroyed) gives its place to a new one; false when every room is in use. */
  #forgetOneLeftRoom(): boolean {
    for (const room of this.#rooms.values()) {
      if (room.state === 'left' && !room.wanted && !room.joining) {
        this.#rooms.delete(room.jid);
        return true;
      }
    }
    return false;
  }

  #join(room: Room): Promise<RoomStatus> {
    const joining = this.#joinOnce(room).finally(() => {
      if (room.joining === joining) room.joining = null;
    });
    room.joining = joining;
    return joining;
  }

  async #joinOnce(room: Room): Promise<RoomStatus> {
    room.state = 'joining';
    room.problem = null;
    room.departure = null;
    room.created = false;
    room.historyTaken = 0;
    room.inFlight.clear();
    this.#clearOccupants(room);
    this.#emitRoom(room);
    const exists = await this.#discover(room);
    // Left, or offline, while the room answered disco#info: the join presence is not sent.
    if (this.#rooms.get(room.jid) !== room || !room.wanted || !this.#session.isOnline) {
      throw new MucError('MUC_LEFT', `The join of ${room.jid} was cancelled.`);
    }
    if (!exists && !room.create) {
      // Never in it: nothing to keep (a room we were in before keeps its place, refused).
      room.wanted = false;
      room.state = 'left';
      room.problem = `There is no room at ${room.jid}. Check the address, or create the room from the Create tab.`;
      if (room.joinedOnce) this.#emitRoom(room);
      else this.#rooms.delete(room.jid);
      throw new MucError('MUC_NO_SUCH_ROOM', room.problem);
    }
    const archived = room.features.has(NS_MAM);
    // With an archive, a rejoin takes the room's history from it (after the last id we saw); a first
    // join shows the latest few at once and the archive fills in behind them.
    const history = xml('history', { maxstanzas: String(archived && room.lastArchiveId ? 0 : JOIN_HISTORY) });
    const joined = new Promise<RoomStatus>((resolve, reject) => {
      this.#settleJoin(room, new MucError('MUC_JOIN_REPLACED', `A new join of ${room.jid} replaced this one.`));
      const timer = setTimeout(() => this.#joinTimedOut(room), this.#options.joinTimeoutMs);
      room.pending = { resolve, reject, timer };
    });
    const x = xml('x', { xmlns: NS_MUC }, history, room.password ? xml('password', {}, room.password) : null);
    const presence = presenceStanza(this.#own, { to: `${room.jid}/${room.nick}` }, this.#caps(), x);
    await this.#session.send(presence).catch((error: unknown) => this.#settleJoin(room, error as Error));
    const status = await joined;
    if (archived && room.lastArchiveId) void this.catchUp(room.jid).catch(() => undefined);
    return status;
  }

  /**
   * disco#info on the room (XEP-0045 6.4): its name and features; a room that does not exist yet has
   * none. False only when the service says there is no such room (item-not-found).
   */
  async #discover(room: Room): Promise<boolean> {
    try {
      const info = await this.#session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), room.jid, 10_000);
      room.features = new Set((info?.getChildren('feature') ?? []).map((feature) => String(feature.attrs.var ?? '')).filter((name) => name !== '').slice(0, 100));
      const identity = info?.getChildren('identity').find((candidate) => candidate.attrs.category === 'conference');
      room.name = identity?.attrs.name ? String(identity.attrs.name).slice(0, 256) : room.name;
      room.anyoneMaySetSubject = SUBJECT_FIELDS.some((name) => ['1', 'true'].includes(roomInfoField(info, name) ?? ''));
      return true;
    } catch (error) {
      room.features = new Set();
      room.anyoneMaySetSubject = false;
      return (error as { condition?: string }).condition !== 'item-not-found';
    }
  }

  /** No answer to the join: not in the room, and it says so; the next session tries again. */
  #joinTimedOut(room: Room): void {
    room.state = 'left';
    room.problem = `${room.jid} did not answer the join within ${Math.round(this.#options.joinTimeoutMs / 1000)} s; it will be tried again at the next connection.`;
    this.#emitRoom(room);
    this.#settleJoin(room, new MucError('MUC_JOIN_TIMEOUT', room.problem));
  }

  #settleJoin(room: Room, outcome: Error | RoomStatus): void {
    const pending = room.pending;
    if (!pending) return;
    room.pending = null;
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** Leaves the room (XEP-0045 7.14) and forgets it. */
  async leave(jid: string): Promise<void> {
    const room = this.#rooms.get(bareJid(jid));
    if (!room) return;
    room.wanted = false;
    // In the room, or our join presence is out: the room hears we left. Still at disco#info: nothing was sent.
    const present = room.state === 'joined' || room.pending !== null;
    this.#settleJoin(room, new MucError('MUC_LEFT', `You left ${room.jid}.`));
    this.#rooms.delete(room.jid);
    if (present && this.#session.isOnline) await this.#session.send(xml('presence', { to: `${room.jid}/${room.nick}`, type: 'unavailable' })).catch(() => undefined);
    room.state = 'left';
    room.problem = null;
    this.#emitRoom(room);
  }

  /** Changes our nick (XEP-0045 7.6); rejects with MUC_NICK_CONFLICT when someone has it. */
  setNick(jid: string, nick: string): Promise<void> {
    const room = this.#joined(jid);
    if (nick === room.nick) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      room.nickChange?.reject(new MucError('MUC_NICK_REPLACED', 'Another nick change replaced this one.'));
      const timer = setTimeout(() => {
        room.nickChange = null;
        reject(new MucError('MUC_TIMEOUT', `${room.jid} did not answer the nick change.`));
      }, this.#options.joinTimeoutMs);
      room.nickChange = { nick, resolve, reject, timer };
      this.#session.send(presenceStanza(this.#own, { to: `${room.jid}/${nick}` }, this.#caps())).catch((error: unknown) => {
        clearTimeout(timer);
        room.nickChange = null;
        reject(error as Error);
      });
    });
  }

  /** Our availability changed: every room we are in is told (XEP-0045 7.7), and later joins carry it. */
  async setPresence(own: OwnPresence): Promise<void> {
    this.#own = { ...own };
    if (!this.#session.isOnline) return;
    const joined = [...this.#rooms.values()].filter((room) => room.state === 'joined');
    await Promise.all(joined.map((room) => this.#session.send(presenceStanza(this.#own, { to: `${room.jid}/${room.nick}` }, this.#caps())).catch(() => undefined)));
  }

  /** Sends to everyone in the room; the room's echo marks it sent (`reflected`). */
  async send(jid: string, body: string): Promise<string> {
    const room = this.#joined(jid);
    const id = randomUUID();
    addBounded(room.inFlight, id, MUC_LIMITS.sentIds, body);
    addBounded(room.sentIds, id, MUC_LIMITS.sentIds);
    await this.#session.send(xml('message', { to: room.jid, type: 'groupchat', id }, xml('body', {}, body), xml('origin-id', { xmlns: NS_STANZA_ID, id })));
    return id;
  }

  /** A private message to one occupant through the room (XEP-0045 7.5). */
  async sendPrivate(jid: string, nick: string, body: string): Promise<RoomMessage> {
    const room = this.#joined(jid);
    if (!room.occupants.has(nick)) throw new MucError('MUC_NO_OCCUPANT', `${nick} is not in ${room.jid} now.`);
    const id = randomUUID();
    await this.#session.send(
      xml('message', { to: `${room.jid}/${nick}`, type: 'chat', id }, xml('body', {}, body), xml('x', { xmlns: NS_MUC_USER }), xml('origin-id', { xmlns: NS_STANZA_ID, id })),
    );
    return { id, room: room.jid, nick, direction: 'out', body, timestamp: new Date().toISOString(), source: 'live', private: true, senderId: id, senderJid: null };
  }

  /** Changes the subject (XEP-0045 8.1); the room answers with the new subject, or an error. */
  async setSubject(jid: string, subject: string): Promise<void> {
    const room = this.#joined(jid);
    await this.#session.send(xml('message', { to: room.jid, type: 'groupchat', id: randomUUID() }, xml('subject', {}, subject)));
  }

  /** Accepts the default configuration of a room we just created (XEP-0045 10.1.2, an instant room). */
  async createInstant(jid: string): Promise<void> {
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: NS_DATA, type: 'submit' })), bareJid(jid), 15_000);
    this.#unlocked(bareJid(jid));
  }

  /**
   * Configures a room we own (XEP-0045 10.2): the fields the user set, each only if the room's form
   * has it; the rest of the form keeps the room's values.
   */
  async configure(jid: string, settings: { name?: string; membersOnly?: boolean; persistent?: boolean; public?: boolean; password?: string | null; anyoneMaySetSubject?: boolean }): Promise<void> {
    const room = bareJid(jid);
    const { iqCaller } = this.#session.parts;
    const form = (await iqCaller.get(xml('query', { xmlns: NS_MUC_OWNER }), room, 15_000))?.getChild('x', NS_DATA);
    const offered = new Set((form?.getChildren('field') ?? []).map((candidate) => candidate.attrs.var));
    const wanted: Array<[string, string]> = [];
    if (settings.name !== undefined) wanted.push(['muc#roomconfig_roomname', settings.name]);
    if (settings.membersOnly !== undefined) wanted.push(['muc#roomconfig_membersonly', settings.membersOnly ? '1' : '0']);
    if (settings.persistent !== undefined) wanted.push(['muc#roomconfig_persistentroom', settings.persistent ? '1' : '0']);
    if (settings.public !== undefined) wanted.push(['muc#roomconfig_publicroom', settings.public ? '1' : '0']);
    if (settings.anyoneMaySetSubject !== undefined) wanted.push(['muc#roomconfig_changesubject', settings.anyoneMaySetSubject ? '1' : '0']);
    if (settings.password !== undefined) {
      wanted.push(['muc#roomconfig_passwordprotectedroom', settings.password ? '1' : '0'], ['muc#roomconfig_roomsecret', settings.password ?? '']);
    }
    const fields = wanted.filter(([name]) => offered.has(name)).map(([name, value]) => field(name, value));
    await iqCaller.set(xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', NS_ROOMCONFIG), ...fields)), room, 15_000);
    const known = this.#rooms.get(room);
    if (known && settings.password !== undefined) known.password = settings.password;
    this.#unlocked(room);
  }

  /** Destroys a room we own (XEP-0045 10.9). */
  async destroy(jid: string, reason: string | null): Promise<void> {
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_MUC_OWNER }, xml('destroy', {}, reason ? xml('reason', {}, reason) : null)), bareJid(jid), 15_000);
  }

  /** Kick (role none), voice (participant), no voice (visitor), moderator (XEP-0045 8.2 to 8.6, 9.6). */
  async setRole(jid: string, nick: string, role: Role, reason: string | null = null): Promise<void> {
    const item = xml('item', { nick, role }, reason ? xml('reason', {}, reason) : null);
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_MUC_ADMIN }, item), bareJid(jid), 15_000);
  }

  /** Ban (outcast), membership (member), admin, owner, or none (XEP-0045 9.1 to 9.5, 10.3 to 10.8). */
  async setAffiliation(jid: string, who: string, affiliation: Affiliation, reason: string | null = null): Promise<void> {
    const item = xml('item', { jid: bareJid(who), affiliation }, reason ? xml('reason', {}, reason) : null);
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_MUC_ADMIN }, item), bareJid(jid), 15_000);
  }

  /** Invites someone: through the room (XEP-0045 7.8.2) or directly (XEP-0249). */
  async invite(jid: string, who: string, reason: string | null, kind: 'mediated' | 'direct' = 'mediated'): Promise<void> {
    const room = this.#joined(jid);
    const to = bareJid(who);
    if (kind === 'direct') {
      const attrs = { xmlns: NS_CONFERENCE, jid: room.jid, ...(reason ? { reason } : {}), ...(room.password ? { password: room.password } : {}) };
      await this.#session.send(xml('message', { to, id: randomUUID() }, xml('x', attrs)));
      return;
    }
    const invite = xml('invite', { to }, reason ? xml('reason', {}, reason) : null);
    await this.#session.send(xml('message', { to: room.jid, id: randomUUID() }, xml('x', { xmlns: NS_MUC_USER }, invite)));
  }

  /**
   * Accepting joins the room with the invitation's password (a refused join keeps the invitation,
   * to try again with another nick); declining tells the inviter (mediated only).
   */
  async answerInvitation(roomJid: string, accept: boolean, nick: string): Promise<RoomStatus | null> {
    const key = bareJid(roomJid);
    const invitation = this.#invitations.get(key);
    if (!invitation) throw new MucError('MUC_NO_INVITATION', `There is no invitation to ${key}.`);
    if (accept) {
      const status = await this.join(key, nick, { password: invitation.password });
      this.#dropInvitation(key);
      return status;
    }
    this.#dropInvitation(key);
    if (invitation.kind === 'mediated' && this.#session.isOnline) {
      await this.#session.send(xml('message', { to: key, id: randomUUID() }, xml('x', { xmlns: NS_MUC_USER }, xml('decline', { to: invitation.from }))));
    }
    return null;
  }

  /**
   * One page of the room's archive (XEP-0313 on the room): before an archive id (null: the latest),
   * or `after` one, oldest first.
   */
  async page(jid: string, paging: { before: string | null } | { after: string }, max: number): Promise<{ messages: RoomMessage[]; window: ArchiveWindow }> {
    const room = this.#rooms.get(bareJid(jid));
    if (!room) throw new MucError('MUC_NOT_JOINED', `You are not in ${bareJid(jid)}.`);
    const messages: RoomMessage[] = [];
    const window = await queryArchive(this.#session, { archive: room.jid, max, ...paging }, (stanza, queryId) => {
      const message = this.#archived(room, stanza, queryId);
      if (message) messages.push(message);
    });
    // The newest page (the latest, or one after an id) moves the catch-up point; older pages do not.
    const newest = 'after' in paging || paging.before === null ? (window.last ?? messages.at(-1)?.id) : undefined;
    if (newest) room.lastArchiveId = newest;
    return { messages, window };
  }

  /** After a rejoin: everything since the last archive id seen, page by page (at most ten pages). */
  async catchUp(jid: string): Promise<void> {
    const room = this.#rooms.get(bareJid(jid));
    for (let pages = 0; room?.lastArchiveId && pages < 10; pages += 1) {
      const { messages, window } = await this.page(room.jid, { after: room.lastArchiveId }, 100);
      for (const message of messages) this.events.emit('message', message);
      if (window.complete || messages.length === 0) return;
    }
  }

  /** XEP-0410: asks the room whether we are still in it; rejoins when we are not. */
  async selfPing(jid: string): Promise<'joined' | 'rejoined' | 'unknown'> {
    const room = this.#rooms.get(bareJid(jid));
    if (!room || room.state !== 'joined') return 'unknown';
    room.pinging ??= this.#ping(room).finally(() => {
      room.pinging = null;
    });
    const verdict = await room.pinging;
    if (verdict !== 'gone') return verdict;
    // Whoever asked first starts the rejoin; a second asker shares it.
    if (this.#rooms.get(room.jid) === room && room.wanted) await (room.joining ?? this.#join(room));
    return 'rejoined';
  }

  async #ping(room: Room): Promise<'joined' | 'gone' | 'unknown'> {
    const ping = xml('iq', { type: 'get', to: `${room.jid}/${room.nick}`, id: randomUUID() }, xml('ping', { xmlns: NS_PING }));
    const verdict = await this.#session.parts.iqCaller.request(ping, 30_000).then(
      () => 'joined' as const,
      (error: unknown) => {
        const condition = (error as { condition?: string }).condition;
        // XEP-0410 3.2: these mean the room forwarded the ping, so we are in it.
        if (condition === 'service-unavailable' || condition === 'feature-not-implemented') return 'joined' as const;
        // The room's server is unreachable, or the answer never came: ask again later.
        if (condition === undefined || condition === 'remote-server-not-found' || condition === 'remote-server-timeout') return 'unknown' as const;
        return 'gone' as const;
      },
    );
    room.lastHeard = Date.now();
    return verdict;
  }

  #schedulePings(): void {
    const every = Math.max(250, Math.min(30_000, this.#options.selfPingIdleMs / 4));
    this.#pingTimer = setInterval(() => {
      if (!this.#session.isOnline) return;
      const quietSince = Date.now() - this.#options.selfPingIdleMs;
      for (const room of this.#rooms.values()) {
        if (room.state === 'joined' && room.lastHeard < quietSince) void this.selfPing(room.jid).catch(() => undefined);
      }
    }, every);
    this.#pingTimer.unref();
  }

  /**
   * Takes over from the Rooms of a replaced session: the rooms the user is in, with their nicks and
   * passwords, are joined (now or at login), and the invitations not yet answered stay.
   */
  adopt(previous: Rooms): void {
    for (const invitation of previous.#invitations.values()) this.#keepInvitation({ ...invitation });
    for (const room of previous.#rooms.values()) {
      if (room.wanted) void this.join(room.jid, room.nick, { password: room.password }).catch(() => undefined);
    }
  }

  /** No more timers (the session is being dropped). */
  close(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #joined(jid: string): Room {
    const room = this.#rooms.get(bareJid(jid));
    if (!room || room.state !== 'joined' || !this.#session.isOnline) throw new MucError('MUC_NOT_JOINED', `You are not in ${bareJid(jid)} now; join it first.`);
    return room;
  }

  #unlocked(jid: string): void {
    const room = this.#rooms.get(jid);
    if (!room?.created) return;
    room.created = false;
    this.#emitRoom(room);
  }

  #clearOccupants(room: Room): void {
    for (const nick of room.occupants.keys()) this.events.emit('occupant', { room: room.jid, nick, occupant: null, departure: null });
    room.occupants.clear();
    room.overflowNicks.clear();
  }

  #onPresence(room: Room, stanza: Element): void {
    const parsed = parseRoomPresence(stanza);
    if (!parsed) return;
    if (parsed.kind === 'error') {
      // A nick change refused: we keep the old nick, still in the room.
      if (room.nickChange && parsed.nick === room.nickChange.nick) {
        const change = room.nickChange;
        room.nickChange = null;
        clearTimeout(change.timer);
        const words = joinErrorWords(room.jid, parsed.condition, parsed.text);
        change.reject(new MucError(parsed.condition === 'conflict' ? 'MUC_NICK_CONFLICT' : 'MUC_NICK_REFUSED', words));
        return;
      }
      if (room.state !== 'joining') return;
      room.state = 'left';
      room.wanted = parsed.condition === 'remote-server-not-found' || parsed.condition === 'remote-server-timeout';
      room.problem = joinErrorWords(room.jid, parsed.condition, parsed.text);
      this.#emitRoom(room);
      this.#settleJoin(room, new MucError(`MUC_${parsed.condition.toUpperCase().replaceAll('-', '_')}`, room.problem));
      return;
    }
    const { occupant } = parsed;
    const self = parsed.self || (room.state === 'joining' && occupant.nick === room.nick && parsed.kind === 'available' && parsed.codes.has(110));
    if (parsed.kind === 'available') {
      // Our own entry is always kept, however full the table.
      if (!self && !room.occupants.has(occupant.nick) && room.occupants.size >= MUC_LIMITS.occupants) {
        if (room.overflowNicks.size < MUC_LIMITS.overflowNicks) room.overflowNicks.add(occupant.nick);
      } else {
        room.occupants.set(occupant.nick, occupant);
        this.events.emit('occupant', { room: room.jid, nick: occupant.nick, occupant: { ...occupant }, departure: null });
      }
      if (self) this.#selfAvailable(room, occupant, parsed.codes);
      return;
    }
    // Our leave's echo, late, after we asked to join again: a room answers a join with our presence
    // or an error, never a plain unavailable (XEP-0045 7.2, 7.14), so it ends the old presence only.
    if (parsed.self && room.state === 'joining' && parsed.departure.kind === 'left') return;
    if (room.occupants.delete(occupant.nick)) this.events.emit('occupant', { room: room.jid, nick: occupant.nick, occupant: null, departure: parsed.departure });
    else room.overflowNicks.delete(occupant.nick);
    if (!parsed.self) return;
    if (parsed.departure.kind === 'nick-changed') {
      // The room sends our presence under the new nick next (XEP-0045 7.6), which may be one it
      // adjusted from the one we asked for (status 210).
      room.nick = parsed.departure.newNick;
      if (room.nickChange) room.nickChange.nick = room.nick;
      return;
    }
    this.#selfGone(room, parsed.departure);
  }

  #selfAvailable(room: Room, occupant: Occupant, codes: ReadonlySet<number>): void {
    room.nick = occupant.nick;
    if (room.nickChange && room.nickChange.nick === occupant.nick) {
      clearTimeout(room.nickChange.timer);
      room.nickChange.resolve();
      room.nickChange = null;
    }
    const joining = room.state === 'joining';
    room.state = 'joined';
    room.joinedOnce = true;
    if (codes.has(201)) room.created = true;
    this.#emitRoom(room);
    // In the room by whatever way: an invitation to it has nothing left to offer.
    this.#dropInvitation(room.jid);
    if (joining) this.#settleJoin(room, this.#status(room));
  }

  #selfGone(room: Room, departure: Departure): void {
    // Kicked or shut down: one may join again; banned, destroyed, no longer a member: not by itself.
    room.wanted = departure.kind === 'shutdown';
    room.state = 'left';
    room.problem = departure.kind === 'left' ? null : departureWords(room.jid, departure);
    room.departure = departure.kind;
    this.#clearOccupants(room);
    this.#emitRoom(room);
    this.#settleJoin(room, new MucError('MUC_LEFT', room.problem ?? `You left ${room.jid}.`));
  }

  #onMessage(room: Room, stanza: Element): void {
    const type = stanza.attrs.type ?? 'normal';
    const from = stanza.attrs.from ?? '';
    const nick = resourceOf(from).slice(0, MUC_TEXT_LIMITS.nick);
    if (type === 'error') {
      const id = stanza.attrs.id;
      const { condition, text } = stanzaErrorOf(stanza);
      if (id && room.inFlight.delete(id)) this.events.emit('bounced', { room: room.jid, id, error: text ? `${condition}: ${text}` : condition });
      // XEP-0410 3.1: the room refuses our message because we are not in it: find out, and rejoin.
      if (condition === 'not-acceptable' && room.state === 'joined') void this.selfPing(room.jid).catch(() => undefined);
      return;
    }
    const subject = stanza.getChild('subject');
    if (type === 'groupchat' && subject && stanza.getChild('body') === undefined) {
      // XEP-0045 8.1: a subject message without a body; an empty subject clears it.
      room.subject = subject.text().slice(0, MUC_LIMITS.subjectChars) || null;
      room.subjectBy = nick || null;
      this.#emitRoom(room);
      return;
    }
    const body = stanza.getChildText('body');
    if (!body) return;
    const isPrivate = type === 'chat' || type === 'normal';
    // A private message comes from an occupant; one from the room itself is the room speaking.
    if (isPrivate && nick === '') return;
    const delay = stanza.getChildren('delay', NS_DELAY).find((candidate) => bareJid(candidate.attrs.from ?? '') === room.jid);
    const historic = type === 'groupchat' && delay !== undefined;
    if (historic && ++room.historyTaken > MUC_LIMITS.joinHistory) return;
    const senderId = stanza.getChild('origin-id', NS_STANZA_ID)?.attrs.id ?? stanza.attrs.id ?? null;
    const stanzaId = type === 'groupchat' ? roomStanzaId(stanza, room.jid) : null;
    // Our echo: the id we sent, from our nick, with what we wrote (another occupant cannot claim it by copying the id).
    const ours = type === 'groupchat' && senderId !== null && nick === room.nick && room.inFlight.get(senderId) === body && room.inFlight.delete(senderId);
    if (ours) this.events.emit('reflected', { room: room.jid, id: senderId, stanzaId });
    if (stanzaId && !historic) room.lastArchiveId = stanzaId;
    const stamp = delay?.attrs.stamp && !Number.isNaN(Date.parse(delay.attrs.stamp)) ? new Date(Math.min(historyTime(delay.attrs.stamp), Date.now())).toISOString() : new Date().toISOString();
    this.events.emit('message', {
      id: ours ? senderId : (stanzaId ?? (senderId ? `${nick}/${senderId}` : randomUUID())),
      room: room.jid,
      nick,
      direction: ours ? 'out' : 'in',
      body: body.slice(0, MUC_LIMITS.bodyChars),
      timestamp: stamp,
      source: historic ? 'history' : 'live',
      private: isPrivate,
      senderId,
      senderJid: stanza.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid ?? null,
    });
  }

  /**
   * An archived message is ours when it carries an id we sent, or when it came from our nick and
   * the room names our JID as its sender; a sender's own <x/> naming our JID under another nick is not enough.
   */
  #ownArchived(room: Room, nick: string, senderId: string | null, senderJid: string | null): boolean {
    if (nick !== room.nick) return false;
    return (senderId !== null && room.sentIds.has(senderId)) || (senderJid !== null && isOwnBareJid(bareJid(senderJid), this.#session.jid));
  }

  /** One archived message of the room (XEP-0313 4.1.2: results come from the room's bare JID). */
  #archived(room: Room, stanza: Element, queryId: string): RoomMessage | null {
    const result = stanza.getChild('result', NS_MAM);
    if (!result || result.attrs.queryid !== queryId || !result.attrs.id || bareJid(stanza.attrs.from ?? '') !== room.jid || resourceOf(stanza.attrs.from ?? '') !== '') return null;
    const forwarded = result.getChild('forwarded', NS_FORWARD);
    const inner = forwarded?.getChild('message');
    const body = inner?.getChildText('body');
    if (!forwarded || !inner || !body || (inner.attrs.type ?? 'groupchat') !== 'groupchat') return null;
    const stamp = forwarded.getChild('delay', NS_DELAY)?.attrs.stamp;
    const senderJid = inner.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid ?? null;
    const senderId = inner.getChild('origin-id', NS_STANZA_ID)?.attrs.id ?? inner.attrs.id ?? null;
    const nick = resourceOf(inner.attrs.from ?? '').slice(0, MUC_TEXT_LIMITS.nick);
    return {
      id: String(result.attrs.id),
      room: room.jid,
      nick,
      direction: this.#ownArchived(room, nick, senderId, senderJid) ? 'out' : 'in',
      body: body.slice(0, MUC_LIMITS.bodyChars),
      timestamp: stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(Math.min(Date.parse(stamp), Date.now())).toISOString() : new Date().toISOString(),
      source: 'archive',
      private: false,
      senderId,
      senderJid,
    };
  }

  /**
   * A direct (XEP-0249) or mediated (XEP-0045 7.8.2) invitation; true when the stanza was one (and
   * is taken here). It is shown only once the room it names answers disco#info as a room: nobody
   * can have us send our presence to a person, or a mediated invitation speak for an inviter from
   * anywhere but a real room.
   */
  #invitation(stanza: Element): boolean {
    const from = stanza.attrs.from ?? '';
    const type = stanza.attrs.type ?? 'normal';
    const direct = stanza.getChild('x', NS_CONFERENCE);
    const mediated = stanza.getChild('x', NS_MUC_USER)?.getChild('invite');
    // Invitations come in normal or chat messages, never in a room's groupchat or an error.
    if (type === 'error' || type === 'groupchat' || (!direct?.attrs.jid && !mediated)) return false;
    const sender = bareJid(from);
    // An occupant, through a room we are in, invites no one: its private messages are the room's.
    if (this.#rooms.has(sender) && (resourceOf(from) !== '' || !mediated)) return true;
    // A mediated invitation comes from the room's own bare JID; servers add a jabber:x:conference
    // element to it for older clients, which does not make it direct.
    if (mediated && resourceOf(from) !== '') return true;
    const invitation: Invitation = mediated
      ? { room: sender, from: inviterOf(mediated.attrs.from ?? from, sender), reason: textOf(mediated, 'reason', MUC_TEXT_LIMITS.reason), password: textOf(stanza.getChild('x', NS_MUC_USER), 'password', 1024), kind: 'mediated' }
      : { room: bareJid(String(direct!.attrs.jid)), from: sender, reason: direct!.attrs.reason ? String(direct!.attrs.reason).slice(0, MUC_TEXT_LIMITS.reason) : null, password: direct!.attrs.password ? String(direct!.attrs.password).slice(0, 1024) : null, kind: 'direct' };
    const { room } = invitation;
    if (!room.includes('@') || isOwnBareJid(room, this.#session.jid) || this.#options.isPerson(room)) return true;
    if (this.#rooms.get(room)?.state === 'joined' || this.#checking.has(room) || this.#checking.size >= MUC_LIMITS.invitationChecks) return true;
    this.#checking.add(room);
    void this.#isRoom(room)
      .then((isRoom) => {
        if (isRoom && this.#rooms.get(room)?.state !== 'joined') this.#keepInvitation(invitation);
      })
      .finally(() => this.#checking.delete(room));
    return true;
  }

  /** disco#info (XEP-0045 6.4): the JID is a room of a conference service. */
  async #isRoom(jid: string): Promise<boolean> {
    const info = await this.#session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), jid, 10_000).catch(() => undefined);
    return (info?.getChildren('identity') ?? []).some((identity) => identity.attrs.category === 'conference')
      && (info?.getChildren('feature') ?? []).some((feature) => feature.attrs.var === NS_MUC);
  }

  /**
   * One invitation per room: a repeat from the same inviter refreshes it, another inviter's does
   * not replace it (nor its password); past the limit the oldest gives way.
   */
  #keepInvitation(invitation: Invitation): void {
    const held = this.#invitations.get(invitation.room);
    if (held && held.from !== invitation.from) return;
    this.#invitations.delete(invitation.room);
    this.#invitations.set(invitation.room, invitation);
    if (this.#invitations.size > MUC_LIMITS.invitations) this.#dropInvitation(this.#invitations.keys().next().value as string);
    this.events.emit('invitation', { ...invitation });
  }

  #dropInvitation(room: string): void {
    if (this.#invitations.delete(room)) this.events.emit('invitationGone', { room });
  }

  #status(room: Room): RoomStatus {
    const self = room.occupants.get(room.nick);
    return {
      jid: room.jid, state: room.state, nick: room.nick, name: room.name, subject: room.subject, subjectBy: room.subjectBy, self: room.state === 'joined' && self ? { ...self } : null,
      features: [...room.features], created: room.created, anyoneMaySetSubject: room.anyoneMaySetSubject, problem: room.problem, departure: room.departure, overflow: room.overflowNicks.size,
    };
  }

  #emitRoom(room: Room): void {
    this.events.emit('room', this.#status(room));
  }
}
