// The chat state of one account (roster, presence, subscription requests, conversations), kept for
// snapshots, unread counts and history (local first, then the server archive), and turned into
// contract events. It outlives each session: a new session is attached to the same state.
import { addChatFeatures, type ChatFeatures, type ChatOptions } from '../xmpp/chat-client.ts';
import type { IncomingMessage } from '../xmpp/messages.ts';
import type { ResourcePresence } from '../xmpp/presence.ts';
import type { RosterItem } from '../xmpp/roster.ts';
import type { XmppSession } from '../xmpp/session.ts';
import { AccountRooms, type RoomsOwner } from './account-rooms.ts';
import { Conversation } from './conversation.ts';
import type { Emit } from './events.ts';
import { STRANGER_LIMITS, type ChatMessage, type MessageState, type OwnPresence, type RosterContact } from './model.ts';
import { CallError } from './wire.ts';

/**
 * How long contact changes are gathered before they travel to the UI as one event: a roster of
 * thousands coming online at login is a handful of events, not one per presence.
 */
export const CONTACT_CHANGES_MS = 50;

/** What the chat needs of its account: the session of the moment (null when there is none) and the JID. */
export interface ChatOwner extends RoomsOwner {
  readonly session: XmppSession | null;
  /** Timings of the chat features (self-ping) a test may change. */
  readonly chatOptions?: ChatOptions;
}

export class AccountChat {
  readonly #owner: ChatOwner;
  readonly #emit: Emit;
  #features: ChatFeatures | null = null;
  /** By bare JID, in the order the server listed them. */
  #roster = new Map<string, RosterItem>();
  readonly #presence = new Map<string, ResourcePresence[]>();
  #ownPresence: OwnPresence = { show: 'online', status: '' };
  readonly #requests = new Set<string>();
  readonly #conversations = new Map<string, Conversation>();
  /** Strangers with a conversation, least recently heard from first. */
  readonly #strangers = new Set<string>();
  /** People the user wrote to (here or from another device): their conversations are not bounded as a stranger's. */
  readonly #started = new Set<string>();
  /** Contacts changed since the last roster event, sent together after CONTACT_CHANGES_MS. */
  readonly #changed = new Set<string>();
  #flush: ReturnType<typeof setTimeout> | null = null;

  readonly rooms: AccountRooms;

  constructor(owner: ChatOwner, emit: Emit) {
    this.#owner = owner;
    this.#emit = emit;
    this.rooms = new AccountRooms(owner, emit);
  }

