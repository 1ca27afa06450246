// What one presence from a room means (XEP-0045): an occupant who is there (with role and
// affiliation), one who left, changed nick, was kicked or banned, or the room itself going away;
// and the refusals of a join, each in words a person can act on. Pure: stanzas in, facts out.
import type { Element } from '@xmpp/xml';
import { bareJid, resourceOf } from './jid.ts';

export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

export type Role = 'moderator' | 'participant' | 'visitor' | 'none';
export type Affiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';
const ROLES: readonly Role[] = ['moderator', 'participant', 'visitor', 'none'];
const AFFILIATIONS: readonly Affiliation[] = ['owner', 'admin', 'member', 'outcast', 'none'];

/** The longest nick, status and reason kept: a room may hold thousands, and a stranger writes them. */
export const MUC_TEXT_LIMITS = { nick: 256, status: 1024, reason: 1024 } as const;

export interface Occupant {
  nick: string;
  role: Role;
  affiliation: Affiliation;
  /** The real JID, when the room shows it (non-anonymous rooms, or to moderators). */
  jid: string | null;
  show: 'chat' | 'away' | 'xa' | 'dnd' | null;
  status: string | null;
}

/** Why an occupant left, from the status codes (XEP-0045 15.6.2) and the <destroy/> element. */
export type Departure =
  | { kind: 'left' }
  | { kind: 'nick-changed'; newNick: string }
  | { kind: 'kicked'; reason: string | null; actor: string | null }
  | { kind: 'banned'; reason: string | null; actor: string | null }
  | { kind: 'removed-affiliation' }
  | { kind: 'removed-members-only' }
  | { kind: 'shutdown' }
  | { kind: 'destroyed'; reason: string | null; alternate: string | null };

export type RoomPresence =
  | { kind: 'available'; occupant: Occupant; self: boolean; codes: ReadonlySet<number> }
  | { kind: 'unavailable'; occupant: Occupant; self: boolean; departure: Departure; codes: ReadonlySet<number> }
  | { kind: 'error'; nick: string; condition: string; text: string | null };

const cut = (text: string | null | undefined, max: number): string | null => (text ? text.slice(0, max) : null);

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.find((candidate) => candidate === value) ?? fallback;
}

/** The <error/> condition and text of a stanza (RFC 6120 8.3.3). */
export function stanzaErrorOf(stanza: Element): { condition: string; text: string | null } {
  const error = stanza.getChild('error');
  const condition = error?.getChildElements().find((child) => child.attrs.xmlns === NS_STANZAS && child.name !== 'text')?.name ?? 'undefined-condition';
  return { condition, text: cut(error?.getChildText('text', NS_STANZAS) ?? error?.getChildText('text'), MUC_TEXT_LIMITS.reason) };
}

/**
 * One presence from `room@service/nick`; null when it is not from an occupant of that room (the
 * caller checks that `from` is the room's) or carries nothing usable.
 */
export function parseRoomPresence(stanza: Element): RoomPresence | null {
  const from = stanza.attrs.from ?? '';
  const nick = resourceOf(from).slice(0, MUC_TEXT_LIMITS.nick);
  const type = stanza.attrs.type;
  if (type === 'error') return { kind: 'error', nick, ...stanzaErrorOf(stanza) };
  if (nick === '' || (type !== undefined && type !== 'unavailable')) return null;
  const x = stanza.getChild('x', NS_MUC_USER);
  const item = x?.getChild('item');
  const codes = new Set((x?.getChildren('status') ?? []).map((status) => Number(status.attrs.code)).filter((code) => Number.isInteger(code)));
  const show = stanza.getChildText('show');
  const occupant: Occupant = {
    nick,
    role: oneOf(item?.attrs.role, ROLES, 'none'),
    affiliation: oneOf(item?.attrs.affiliation, AFFILIATIONS, 'none'),
    jid: item?.attrs.jid ? cut(item.attrs.jid, 3071) : null,
    show: show === 'chat' || show === 'away' || show === 'xa' || show === 'dnd' ? show : null,
    status: cut(stanza.getChildText('status'), MUC_TEXT_LIMITS.status),
  };
  // XEP-0045 7.2.3: status 110 marks presence about ourselves (some servers only add it to our own).
  const self = codes.has(110);
  if (type !== 'unavailable') return { kind: 'available', occupant, self, codes };
  return { kind: 'unavailable', occupant, self, departure: departureOf(x, item, codes), codes };
}

