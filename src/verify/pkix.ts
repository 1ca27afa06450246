// PKIX chain validation (RFC 5280 section 6, simplified): from the presented leaf through the
// presented intermediates to a trust anchor. Pure and synchronous on node:crypto; the anchors
// themselves are read by src/lookup/anchors.ts.
import { parseCertificate, type ParsedCertificate } from './certificate.ts';
import { DnaError } from './errors.ts';
import type { CertificateFacts } from './types.ts';

/** Longest accepted path, leaf and anchor included. */
export const MAX_PATH_LENGTH = 8;
/** Signature checks one validation may spend: a server cannot make path building take long. */
export const MAX_SIGNATURE_CHECKS = 64;

export type ChainFailureCode = 'EXPIRED' | 'NOT_YET_VALID' | 'UNTRUSTED' | 'BAD_SIGNATURE' | 'NOT_A_CA' | 'TOO_LONG' | 'WRONG_PURPOSE';

export type ChainValidation =
  | { ok: true; path: CertificateFacts[] }
  | { ok: false; code: ChainFailureCode; message: string };

type ChainFailure = Extract<ChainValidation, { ok: false }>;

export interface TrustAnchors {
  /** How many certificates are trusted: the system roots and the extras. */
  readonly size: number;
  /** Anchors whose subject is `name`, in node:crypto's rendering (X509Certificate.subject / .issuer). */
  withSubject(name: string): readonly ParsedCertificate[];
  /** Whether the certificate with this X509Certificate.fingerprint256 is itself an anchor. */
  includes(fingerprint256: string): boolean;
}

const nameOf = (cert: ParsedCertificate): string => cert.facts.subject || '(a certificate with an empty subject)';

