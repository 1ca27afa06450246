// Service identity (RFC 6125 / RFC 9525 as profiled for XMPP by RFC 6120 13.7.2 and RFC 7712):
// does a certificate name the XMPP domain D? Pure functions on CertificateFacts.
import { isLdhName, toALabels, withoutTrailingDot, type Domain } from './domain.ts';
import { DnaError } from './errors.ts';
import type { CertificateFacts, IdentityMatch, ServiceName } from './types.ts';

/** What the client looks for: DNS-ID D, SRV-ID `_service.D`, XmppAddr D, with D in A-labels. */
export interface ReferenceIdentifiers {
  dnsId: Domain;
  srvId: string;
  xmppAddr: string;
}

/** What the certificate offers, as presented. The CNs are kept only to explain a mismatch. */
export interface PresentedIdentifiers {
  dnsNames: string[];
  srvNames: string[];
  xmppAddrs: string[];
  commonNames: string[];
}

export function referenceIdentifiers(d: Domain, service: ServiceName): ReferenceIdentifiers {
  return { dnsId: d, srvId: `_${service}.${d}`, xmppAddr: d };
}

/**
 * RFC 6125 6.4.1 and 6.4.3 (RFC 9525 6.3): case-insensitive on A-labels; a wildcard only as the
 * complete leftmost label, matching exactly one label, and never directly over a single label.
 */
function dnsIdMatches(presented: string, d: Domain): boolean {
  const name = withoutTrailingDot(presented.toLowerCase());
  if (isLdhName(name)) return name === d;
  if (!name.startsWith('*.')) return false;
  const parent = name.slice(2);
  if (!isLdhName(parent) || !parent.includes('.')) return false;
  const dot = d.indexOf('.');
  return dot > 0 && d.slice(dot + 1) === parent;
}

/** RFC 4985 and RFC 6125 6.4.1: `_service.name`, the service exact, the name in A-labels, no wildcard. */
function srvIdMatches(presented: string, service: ServiceName, d: Domain): boolean {
  const dot = presented.indexOf('.');
  if (dot < 0 || presented.slice(0, dot).toLowerCase() !== `_${service}`) return false;
  const name = withoutTrailingDot(presented.slice(dot + 1).toLowerCase());
  return isLdhName(name) && name === d;
}

/** RFC 6120 13.7.1.4: the XmppAddr of a server is a bare domain; compared as A-labels. */
function xmppAddrMatches(presented: string, d: Domain): boolean {
  return toALabels(presented) === d;
}

function listOf(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function mismatchMessage(reference: ReferenceIdentifiers, presented: PresentedIdentifiers, service: ServiceName): string {
  const d = reference.dnsId;
  const names = [...new Set([...presented.dnsNames, ...presented.srvNames, ...presented.xmppAddrs])];
  const sentences = [
    names.length > 0
      ? `The certificate names ${listOf(names)}, not ${d}.`
      : `The certificate names no domain (it has no DNS, SRV or XmppAddr subjectAltName), not ${d}.`,
  ];
  const otherService = presented.srvNames.filter((srv) => {
    const dot = srv.indexOf('.');
    return dot > 0 && srv.slice(0, dot).toLowerCase() !== `_${service}` && toALabels(srv.slice(dot + 1)) === d;
  });
  if (otherService.length > 0) {
    sentences.push(`${listOf(otherService)} does not cover ${service} connections (${reference.srvId} would).`);
  }
  const cn = presented.commonNames.find((name) => toALabels(name) === d);
  if (cn !== undefined) {
    sentences.push(`Its subject CN ${cn} is not used to identify a server (RFC 9525); ${d} must be a subjectAltName.`);
  }
  return sentences.join(' ');
}

/** The certificate does not name the domain. */
export class IdentityMismatch extends DnaError<'IDENTITY_MISMATCH'> {
  readonly reference: ReferenceIdentifiers;
  readonly presented: PresentedIdentifiers;

  /** `note`: one more sentence, for a reason that lies outside the names themselves. */
  constructor(reference: ReferenceIdentifiers, presented: PresentedIdentifiers, service: ServiceName, note?: string) {
    super('IDENTITY_MISMATCH', [mismatchMessage(reference, presented, service), note].filter(Boolean).join(' '));
    this.name = 'IdentityMismatch';
    this.reference = reference;
    this.presented = presented;
  }
}

/**
 * The identifier by which the certificate names `domain` for `service`: a DNS-ID, the service's
 * SRV-ID or an XmppAddr (RFC 6120 13.7.2.1, RFC 7712). The subject CN is never used (RFC 9525).
 * Throws IdentityMismatch when nothing matches.
 */
export function verifyServiceIdentity(facts: CertificateFacts, domain: Domain, service: ServiceName): IdentityMatch {
  const reference = referenceIdentifiers(domain, service);
  const d = reference.dnsId;
  const dnsId = facts.dnsNames.find((name) => dnsIdMatches(name, d));
  if (dnsId !== undefined) return { type: 'DNS-ID', presented: dnsId };
  const srvId = facts.srvNames.find((name) => srvIdMatches(name, service, d));
  if (srvId !== undefined) return { type: 'SRV-ID', presented: srvId };
  const xmppAddr = facts.xmppAddrs.find((name) => xmppAddrMatches(name, d));
  if (xmppAddr !== undefined) return { type: 'XmppAddr', presented: xmppAddr };
  const { dnsNames, srvNames, xmppAddrs, commonNames } = facts;
  throw new IdentityMismatch(reference, { dnsNames, srvNames, xmppAddrs, commonNames }, service);
}