  /** Adds the chat features to a new session of this account and follows its events. */
  attach(session: XmppSession): void {
    const accountId = this.#owner.id;
    // A session replaced for new settings leaves its unwritten messages to the next one.
    const unwritten = this.#features?.messaging.takeQueued() ?? [];
    const features = addChatFeatures(session, this.#owner.chatOptions);
    features.messaging.adopt(unwritten);
    this.#features = features;
    this.rooms.attach(features);
    void features.presence.setOwn(this.#ownPresence).catch(() => undefined);
    // The whole roster once per login; after that, one contact per change (a roster of thousands
    // must not travel whole for every presence or message).
    features.roster.events.on('fetched', (items) => {
      this.#roster = new Map(items.map((item) => [item.jid, item]));
      // Contacts now (added from another device meanwhile) are strangers no more.
      for (const jid of this.#strangers) if (this.#roster.has(jid)) this.#strangers.delete(jid);
      // The whole roster carries every change gathered so far.
      this.#changed.clear();
      this.#emit('roster', { accountId, contacts: this.contacts() });
    });
    features.roster.events.on('item', (change) => {
      if (change.subscription === 'remove') {
        if (this.#roster.delete(change.jid)) this.#contactChanged(change.jid);
        return;
      }
      this.#roster.set(change.jid, change);
      // A stranger who becomes a contact keeps the whole conversation from now on.
      this.#strangers.delete(change.jid);
      this.#contactChanged(change.jid);
    });
    features.roster.events.on('subscription-request', (from) => {
      this.#requests.add(from);
      this.#emit('subscription.request', { accountId, from });
    });
    features.presence.events.on('contact', ({ jid, resources }) => {
      if (resources.length === 0) this.#presence.delete(jid);
      else this.#presence.set(jid, resources);
      if (this.#roster.has(jid)) this.#contactChanged(jid);
    });
    features.presence.events.on('own', (own) => {
      this.#ownPresence = own;
      this.#emit('presence.own', { accountId, presence: own });
    });
    features.messaging.events.on('message', (message) => this.#receive(message));
    features.messaging.events.on('state', ({ peer, id, state, error }) => {
      this.#conversation(peer).update(id, state, error);
      this.#emit('message.state', { accountId, peer, id, state, error });
    });
  }

  /** No more events: the account is gone (changes not yet sent are dropped with it). */
  close(): void {
    if (this.#flush) clearTimeout(this.#flush);
    this.#flush = null;
    this.#changed.clear();
    this.rooms.close();
  }

  contacts(): RosterContact[] {
    return [...this.#roster.values()].map((item) => this.#contact(item));
  }

  get ownPresence(): OwnPresence {
    return { ...this.#ownPresence };
  }

  get subscriptionRequests(): string[] {
    return [...this.#requests];
  }

  async addContact(jid: string, name: string | null): Promise<void> {
    await this.#online().roster.add(jid, name);
  }

  async renameContact(jid: string, name: string): Promise<void> {
    await this.#online().roster.rename(jid, name);
  }

  async removeContact(jid: string): Promise<void> {
    await this.#online().roster.remove(jid);
  }

  async answerSubscription(jid: string, approve: boolean): Promise<void> {
    await this.#online().roster.answer(jid, approve);
    this.#requests.delete(jid);
  }

  async setPresence(presence: OwnPresence): Promise<void> {
    this.#ownPresence = { ...presence };
    if (this.#features) await this.#features.presence.setOwn(presence);
    else this.#emit('presence.own', { accountId: this.#owner.id, presence: { ...presence } });
  }

  /** Sends now when online, else queues it in the session for the next connection (attach a session first). */
  async send(to: string, body: string): Promise<ChatMessage> {
    const features = this.#features;
    if (!features) throw new CallError('NOT_CONNECTED', `${this.#owner.jid} has no session to send with; connect it first.`);
    const outgoing = await features.messaging.send(to, body);
    this.#started.add(to);
    this.#strangers.delete(to);
    const conversation = this.#conversation(to);
    // Events about it may have come first (written and acked at once): keep the latest state.
    const state: MessageState = conversation.get(outgoing.id)?.state ?? outgoing.state;
    const message: ChatMessage = {
      id: outgoing.id, accountId: this.#owner.id, peer: to, direction: 'out', body, timestamp: outgoing.timestamp, state, error: null, source: 'live',
      stranger: !this.#roster.has(to),
    };
    conversation.add(message);
    this.#emit('message', { accountId: this.#owner.id, message });
    return { ...message };
  }

  async history(peer: string, before: string | null, max: number): Promise<{ messages: ChatMessage[]; complete: boolean }> {
    const conversation = this.#conversation(peer);
    let local = conversation.before(before, max);
    const archive = this.#features?.archive;
    const online = this.#owner.session?.isOnline ?? false;
    if (local.length < max && !conversation.archiveComplete && archive && online && (await archive.offered())) {
      const page = await archive.page(peer, conversation.archiveFirst, max);
      for (const message of page.messages) {
        conversation.add(this.#chatMessage(message));
        // A conversation the user took part in, as the archive remembers it, is not a stranger's.
        if (message.direction === 'out') this.#started.add(peer);
      }
      conversation.archiveFirst = page.first ?? conversation.archiveFirst;
      conversation.archiveComplete = page.complete || page.messages.length === 0;
      local = conversation.before(before, max);
    }
    const complete = local.length < max && (conversation.archiveComplete || !archive || !(this.#owner.session?.isOnline ?? false));
    return { messages: local, complete };
  }

  markRead(peer: string): void {
    if (this.rooms.markRead(peer)) return;
    const conversation = this.#conversation(peer);
    if (conversation.unread === 0) return;
    conversation.unread = 0;
    if (this.#roster.has(peer)) this.#contactChanged(peer);
  }

  #online(): ChatFeatures {
    if (!this.#features || !this.#owner.session?.isOnline) {
      throw new CallError('NOT_CONNECTED', `${this.#owner.jid} is not connected; connect it first.`);
    }
    return this.#features;
  }

  #conversation(peer: string): Conversation {
    let conversation = this.#conversations.get(peer);
    if (!conversation) this.#conversations.set(peer, (conversation = new Conversation()));
    return conversation;
  }

  #chatMessage(message: IncomingMessage): ChatMessage {
    return {
      id: message.id,
      accountId: this.#owner.id,
      peer: message.peer,
      direction: message.direction,
      body: message.body,
      timestamp: message.timestamp,
      state: message.direction === 'in' ? 'received' : 'sent',
      error: null,
      source: message.source,
      stranger: !this.#roster.has(message.peer),
    };
  }

  #receive(incoming: IncomingMessage): void {
    const message = this.#chatMessage(incoming);
    if (message.direction === 'out') {
      this.#started.add(message.peer);
      this.#strangers.delete(message.peer);
    }
    const bounded = message.stranger && !this.#started.has(message.peer);
    if (bounded && message.body.length > STRANGER_LIMITS.bodyChars) message.body = `${message.body.slice(0, STRANGER_LIMITS.bodyChars)}…`;
    const conversation = this.#conversation(message.peer);
    if (!conversation.add(message)) return;
    if (bounded) this.#boundStrangers(message.peer, conversation);
    if (message.direction === 'in') conversation.unread += 1;
    this.#emit('message', { accountId: this.#owner.id, message });
    if (message.direction === 'in' && this.#roster.has(message.peer)) this.#contactChanged(message.peer);
  }

  /** Keeps the stranger's conversation short, and only the most recent strangers' conversations. */
  #boundStrangers(peer: string, conversation: Conversation): void {
    conversation.keepLatest(STRANGER_LIMITS.messages);
    this.#strangers.delete(peer);
    this.#strangers.add(peer);
    for (const oldest of this.#strangers) {
      if (this.#strangers.size <= STRANGER_LIMITS.conversations) break;
      this.#strangers.delete(oldest);
      if (!this.#roster.has(oldest) && !this.#started.has(oldest)) this.#conversations.delete(oldest);
    }
  }

  #contact(item: RosterItem): RosterContact {
    return {
      ...item,
      groups: [...item.groups],
      presence: (this.#presence.get(item.jid) ?? []).map((resource) => ({ ...resource })),
      unread: this.#conversations.get(item.jid)?.unread ?? 0,
    };
  }

  /** Marks a roster contact (or one just removed from it) for the next roster.contacts event. */
  #contactChanged(jid: string): void {
    this.#changed.add(jid);
    this.#flush ??= setTimeout(() => this.#sendChanges(), CONTACT_CHANGES_MS);
  }

  /** Each changed contact's state now, or null for one no longer on the roster. */
  #sendChanges(): void {
    this.#flush = null;
    if (this.#changed.size === 0) return;
    const changes = [...this.#changed].map((jid) => {
      const item = this.#roster.get(jid);
      return { jid, contact: item ? this.#contact(item) : null };
    });
    this.#changed.clear();
    this.#emit('roster.contacts', { accountId: this.#owner.id, changes });
  }
}
