// Trust anchors: the system's roots as Node's TLS uses them, plus the extras a user configures.
// One source for both HTTPS (POSH retrieval) and PKIX (the verdict), so both trust the same roots.
import { X509Certificate } from 'node:crypto';
import { getCACertificates } from 'node:tls';
import { DnaError, messageOf } from '../verify/errors.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

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
    const blocks = text.match(PEM_CERTIFICATE) ?? [];
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
