// The one normal form of a domain the pipeline works with: lowercase A-labels, no trailing dot.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { DnaError } from './errors.ts';

const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Normalises a user-typed domain (U-labels allowed) or throws BAD_DOMAIN with a sentence. */
export function normalizeDomain(input: string): string {
  const bad = (why: string) => new DnaError('BAD_DOMAIN', `"${input}" is not a usable XMPP domain: ${why}.`);
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed === '') throw bad('it is empty');
  if (isIP(trimmed) !== 0 || isIP(trimmed.replace(/^\[|\]$/g, '')) !== 0) throw bad('it is an IP address, and POSH needs a domain name');
  if (/[\s/@:?#]/.test(trimmed)) throw bad('a domain has no spaces, "/", "@", ":", "?" or "#" (give only the part after "@" of a JID)');
  const ascii = domainToASCII(trimmed).toLowerCase();
  if (ascii === '') throw bad('it is not a valid internationalised domain name');
  if (ascii.length > 253) throw bad('it is longer than 253 characters');
  const badLabel = ascii.split('.').find((label) => !LDH_LABEL.test(label));
  if (badLabel !== undefined) throw bad(`the label "${badLabel}" is not 1 to 63 letters, digits or inner hyphens`);
  return ascii;
}
