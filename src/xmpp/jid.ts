// The few JID operations the chat modules need (RFC 7622), on strings.
import { domainToASCII } from 'node:url';

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

/** Whether two JIDs are the same entity: local and domain without case, the resource exactly (RFC 7622 3). */
export function sameJid(a: string, b: string): boolean {
  return bareJid(a) === bareJid(b) && resourceOf(a) === resourceOf(b) && a.includes('/') === b.includes('/');
}

/**
 * The bare JID in one form per entity: lower case, the domain as A-labels (RFC 7622 3.2, RFC 5891),
 * so that bücher.example and xn--bcher-kva.example are one account.
 */
export function canonicalBareJid(jid: string): string {
  const bare = bareJid(jid);
  const at = bare.indexOf('@');
  const domain = bare.slice(at + 1);
  const ascii = domainToASCII(domain) || domain;
  return at === -1 ? ascii : `${bare.slice(0, at)}@${ascii}`;
}

/** Whether `jid` is exactly the account's bare JID: another resource of the account is not. */
export function isOwnBareJid(jid: string, ownBare: string): boolean {
  return !jid.includes('/') && canonicalBareJid(jid) === canonicalBareJid(ownBare);
}
