// The chat features of one session, composed the way xmpp.js composes its own: each module adds
// its middleware and online hook to the session. Build it before the session starts.
import { enableCarbons } from './carbons.ts';
import { bareJid } from './jid.ts';
import { Archive } from './mam.ts';
import { Messaging } from './messages.ts';
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
}

/** Adds roster, presence, messages, carbons and the archive to a session (in that order of online hooks). */
export function addChatFeatures(session: XmppSession): ChatFeatures {
  const roster = new Roster(session);
  const carbons = enableCarbons(session);
  const own = bareJid(session.jid);
  // Presence is kept for the roster's contacts and the account's own other resources only.
  const presence = new Presence(session, (jid) => jid === own || roster.item(jid) !== undefined);
  roster.events.on('item', (change) => {
    if (change.subscription === 'remove') presence.forget(change.jid);
  });
  // XEP-0184 8: a receipt tells the sender we are online, so only those who may see our presence get one.
  const messaging = new Messaging(session, (jid) => {
    const subscription = roster.item(jid)?.subscription;
    return subscription === 'from' || subscription === 'both';
  });
  const archive = new Archive(session);
  return { session, roster, presence, messaging, archive, carbons };
}

export function createChatClient(options: SessionOptions): ChatFeatures {
  return addChatFeatures(new XmppSession(options));
}
