// What the TLS handshake learned about the server's certificates: the chain as the server sent it,
// and OpenSSL's verdict on it (X509_verify_cert, run by Node's TLS client in the handshake against
// the trust store, purpose TLS server, security level 2). This adapter only reads; the verdict is
// src/verify's.
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { TrustStore } from '../lookup/anchors.ts';
import { distinguishedName, parseCertificate, type NameConstraintFacts } from '../verify/certificate.ts';
import type { ChainVerification } from '../verify/types.ts';

/** Longest chain read from a server: a real one has 2-4 certificates. */
const MAX_PRESENTED = 16;

/**
 * The leaf each verified socket presented, as read at the handshake. On TLS 1.2 Node can forget
 * the peer's certificate soon after (seen with ejabberd), and the binding to it (RFC 5929) must be
 * to the one the verdict judged anyway.
 */
const leaves = new WeakMap<TLSSocket, X509Certificate>();

/** The certificate the server presented at the handshake (what presentedCertificates read), or undefined. */
export function presentedLeaf(socket: TLSSocket): X509Certificate | undefined {
  return leaves.get(socket) ?? socket.getPeerX509Certificate();
}

/** The certificates as the server sent them, leaf first (Node links them in the order received). */
export function presentedCertificates(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let certificate: X509Certificate | undefined = socket.getPeerX509Certificate();
  while (certificate && chain.length < MAX_PRESENTED) {
    const der = certificate.raw;
    if (chain.some((seen) => seen.raw.equals(der))) break;
    chain.push(certificate);
    certificate = certificate.issuerCertificate;
  }
  if (chain[0]) leaves.set(socket, chain[0]);
  return chain;
}

/** OpenSSL's error for this connection: Node's code for it, and OpenSSL's own text (Node keeps it on the handle). */
function verifyErrorOf(socket: TLSSocket): { code: string; reason: string } | null {
  if (socket.authorized) return null;
  const code = typeof socket.authorizationError === 'string' ? socket.authorizationError : String(socket.authorizationError ?? 'UNSPECIFIED');
  const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  const detail = handle?.verifyError?.();
  return { code, reason: detail?.message ?? code };
}

function constraintsOf(der: Buffer): NameConstraintFacts | null {
  try {
    return parseCertificate(der).nameConstraints;
  } catch {
    // Unreadable here: nothing may be assumed of it.
    return { permittedDns: [], excludedDns: [], otherForms: 1 };
  }
}

/** The anchor a presented certificate was issued by, if the store holds one that signed it. */
function anchorOf(presented: readonly X509Certificate[], trust: TrustStore): X509Certificate | null {
  for (const certificate of presented) {
    for (const anchor of trust.anchorsWithSubject(certificate.issuer)) {
      try {
        if (certificate.checkIssued(anchor) && certificate.verify(anchor.publicKey)) return anchor;
      } catch {
        // a candidate that does not fit
      }
    }
  }
  return null;
}

/**
 * The PKIX chain result of a finished handshake. `nameConstrained` looks at every presented
 * certificate and at the anchor, so it never misses a constraint on the path.
 */
export function chainVerificationOf(socket: TLSSocket, presented: readonly X509Certificate[], trust: TrustStore): ChainVerification {
  const anchor = anchorOf(presented, trust);
  const constraints = [...presented, ...(anchor ? [anchor] : [])].map((certificate) => constraintsOf(certificate.raw)).filter((facts) => facts !== null);
  return {
    trusted: socket.authorized,
    error: verifyErrorOf(socket),
    anchor: socket.authorized && anchor ? distinguishedName(anchor.subject) : null,
    nameConstrained: constraints.length > 0,
    permittedDns: constraints.flatMap((facts) => facts.permittedDns),
    excludedDns: constraints.flatMap((facts) => facts.excludedDns),
  };
}
