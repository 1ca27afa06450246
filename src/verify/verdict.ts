// The verdict (docs/ARCHITECTURE.md#the-verdict, RFC 7712 prooftypes): PKIX first, then POSH, else
// the most specific reason the domain is not proved, with what its admin could publish to fix it.
// The chain's validity is OpenSSL's, decided in the handshake and handed in; this module judges the
// identity, the POSH material and the presented leaf.
import { parseCertificate, weakKey, type ParsedCertificate } from './certificate.ts';
import { chainProblem, opensslReason } from './chain-words.ts';
import type { Domain } from './domain.ts';
import { DnaError } from './errors.ts';
import { fingerprintsOf, matchFingerprints } from './fingerprints.ts';
import { IdentityMismatch, verifyServiceIdentity } from './identity.ts';
import type { CertificateFacts, ChainVerification, IdentityMatch, PoshResult, PublishHint, ServiceName, Verdict } from './types.ts';

/** The `expires` (seconds) of the document the hint proposes: one day, so a mistake does not linger. */
export const HINT_EXPIRES = 86_400;

export interface VerdictInput {
  domain: Domain;
  service: ServiceName;
  /** The certificates the server presented, in the order it sent them (leaf first). */
  chain: Uint8Array[];
  /** What OpenSSL's verification in the handshake said about that chain. */
  pkix: ChainVerification;
  posh: PoshResult;
  now: Date;
}

export interface VerdictOutcome {
  verdict: Verdict;
  /** The presented leaf. */
  certificate: CertificateFacts;
  /** Every presented certificate this client could read, in the order sent (the leaf first). */
  chain: CertificateFacts[];
  /** What the domain's admin could publish; only when publishing fingerprints would make this certificate verify. */
  hint: PublishHint | null;
}

/** How the user and the admin recognise the certificate: the name it presents first. */
function certificateOf(certificate: CertificateFacts): string {
  const name = certificate.dnsNames[0] ?? certificate.xmppAddrs[0] ?? certificate.commonNames[0];
  return name === undefined ? "the server's certificate" : `${name}'s certificate`;
}

// Host names stay as written at the start of a sentence; only the generic fallback is capitalized.
const capitalized = (text: string): string => text.replace(/^the /, 'The ');
const withoutFinalPeriod = (text: string): string => text.replace(/\.$/, '');

/** Why PKIX did not prove the domain, as a clause: the name, the chain, or both. */
function pkixClause(d: Domain, certificate: CertificateFacts, pkix: ChainVerification, mismatch: IdentityMismatch | null): string {
  const subject = certificateOf(certificate);
  const problem = pkix.trusted ? null : chainProblem(pkix);
  if (mismatch && problem) return `${subject} does not name ${d} and ${problem}`;
  if (mismatch) return `${subject} does not name ${d}`;
  return `${subject} names ${d} but ${problem}`;
}

/** Why PKIX did not prove the domain, in sentences, for the chain view: the chain's rule, then the names. */
function pkixFailureOf(certificate: CertificateFacts, pkix: ChainVerification, mismatch: IdentityMismatch | null): string {
  const sentences: string[] = [];
  if (!pkix.trusted) {
    sentences.push(`${capitalized(certificateOf(certificate))} ${chainProblem(pkix)} (OpenSSL: ${opensslReason(pkix)}).`);
  }
  if (mismatch) sentences.push(mismatch.message);
  return sentences.join(' ');
}

function poshClause(d: Domain, posh: PoshResult): string {
  switch (posh.status) {
    case 'absent':
      return `${d} publishes no POSH document at ${posh.url}`;
    case 'valid': {
      const count = posh.fingerprints.length;
      return count === 1
        ? `the fingerprint ${d} publishes at ${posh.url} does not match it`
        : `none of the ${count} fingerprints ${d} publishes at ${posh.url} matches it`;
    }
    case 'invalid':
    case 'error': {
      const detail = posh.error ? `${posh.error.code}: ${withoutFinalPeriod(posh.error.message)}` : posh.status;
      return `${d}'s POSH document at ${posh.url} could not be used (${detail})`;
    }
  }
}

function validityOf(certificate: CertificateFacts, now: Date): 'expired' | 'not-yet-valid' | null {
  const time = now.getTime();
  if (time < Date.parse(certificate.notBefore)) return 'not-yet-valid';
  if (time > Date.parse(certificate.notAfter)) return 'expired';
  return null;
}

function ensurePoshIsFor(posh: PoshResult, d: Domain, service: ServiceName): void {
  if (posh.service !== service || posh.domain !== d) {
    throw new DnaError('POSH_OTHER_DOMAIN', `The POSH result is for ${posh.domain} (${posh.service}), not ${d} (${service}); it cannot prove this connection.`);
  }
}

/**
 * The identifier by which the leaf names D for PKIX. Under name constraints only a DNS-ID counts:
 * OpenSSL checked the DNS names against them, while nothing constrains an SRV-ID or an XmppAddr.
 */