function departureOf(x: Element | undefined, item: Element | undefined, codes: ReadonlySet<number>): Departure {
  const reason = cut(item?.getChildText('reason'), MUC_TEXT_LIMITS.reason);
  const actor = cut(item?.getChild('actor')?.attrs.nick ?? item?.getChild('actor')?.attrs.jid, MUC_TEXT_LIMITS.nick);
  const destroy = x?.getChild('destroy');
  if (destroy) return { kind: 'destroyed', reason: cut(destroy.getChildText('reason'), MUC_TEXT_LIMITS.reason), alternate: destroy.attrs.jid ? bareJid(destroy.attrs.jid) : null };
  if (codes.has(303) && item?.attrs.nick) return { kind: 'nick-changed', newNick: item.attrs.nick.slice(0, MUC_TEXT_LIMITS.nick) };
  if (codes.has(301)) return { kind: 'banned', reason, actor };
  if (codes.has(307)) return { kind: 'kicked', reason, actor };
  if (codes.has(321)) return { kind: 'removed-affiliation' };
  if (codes.has(322)) return { kind: 'removed-members-only' };
  if (codes.has(332)) return { kind: 'shutdown' };
  return { kind: 'left' };
}

/** What the user reads when they are the one who left the room this way (XEP-0045 9.2, 9.7, 10.9). */
export function departureWords(room: string, departure: Departure): string {
  const by = (actor: string | null) => (actor ? ` by ${actor}` : '');
  const because = (reason: string | null) => (reason ? `: "${reason}"` : '.');
  switch (departure.kind) {
    case 'left':
      return `You left ${room}.`;
    case 'nick-changed':
      return `You are now ${departure.newNick} in ${room}.`;
    case 'kicked':
      return `You were removed from ${room}${by(departure.actor)}${because(departure.reason)} You can join again.`;
    case 'banned':
      return `You were banned from ${room}${by(departure.actor)}${because(departure.reason)} You cannot join again unless an admin lifts the ban.`;
    case 'removed-affiliation':
      return `You were removed from ${room} because your membership changed.`;
    case 'removed-members-only':
      return `You were removed from ${room}: it became members-only and you are not a member.`;
    case 'shutdown':
      return `${room} closed because its service is shutting down. It will be joined again when you reconnect.`;
    case 'destroyed':
      return `${room} was destroyed${because(departure.reason)}${departure.alternate ? ` Its owner suggests ${departure.alternate} instead.` : ''}`;
  }
}

/** Why a join was refused (XEP-0045 7.2.6 to 7.2.11), in words that say what to do. */
export function joinErrorWords(room: string, condition: string, text: string | null): string {
  const server = text ? ` The room said: "${text}".` : '';
  const words: Record<string, string> = {
    'not-authorized': `${room} needs a password. Enter the room's password and join again.`,
    forbidden: `You are banned from ${room}.`,
    'registration-required': `${room} is members-only and you are not a member. Ask one of its admins to add you.`,
    conflict: `Someone in ${room} already uses that nickname. Pick another one.`,
    'not-acceptable': `${room} wants you to use your reserved nickname.`,
    'service-unavailable': `${room} is full or does not accept new occupants now.`,
    'item-not-found': `${room} does not exist, or is locked while its owner configures it.`,
    'not-allowed': `${room} does not exist, and this service does not let you create rooms.`,
    'remote-server-not-found': `The server of ${room} cannot be reached.`,
    'remote-server-timeout': `The server of ${room} did not answer in time.`,
  };
  return `${words[condition] ?? `${room} refused the join (<${condition}/>).`}${server}`;
}
