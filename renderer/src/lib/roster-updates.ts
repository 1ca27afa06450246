// The roster the renderer shows, kept current by the core's events: the whole roster once per login,
// then one contact per change. Changes are gathered and applied once per frame. Pure.
import type { RosterContact } from '../../../src/app/contract.ts';

/** What arrived for one account since the last frame. */
export interface PendingRoster {
  /** A whole roster, replacing what was shown; null when only single contacts changed. */
  full: RosterContact[] | null;
  /** By bare JID, the latest state of each changed contact; null: it left the roster. */
  changes: Map<string, RosterContact | null>;
}

export function pendingRoster(): PendingRoster {
  return { full: null, changes: new Map() };
}

/** A whole roster replaces everything before it, changes included. */
export function queueFull(pending: PendingRoster, contacts: RosterContact[]): void {
  pending.full = contacts;
  pending.changes.clear();
}

export function queueContact(pending: PendingRoster, jid: string, contact: RosterContact | null): void {
  pending.changes.set(jid, contact);
}

/**
 * `roster` with the changes applied: a changed contact keeps its place, a removed one goes, a new
 * one is added at the end. O(n + k) for n contacts and k changes.
 */
export function applyContactChanges(roster: readonly RosterContact[], changes: ReadonlyMap<string, RosterContact | null>): RosterContact[] {
  const next: RosterContact[] = [];
  const placed = new Set<string>();
  for (const contact of roster) {
    if (!changes.has(contact.jid)) {
      next.push(contact);
      continue;
    }
    placed.add(contact.jid);
    const changed = changes.get(contact.jid);
    if (changed) next.push(changed);
  }
  for (const [jid, contact] of changes) if (contact && !placed.has(jid)) next.push(contact);
  return next;
}

/** What the account's roster is after this frame's events. */
export function settle(current: readonly RosterContact[], pending: PendingRoster): RosterContact[] {
  return applyContactChanges(pending.full ?? current, pending.changes);
}
