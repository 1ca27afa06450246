// XML namespaces more than one module of the session speaks.

/** XEP-0280 Message Carbons. */
export const NS_CARBONS = 'urn:xmpp:carbons:2';
