// One conversation's messages, oldest first. The array is plain (not a deep proxy: tens of thousands
// of messages would cost memory and time); `version` changes on every update, which is what the
// views track. Appending is O(1); a page of history is O(n) once per page.
import type { ChatMessage, MessageState } from '../../../src/app/contract.ts';

export class Conversation {
  readonly peer: string;
  messages: ChatMessage[] = [];
  // Not reactive: an index into `messages`, which `version` already tracks.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #positions = new Map<string, number>();
  version = $state(0);
  /** No older messages exist (locally or in the server's archive). */
  complete = $state(false);
  loading = $state(false);
  loadError = $state<string | null>(null);

  constructor(peer: string) {
    this.peer = peer;
  }

  get oldestId(): string | null {
    return this.messages[0]?.id ?? null;
  }

  /** Where the message with this id is in `messages`, or -1. O(1). */
  indexOf(id: string): number {
    return this.#positions.get(id) ?? -1;
  }

  /** A live message (sent or received); replaces the one with the same id. */
  add(message: ChatMessage): void {
    const at = this.#positions.get(message.id);
    if (at !== undefined) {
      this.messages[at] = message;
    } else if (this.messages.length === 0 || this.messages.at(-1)!.timestamp <= message.timestamp) {
      this.#positions.set(message.id, this.messages.length);
      this.messages.push(message);
    } else {
      // Out of order (a delayed delivery): put it in place and renumber.
      const index = this.messages.findLastIndex((existing) => existing.timestamp <= message.timestamp) + 1;
      this.messages.splice(index, 0, message);
      this.#reindex();
    }
    this.version += 1;
  }

  /** Older messages from history; those already here are skipped. */
  prepend(older: readonly ChatMessage[], complete: boolean): void {
    const fresh = older.filter((message) => !this.#positions.has(message.id));
    if (fresh.length > 0) {
      fresh.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
      this.messages = [...fresh, ...this.messages];
      this.#reindex();
    }
    this.complete = complete;
    this.version += 1;
  }

  setState(id: string, state: MessageState, error: string | null): void {
    const at = this.#positions.get(id);
    if (at === undefined) return;
    this.messages[at] = { ...this.messages[at]!, state, error };
    this.version += 1;
  }

  #reindex(): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#positions = new Map(this.messages.map((message, index) => [message.id, index]));
  }
}
