// Why OpenSSL refused a chain, in words a person can act on. The rule comes from OpenSSL's error:
// Node's name for it where Node has one, else OpenSSL's own text (Node calls the newer codes
// UNSPECIFIED). The words say which RFC 5280 rule failed; OpenSSL's text is kept for the admin.
import type { ChainVerification } from './types.ts';

interface ChainRule {
  /** Node's names for OpenSSL's X509_V_ERR codes. */
  codes: readonly string[];
  /** OpenSSL's texts (X509_verify_cert_error_string), compared without case and hyphens. */
  reasons: readonly string[];
  /** What is wrong, as a clause after "X's certificate". */
  clause: (facts: ChainVerification) => string;
}

const subtrees = (names: readonly string[]): string => (names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);

const RULES: readonly ChainRule[] = [
  { codes: ['DEPTH_ZERO_SELF_SIGNED_CERT'], reasons: ['self signed certificate'], clause: () => 'is self-signed' },
  { codes: ['SELF_SIGNED_CERT_IN_CHAIN'], reasons: ['self signed certificate in certificate chain'], clause: () => 'chains to a self-signed root this client does not trust' },
  {
    codes: ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED'],
    reasons: ['unable to get local issuer certificate', 'unable to get issuer certificate', 'unable to verify the first certificate', 'certificate not trusted'],
    clause: () => 'is not issued by a trusted authority (or the server leaves out an intermediate certificate)',
  },
  { codes: ['CERT_HAS_EXPIRED'], reasons: ['certificate has expired'], clause: () => 'has an expired certificate in its chain' },
  { codes: ['CERT_NOT_YET_VALID'], reasons: ['certificate is not yet valid'], clause: () => 'has a certificate in its chain that is not yet valid' },
  {
    codes: ['CERT_SIGNATURE_FAILURE', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY'],
    reasons: ['certificate signature failure'],
    clause: () => 'carries a signature that does not verify',
  },
  { codes: ['INVALID_CA'], reasons: ['invalid ca certificate'], clause: () => 'was signed by a certificate that is not a CA' },
  {
    codes: [],
    reasons: ['key usage does not include certificate signing'],
    clause: () => 'was signed by a certificate that may not sign certificates (its keyUsage lacks keyCertSign)',
  },
  {
    codes: ['PATH_LENGTH_EXCEEDED'],
    reasons: ['path length constraint exceeded'],
    clause: () => 'comes with a chain longer than a CA in it allows (its pathLenConstraint)',
  },
  {
    codes: [],
    reasons: ['permitted subtree violation'],
    clause: (facts) =>
      facts.permittedDns.length > 0
        ? `was issued under a CA that may only issue for ${subtrees(facts.permittedDns)} (its name constraints)`
        : 'was issued under a CA whose name constraints do not permit it',
  },
  {
    codes: [],
    reasons: ['excluded subtree violation'],
    clause: (facts) =>
      facts.excludedDns.length > 0
        ? `was issued under a CA that may not issue for ${subtrees(facts.excludedDns)} (its name constraints)`
        : 'was issued under a CA whose name constraints exclude it',
  },
  {
    codes: [],
    reasons: ['unsupported name constraint type', 'unsupported or invalid name constraint syntax', 'unsupported or invalid name syntax', 'name constraints minimum and maximum not supported'],
    clause: () => 'was issued under a CA whose name constraints cannot be checked',
  },
  { codes: [], reasons: ['unhandled critical extension'], clause: () => 'has a certificate in its chain with a critical extension this client cannot check' },
  {
    codes: ['INVALID_PURPOSE'],
    reasons: ['unsuitable certificate purpose', 'unsupported certificate purpose'],
    clause: () => 'has a certificate in its chain that is not issued for TLS servers (its keyUsage or extendedKeyUsage)',
  },
  {
    codes: [],
    reasons: ['ca signature digest algorithm too weak'],
    clause: () => 'has a certificate in its chain signed with a weak digest (such as SHA-1 or MD5)',
  },
  { codes: [], reasons: ['ee certificate key too weak'], clause: () => 'has a key too weak to trust (RSA under 2048 bits, or an elliptic curve under 224)' },
  { codes: [], reasons: ['ca certificate key too weak'], clause: () => 'was issued under a CA whose key is too weak to trust (RSA under 2048 bits, or an elliptic curve under 224)' },
  { codes: ['CERT_CHAIN_TOO_LONG'], reasons: ['certificate chain too long'], clause: () => 'comes with a chain too long to verify' },
  { codes: ['CERT_REVOKED'], reasons: ['certificate revoked'], clause: () => 'has a revoked certificate in its chain' },
  { codes: ['CERT_REJECTED'], reasons: ['certificate rejected'], clause: () => 'has a certificate in its chain that a trusted root rejects for this purpose' },
];

const normalized = (text: string): string => text.toLowerCase().replaceAll('-', ' ').replace(/[.;].*$/s, '').trim();

/** The clause for why OpenSSL did not trust the chain: "is self-signed", "was issued under a CA that may only issue for .allowed.test (...)". */
export function chainProblem(facts: ChainVerification): string {
  const error = facts.error;
  if (!error) return 'is not trusted';
  const reason = normalized(error.reason);
  const rule =
    RULES.find((candidate) => candidate.codes.includes(error.code)) ??
    RULES.find((candidate) => candidate.reasons.some((text) => reason === text));
  return rule ? rule.clause(facts) : `is refused by OpenSSL's chain check (${reason || error.code})`;
}

/** OpenSSL's own words for the failure, without Node's advice about its command-line flags. */
export function opensslReason(facts: ChainVerification): string {
  return facts.error ? facts.error.reason.replace(/; if the root CA is installed locally.*$/s, '').replace(/\.$/, '') : '';
}
