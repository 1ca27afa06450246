// The group chats of one account (rooms.ts in the session, bookmarks beside them), kept for
// snapshots, unread and mention counts, and history (the room's own archive), and turned into
// contract events. Rooms in the bookmarks that are not joined are listed too. Like AccountChat it
// outlives each session. Occupant changes travel gathered, so a room of thousands joining is a
// handful of events.
import { normalizeDomain } from '../verify/domain.ts';
import { DnaError, messageOf } from '../verify/errors.ts';
import type { Bookmark } from '../xmpp/bookmarks.ts';
import type { ChatFeatures } from '../xmpp/chat-client.ts';
import { checkDelegation } from '../xmpp/check.ts';
import { domainOf, localOf } from '../xmpp/jid.ts';
import { NS_MAM } from '../xmpp/messages.ts';
import type { Invitation, RoomMessage, RoomStatus } from '../xmpp/muc.ts';
import { Conversation } from './conversation.ts';
import type { Emit } from './events.ts';
import { ROOM_LIMITS, type ChatMessage, type ListedRoom, type RoomInvitation, type RoomOccupant, type RoomSummary, type RoomTrust } from './model.ts';
import { CallError } from './wire.ts';

/** How long occupant changes are gathered before they travel to the UI (as contacts are). */
export const OCCUPANT_CHANGES_MS = 50;
/** How long a room server's proof is reused when no POSH material sets its lifetime. */
const TRUST_REUSE_MS = 3_600_000;
/** Archive queries one history call may make when the server's pages are smaller than asked. */
const ARCHIVE_PAGES_PER_CALL = 4;

/** What the rooms need of their account. */
export interface RoomsOwner {
  readonly id: string;
  readonly jid: string;
  /** The account's resolver (IP[:PORT]) and extra anchors, for the room servers' checks (default: the system's). */
  checkOptions?(): { dns: string | undefined; extraAnchorsPem: string[]; maxPoshLifetimeSeconds: number };
}

/** Whether `text` names `nick` as a word of its own (a mention), case-insensitively. */
export function mentions(text: string, nick: string): boolean {
  if (nick.trim() === '') return false;
  const haystack = text.toLocaleLowerCase();
  const needle = nick.toLocaleLowerCase();
  const isWord = (character: string | undefined) => character !== undefined && /[\p{L}\p{N}_]/u.test(character);
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    if (!isWord(haystack[at - 1]) && !isWord(haystack[at + needle.length])) return true;
  }
  return false;
}

/** The second a message was sent and what it said: one message in a room's join history and in its archive alike. */
const contentKey = (message: RoomMessage): string => `${message.nick}\n${message.timestamp.slice(0, 19)}\n${message.body}`;

export class AccountRooms {
  readonly #owner: RoomsOwner;
  readonly #emit: Emit;
  #features: ChatFeatures | null = null;
  readonly #status = new Map<string, RoomStatus>();
  readonly #bookmarks = new Map<string, Bookmark>();
  readonly #conversations = new Map<string, Conversation>();
  readonly #occupants = new Map<string, Map<string, RoomOccupant>>();
  readonly #trust = new Map<string, RoomTrust>();
  /** Occupant changes per room since the last event, sent after OCCUPANT_CHANGES_MS. */
  readonly #changed = new Map<string, Set<string>>();
  #flush: ReturnType<typeof setTimeout> | null = null;
  /** Archive paging per room: where the next older page starts, and whether there is none. */
  readonly #archive = new Map<string, { first: string | null; complete: boolean }>();

  constructor(owner: RoomsOwner, emit: Emit) {
    this.#owner = owner;
    this.#emit = emit;
  }

