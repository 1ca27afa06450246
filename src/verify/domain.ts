// The one normal form of a domain the pipeline works with: lowercase A-labels, no trailing dot
// (RFC 6125 6.2.1, RFC 5890). Every value that enters the pipeline from outside (a JID, a command
// line, a call) goes through normalizeDomain once; the result's type says it was.
import { domainToASCII } from 'node:url';
import { DnaError } from './errors.ts';

/** A domain in normal form: only normalizeDomain (and toALabels) make one. */
export type Domain = string & { readonly normalForm: unique symbol };

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// ASCII that cannot be part of a domain name. Checked before domainToASCII, which would parse
// `example.com/x` as a URL host and return `example.com`.
const NOT_DOMAIN_ASCII = /[^a-z0-9.\-\u0080-\uffff]/i;

// The WHATWG host parser reads a name whose last label is a number (decimal, or 0x hex) as an IPv4
// address in any of its forms (`127.1`, `2130706433`, `0x7f.1`); RFC 3696 section 2 rules out an
// all-numeric top-level label for a domain anyway.
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i;
// Anything bracketed, or with a colon among hex digits and dots, is written as an IPv6 address.
const IPV6_LIKE = /^\[.*\]$|^[0-9a-f.]*:[0-9a-f:.]*$/i;

export const withoutTrailingDot = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name);

/** Lowercase LDH labels (A-labels included), at most 253 octets. */
export function isLdhName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LDH_LABEL.test(label));
}

/** Whether `text` is an IP address in a form some parser accepts (IPv4 forms of WHATWG URL, IPv6). */
export function isIpLiteral(text: string): boolean {
  if (IPV6_LIKE.test(text)) return true;
  const last = withoutTrailingDot(text).split('.').at(-1) ?? '';
  return NUMERIC_LABEL.test(last);
}

/** A domain in any case, with U-labels or A-labels, as lowercase A-labels without a trailing dot; null if it is not one. */
export function toALabels(domain: string): Domain | null {
  if (NOT_DOMAIN_ASCII.test(domain) || isIpLiteral(domain)) return null;
  const ascii = withoutTrailingDot(domainToASCII(withoutTrailingDot(domain)));
  // Full-width digits and dots become ASCII only now.
  return isLdhName(ascii) && !isIpLiteral(ascii) ? (ascii as Domain) : null;
}

/** Normalises a domain (U-labels allowed) or throws BAD_DOMAIN with a sentence; IP addresses are refused. */
export function normalizeDomain(input: string): Domain {
  const trimmed = input.trim();
  const ascii = toALabels(trimmed);
  if (ascii !== null) return ascii;
  const mapped = NOT_DOMAIN_ASCII.test(trimmed) ? trimmed : withoutTrailingDot(domainToASCII(withoutTrailingDot(trimmed)));
  if (isIpLiteral(trimmed) || isIpLiteral(mapped)) {
    throw new DnaError('BAD_DOMAIN', `"${input}" is an IP address; only a domain name can be proved, like example.com.`);
  }
  const hint = trimmed.includes('@') ? ' (give the part after "@" of the address)' : '';
  throw new DnaError('BAD_DOMAIN', `"${input}" is not a domain name${hint}; use a name like example.com.`);
}
