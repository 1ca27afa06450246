// The messages of one conversation, in time order, each once (by id), with its unread count and
// how far back the server archive has been read.
import type { ChatMessage, MessageState } from './contract.ts';

export class Conversation {
  readonly #messages: ChatMessage[] = [];
  readonly #ids = new Set<string>();
  unread = 0;
  /** The archive id to page back from (XEP-0059 `before`); null: start at the latest. */
  archiveFirst: string | null = null;
  archiveComplete = false;

  /** Adds a message in time order; false when one with the same id is already here. */
  add(message: ChatMessage): boolean {
    if (this.#ids.has(message.id)) return false;
    this.#ids.add(message.id);
    let index = this.#messages.length;
    while (index > 0 && (this.#messages[index - 1] as ChatMessage).timestamp > message.timestamp) index -= 1;
    this.#messages.splice(index, 0, { ...message });
    return true;
  }

  get(id: string): ChatMessage | undefined {
    return this.#messages.find((message) => message.id === id);
  }

  update(id: string, state: MessageState, error: string | null): void {
    const message = this.get(id);
    if (message) Object.assign(message, { state, error });
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
