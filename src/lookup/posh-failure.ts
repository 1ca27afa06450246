// Turns what Node, OpenSSL and undici throw during a POSH retrieval into a coded PoshError.
import { messageOf } from '../verify/errors.ts';
import { PoshError } from '../verify/posh-document.ts';

/**
 * Codes meaning "this HTTPS server's certificate is not valid for its host" (RFC 2818 section 3.1,
 * RFC 7711 section 3): OpenSSL verification results as Node reports them, and Node's name check.
 */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
  'HOSTNAME_MISMATCH',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
]);

const NAME_CODES: ReadonlySet<string> = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_FORMAT', 'HOSTNAME_MISMATCH']);
const UNTRUSTED_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);
const TIME_CODES: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD']);

/** What is wrong with the web server's certificate, in words that say what to fix (RFC 7711 3). */
function certificateWords(code: string, host: string): string {
  if (NAME_CODES.has(code)) return `The HTTPS certificate of ${host} does not name ${host}`;
  if (UNTRUSTED_CODES.has(code)) return `The HTTPS certificate of ${host} is not trusted: no certificate authority this client trusts issued it`;
  if (TIME_CODES.has(code)) return `The HTTPS certificate of ${host} is outside its validity period`;
  return `The HTTPS certificate of ${host} is not valid`;
}

/** The error and everything it wraps: `cause` chains and the attempts of an AggregateError (one per address). */
function* unwrap(error: unknown, depth = 0): Generator<unknown> {
  if (depth > 8 || error === null || error === undefined) return;
  yield error;
  if (error instanceof AggregateError) for (const inner of error.errors) yield* unwrap(inner, depth + 1);
  if (error instanceof Error && error.cause !== undefined) yield* unwrap(error.cause, depth + 1);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Node's hint about --use-system-ca points at the runtime, not at what the domain's admin can fix. */
function withoutNodeAdvice(message: string): string {
  return message.replace(/; if the root CA is installed locally.*$/s, '').replace(/\.$/, '');
}

export interface FailureContext {
  /** The URL being retrieved when it failed. */
  url: string;
  timeoutMs: number;
  /** The retrieval's own time budget ran out. */
  timedOut: boolean;
  /** The caller's signal aborted the retrieval. */
  cancelled: boolean;
}

/** A PoshError for a failed retrieval; PoshErrors raised on purpose pass through unchanged. */
export function classifyFailure(error: unknown, context: FailureContext): PoshError {
  if (error instanceof PoshError) return error;
  const host = new URL(context.url).host;
  if (context.timedOut) {
    return new PoshError('POSH_TIMEOUT', `The POSH retrieval did not finish within ${context.timeoutMs} ms (waiting for ${context.url}).`, { cause: error });
  }
  if (context.cancelled) {
    return new PoshError('POSH_TIMEOUT', `The POSH retrieval was stopped before it finished (waiting for ${context.url}).`, { cause: error });
  }
  for (const inner of unwrap(error)) {
    const code = codeOf(inner);
    if (code !== undefined && CERTIFICATE_CODES.has(code)) {
      return new PoshError(
        'POSH_HTTPS_CERT',
        `${certificateWords(code, host.replace(/:\d+$/, ''))} (${code}: ${withoutNodeAdvice(messageOf(inner))}).`,
        { cause: error },
      );
    }
  }
  const details = [...unwrap(error)].map((inner) => messageOf(inner).replace(/\.$/, '')).filter((text) => text !== '');
  const detail = [...new Set(details)].join('; ') || 'no reason given';
  return new PoshError('POSH_NETWORK', `Could not retrieve ${context.url} over HTTPS: ${detail}.`, { cause: error });
}
