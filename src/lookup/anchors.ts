// Trust anchors: the system's roots as Node's TLS uses them, plus the extras a user configures, as
// one trust store per set of extras. OpenSSL verifies both the POSH host's HTTPS and the XMPP
// server's chain (the PKIX prooftype) against the same store, in the handshake.
import { X509Certificate } from 'node:crypto';
import { createSecureContext, getCACertificates, type SecureContext } from 'node:tls';
import { splitPemCertificates } from '../verify/certificate.ts';
import { DnaError, messageOf } from '../verify/errors.ts';

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

export interface TrustStore {
  /** The account's (or the command line's) extra anchors, as PEM blocks. */
  readonly extraPem: readonly string[];
  /** The system roots and the extras, TLS 1.2 at least: what OpenSSL verifies chains against. */
  readonly secureContext: SecureContext;
  /** The anchors whose subject is `name` (X509Certificate#subject): the root a trusted chain ended at. */
  anchorsWithSubject(name: string): readonly X509Certificate[];
}

// Parsing a few hundred roots costs tens of milliseconds: the system index is built once per
// process (ahead of the first connection, by the warm-up), each store once per set of extras.
let systemIndex: Map<string, X509Certificate[]> | null = null;

function bySubject(certificates: readonly X509Certificate[]): Map<string, X509Certificate[]> {
  const index = new Map<string, X509Certificate[]>();
  for (const certificate of certificates) index.set(certificate.subject, [...(index.get(certificate.subject) ?? []), certificate]);
  return index;
}

function systemAnchors(): Map<string, X509Certificate[]> {
  systemIndex ??= bySubject(systemRootsPem().map((pem) => new X509Certificate(pem)));
  return systemIndex;
}

/** Reads and indexes the system roots now, so that the first connection does not. */
export function warmSystemAnchors(): void {
  systemAnchors();
}

const stores = new Map<string, TrustStore>();
const STORES_KEPT = 8;

/**
 * The trust store for the system roots plus `extraPem` (each a PEM certificate or bundle), built
 * once per set. Throws DnaError `BAD_TRUST_ANCHOR` for an extra that is not a certificate.
 */
export function trustStore(extraPem: readonly string[] = []): TrustStore {
  const key = extraPem.join('\n');
  let store = stores.get(key);
  if (store === undefined) {
    const extras = splitAnchorPem(extraPem);
    const extraIndex = bySubject(extras.map((pem) => new X509Certificate(pem)));
    store = {
      extraPem: extras,
      secureContext: createSecureContext({ ca: [...systemRootsPem(), ...extras], minVersion: 'TLSv1.2' }),
      anchorsWithSubject: (name) => [...(systemAnchors().get(name) ?? []), ...(extraIndex.get(name) ?? [])],
    };
    if (stores.size >= STORES_KEPT) stores.delete(stores.keys().next().value!);
    stores.set(key, store);
  }
  return store;
}
