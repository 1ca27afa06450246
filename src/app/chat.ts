// Conversations, roster and presence of every account, kept by the core for snapshots and history.
import type { XmppSession } from '../xmpp/session.ts';
import type { AccountRuntime } from './account-runtime.ts';
import { CallError, type ChatMessage, type EventName, type EventPayloads, type OwnPresence, type RosterContact } from './contract.ts';

type Emit = <N extends EventName>(event: N, payload: EventPayloads[N]) => void;

export class ChatService {
  readonly #emit: Emit;

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  attach(runtime: AccountRuntime): void {
    runtime.onSession((session: XmppSession) => void session);
  }

  detach(accountId: string): void {
    void accountId;
  }

  roster(accountId: string): RosterContact[] {
    void accountId;
    return [];
  }

  ownPresence(accountId: string): OwnPresence {
    void accountId;
    return { show: 'online', status: '' };
  }

  subscriptionRequests(accountId: string): string[] {
    void accountId;
    return [];
  }

  #notYet(): never {
    void this.#emit;
    throw new CallError('NOT_IMPLEMENTED', 'Chat is not wired into the app core yet.');
  }

  addContact(runtime: AccountRuntime, jid: string, name: string | null): void {
    void [runtime, jid, name];
    this.#notYet();
  }

  renameContact(runtime: AccountRuntime, jid: string, name: string): void {
    void [runtime, jid, name];
    this.#notYet();
  }

  removeContact(runtime: AccountRuntime, jid: string): void {
    void [runtime, jid];
    this.#notYet();
  }

  answerSubscription(runtime: AccountRuntime, jid: string, approve: boolean): void {
    void [runtime, jid, approve];
    this.#notYet();
  }

  setPresence(runtime: AccountRuntime, presence: OwnPresence): void {
    void [runtime, presence];
    this.#notYet();
  }

  send(runtime: AccountRuntime, to: string, body: string): ChatMessage {
    void [runtime, to, body];
    return this.#notYet();
  }

  history(runtime: AccountRuntime, peer: string, before: string | null, max: number): { messages: ChatMessage[]; complete: boolean } {
    void [runtime, peer, before, max];
    return this.#notYet();
  }

  markRead(runtime: AccountRuntime, peer: string): void {
    void [runtime, peer];
    this.#notYet();
  }
}
