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
  /** Whether `#positions` is behind `messages` (an out-of-order arrival moved later messages). */
  #stale = false;
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

  /** Where the message with this id is in `messages`, or -1. O(1), after one renumbering per batch of out-of-order arrivals. */
  indexOf(id: string): number {
    this.#renumber();
    return this.#positions.get(id) ?? -1;
  }

  /** A live message (sent or received); replaces the one with the same id. */
  add(message: ChatMessage): void {
    if (this.#positions.has(message.id)) {
      this.messages[this.indexOf(message.id)] = message;
    } else if (this.messages.length === 0 || this.messages.at(-1)!.timestamp <= message.timestamp) {
      this.#positions.set(message.id, this.messages.length);
      this.messages.push(message);
    } else {
      // Out of order (a message our server held): in place, found by binary search; the positions
      // are renumbered once, when next asked for, not once per message.
      let low = 0;
      let high = this.messages.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (this.messages[middle]!.timestamp <= message.timestamp) low = middle + 1;
        else high = middle;
      }
      this.messages.splice(low, 0, message);
      // Its key now, so that membership stays O(1); its number with the others' when next asked for.
      this.#positions.set(message.id, low);
      this.#stale = true;
    }
    this.version += 1;
  }

  /** Older messages from history; those already here are skipped. */
  prepend(older: readonly ChatMessage[], complete: boolean): void {
    this.#renumber();
    const fresh = older.filter((message) => !this.#positions.has(message.id));
    if (fresh.length > 0) {
      fresh.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
      this.messages = [...fresh, ...this.messages];
      this.#reindex();
    }
    this.complete = complete;
    this.version += 1;
  }

  /** Keeps only the latest `max` messages (a stranger's conversation is bounded). */
  keepLatest(max: number): void {
    if (this.messages.length <= max) return;
    for (const dropped of this.messages.splice(0, this.messages.length - max)) this.#positions.delete(dropped.id);
    this.#stale = true;
    this.version += 1;
  }

  setState(id: string, state: MessageState, error: string | null): void {
    const at = this.indexOf(id);
    if (at === -1) return;
    this.messages[at] = { ...this.messages[at]!, state, error };
    this.version += 1;
  }

  #renumber(): void {
    if (!this.#stale) return;
    this.#stale = false;
    this.#reindex();
  }

  #reindex(): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#positions = new Map(this.messages.map((message, index) => [message.id, index]));
  }
}
