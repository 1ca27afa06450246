// The core's events to every shell: one bus, listeners isolated from each other (a listener that
// throws is reported and the others still hear the event).
import { messageOf } from '../verify/errors.ts';
import type { AppEvent, EventName, EventPayloads } from './model.ts';

export type Emit = <N extends EventName>(event: N, payload: EventPayloads[N]) => void;

export class EventBus {
  readonly #listeners = new Set<(event: AppEvent) => void>();

  readonly emit: Emit = (event, payload) => {
    for (const listener of [...this.#listeners]) {
      try {
        listener({ event, payload } as AppEvent);
      } catch (error) {
        console.error(`An event listener failed on ${event}: ${messageOf(error)}`);
      }
    }
  };

  subscribe(listener: (event: AppEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  clear(): void {
    this.#listeners.clear();
  }
}
