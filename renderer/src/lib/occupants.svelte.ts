// One room's occupants as the window knows them: the core's list when the room is opened, kept
// current by room.occupants events (which carry only what changed). The table is plain; `list` is
// what views read, sorted once per change.
import type { RoomOccupant } from '../../../src/app/contract.ts';
import { applyOccupantChanges, sortOccupants } from './rooms.ts';

export class RoomOccupants {
  readonly room: string;
  list = $state.raw<RoomOccupant[]>([]);
  /** The core's whole list has been read at least once (events alone know only who changed). */
  loaded = $state(false);
  // Not reactive: `list` is.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #table = new Map<string, RoomOccupant>();

  constructor(room: string) {
    this.room = room;
  }

  /** The whole list, as rooms.occupants answered. */
  replace(occupants: readonly RoomOccupant[]): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#table = new Map(occupants.map((occupant) => [occupant.nick, occupant]));
    this.loaded = true;
    this.list = sortOccupants(this.#table.values());
  }

  apply(changes: ReadonlyArray<{ nick: string; occupant: RoomOccupant | null }>): void {
    this.#table = applyOccupantChanges(this.#table, changes);
    this.list = sortOccupants(this.#table.values());
  }

  /** Nobody is known to be there (we left, or the room dropped us). */
  clear(): void {
    this.#table.clear();
    this.list = [];
    this.loaded = false;
  }

  get(nick: string): RoomOccupant | undefined {
    return this.#table.get(nick);
  }
}
