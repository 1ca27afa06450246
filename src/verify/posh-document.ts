// Validation of one POSH document body (RFC 7711 sections 3.1 and 3.2, docs/ARCHITECTURE.md#posh-retrieval): pure, no I/O.
import { DnaError } from './errors.ts';
import { decodeBase64, isSupportedHash, SUPPORTED_HASHES } from './fingerprints.ts';
import type { FingerprintDescriptor, PoshErrorCode, PoshErrorStatusCode } from './types.ts';

export type PoshDocument =
  | { kind: 'fingerprints'; fingerprints: FingerprintDescriptor[]; expires: number }
  | { kind: 'reference'; url: string; expires: number };

const ERROR_STATUS_CODES: ReadonlySet<PoshErrorCode> = new Set<PoshErrorStatusCode>([
  'POSH_NETWORK',
  'POSH_TIMEOUT',
  'POSH_HTTPS_CERT',
  'POSH_HTTP_STATUS',
]);

/** `error` when the retrieval failed (nothing is known about the document), `invalid` when the material is unusable. */
export function poshStatusOf(code: PoshErrorCode): 'invalid' | 'error' {
  return ERROR_STATUS_CODES.has(code) ? 'error' : 'invalid';
}

export class PoshError extends DnaError<PoshErrorCode> {
  readonly status: 'invalid' | 'error';

  constructor(code: PoshErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'PoshError';
    this.status = poshStatusOf(code);
  }
}

type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value as it appears in an error message: the value itself and what kind of thing it is. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return `${JSON.stringify(shown)} (a string)`;
    }
    case 'number':
      return `${value} (a number)`;
    case 'boolean':
      return `${value} (a boolean)`;
    default:
      return 'an object';
  }
}

function badDocument(message: string): PoshError {
  return new PoshError('POSH_BAD_DOCUMENT', message);
}

function parseExpires(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    let got = describeJson(value);
    if (typeof value === 'number') {
      const why = !Number.isInteger(value) ? 'not an integer' : value < 0 ? 'negative' : 'too large to be exact';
      got = `${value} (${why})`;
    }
    throw badDocument(`"expires" must be a non-negative integer number of seconds, got ${got}.`);
  }
  // -0 is the integer 0.
  return value === 0 ? 0 : value;
}

function checkDescriptor(value: unknown, index: number): FingerprintDescriptor {
  const where = `"fingerprints"[${index}]`;
  if (!isPlainObject(value)) {
    throw badDocument(`${where} must be an object mapping hash names to base64 values, got ${describeJson(value)}.`);
  }
  const descriptor: FingerprintDescriptor = {};
  for (const [name, member] of Object.entries(value)) {
    if (isSupportedHash(name)) {
      const bytes = SUPPORTED_HASHES[name]!.bytes;
      if (typeof member !== 'string') {
        throw badDocument(`${where}["${name}"] must be a base64 string, got ${describeJson(member)}.`);
      }
      const decoded = decodeBase64(member);
      if (decoded === null) {
        throw badDocument(`${where}["${name}"] is not base64 (RFC 4648 section 4, no spaces or line breaks): ${describeJson(member)}.`);
      }
      if (decoded.length !== bytes) {
        throw badDocument(`${where}["${name}"] decodes to ${decoded.length} bytes, but a ${name} hash is ${bytes} bytes.`);
      }
    }
    // Weak and unknown hash names are ignored unchecked; only string values fit a descriptor.
    if (typeof member === 'string') descriptor[name] = member;
  }
  return descriptor;
}

/**
 * The descriptors of a `fingerprints` member: a non-empty array of objects whose supported hashes
 * are well-formed. Throws POSH_BAD_DOCUMENT; says nothing about whether any hash is usable.
 */
export function parseFingerprints(value: unknown): FingerprintDescriptor[] {
  if (!Array.isArray(value)) {
    throw badDocument(`"fingerprints" must be an array of fingerprint descriptors, got ${describeJson(value)}.`);
  }
  if (value.length === 0) {
    throw badDocument('"fingerprints" is empty: it must include at least one fingerprint descriptor.');
  }
  return value.map(checkDescriptor);
}

function hasUsableHash(descriptors: readonly FingerprintDescriptor[]): boolean {
  return descriptors.some((descriptor) => Object.keys(descriptor).some(isSupportedHash));
}

const SUPPORTED_LIST = Object.keys(SUPPORTED_HASHES).join(', ');

/**
 * Validates one POSH document body. Structure comes first (POSH_BAD_JSON, POSH_BAD_DOCUMENT), then
 * `expires` 0 (POSH_EXPIRED: the publisher withdrew it), then POSH_INSECURE_URL or POSH_NO_USABLE_HASH.
 */
export function parsePoshDocument(body: string): PoshDocument {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new PoshError('POSH_BAD_JSON', `The POSH document is not JSON: ${(error as Error).message.replace(/\.$/, '')}.`, { cause: error });
  }
  if (!isPlainObject(value)) {
    throw badDocument(`The POSH document must be a JSON object with "fingerprints" or "url", and "expires"; got ${describeJson(value)}.`);
  }
  const hasUrl = Object.hasOwn(value, 'url');
  const hasFingerprints = Object.hasOwn(value, 'fingerprints');
  if (hasUrl && hasFingerprints) {
    throw badDocument('The POSH document has both "url" and "fingerprints": publish either a reference or a fingerprints document, not both.');
  }
  if (!hasUrl && !hasFingerprints) {
    throw badDocument('The POSH document has neither "fingerprints" nor "url": it is neither a fingerprints document nor a reference.');
  }
  if (!Object.hasOwn(value, 'expires')) {
    throw badDocument('The POSH document has no "expires": add the number of seconds the material may be cached.');
  }
  const expires = parseExpires(value['expires']);

  if (hasFingerprints) {
    const fingerprints = parseFingerprints(value['fingerprints']);
    if (expires === 0) throw new PoshError('POSH_EXPIRED', 'The fingerprints document has "expires": 0, which marks the material invalid.');
    if (!hasUsableHash(fingerprints)) {
      throw new PoshError('POSH_NO_USABLE_HASH', `No fingerprint descriptor has a supported hash (${SUPPORTED_LIST}); weak and unknown hash names are ignored.`);
    }
    return { kind: 'fingerprints', fingerprints, expires };
  }

  const url = value['url'];
  if (typeof url !== 'string') throw badDocument(`"url" must be a string holding an https: URL, got ${describeJson(url)}.`);
  const parsed = URL.parse(url);
  if (parsed === null) throw badDocument(`"url" is not a URL: ${describeJson(url)}.`);
  if (expires === 0) throw new PoshError('POSH_EXPIRED', 'The reference document has "expires": 0, which marks the delegation invalid.');
  if (parsed.protocol !== 'https:') {
    throw new PoshError('POSH_INSECURE_URL', `"url" must be an https: URL, got ${JSON.stringify(url)}.`);
  }
  return { kind: 'reference', url: parsed.href, expires };
}
