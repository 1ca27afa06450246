// Trust anchors: the system's roots as Node's TLS uses them, plus the extras a user configures.
// One source for both HTTPS (POSH retrieval) and PKIX (the verdict), so both trust the same roots.
import { X509Certificate } from 'node:crypto';
import { getCACertificates } from 'node:tls';
import { parseCertificate, splitPemCertificates, type ParsedCertificate } from '../verify/certificate.ts';
import { DnaError, messageOf } from '../verify/errors.ts';
import type { TrustAnchors } from '../verify/pkix.ts';

let systemRoots: readonly string[] | null = null;

/** Node's default roots (its bundle plus NODE_EXTRA_CA_CERTS), read once per process. */
export function systemRootsPem(): readonly string[] {
  systemRoots ??= getCACertificates('default');
  return systemRoots;
}

/**
 * The PEM certificates in `texts` (each may be a bundle), every one checked to parse. OpenSSL would
 * silently skip what it cannot read, which would surface later as a confusing certificate failure.
 * Throws BAD_TRUST_ANCHOR.
 */
export function splitAnchorPem(texts: readonly string[]): string[] {
  return texts.flatMap((text, index) => {
    const blocks = splitPemCertificates(text);
    if (blocks.length === 0) {
      throw new DnaError('BAD_TRUST_ANCHOR', `Extra trust anchor ${index + 1} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
    }
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        throw new DnaError('BAD_TRUST_ANCHOR', `Extra trust anchor ${index + 1} is not a readable certificate (${messageOf(error).replace(/\.$/, '')}).`, { cause: error });
      }
    }
    return blocks;
  });
}

// Node reads the system roots in microseconds; the full parse costs milliseconds each, so it
// happens only for the roots whose name a chain asks for, once per process.
const parsedRoots = new WeakMap<X509Certificate, ParsedCertificate | null>();

function parsedRoot(root: X509Certificate): ParsedCertificate | null {
  if (!parsedRoots.has(root)) {
    let parsed: ParsedCertificate | null;
    try {
      parsed = parseCertificate(root.raw);
    } catch {
      // A root our ASN.1 reader cannot read can anchor nothing here; the others still work.
      parsed = null;
    }
    parsedRoots.set(root, parsed);
  }
  return parsedRoots.get(root)!;
}

interface SystemIndex {
  count: number;
  bySubject: Map<string, X509Certificate[]>;
  fingerprints: Set<string>;
}

// Indexing a few hundred roots costs tens of milliseconds: once per process, shared by every
// TrustAnchors, and built ahead of the first connection by warmSystemAnchors().
let systemIndex: SystemIndex | null = null;

function systemAnchors(): SystemIndex {
  if (!systemIndex) {
    const roots = systemRootsPem().map((pem) => new X509Certificate(pem));
    const bySubject = new Map<string, X509Certificate[]>();
    for (const root of roots) bySubject.set(root.subject, [...(bySubject.get(root.subject) ?? []), root]);
    systemIndex = { count: roots.length, bySubject, fingerprints: new Set(roots.map((root) => root.fingerprint256)) };
  }
  return systemIndex;
}

/**
 * Reads and indexes the system roots now, and reads one of them through the certificate parser
 * (its first use costs tens of milliseconds), so that the first chain validation does neither.
 */
export function warmSystemAnchors(): void {
  const [first] = systemAnchors().bySubject.values();
  if (first?.[0]) parsedRoot(first[0]);
}

/**
 * The system roots (anchors.ts) plus `extraPem` (each a PEM certificate or bundle).
 * Throws DnaError `BAD_TRUST_ANCHOR` for an extra that is not one.
 */
export function trustAnchors(extraPem: string[] = []): TrustAnchors {
  const extras = splitAnchorPem(extraPem).map((pem) => parseCertificate(new X509Certificate(pem).raw));
  const extraFingerprints = new Set(extras.map((extra) => extra.x509.fingerprint256));
  return {
    get size() {
      return systemAnchors().count + extras.length;
    },
    withSubject: (name) => [
      ...(systemAnchors().bySubject.get(name) ?? []).flatMap((root) => parsedRoot(root) ?? []),
      ...extras.filter((extra) => extra.x509.subject === name),
    ],
    includes: (fingerprint256) => extraFingerprints.has(fingerprint256) || systemAnchors().fingerprints.has(fingerprint256),
  };
}
