// The verdict (docs/ARCHITECTURE.md#the-verdict, RFC 7712 prooftypes): PKIX first, then POSH, else the most
// specific reason the domain is not proved, with what its admin could publish to fix it.
import { parseCertificate } from './certificate.ts';
import type { Domain } from './domain.ts';
import { DnaError } from './errors.ts';
import { fingerprintsOf, matchFingerprints } from './fingerprints.ts';
import { IdentityMismatch, verifyServiceIdentity } from './identity.ts';
import { validateChain, type ChainValidation, type TrustAnchors } from './pkix.ts';
import type { CertificateFacts, IdentityMatch, PoshResult, PublishHint, ServiceName, Verdict } from './types.ts';

/** The `expires` (seconds) of the document the hint proposes: one day, so a mistake does not linger. */
export const HINT_EXPIRES = 86_400;

export interface VerdictInput {
  domain: Domain;
  service: ServiceName;
  /** The certificates the server presented, leaf first. */
  chain: Uint8Array[];
  posh: PoshResult;
  anchors: TrustAnchors;
  now: Date;
}

export interface VerdictOutcome {
  verdict: Verdict;
  /** The presented leaf. */
  certificate: CertificateFacts;
  /** What the domain's admin could publish; only when publishing fingerprints would make this certificate verify. */
  hint: PublishHint | null;
}

type ChainFailure = Extract<ChainValidation, { ok: false }>;

/** How the user and the admin recognise the certificate: the name it presents first. */
function certificateOf(certificate: CertificateFacts): string {
  const name = certificate.dnsNames[0] ?? certificate.xmppAddrs[0] ?? certificate.commonNames[0];
  return name === undefined ? "the server's certificate" : `${name}'s certificate`;
}

// Host names stay as written at the start of a sentence; only the generic fallback is capitalized.
const capitalized = (text: string): string => text.replace(/^the /, 'The ');
const withoutFinalPeriod = (text: string): string => text.replace(/\.$/, '');

function chainProblem(failure: ChainFailure, certificate: CertificateFacts): string {
  switch (failure.code) {
    case 'UNTRUSTED':
      return certificate.selfSigned ? 'is self-signed' : 'is not issued by a trusted authority';
    case 'BAD_SIGNATURE':
      return 'carries a signature that does not verify';
    case 'NOT_A_CA':
      return 'was signed by a certificate that is not a CA';
    case 'EXPIRED':
      return 'has an expired certificate in its chain';
    case 'NOT_YET_VALID':
      return 'has a certificate in its chain that is not yet valid';
    case 'TOO_LONG':
      return 'comes with a chain that cannot be validated';
    case 'WRONG_PURPOSE':
      return 'is not issued for TLS servers (no serverAuth)';
  }
}

/** Why PKIX did not prove the domain, as a clause: the name, the chain, or both. */
function pkixClause(d: string, certificate: CertificateFacts, chain: ChainValidation, mismatch: IdentityMismatch | null): string {
  const subject = certificateOf(certificate);
  const problem = chain.ok ? null : chainProblem(chain, certificate);
  if (mismatch && problem) return `${subject} does not name ${d} and ${problem}`;
  if (mismatch) return `${subject} does not name ${d}`;
  return `${subject} names ${d} but ${problem}`;
}

function poshClause(d: string, posh: PoshResult): string {
  switch (posh.status) {
    case 'absent':
      return `${d} publishes no POSH document at ${posh.url}`;
    case 'valid': {
      const count = posh.fingerprints.length;
      return `none of the ${count} fingerprint${count === 1 ? '' : 's'} ${d} publishes at ${posh.url} matches it`;
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
 * Decides whether the presented chain proves `domain` for `service`: PKIX (chain to an anchor and
 * the name), else POSH (a published fingerprint of the leaf, inside its validity), else the most
 * specific failure. Throws DnaError for input that is not a connection's:
 * `NO_CERTIFICATE`, `CERT_UNPARSABLE` (leaf), `POSH_OTHER_DOMAIN`.
 */
export function decideVerdict(input: VerdictInput): VerdictOutcome {
  const { service, chain, posh, anchors, now } = input;
  const d = input.domain;
  ensurePoshIsFor(posh, d, service);
  const leaf = chain[0];
  if (!leaf) throw new DnaError('NO_CERTIFICATE', 'The server presented no certificate.');
  const parsedLeaf = parseCertificate(leaf);
  const certificate = parsedLeaf.facts;

  const pkix = validateChain(chain, anchors, now, parsedLeaf);
  let identity: IdentityMatch | null = null;
  let mismatch: IdentityMismatch | null = null;
  try {
    identity = verifyServiceIdentity(certificate, d, service);
  } catch (error) {
    if (!(error instanceof IdentityMismatch)) throw error;
    mismatch = error;
  }

  if (pkix.ok && identity) {
    const root = pkix.path.at(-1)!.subject;
    return {
      verdict: {
        verified: true,
        prooftype: 'PKIX',
        code: 'OK_PKIX',
        reason: `${d} is proved by PKIX: ${certificateOf(certificate)} chains to the trusted root ${root} and names ${d} (${identity.type} ${identity.presented}).`,
        identity,
      },
      certificate,
      hint: null,
    };
  }

  const pkixFailure = [pkix.ok ? null : pkix.message, mismatch?.message].filter((part) => part != null).join(' ');
  const match = posh.status === 'valid' ? matchFingerprints(posh.fingerprints, leaf) : null;
  const validity = validityOf(certificate, now);
  const notVerified = (code: Verdict['code'], reason: string, hint: PublishHint | null): VerdictOutcome => ({
    verdict: { verified: false, prooftype: null, code, reason, pkixFailure },
    certificate,
    hint,
  });
  const published = match ? ` ${d} publishes its fingerprint, but that does not make an out-of-date certificate valid.` : '';

  if (validity === 'expired') {
    const reason = `${capitalized(certificateOf(certificate))} expired on ${certificate.notAfter}; the server's admin must renew it.${published}`;
    return notVerified('CERT_EXPIRED', reason, null);
  }
  if (validity === 'not-yet-valid') {
    const reason = `${capitalized(certificateOf(certificate))} is not valid until ${certificate.notBefore}; check this computer's clock, or the server's admin installed it early.${published}`;
    return notVerified('CERT_NOT_YET_VALID', reason, null);
  }
  if (match) {
    return {
      verdict: {
        verified: true,
        prooftype: 'POSH',
        code: 'OK_POSH',
        reason: `${d} is proved by POSH: ${d} publishes the ${match.hash} fingerprint of ${certificateOf(certificate)} at ${posh.url}.`,
        fingerprint: match,
        pkixFailure,
      },
      certificate,
      hint: null,
    };
  }

  const hint: PublishHint = { publishAt: posh.url, document: { fingerprints: [fingerprintsOf(leaf)], expires: HINT_EXPIRES } };
  const reason = `${capitalized(pkixClause(d, certificate, pkix, mismatch))}, and ${poshClause(d, posh)}.`;
  return notVerified(posh.status === 'valid' ? 'POSH_MISMATCH' : 'NO_PROOF', reason, hint);
}

/** A verdict for a connection that failed before there was a certificate to judge. */
export function connectionFailure(code: 'CONNECT_FAILED' | 'TLS_HANDSHAKE_FAILED' | 'SRV_NO_SERVICE', reason: string): Verdict {
  return { verified: false, prooftype: null, code, reason };
}