function validityFailure(cert: ParsedCertificate, role: string, at: Date): ChainFailure | null {
  const time = at.getTime();
  if (time < cert.x509.validFromDate.getTime()) {
    return {
      ok: false,
      code: 'NOT_YET_VALID',
      message: `${role} ${nameOf(cert)} is not valid until ${cert.facts.notBefore}; check this computer's clock and the server's certificate.`,
    };
  }
  if (time > cert.x509.validToDate.getTime()) {
    return { ok: false, code: 'EXPIRED', message: `${role} ${nameOf(cert)} expired on ${cert.facts.notAfter}.` };
  }
  return null;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_PURPOSE = '2.5.29.37.0';

/** RFC 5280 4.2.1.12: a leaf whose extendedKeyUsage lists purposes may serve only those; a server needs serverAuth. */
function purposeFailure(leaf: ParsedCertificate): ChainFailure | null {
  const purposes = leaf.extendedKeyUsage;
  if (purposes === null || purposes.includes(SERVER_AUTH) || purposes.includes(ANY_PURPOSE)) return null;
  return {
    ok: false,
    code: 'WRONG_PURPOSE',
    message: `The server certificate ${nameOf(leaf)} is not issued for TLS servers (its extendedKeyUsage lacks serverAuth).`,
  };
}

/** RFC 5280 4.2.1.9 and 4.2.1.3: a CA, allowed to sign certificates. */
const isCa = (cert: ParsedCertificate): boolean =>
  cert.basicConstraintsCa && (cert.keyUsage === null || cert.keyUsage.includes('keyCertSign'));

/** RFC 5280 4.2.1.1: when both key identifiers are present they must agree. */
const keyIdsAgree = (child: ParsedCertificate, issuer: ParsedCertificate): boolean =>
  child.authorityKeyId === null || issuer.subjectKeyId === null || child.authorityKeyId === issuer.subjectKeyId;

function signedBy(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  try {
    return child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

class BudgetExhausted extends Error {}

interface Search {
  anchors: TrustAnchors;
  presented: ParsedCertificate[];
  at: Date;
  checks: number;
}

const TOO_MANY_CANDIDATES: ChainFailure = {
  ok: false,
  code: 'TOO_LONG',
  message: `The server presented more candidate issuers than can be checked (over ${MAX_SIGNATURE_CHECKS} signatures).`,
};

/** Depth-first from the last certificate of `path` to an anchor; anchors are tried before presented certificates. */
function extend(search: Search, path: ParsedCertificate[]): ParsedCertificate[] | ChainFailure {
  const current = path.at(-1)!;
  const inPath = new Set(path.map((cert) => cert.facts.sha256));
  const candidates = [
    ...search.anchors.withSubject(current.x509.issuer).map((cert) => ({ cert, anchor: true })),
    ...search.presented.filter((cert) => cert.x509.subject === current.x509.issuer).map((cert) => ({ cert, anchor: false })),
  ].filter(({ cert }) => !inPath.has(cert.facts.sha256) && keyIdsAgree(current, cert));

  let failure: ChainFailure | null = null;
  for (const { cert, anchor } of candidates) {
    if (++search.checks > MAX_SIGNATURE_CHECKS) throw new BudgetExhausted();
    const role = anchor ? 'The root certificate' : 'The intermediate certificate';
    let outcome: ParsedCertificate[] | ChainFailure;
    if (!signedBy(current, cert)) {
      outcome = {
        ok: false,
        code: 'BAD_SIGNATURE',
        message: `The signature on ${nameOf(current)} does not verify with the key of its issuer ${nameOf(cert)}.`,
      };
    } else if (!isCa(cert)) {
      outcome = {
        ok: false,
        code: 'NOT_A_CA',
        message: `${nameOf(cert)} signed ${nameOf(current)} but is not a certification authority (it needs basicConstraints CA:TRUE and, when keyUsage is present, keyCertSign).`,
      };
    } else {
      outcome = validityFailure(cert, role, search.at) ?? (anchor ? [...path, cert] : null) ?? deeper(search, [...path, cert]);
    }
    if (Array.isArray(outcome)) return outcome;
    failure ??= outcome;
  }
  if (failure) return failure;
  if (current.facts.selfSigned) {
    return { ok: false, code: 'UNTRUSTED', message: `${nameOf(current)} is self-signed and is not a trusted root.` };
  }
  return {
    ok: false,
    code: 'UNTRUSTED',
    message: `No trusted issuer was found for ${nameOf(current)} (issued by ${current.facts.issuer}): the server may be missing an intermediate certificate, or its CA is not trusted here.`,
  };
}

function deeper(search: Search, path: ParsedCertificate[]): ParsedCertificate[] | ChainFailure {
  if (path.length >= MAX_PATH_LENGTH) {
    return {
      ok: false,
      code: 'TOO_LONG',
      message: `The chain from ${nameOf(path[0]!)} is longer than ${MAX_PATH_LENGTH} certificates before reaching a trusted root.`,
    };
  }
  return extend(search, path);
}

function parsedOrNull(der: Uint8Array): ParsedCertificate | null {
  try {
    return parseCertificate(der);
  } catch {
    return null;
  }
}

/**
 * Validates `chain` (leaf first, as presented) at time `at`. Intermediates may come in any order;
 * extra or unreadable ones are ignored. A leaf that is itself an anchor is trusted. `parsedLeaf`:
 * the leaf already read by the caller (reading a certificate costs about a millisecond). Throws
 * DnaError `NO_CERTIFICATE` for an empty chain and `CERT_UNPARSABLE` for an unreadable leaf.
 */
export function validateChain(chain: Uint8Array[], anchors: TrustAnchors, at: Date, parsedLeaf?: ParsedCertificate): ChainValidation {
  const [leafDer, ...rest] = chain;
  if (!leafDer) throw new DnaError('NO_CERTIFICATE', 'The server presented no certificate.');
  const leaf = parsedLeaf ?? parseCertificate(leafDer);
  const leafFailure = validityFailure(leaf, 'The server certificate', at) ?? purposeFailure(leaf);
  if (leafFailure) return leafFailure;
  if (anchors.includes(leaf.x509.fingerprint256)) return { ok: true, path: [leaf.facts] };

  const presented = rest.map(parsedOrNull).filter((cert): cert is ParsedCertificate => cert !== null);
  const search: Search = { anchors, presented, at, checks: 0 };
  try {
    const outcome = extend(search, [leaf]);
    return Array.isArray(outcome) ? { ok: true, path: outcome.map((cert) => cert.facts) } : outcome;
  } catch (error) {
    if (error instanceof BudgetExhausted) return TOO_MANY_CANDIDATES;
    throw error;
  }
}
