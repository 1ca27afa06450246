// Presence as the roster shows it: the best available resource, in words. Pure.
import type { ResourcePresence, RosterContact, Show } from '../../../src/app/contract.ts';

export type PresenceLevel = 'chat' | 'online' | 'away' | 'xa' | 'dnd' | 'offline';

const RANK: Record<PresenceLevel, number> = { chat: 0, online: 1, away: 3, xa: 4, dnd: 2, offline: 5 };

export const PRESENCE_WORDS: Record<PresenceLevel, string> = {
  chat: 'free to chat',
  online: 'online',
  away: 'away',
  xa: 'away for a while',
  dnd: 'do not disturb',
  offline: 'offline',
};

const levelOf = (show: Show | null): PresenceLevel => show ?? 'online';

/** The resource that represents the contact: highest priority, then most available. */
export function bestPresence(presence: readonly ResourcePresence[]): ResourcePresence | null {
  let best: ResourcePresence | null = null;
  for (const candidate of presence) {
    if (
      best === null ||
      candidate.priority > best.priority ||
      (candidate.priority === best.priority && RANK[levelOf(candidate.show)] < RANK[levelOf(best.show)])
    ) {
      best = candidate;
    }
  }
  return best;
}

export function contactLevel(contact: RosterContact): PresenceLevel {
  const best = bestPresence(contact.presence);
  return best === null ? 'offline' : levelOf(best.show);
}

/** Roster order: unread first, then available before offline, then by name. Stable for equal keys. */
export function sortContacts(contacts: readonly RosterContact[]): RosterContact[] {
  const keyed = contacts.map((contact) => ({
    contact,
    unread: contact.unread > 0 ? 0 : 1,
    available: contact.presence.length > 0 ? 0 : 1,
    name: (contact.name ?? contact.jid).toLocaleLowerCase(),
  }));
  keyed.sort((a, b) => a.unread - b.unread || a.available - b.available || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map((entry) => entry.contact);
}

export const displayName = (contact: RosterContact): string => contact.name ?? contact.jid;
