// The few JID operations the chat modules need (RFC 7622), on strings.

/** The bare JID (local@domain or domain), lower-cased as this client compares them. */
export function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash === -1 ? jid : jid.slice(0, slash)).toLowerCase();
}

/** The resource part, or '' for a bare JID. */
export function resourceOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash === -1 ? '' : jid.slice(slash + 1);
}
