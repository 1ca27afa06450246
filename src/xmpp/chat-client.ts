// The chat features of one session, composed the way xmpp.js composes its own: each module adds
// its middleware and online hook to the session. Build it before the session starts.
import { Bookmarks, NS_BOOKMARKS, type Bookmark } from './bookmarks.ts';
import { enableCarbons } from './carbons.ts';
import { Disco } from './disco.ts';
import { bareJid, localOf } from './jid.ts';
import { Archive } from './mam.ts';
import { NS_RECEIPTS, Messaging } from './messages.ts';
import { NS_MUC } from './muc-presence.ts';
import { NS_CONFERENCE, Rooms, type RoomsOptions } from './muc.ts';
import { Presence } from './presence.ts';
import { Roster } from './roster.ts';
import { XmppSession, type SessionOptions } from './session.ts';

export interface ChatFeatures {
  session: XmppSession;
  roster: Roster;
  presence: Presence;
  messaging: Messaging;
  archive: Archive;
  carbons: { readonly enabled: boolean };
  disco: Disco;
  rooms: Rooms;
  bookmarks: Bookmarks;
}

/** What this client does, as others learn it from disco#info and our capabilities (disco.ts adds its own). */
export const CLIENT_FEATURES: readonly string[] = [NS_MUC, NS_CONFERENCE, `${NS_BOOKMARKS}+notify`, NS_RECEIPTS];

export interface ChatOptions {
  rooms?: RoomsOptions;
}

/**
 * Adds roster, presence, messages, carbons, the archive, rooms and bookmarks to a session (in that
 * order of online hooks); rooms before messages, so that a room's private messages stay the room's.
 */
export function addChatFeatures(session: XmppSession, options: ChatOptions = {}): ChatFeatures {
  const disco = new Disco(session, CLIENT_FEATURES);
  const caps = () => disco.caps();
  const roster = new Roster(session);
  const bookmarks = new Bookmarks(session);
  const rooms = new Rooms(session, caps, { ...options.rooms, isPerson: (jid) => roster.item(jid) !== undefined });
  const carbons = enableCarbons(session);
  const own = bareJid(session.jid);
  // Presence is kept for the roster's contacts and the account's own other resources only.
  const presence = new Presence(session, (jid) => jid === own || roster.item(jid) !== undefined, caps);
  presence.events.on('own', (own) => void rooms.setPresence(own));
  roster.events.on('item', (change) => {
    if (change.subscription === 'remove') presence.forget(change.jid);
  });
  // XEP-0184 8: a receipt tells the sender we are online, so only those who may see our presence get one.
  const messaging = new Messaging(session, (jid) => {
    const subscription = roster.item(jid)?.subscription;
    return subscription === 'from' || subscription === 'both';
  });
  const archive = new Archive(session);
  // XEP-0402 3.5: the rooms bookmarked with autojoin are joined at login, and when another device
  // sets autojoin on one; when another device clears autojoin or removes the bookmark, it left the
  // room, and so does this one.
  const autojoin = (bookmark: Bookmark) => {
    const state = rooms.status(bookmark.jid)?.state;
    if (!bookmark.autojoin || state === 'joined' || state === 'joining') return;
    rooms.join(bookmark.jid, bookmark.nick ?? (localOf(session.jid) || session.jid), { password: bookmark.password }).catch(() => undefined);
  };
  // Stage 2: after the rooms' own rejoin (stage 1), so a room is joined once.
  session.onOnline((resumed) => {
    if (!resumed) bookmarks.list().forEach(autojoin);
  }, 2);
  bookmarks.events.on('bookmark', autojoin);
  bookmarks.events.on('elsewhere', ({ jid, bookmark }) => {
    if (bookmark?.autojoin || rooms.status(jid) === null) return;
    rooms.leave(jid).catch(() => undefined);
  });
  return { session, roster, presence, messaging, archive, carbons, disco, rooms, bookmarks };
}

export function createChatClient(options: SessionOptions, chat: ChatOptions = {}): ChatFeatures {
  return addChatFeatures(new XmppSession(options), chat);
}
