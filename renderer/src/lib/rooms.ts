// Group chat as the window shows it: rooms in the sidebar in order, their names and counts in words,
// occupants by role, what our own role lets us do to another occupant, and the addresses typed into
// the join form. Pure: unit-tested from test/unit.
import type { ListedRoom, RoomAffiliation, RoomInvitation, RoomOccupant, RoomRole, RoomSummary } from '../../../src/app/contract.ts';

export const ROLE_WORDS: Record<RoomRole, string> = {
  moderator: 'moderator',
  participant: 'participant',
  visitor: 'visitor (no voice)',
  none: 'not in the room',
};

export const AFFILIATION_WORDS: Record<RoomAffiliation, string> = {
  owner: 'owner',
  admin: 'admin',
  member: 'member',
  outcast: 'banned',
  none: '',
};

const AFFILIATION_RANK: Record<RoomAffiliation, number> = { owner: 4, admin: 3, member: 2, none: 1, outcast: 0 };
const ROLE_RANK: Record<RoomRole, number> = { moderator: 0, participant: 1, visitor: 2, none: 3 };

/** The local part of a JID (before the @), or the whole of it when it has none. */
const localOf = (jid: string): string => (jid.includes('@') ? jid.slice(0, jid.indexOf('@')) : jid);

/** The domain of a bare JID (the room's service). */
export const domainOfJid = (jid: string): string => jid.slice(jid.indexOf('@') + 1);

/** What the room is called: its name, else the local part of its address. */
export const roomTitle = (room: Pick<RoomSummary, 'jid' | 'name'>): string => room.name?.trim() || localOf(room.jid);

/** The room's state in a few words, for the sidebar and its label. */
export function roomStateWords(room: RoomSummary): string {
  if (room.state === 'joining') return 'joining…';
  if (room.state === 'left') return room.problem ? 'not joined: see why' : 'not joined';
  return room.occupantCount === 1 ? '1 occupant' : `${room.occupantCount} occupants`;
}

/** The room in one sentence for assistive technology: name, state, unread and mentions. */
export function describeRoom(room: RoomSummary): string {
  const parts = [`Room ${roomTitle(room)}`, roomStateWords(room)];
  if (room.unread > 0) parts.push(`${room.unread} unread`);
  if (room.mentions > 0) parts.push(room.mentions === 1 ? '1 mention of you' : `${room.mentions} mentions of you`);
  if (room.bookmarked) parts.push(room.autojoin ? 'bookmarked, joined at login' : 'bookmarked');
  return parts.join(', ');
}

