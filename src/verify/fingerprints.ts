// Fingerprint descriptors (RFC 7711 section 3.1): hash name -> base64 of that hash over the certificate's DER.
import { createHash } from 'node:crypto';
import type { FingerprintDescriptor } from './types.ts';

/** Hashes this client trusts, by IANA textual name, with their digest length in bytes. */
export const SUPPORTED_HASHES: Readonly<Record<string, { algorithm: string; bytes: number }>> = {
  'sha-256': { algorithm: 'sha256', bytes: 32 },
  'sha-384': { algorithm: 'sha384', bytes: 48 },
  'sha-512': { algorithm: 'sha512', bytes: 64 },
};

export function isSupportedHash(name: string): boolean {
  return Object.hasOwn(SUPPORTED_HASHES, name);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * Decodes RFC 4648 section 4 base64, padded or not. Returns null for anything else, including
 * whitespace, the URL-safe alphabet and non-zero padding bits (which would give two spellings of one value).
 */
export function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64');
  const unpadded = text.replace(/=+$/, '');
  return canonical.replace(/=+$/, '') === unpadded ? bytes : null;
}

export interface FingerprintMatch {
  /** Position of the matching descriptor in the published array. */
  index: number;
  /** The strongest supported hash that matched. */
  hash: string;
  value: string;
}

/**
 * The first descriptor that matches `der`: it has at least one supported hash and every supported
 * hash in it equals the certificate's (docs/ARCHITECTURE.md#posh-retrieval). Descriptors are assumed validated.
 */
export function matchFingerprints(descriptors: readonly FingerprintDescriptor[], der: Uint8Array): FingerprintMatch | null {
  const digests = new Map<string, Buffer>();
  const digestOf = (name: string): Buffer => {
    let digest = digests.get(name);
    if (!digest) {
      digest = createHash(SUPPORTED_HASHES[name]!.algorithm).update(der).digest();
      digests.set(name, digest);
    }
    return digest;
  };
  for (const [index, descriptor] of descriptors.entries()) {
    const supported = Object.keys(descriptor).filter(isSupportedHash);
    if (supported.length === 0) continue;
    const allEqual = supported.every((name) => {
      const published = decodeBase64(descriptor[name]!);
      return published !== null && published.equals(digestOf(name));
    });
    if (allEqual) {
      const hash = supported.sort((a, b) => SUPPORTED_HASHES[b]!.bytes - SUPPORTED_HASHES[a]!.bytes)[0]!;
      return { index, hash, value: descriptor[hash]! };
    }
  }
  return null;
}

/** The descriptor an admin would publish for `der`. */
export function fingerprintsOf(der: Uint8Array): FingerprintDescriptor {
  return {
    'sha-256': createHash('sha256').update(der).digest('base64'),
    'sha-512': createHash('sha512').update(der).digest('base64'),
  };
}