  attach(features: ChatFeatures): void {
    // The rooms (with their passwords) and invitations of a replaced session pass to the new one.
    const previous = this.#features?.rooms;
    previous?.close();
    this.#features = features;
    const { rooms, bookmarks } = features;
    rooms.events.on('room', (status) => {
      this.#status.set(status.jid, status);
      this.#emitRoom(status.jid);
    });
    rooms.events.on('occupant', ({ room, nick, occupant }) => {
      let table = this.#occupants.get(room);
      if (!table) this.#occupants.set(room, (table = new Map()));
      if (occupant) table.set(nick, { ...occupant });
      else table.delete(nick);
      this.#occupantChanged(room, nick);
    });
    rooms.events.on('message', (message) => this.#receive(message));
    rooms.events.on('reflected', ({ room, id, stanzaId }) => {
      const conversation = this.#conversation(room);
      if (stanzaId) conversation.alias(stanzaId, id);
      if (conversation.get(id)?.state === 'sending') {
        conversation.update(id, 'sent', null);
        this.#emit('message.state', { accountId: this.#owner.id, peer: room, id, state: 'sent', error: null });
      }
    });
    rooms.events.on('bounced', ({ room, id, error }) => {
      this.#conversation(room).update(id, 'error', error);
      this.#emit('message.state', { accountId: this.#owner.id, peer: room, id, state: 'error', error });
    });
    rooms.events.on('invitation', (invitation) => {
      const shown = this.#invitationOf(invitation);
      this.#emit('room.invitation', { accountId: this.#owner.id, invitation: shown });
    });
    rooms.events.on('invitationGone', ({ room }) => this.#emit('room.invitation.removed', { accountId: this.#owner.id, room }));
    bookmarks.events.on('fetched', (list) => {
      const before = new Set(this.#bookmarks.keys());
      this.#bookmarks.clear();
      for (const bookmark of list) this.#bookmarks.set(bookmark.jid, bookmark);
      for (const jid of new Set([...before, ...this.#bookmarks.keys()])) this.#emitRoom(jid);
    });
    bookmarks.events.on('bookmark', (bookmark) => {
      this.#bookmarks.set(bookmark.jid, bookmark);
      this.#emitRoom(bookmark.jid);
    });
    bookmarks.events.on('retracted', (jid) => {
      this.#bookmarks.delete(jid);
      this.#emitRoom(jid);
    });
    if (previous) rooms.adopt(previous);
  }

  close(): void {
    if (this.#flush) clearTimeout(this.#flush);
    this.#flush = null;
    this.#changed.clear();
    this.#features?.rooms.close();
  }

  summaries(): RoomSummary[] {
    return [...new Set([...this.#status.keys(), ...this.#bookmarks.keys()])].flatMap((jid) => {
      const summary = this.#summary(jid);
      return summary ? [summary] : [];
    });
  }

  invitations(): RoomInvitation[] {
    return (this.#features?.rooms.invitations() ?? []).map((invitation) => this.#invitationOf(invitation));
  }

  occupants(room: string): RoomOccupant[] {
    return [...(this.#occupants.get(room)?.values() ?? [])].map((occupant) => ({ ...occupant }));
  }

  has(jid: string): boolean {
    return this.#status.has(jid) || this.#bookmarks.has(jid);
  }

  async service(): Promise<string | null> {
    return this.#online().rooms.service();
  }

  async list(service: string): Promise<ListedRoom[]> {
    return this.#online().rooms.list(service).catch((error: unknown) => {
      throw new CallError('MUC_LIST_FAILED', `${service} did not list its rooms: ${messageOf(error)}.`);
    });
  }

  /** Joins (and, with `bookmark`, keeps the room in the bookmarks with autojoin). */
  async join(room: string, nick: string, password: string | null, bookmark: boolean): Promise<RoomSummary> {
    const features = this.#session();
    // Joining never creates a room: a mistyped address is refused (and not bookmarked); creating is rooms.create's.
    await this.#call(() => features.rooms.join(room, nick, { password, create: false })).catch((error: unknown) => {
      // The core forgot a room that does not exist: so does the list.
      if (features.rooms.status(room) === null && this.#status.delete(room) && !this.has(room)) this.#emit('room.removed', { accountId: this.#owner.id, jid: room });
      throw error;
    });
    if (bookmark && features.session.isOnline) await this.#saveBookmark(room, { autojoin: true, nick, password });
    return this.#summary(room)!;
  }

  /**
   * Creates a room: joins it, then either accepts the defaults (instant) or applies the settings.
   * A room that already exists is joined as it is, and the call says so.
   */
  async create(room: string, nick: string, settings: { name: string | null; membersOnly: boolean; persistent: boolean; public: boolean; password: string | null } | null): Promise<RoomSummary> {
    const { rooms } = this.#online();
    const status = await this.#call(() => rooms.join(room, nick));
    if (!status.created) throw new CallError('MUC_ROOM_EXISTS', `${room} already exists; you joined it as it is.`);
    await this.#call(() => (settings
      ? rooms.configure(room, { ...(settings.name ? { name: settings.name } : {}), membersOnly: settings.membersOnly, persistent: settings.persistent, public: settings.public, password: settings.password })
      : rooms.createInstant(room)));
    return this.#summary(room)!;
  }

  /** Leaves; `forget` also drops the bookmark. */
  async leave(room: string, forget: boolean): Promise<void> {
    const features = this.#session();
    await features.rooms.leave(room);
    if (forget && this.#bookmarks.has(room) && features.session.isOnline) await this.#call(() => features.bookmarks.remove(room));
    else if (this.#bookmarks.get(room)?.autojoin && features.session.isOnline) await this.#saveBookmark(room, { autojoin: false });
    this.#status.delete(room);
    this.#occupants.delete(room);
    if (this.has(room)) this.#emitRoom(room);
    else this.#emit('room.removed', { accountId: this.#owner.id, jid: room });
  }

  async setBookmark(room: string, autojoin: boolean | null): Promise<void> {
    if (autojoin === null) await this.#call(() => this.#online().bookmarks.remove(room));
    else await this.#saveBookmark(room, { autojoin });
  }

  async send(room: string, body: string): Promise<ChatMessage> {
    const { rooms } = this.#online();
    const id = await this.#call(() => rooms.send(room, body));
    const message = this.#chatMessage({
      id, room, nick: rooms.status(room)?.nick ?? '', direction: 'out', body, timestamp: new Date().toISOString(), source: 'live', private: false, senderId: id, senderJid: null,
    }, 'sending');
    this.#add(message);
    return { ...message };
  }

  async sendPrivate(room: string, nick: string, body: string): Promise<ChatMessage> {
    const { rooms } = this.#online();
    const sent = await this.#call(() => rooms.sendPrivate(room, nick, body));
    const message = this.#chatMessage(sent, 'sent');
    this.#add(message);
    return { ...message };
  }

  async setNick(room: string, nick: string): Promise<void> {
    await this.#call(() => this.#online().rooms.setNick(room, nick));
  }

  async setSubject(room: string, subject: string): Promise<void> {
    await this.#call(() => this.#online().rooms.setSubject(room, subject));
  }

  async moderate(room: string, action: 'kick' | 'ban' | 'voice' | 'mute' | 'member' | 'unban', target: { nick: string | null; jid: string | null }, reason: string | null): Promise<void> {
    const { rooms } = this.#online();
    const occupant = target.nick ? this.#occupants.get(room)?.get(target.nick) : undefined;
    const jid = target.jid ?? occupant?.jid ?? null;
    if (action === 'kick' || action === 'voice' || action === 'mute') {
      if (!target.nick) throw new CallError('BAD_ARGUMENT', 'Name the occupant by nick.');
      const role = action === 'kick' ? 'none' : action === 'voice' ? 'participant' : 'visitor';
      await this.#call(() => rooms.setRole(room, target.nick!, role, reason));
      return;
    }
    if (!jid) throw new CallError('MUC_NO_REAL_JID', `${room} does not show ${target.nick ?? 'this occupant'}'s address to you, and bans and memberships need it.`);
    const affiliation = action === 'ban' ? 'outcast' : action === 'member' ? 'member' : 'none';
    await this.#call(() => rooms.setAffiliation(room, jid, affiliation, reason));
  }

  async invite(room: string, jid: string, reason: string | null, kind: 'mediated' | 'direct'): Promise<void> {
    await this.#call(() => this.#online().rooms.invite(room, jid, reason, kind));
  }

  async answerInvitation(room: string, accept: boolean, nick: string): Promise<RoomSummary | null> {
    const { rooms } = this.#online();
    const status = await this.#call(() => rooms.answerInvitation(room, accept, nick));
    return status ? this.#summary(room) : null;
  }

  /** Older messages: the local ones first, then the room's archive. */
  async history(room: string, before: string | null, max: number): Promise<{ messages: ChatMessage[]; complete: boolean }> {
    const conversation = this.#conversation(room);
    let local = conversation.before(before, max);
    const features = this.#features;
    const status = features?.rooms.status(room);
    let paging = this.#archive.get(room) ?? { first: null, complete: false };
    const archived = status?.features.includes(NS_MAM) ?? false;
    // A server may cap a page below what we ask (Prosody gives 50): a few pages fill one of ours.
    for (let pages = 0; local.length < max && features && status?.state === 'joined' && archived && !paging.complete && pages < ARCHIVE_PAGES_PER_CALL; pages += 1) {
      const { messages, window } = await this.#call(() => features.rooms.page(room, { before: paging.first }, max));
      for (const message of messages.toReversed()) this.#receive(message, 'older');
      paging = { first: window.first ?? paging.first, complete: window.complete || messages.length === 0 };
      this.#archive.set(room, paging);
      local = conversation.before(before, max);
    }
    const complete = local.length < max && (!archived || (this.#archive.get(room)?.complete ?? false));
    return { messages: local, complete };
  }

  /** True when `peer` is a room of this account (its read marker is the room's). */
  markRead(room: string): boolean {
    const conversation = this.#conversations.get(room);
    if (!this.has(room)) return false;
    if (conversation && (conversation.unread > 0 || conversation.mentions > 0)) {
      conversation.unread = 0;
      conversation.mentions = 0;
      this.#emitRoom(room);
    }
    return true;
  }

  /**
   * The room server's proof (RFC 7712 with the xmpp-server service): the same pipeline as
   * `posh-check --service xmpp-server`, reused until the POSH material expires (else for an hour).
   */
  async trust(room: string, refresh: boolean): Promise<RoomTrust> {
    const domain = normalizeDomain(domainOf(room));
    const sameService = !this.#remote(room);
    const cached = this.#trust.get(domain);
    if (!refresh && cached?.expiresAt && Date.parse(cached.expiresAt) > Date.now()) return { ...cached, room, fromCache: true };
    const options = this.#owner.checkOptions?.() ?? { dns: undefined, extraAnchorsPem: [], maxPoshLifetimeSeconds: 604_800 };
    const report = await checkDelegation(domain, { service: 'xmpp-server', dns: options.dns, extraAnchorsPem: options.extraAnchorsPem, connect: true, timeoutMs: 15_000, maxPoshLifetimeSeconds: options.maxPoshLifetimeSeconds });
    const expiresAt = report.posh.expiresAt ?? new Date(Date.now() + TRUST_REUSE_MS).toISOString();
    const trust: RoomTrust = { room, domain, sameService, report, checkedAt: report.checkedAt, expiresAt, fromCache: false };
    this.#trust.set(domain, trust);
    return trust;
  }

  async #saveBookmark(room: string, change: Partial<Bookmark>): Promise<void> {
    const { bookmarks, rooms } = this.#online();
    const current = this.#bookmarks.get(room);
    const status = rooms.status(room);
    const bookmark: Bookmark = {
      jid: room, name: current?.name ?? status?.name ?? null, autojoin: current?.autojoin ?? false, nick: current?.nick ?? status?.nick ?? null, password: current?.password ?? null, ...change,
    };
    await this.#call(() => bookmarks.set(bookmark));
  }

  #session(): ChatFeatures {
    if (!this.#features) throw new CallError('NOT_CONNECTED', `${this.#owner.jid} has no session; connect it first.`);
    return this.#features;
  }

  #online(): ChatFeatures {
    const features = this.#features;
    if (!features?.session.isOnline) throw new CallError('NOT_CONNECTED', `${this.#owner.jid} is not connected; connect it first.`);
    return features;
  }

  /** A session-level failure as the contract's CallError, its code kept. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof CallError) throw error;
      if (error instanceof DnaError) throw new CallError(error.code, error.message);
      const condition = (error as { condition?: string }).condition;
      throw new CallError(condition ? `MUC_${condition.toUpperCase().replaceAll('-', '_')}` : 'MUC_FAILED', condition ? `The room refused: <${condition}/>${(error as { text?: string }).text ? ` ${(error as { text?: string }).text}` : ''}.` : messageOf(error));
    }
  }

  #conversation(room: string): Conversation {
    let conversation = this.#conversations.get(room);
    if (!conversation) this.#conversations.set(room, (conversation = new Conversation()));
    return conversation;
  }

  #chatMessage(message: RoomMessage, state: ChatMessage['state']): ChatMessage {
    const own = this.#features?.rooms.status(message.room)?.nick ?? '';
    const mention = message.direction === 'in' && (message.private || (message.nick !== own && mentions(message.body, own)));
    return {
      id: message.id, accountId: this.#owner.id, peer: message.room, direction: message.direction, body: message.body, timestamp: message.timestamp, state, error: null,
      source: message.source, stranger: false, room: { nick: message.nick, private: message.private, mention },
    };
  }

  /**
   * A message from the room, its history or its archive: each once, however many ways it came.
   * `older`: from a page of the archive before what is here (fed newest first).
   */
  #receive(incoming: RoomMessage, arrival: 'new' | 'older' = 'new'): void {
    const conversation = this.#conversation(incoming.room);
    if (conversation.get(incoming.id)) return;
    const replayed = incoming.source !== 'live';
    if (replayed) {
      // Our own message, as the archive or the join history has it, is the one we sent.
      const ours = incoming.senderId ? conversation.get(incoming.senderId) : undefined;
      if (ours?.direction === 'out' && ours.room?.nick === incoming.nick) {
        conversation.alias(incoming.id, ours.id);
        return;
      }
      const key = contentKey(incoming);
      if (conversation.get(key)) {
        conversation.alias(incoming.id, conversation.get(key)!.id);
        return;
      }
    }
    const message = this.#chatMessage(incoming, incoming.direction === 'out' ? 'sent' : 'received');
    if (!this.#add(message, arrival)) return;
    if (replayed) conversation.alias(contentKey(incoming), message.id);
    if (!replayed && message.direction === 'in') {
      conversation.unread += 1;
      if (message.room?.mention) conversation.mentions += 1;
      this.#emitRoom(incoming.room);
    }
  }

  #add(message: ChatMessage, arrival: 'new' | 'older' = 'new'): boolean {
    const conversation = this.#conversation(message.peer);
    if (!(arrival === 'older' ? conversation.addOlder(message) : conversation.add(message))) return false;
    // Trimmed in batches: a busy room costs O(1) per message, not a shift of thousands.
    if (conversation.size > ROOM_LIMITS.messages * 1.1) {
      conversation.keepLatest(ROOM_LIMITS.messages);
      this.#archive.delete(message.peer);
    }
    // A page of older messages goes back as the history call's answer, not as events.
    if (arrival === 'new') this.#emit('message', { accountId: this.#owner.id, message });
    return true;
  }

  #invitationOf(invitation: Invitation): RoomInvitation {
    return { room: invitation.room, from: invitation.from, reason: invitation.reason, kind: invitation.kind, hasPassword: invitation.password !== null };
  }

  #summary(jid: string): RoomSummary | null {
    const status = this.#status.get(jid);
    const bookmark = this.#bookmarks.get(jid);
    if (!status && !bookmark) return null;
    const features = new Set(status?.features ?? []);
    const conversation = this.#conversations.get(jid);
    return {
      jid,
      state: status?.state ?? 'left',
      name: status?.name ?? bookmark?.name ?? null,
      nick: status?.nick ?? bookmark?.nick ?? (localOf(this.#owner.jid) || this.#owner.jid),
      subject: status?.subject ?? null,
      subjectBy: status?.subjectBy ?? null,
      role: status?.self?.role ?? null,
      affiliation: status?.self?.affiliation ?? null,
      passwordProtected: features.has('muc_passwordprotected'),
      membersOnly: features.has('muc_membersonly'),
      archived: features.has(NS_MAM),
      nonAnonymous: features.has('muc_nonanonymous'),
      anyoneMaySetSubject: status?.anyoneMaySetSubject ?? false,
      created: status?.created ?? false,
      problem: status?.problem ?? null,
      occupantCount: (this.#occupants.get(jid)?.size ?? 0) + (status?.overflow ?? 0),
      unread: conversation?.unread ?? 0,
      mentions: conversation?.mentions ?? 0,
      bookmarked: bookmark !== undefined,
      autojoin: bookmark?.autojoin ?? false,
      remote: this.#remote(jid),
    };
  }

  /** A room on neither the account's domain nor one under it: the account's own proof does not cover it. */
  #remote(room: string): boolean {
    const domain = normalizeDomain(domainOf(room));
    const own = normalizeDomain(domainOf(this.#owner.jid));
    return domain !== own && !domain.endsWith(`.${own}`);
  }

  #emitRoom(jid: string): void {
    const room = this.#summary(jid);
    if (room) this.#emit('room', { accountId: this.#owner.id, room });
    else this.#emit('room.removed', { accountId: this.#owner.id, jid });
  }

  #occupantChanged(room: string, nick: string): void {
    let changed = this.#changed.get(room);
    if (!changed) this.#changed.set(room, (changed = new Set()));
    changed.add(nick);
    this.#flush ??= setTimeout(() => this.#sendChanges(), OCCUPANT_CHANGES_MS);
  }

  #sendChanges(): void {
    this.#flush = null;
    for (const [room, nicks] of this.#changed) {
      const table = this.#occupants.get(room);
      const changes = [...nicks].map((nick) => {
        const occupant = table?.get(nick);
        return { nick, occupant: occupant ? { ...occupant } : null };
      });
      this.#emit('room.occupants', { accountId: this.#owner.id, room, changes });
      // The count in the summary follows the occupants.
      this.#emitRoom(room);
    }
    this.#changed.clear();
  }
}
