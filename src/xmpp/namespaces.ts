// XML namespaces more than one module of the session speaks.

/** XEP-0280 Message Carbons. */
export const NS_CARBONS = 'urn:xmpp:carbons:2';

/** XEP-0030 Service Discovery. */
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

/** XEP-0004 Data Forms. */
export const NS_DATA = 'jabber:x:data';

/** XEP-0060 Publish-Subscribe (PEP, XEP-0163, is pubsub on the account's bare JID). */
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