function pkixIdentity(leaf: CertificateFacts, d: Domain, service: ServiceName, pkix: ChainVerification): IdentityMatch | IdentityMismatch {
  const presented = pkix.nameConstrained ? { ...leaf, srvNames: [], xmppAddrs: [] } : leaf;
  try {
    return verifyServiceIdentity(presented, d, service);
  } catch (error) {
    if (!(error instanceof IdentityMismatch)) throw error;
    if (pkix.nameConstrained && (leaf.srvNames.length > 0 || leaf.xmppAddrs.length > 0)) {
      const note = `Its chain is name-constrained, and name constraints do not cover SRV-IDs or XmppAddrs, so only a DNS-ID can name ${d}.`;
      return new IdentityMismatch(error.reference, error.presented, service, note);
    }
    return error;
  }
}

function readable(der: Uint8Array): ParsedCertificate[] {
  try {
    return [parseCertificate(der)];
  } catch {
    return [];
  }
}

/**
 * Decides whether the presented chain proves `domain` for `service`: PKIX (OpenSSL trusts the
 * chain and the leaf names D), else POSH (a published fingerprint of the leaf, inside its validity,
 * with a key strong enough), else the most specific failure. Throws DnaError for input that is not
 * a connection's: `NO_CERTIFICATE`, `CERT_UNPARSABLE` (leaf), `POSH_OTHER_DOMAIN`.
 */
export function decideVerdict(input: VerdictInput): VerdictOutcome {
  const { domain: d, service, chain, pkix, posh, now } = input;
  ensurePoshIsFor(posh, d, service);
  const [leafDer, ...rest] = chain;
  if (!leafDer) throw new DnaError('NO_CERTIFICATE', 'The server presented no certificate.');
  const parsedLeaf = parseCertificate(leafDer);
  const certificate = parsedLeaf.facts;
  const presented = [certificate, ...rest.flatMap(readable).map((parsed) => parsed.facts)];
  const outcome = (verdict: Verdict, hint: PublishHint | null = null): VerdictOutcome => ({ verdict, certificate, chain: presented, hint });

  const identity = pkixIdentity(certificate, d, service, pkix);
  const mismatch = identity instanceof IdentityMismatch ? identity : null;
  if (pkix.trusted && !mismatch) {
    const match = identity as IdentityMatch;
    const root = pkix.anchor ? `the trusted root ${pkix.anchor}` : 'a trusted root';
    return outcome({
      verified: true,
      prooftype: 'PKIX',
      code: 'OK_PKIX',
      reason: `${d} is proven by PKIX: ${certificateOf(certificate)} chains to ${root} and names ${d} (${match.type} ${match.presented}).`,
      identity: match,
    });
  }

  const pkixFailure = pkixFailureOf(certificate, pkix, mismatch);
  const match = posh.status === 'valid' ? matchFingerprints(posh.fingerprints, leafDer) : null;
  const notVerified = (code: Verdict['code'], reason: string, hint: PublishHint | null = null): VerdictOutcome =>
    outcome({ verified: false, prooftype: null, code, reason, pkixFailure }, hint);
  const published = match ? ` ${d} publishes its fingerprint, but that does not make an out-of-date certificate valid.` : '';

  switch (validityOf(certificate, now)) {
    case 'expired':
      return notVerified('CERT_EXPIRED', `${capitalized(certificateOf(certificate))} expired on ${certificate.notAfter}; the server's admin must renew it.${published}`);
    case 'not-yet-valid':
      return notVerified('CERT_NOT_YET_VALID', `${capitalized(certificateOf(certificate))} is not valid until ${certificate.notBefore}; check this computer's clock, or the server's admin installed it early.${published}`);
    case null:
      break;
  }
  const weakness = weakKey(parsedLeaf);
  if (weakness) {
    const trusted = match ? ` ${d} publishes its fingerprint, but no publication makes a weak key safe.` : '';
    return notVerified('CERT_WEAK_KEY', `${capitalized(certificateOf(certificate))} cannot be trusted: ${weakness}; the server's admin must replace it.${trusted}`);
  }
  if (match) {
    return outcome({
      verified: true,
      prooftype: 'POSH',
      code: 'OK_POSH',
      reason: `${d} is proven by POSH: ${d} publishes the ${match.hash} fingerprint of ${certificateOf(certificate)} at ${posh.url}.`,
      fingerprint: match,
      pkixFailure,
    });
  }

  const hint: PublishHint = { publishAt: posh.url, document: { fingerprints: [fingerprintsOf(leafDer)], expires: HINT_EXPIRES } };
  const reason = `${capitalized(pkixClause(d, certificate, pkix, mismatch))}, and ${poshClause(d, posh)}.`;
  return notVerified(posh.status === 'valid' ? 'POSH_MISMATCH' : 'NO_PROOF', reason, hint);
}

/** A verdict for a connection that failed before there was a certificate to judge. */
export function connectionFailure(code: 'CONNECT_FAILED' | 'TLS_HANDSHAKE_FAILED' | 'SRV_NO_SERVICE', reason: string): Verdict {
  return { verified: false, prooftype: null, code, reason };
}
