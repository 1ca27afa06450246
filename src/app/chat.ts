// Conversations, roster and presence of every account, kept by the core for snapshots, unread
// counts and history (local first, then the server archive), and turned into contract events.
import { addChatFeatures, type ChatFeatures } from '../xmpp/chat-client.ts';
import type { IncomingMessage } from '../xmpp/messages.ts';
import type { ResourcePresence } from '../xmpp/presence.ts';
import type { RosterItem } from '../xmpp/roster.ts';
import type { AccountRuntime } from './account-runtime.ts';
import { CallError, type ChatMessage, type EventName, type EventPayloads, type MessageState, type OwnPresence, type RosterContact } from './contract.ts';
import { Conversation } from './conversation.ts';

type Emit = <N extends EventName>(event: N, payload: EventPayloads[N]) => void;

interface AccountChat {
  features: ChatFeatures | null;
  /** By bare JID, in the order the server listed them. */
  roster: Map<string, RosterItem>;
  presence: Map<string, ResourcePresence[]>;
  ownPresence: OwnPresence;
  requests: string[];
  conversations: Map<string, Conversation>;
}

export class ChatService {
  readonly #emit: Emit;
  readonly #accounts = new Map<string, AccountChat>();

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  attach(runtime: AccountRuntime): void {
    const chat: AccountChat = { features: null, roster: new Map(), presence: new Map(), ownPresence: { show: 'online', status: '' }, requests: [], conversations: new Map() };
    this.#accounts.set(runtime.id, chat);
    const accountId = runtime.id;
    runtime.onSession((session) => {
      // A session replaced for new settings leaves its unwritten messages to the next one.
      const unwritten = chat.features?.messaging.takeQueued() ?? [];
      const features = addChatFeatures(session);
      features.messaging.adopt(unwritten);
      chat.features = features;
      void features.presence.setOwn(chat.ownPresence).catch(() => undefined);
      // The whole roster once per login; after that, one contact per change (a roster of thousands
      // must not travel whole for every presence or message).
      features.roster.events.on('fetched', (items) => {
        chat.roster = new Map(items.map((item) => [item.jid, item]));
        this.#publishRoster(accountId);
      });
      features.roster.events.on('item', (change) => {
        if (change.subscription === 'remove') {
          if (chat.roster.delete(change.jid)) this.#emit('roster.contact', { accountId, jid: change.jid, contact: null });
          return;
        }
        chat.roster.set(change.jid, change);
        this.#publishContact(accountId, change.jid);
      });
      features.roster.events.on('subscription-request', (from) => {
        if (!chat.requests.includes(from)) chat.requests.push(from);
        this.#emit('subscription.request', { accountId, from });
      });
      features.presence.events.on('contact', ({ jid, resources }) => {
        if (resources.length === 0) chat.presence.delete(jid);
        else chat.presence.set(jid, resources);
        this.#publishContact(accountId, jid);
      });
      features.presence.events.on('own', (own) => {
        chat.ownPresence = own;
        this.#emit('presence.own', { accountId, presence: own });
      });
      features.messaging.events.on('message', (message) => this.#receive(accountId, message));
      features.messaging.events.on('state', ({ peer, id, state, error }) => {
        this.#conversation(chat, peer).update(id, state, error);
        this.#emit('message.state', { accountId, peer, id, state, error });
      });
    });
  }

  detach(accountId: string): void {
    this.#accounts.delete(accountId);
  }

  roster(accountId: string): RosterContact[] {
    const chat = this.#accounts.get(accountId);
    if (!chat) return [];
    return [...chat.roster.values()].map((item) => this.#contact(chat, item));
  }

  ownPresence(accountId: string): OwnPresence {
    return { ...(this.#accounts.get(accountId)?.ownPresence ?? { show: 'online', status: '' }) };
  }

  subscriptionRequests(accountId: string): string[] {
    return [...(this.#accounts.get(accountId)?.requests ?? [])];
  }

  async addContact(runtime: AccountRuntime, jid: string, name: string | null): Promise<void> {
    await this.#online(runtime).roster.add(jid, name);
  }

  async renameContact(runtime: AccountRuntime, jid: string, name: string): Promise<void> {
    await this.#online(runtime).roster.rename(jid, name);
  }

  async removeContact(runtime: AccountRuntime, jid: string): Promise<void> {
    await this.#online(runtime).roster.remove(jid);
  }

  async answerSubscription(runtime: AccountRuntime, jid: string, approve: boolean): Promise<void> {
    await this.#online(runtime).roster.answer(jid, approve);
    const chat = this.#chat(runtime);
    chat.requests = chat.requests.filter((request) => request !== jid);
  }

  async setPresence(runtime: AccountRuntime, presence: OwnPresence): Promise<void> {
    const chat = this.#chat(runtime);
    chat.ownPresence = { ...presence };
    if (chat.features) await chat.features.presence.setOwn(presence);
    else this.#emit('presence.own', { accountId: runtime.id, presence: { ...presence } });
  }

  /** Sends now when online, else queues it in the session for the next connection. */
  async send(runtime: AccountRuntime, to: string, body: string): Promise<ChatMessage> {
    runtime.ensureSession();
    const chat = this.#chat(runtime);
    const features = chat.features as ChatFeatures;
    const outgoing = await features.messaging.send(to, body);
    const conversation = this.#conversation(chat, to);
    // Events about it may have come first (written and acked at once): keep the latest state.
    const state: MessageState = conversation.get(outgoing.id)?.state ?? outgoing.state;
    const message: ChatMessage = {
      id: outgoing.id, accountId: runtime.id, peer: to, direction: 'out', body, timestamp: outgoing.timestamp, state, error: null, source: 'live',
    };
    conversation.add(message);
    this.#emit('message', { accountId: runtime.id, message });
    return { ...message };
  }

  async history(runtime: AccountRuntime, peer: string, before: string | null, max: number): Promise<{ messages: ChatMessage[]; complete: boolean }> {
    const chat = this.#chat(runtime);
    const conversation = this.#conversation(chat, peer);
    let local = conversation.before(before, max);
    const archive = chat.features?.archive;
    if (local.length < max && !conversation.archiveComplete && archive && runtime.session?.isOnline && (await archive.offered())) {
      const page = await archive.page(peer, conversation.archiveFirst, max);
      for (const message of page.messages) conversation.add(this.#chatMessage(runtime.id, message));
      conversation.archiveFirst = page.first ?? conversation.archiveFirst;
      conversation.archiveComplete = page.complete || page.messages.length === 0;
      local = conversation.before(before, max);
    }
    const complete = local.length < max && (conversation.archiveComplete || !archive || !runtime.session?.isOnline);
    return { messages: local, complete };
  }

  markRead(runtime: AccountRuntime, peer: string): void {
    const conversation = this.#conversation(this.#chat(runtime), peer);
    if (conversation.unread === 0) return;
    conversation.unread = 0;
    this.#publishContact(runtime.id, peer);
  }

  #chat(runtime: AccountRuntime): AccountChat {
    const chat = this.#accounts.get(runtime.id);
    if (!chat) throw new CallError('UNKNOWN_ACCOUNT', `There is no account with the id ${runtime.id}.`);
    return chat;
  }

  #online(runtime: AccountRuntime): ChatFeatures {
    const chat = this.#chat(runtime);
    if (!chat.features || !runtime.session?.isOnline) {
      throw new CallError('NOT_CONNECTED', `${runtime.record.jid} is not connected; connect it first.`);
    }
    return chat.features;
  }

  #conversation(chat: AccountChat, peer: string): Conversation {
    let conversation = chat.conversations.get(peer);
    if (!conversation) chat.conversations.set(peer, (conversation = new Conversation()));
    return conversation;
  }

  #chatMessage(accountId: string, message: IncomingMessage): ChatMessage {
    return {
      id: message.id,
      accountId,
      peer: message.peer,
      direction: message.direction,
      body: message.body,
      timestamp: message.timestamp,
      state: message.direction === 'in' ? 'received' : 'sent',
      error: null,
      source: message.source,
    };
  }

  #receive(accountId: string, incoming: IncomingMessage): void {
    const chat = this.#accounts.get(accountId);
    if (!chat) return;
    const message = this.#chatMessage(accountId, incoming);
    const conversation = this.#conversation(chat, message.peer);
    if (!conversation.add(message)) return;
    if (message.direction === 'in') conversation.unread += 1;
    this.#emit('message', { accountId, message });
    if (message.direction === 'in') this.#publishContact(accountId, message.peer);
  }

  #contact(chat: AccountChat, item: RosterItem): RosterContact {
    return {
      ...item,
      groups: [...item.groups],
      presence: (chat.presence.get(item.jid) ?? []).map((resource) => ({ ...resource })),
      unread: chat.conversations.get(item.jid)?.unread ?? 0,
    };
  }

  #publishRoster(accountId: string): void {
    this.#emit('roster', { accountId, contacts: this.roster(accountId) });
  }

  /** One contact's current state, when it is on the roster (others have no row to update). */
  #publishContact(accountId: string, jid: string): void {
    const chat = this.#accounts.get(accountId);
    const item = chat?.roster.get(jid);
    if (chat && item) this.#emit('roster.contact', { accountId, jid, contact: this.#contact(chat, item) });
  }
}
