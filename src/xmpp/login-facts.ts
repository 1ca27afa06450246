// What the UI is told about a login; a type of its own, so the renderer's build reads nothing else of src/xmpp.

/** How a connection logged in, for the chain view (XEP-0388, XEP-0484, RFC 5802 -PLUS, XEP-0474). */
export interface LoginFacts {
  profile: 'sasl2' | 'sasl';
  /** The SASL mechanism that proved the user: SCRAM-SHA-1-PLUS, HT-SHA-256-EXPR (a FAST token)... */
  mechanism: string;
  method: 'password' | 'token';
  /** The channel binding that tied the login to this TLS channel, or null. */
  channelBinding: string | null;
  /** The server's XEP-0474 hash of its offer was checked. */
  downgradeChecked: boolean;
  /** The stream was resumed (XEP-0198), not bound afresh. */
  resumed: boolean;
}
