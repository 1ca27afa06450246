// The one normal form of a domain the pipeline works with: lowercase A-labels, no trailing dot
// (RFC 6125 6.2.1, RFC 5890). Every module that takes a domain from outside goes through here.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { DnaError } from './errors.ts';

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// ASCII that cannot be part of a domain name. Checked before domainToASCII, which would parse
// `example.com/x` as a URL host and return `example.com`.
const NOT_DOMAIN_ASCII = /[^a-z0-9.\-\u0080-\uffff]/i;

export const withoutTrailingDot = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name);

/** Lowercase LDH labels (A-labels included), at most 253 octets. */
export function isLdhName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LDH_LABEL.test(label));
}

/** A domain in any case, with U-labels or A-labels, as lowercase A-labels without a trailing dot; null if it is not one. */
export function toALabels(domain: string): string | null {
  if (NOT_DOMAIN_ASCII.test(domain)) return null;
  const ascii = withoutTrailingDot(domainToASCII(withoutTrailingDot(domain)));
  return isLdhName(ascii) ? ascii : null;
}

/** Normalises a domain (U-labels allowed) or throws BAD_DOMAIN with a sentence; IP addresses are refused. */
export function normalizeDomain(input: string): string {
  const trimmed = input.trim();
  if (isIP(trimmed) !== 0 || isIP(trimmed.replace(/^\[|\]$/g, '')) !== 0) {
    throw new DnaError('BAD_DOMAIN', `"${input}" is an IP address; only a domain name can be proved, like example.com.`);
  }
  const ascii = toALabels(trimmed);
  if (ascii === null) {
    const hint = trimmed.includes('@') ? ' (give the part after "@" of the address)' : '';
    throw new DnaError('BAD_DOMAIN', `"${input}" is not a domain name${hint}; use a name like example.com.`);
  }
  return ascii;
}
