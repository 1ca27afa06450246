// The messages of one conversation, in time order, each once (by id), with its unread count and
// how far back the server archive has been read. Finding a message by id is O(1), so a receipt or
// a state change costs the same in a conversation of twenty messages as in one of twenty thousand;
// a message arrives in O(1) when it is the latest and O(log n) to find its place when it is not.
import type { ChatMessage, MessageState } from './model.ts';

export class Conversation {
  readonly #messages: ChatMessage[] = [];
  readonly #byId = new Map<string, ChatMessage>();
  /** Other keys a message is known by (a room's stanza-id for our own message), oldest first. */
  readonly #aliases = new Map<string, string>();
  unread = 0;
  /** Unread messages that mention us (rooms). */
  mentions = 0;
  /** The archive id to page back from (XEP-0059 `before`); null: start at the latest. */
  archiveFirst: string | null = null;
  archiveComplete = false;

  /**
   * Adds a message from an older page of an archive, before every message of the same time: fed
   * newest first, a page keeps its own order where timestamps tie (archives stamp to the second).
   */
  addOlder(message: ChatMessage): boolean {
    if (this.#byId.has(message.id)) return false;
    const copy = { ...message };
    this.#byId.set(message.id, copy);
    let low = 0;
    let high = this.#messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#messages[middle]!.timestamp < copy.timestamp) low = middle + 1;
      else high = middle;
    }
    this.#messages.splice(low, 0, copy);
    return true;
  }

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

  /** The message with this id, or known by this alias. */
  get(id: string): ChatMessage | undefined {
    const message = this.#byId.get(id);
    if (message) return message;
    const aliased = this.#aliases.get(id);
    return aliased === undefined ? undefined : this.#byId.get(aliased);
  }

  /** Makes the message `id` known by `key` too; the oldest aliases go once there are more than messages. */
  alias(key: string, id: string): void {
    if (key === id || !this.#byId.has(id)) return;
    this.#aliases.set(key, id);
    if (this.#aliases.size <= 2 * Math.max(this.#messages.length, 1000)) return;
    for (const oldest of this.#aliases.keys()) {
      this.#aliases.delete(oldest);
      if (this.#aliases.size <= this.#messages.length) break;
    }
  }

  update(id: string, state: MessageState, error: string | null): void {
    const message = this.#byId.get(id);
    if (message) Object.assign(message, { state, error });
  }

  /** Keeps only the latest `max` messages (a stranger's conversation, a busy room, are bounded). */
  keepLatest(max: number): void {
    if (this.#messages.length <= max) return;
    for (const dropped of this.#messages.splice(0, this.#messages.length - max)) this.#byId.delete(dropped.id);
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
