// The chat features of one session, composed the way xmpp.js composes its own: each module adds
// its middleware and online hook to the session. Build it before the session starts.
import { enableCarbons } from './carbons.ts';
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
  const presence = new Presence(session);
  const messaging = new Messaging(session);
  const archive = new Archive(session);
  return { session, roster, presence, messaging, archive, carbons };
}

export function createChatClient(options: SessionOptions): ChatFeatures {
  return addChatFeatures(new XmppSession(options));
}
