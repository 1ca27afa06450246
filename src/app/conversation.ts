// The messages of one conversation, in time order, each once (by id), with its unread count and
// how far back the server archive has been read. Finding a message by id is O(1), so a receipt or
// a state change costs the same in a conversation of twenty messages as in one of twenty thousand;
// a message arrives in O(1) when it is the latest and O(log n) to find its place when it is not.
import type { ChatMessage, MessageState } from './model.ts';

export class Conversation {
  readonly #messages: ChatMessage[] = [];
  readonly #byId = new Map<string, ChatMessage>();
  unread = 0;
  /** The archive id to page back from (XEP-0059 `before`); null: start at the latest. */
  archiveFirst: string | null = null;
  archiveComplete = false;

  /** Adds a message in time order; false when one with the same id is already here. */
  add(message: ChatMessage): boolean {
    if (this.#byId.has(message.id)) return false;
    const copy = { ...message };
    this.#byId.set(message.id, copy);
    const messages = this.#messages;
    if (messages.length === 0 || messages.at(-1)!.timestamp <= copy.timestamp) {
      messages.push(copy);
      return true;
    }
    // Out of order (history, a message our server held): after the last one not later than it.
    let low = 0;
    let high = messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (messages[middle]!.timestamp <= copy.timestamp) low = middle + 1;
      else high = middle;
    }
    messages.splice(low, 0, copy);
    return true;
  }

  get(id: string): ChatMessage | undefined {
    return this.#byId.get(id);
  }

  update(id: string, state: MessageState, error: string | null): void {
    const message = this.#byId.get(id);
    if (message) Object.assign(message, { state, error });
  }

  /** Keeps only the latest `max` messages (a stranger's conversation is bounded). */
  keepLatest(max: number): void {
    while (this.#messages.length > max) this.#byId.delete(this.#messages.shift()!.id);
  }

  /** Up to `max` messages before the one with id `before` (null: the latest), oldest first. */
  before(before: string | null, max: number): ChatMessage[] {
    const end = before === null ? this.#messages.length : this.#messages.findIndex((message) => message.id === before);
    const upTo = end === -1 ? this.#messages.length : end;
    return this.#messages.slice(Math.max(0, upTo - max), upTo).map((message) => ({ ...message }));
  }

  get size(): number {
    return this.#messages.length;
  }
}