/** Sidebar order: rooms with mentions, then with unread messages, then joined before not joined, then by name. Stable. */
export function sortRooms(rooms: readonly RoomSummary[]): RoomSummary[] {
  const keyed = rooms.map((room) => ({
    room,
    mentions: room.mentions > 0 ? 0 : 1,
    unread: room.unread > 0 ? 0 : 1,
    joined: room.state === 'left' ? 1 : 0,
    name: roomTitle(room).toLocaleLowerCase(),
  }));
  keyed.sort((a, b) => a.mentions - b.mentions || a.unread - b.unread || a.joined - b.joined || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map((entry) => entry.room);
}

/** The rooms list with `room` in its latest state (added when new), in the core's order otherwise. */
export function upsertRoom(rooms: readonly RoomSummary[], room: RoomSummary): RoomSummary[] {
  const at = rooms.findIndex((candidate) => candidate.jid === room.jid);
  if (at === -1) return [...rooms, room];
  const next = [...rooms];
  next[at] = room;
  return next;
}

/** One invitation per room, as the core keeps them: a new one for the same room replaces the old. */
export function upsertInvitation(invitations: readonly RoomInvitation[], invitation: RoomInvitation): RoomInvitation[] {
  return [...invitations.filter((candidate) => candidate.room !== invitation.room), invitation];
}

/**
 * Who sent the invitation, as a person reads it: a real address as it is, or, where a
 * semi-anonymous room names the inviter as one of its occupants (room@service/nick), the nick.
 */
export function inviterOf(invitation: Pick<RoomInvitation, 'room' | 'from'>): string {
  const prefix = `${invitation.room}/`;
  return invitation.from.startsWith(prefix) && invitation.from.length > prefix.length ? invitation.from.slice(prefix.length) : invitation.from;
}

/**
 * The address of the room a person typed: `room@service` as it is, or a bare name on the account's
 * room service; null when there is nothing to join, or no service to put a bare name on.
 */
export function roomAddress(typed: string, service: string | null): string | null {
  const value = typed.trim();
  if (value === '') return null;
  if (value.includes('@')) return value;
  if (!service) return null;
  return `${value.toLowerCase().replace(/\s+/g, '-')}@${service}`;
}

/** The listed rooms whose address or name contains the filter (case-insensitive), in name order. */
export function filterListed(rooms: readonly ListedRoom[], filter: string): ListedRoom[] {
  const needle = filter.trim().toLocaleLowerCase();
  const shown = needle === '' ? [...rooms] : rooms.filter((room) => room.jid.toLocaleLowerCase().includes(needle) || (room.name ?? '').toLocaleLowerCase().includes(needle));
  const key = (room: ListedRoom) => roomTitle(room).toLocaleLowerCase();
  return shown.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Occupants by role (moderators first), then affiliation (owners first), then nick. */
export function sortOccupants(occupants: Iterable<RoomOccupant>): RoomOccupant[] {
  return [...occupants].sort(
    (a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role]
      || AFFILIATION_RANK[b.affiliation] - AFFILIATION_RANK[a.affiliation]
      || a.nick.localeCompare(b.nick),
  );
}

/** The occupant table after one room.occupants event: each change sets the nick's entry, or removes it (null). */
export function applyOccupantChanges(
  table: ReadonlyMap<string, RoomOccupant>,
  changes: ReadonlyArray<{ nick: string; occupant: RoomOccupant | null }>,
): Map<string, RoomOccupant> {
  const next = new Map(table);
  for (const { nick, occupant } of changes) {
    if (occupant) next.set(nick, occupant);
    else next.delete(nick);
  }
  return next;
}

/** The role and affiliation in words: "moderator, owner". */
export function occupantWords(occupant: Pick<RoomOccupant, 'role' | 'affiliation'>): string {
  const affiliation = AFFILIATION_WORDS[occupant.affiliation];
  return affiliation ? `${ROLE_WORDS[occupant.role]}, ${affiliation}` : ROLE_WORDS[occupant.role];
}

export type OccupantAction = 'private' | 'kick' | 'voice' | 'mute' | 'member' | 'ban';

export const ACTION_WORDS: Record<OccupantAction, string> = {
  private: 'Private message',
  kick: 'Kick',
  voice: 'Grant voice',
  mute: 'Revoke voice',
  member: 'Make member',
  ban: 'Ban',
};

/**
 * What our role and affiliation let us do to another occupant (XEP-0045 8 and 9): moderators kick
 * and give or take voice, but not an admin's or owner's; admins and owners ban, and make members,
 * those below them, when the room shows their address. A private message is for anyone else.
 */
export function occupantActions(
  self: { role: RoomRole | null; affiliation: RoomAffiliation | null; nick: string },
  target: RoomOccupant,
): OccupantAction[] {
  if (target.nick === self.nick) return [];
  const actions: OccupantAction[] = ['private'];
  const ours = AFFILIATION_RANK[self.affiliation ?? 'none'];
  const theirs = AFFILIATION_RANK[target.affiliation];
  const protectedTarget = target.affiliation === 'owner' || target.affiliation === 'admin';
  if (self.role === 'moderator' && !protectedTarget) {
    actions.push('kick');
    if (target.role === 'visitor') actions.push('voice');
    if (target.role === 'participant') actions.push('mute');
  }
  if (ours >= AFFILIATION_RANK.admin && ours > theirs && target.jid !== null) {
    if (target.affiliation === 'none') actions.push('member');
    actions.push('ban');
  }
  return actions;
}

/** Whether we may change the subject (XEP-0045 8.1): moderators may, and participants where the room lets them. */
export const maySetSubject = (room: Pick<RoomSummary, 'state' | 'role' | 'anyoneMaySetSubject'>): boolean =>
  room.state === 'joined' && (room.role === 'moderator' || (room.role === 'participant' && room.anyoneMaySetSubject));

/** What the room's disco#info says about it, in words, for the room's details. */
export function roomFacts(room: RoomSummary): string[] {
  const facts: string[] = [];
  facts.push(room.archived ? 'Keeps an archive: older messages load as you scroll up.' : 'Keeps no archive: only what was said while you were in it.');
  if (room.membersOnly) facts.push('Members only: others need an invitation or membership.');
  if (room.passwordProtected) facts.push('Protected by a password.');
  facts.push(room.nonAnonymous ? 'Everyone in it sees your address.' : 'Only moderators may see your address.');
  if (room.anyoneMaySetSubject) facts.push('Anyone with a voice may change the subject.');
  if (room.created) facts.push('You created it in this session.');
  return facts;
}
