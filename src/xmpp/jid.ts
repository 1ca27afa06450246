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

/** The domain part of a JID (RFC 7622 3.2): after the local part's "@", before any resource. */
export function domainOf(jid: string): string {
  const bare = jid.split('/', 1)[0]!;
  return bare.slice(bare.indexOf('@') + 1);
}

/** The local part of a JID, or '' when it has none. */
export function localOf(jid: string): string {
  const bare = jid.split('/', 1)[0]!;
  const at = bare.indexOf('@');
  return at === -1 ? '' : bare.slice(0, at);
}
