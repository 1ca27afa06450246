// The vocabulary of the verification core, shared by every module in src/verify and by its adapters.
import type { Domain } from './domain.ts';

export type { Domain };

/** The POSH service names (RFC 7711 section 8) and SRV services this client checks. */
export type ServiceName = 'xmpp-client' | 'xmpp-server';

export const SERVICES: readonly ServiceName[] = ['xmpp-client', 'xmpp-server'];

/** Failures of POSH retrieval that say nothing about the document (docs/ARCHITECTURE.md#posh-retrieval). */
export type PoshErrorStatusCode = 'POSH_NETWORK' | 'POSH_TIMEOUT' | 'POSH_HTTPS_CERT' | 'POSH_HTTP_STATUS';

/** Failures that make the published material unusable. */
export type PoshInvalidCode =
  | 'POSH_INSECURE_URL'
  | 'POSH_TOO_MANY_REDIRECTS'
  | 'POSH_TOO_LARGE'
  | 'POSH_BAD_JSON'
  | 'POSH_BAD_DOCUMENT'
  | 'POSH_NESTED_REFERENCE'
  | 'POSH_EXPIRED'
  | 'POSH_NO_USABLE_HASH';

export type PoshErrorCode = PoshErrorStatusCode | PoshInvalidCode;

export type SrvErrorCode = 'SRV_NO_SERVICE' | 'DNS_FAILED';

export type VerdictCode =
  | 'OK_PKIX'
  | 'OK_POSH'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_WEAK_KEY'
  | 'POSH_MISMATCH'
  | 'NO_PROOF'
  | 'CONNECT_FAILED'
  | 'TLS_HANDSHAKE_FAILED'
  | 'SRV_NO_SERVICE'
  /** posh-check --no-connect: the lookups ran, no certificate was judged. */
  | 'LOOKUP_ONLY';

export interface CodedError<C extends string = string> {
  code: C;
  /** One sentence a person can act on. */
  message: string;
}

// ---------------------------------------------------------------- SRV (RFC 2782, RFC 6120 3.2, XEP-0368)

export type TlsMode = 'direct' | 'starttls';

export interface SrvRecord {
  target: string;
  port: number;
  priority: number;
  weight: number;
  tls: TlsMode;
}

/** One place to try, in the order the client will try it. */
export interface ConnectCandidate {
  host: string;
  port: number;
  tls: TlsMode;
  /**
   * `srv` when it came from a record, `fallback` when no records existed (RFC 6120 3.2.2),
   * `manual` when the account names its host and port (no SRV lookup at all).
   */
  source: 'srv' | 'fallback' | 'manual';
}

export interface SrvResult {
  /** Every record seen, direct-TLS and STARTTLS together, as published. */
  records: SrvRecord[];
  /** Records ordered by RFC 2782 (weighted choice inside a priority, direct TLS first on ties), or the fallback. */
  candidates: ConnectCandidate[];
  error: CodedError<SrvErrorCode> | null;
}

/** What one connection to a candidate looked like (docs/ARCHITECTURE.md#posh-check, `connection`). */
export interface ConnectionFacts {
  host: string;
  address: string | null;
  port: number;
  tls: TlsMode;
  /** Always the user's domain, never the SRV target (docs/ARCHITECTURE.md#the-connection-pipeline, step 4). */
  sni: string;
  /** Negotiated TLS version, e.g. `TLSv1.3`. */
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  error: CodedError | null;
}

// ---------------------------------------------------------------- POSH (RFC 7711)

/** Hash name (IANA textual name) to base64 of that hash over the certificate's DER, as published. */
export type FingerprintDescriptor = Record<string, string>;

export type PoshStatus = 'valid' | 'absent' | 'invalid' | 'error';

export interface PoshStep {
  url: string;
  /** null when no HTTP response arrived. */
  httpStatus: number | null;
  kind: 'redirect' | 'reference' | 'fingerprints' | 'absent' | 'error';
  /** Where a redirect or reference points. */
  location?: string;
  /** The `expires` of a reference or fingerprints document. */
  expires?: number;
  startedAt: number;
  endedAt: number;
}

export interface PoshResult {
  domain: Domain;
  service: ServiceName;
  /** The well-known URL the retrieval starts at. */
  url: string;
  status: PoshStatus;
  error: CodedError<PoshErrorCode> | null;
  steps: PoshStep[];
  /** Descriptors as published (valid material only, else empty). */
  fingerprints: FingerprintDescriptor[];
  /** Effective lifetime in seconds: the smallest `expires` along the chain, capped by the client's maximum. */
  expires: number | null;
  fetchedAt: string | null;
  expiresAt: string | null;
  fromCache: boolean;
}

// ---------------------------------------------------------------- Certificates (RFC 5280, RFC 6125, RFC 6120 13.7)

export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Subject CNs: shown, never used for identity (RFC 9525). */
  commonNames: string[];
  dnsNames: string[];
  /** SRV-IDs (RFC 4985) as `_service.domain`. */
  srvNames: string[];
  xmppAddrs: string[];
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  /** base64 of SHA-256 over the DER: the form a POSH document publishes. */
  sha256: string;
  selfSigned: boolean;
  /** The subject's key, e.g. `EC P-256` or `RSA 2048`. */
  key: string;
  /** How the issuer signed it, in OpenSSL's name, e.g. `ecdsa-with-SHA256`. */
  signatureAlgorithm: string;
}

/**
 * What the TLS library's own verification (OpenSSL's X509_verify_cert in the handshake) said of the
 * chain the server presented: the PKIX prooftype's chain result, an input to the verdict.
 */
export interface ChainVerification {
  /** The chain validates to a trust anchor (purpose TLS server, security level 2). */
  trusted: boolean;
  /** Why not: Node's name for OpenSSL's error (UNSPECIFIED for codes it has no name for) and OpenSSL's text. */
  error: { code: string; reason: string } | null;
  /** The trust anchor's subject (RFC 4514), when trusted. */
  anchor: string | null;
  /**
   * A certificate on the way to the anchor carries nameConstraints (RFC 5280 4.2.1.10). OpenSSL
   * checks DNS names against them, but they do not cover SRV-IDs or XmppAddrs.
   */
  nameConstrained: boolean;
  /** The dNSName subtrees of those constraints, for the words of a refusal. */
  permittedDns: string[];
  excludedDns: string[];
}

export type IdentityType = 'DNS-ID' | 'SRV-ID' | 'XmppAddr';

export interface IdentityMatch {
  type: IdentityType;
  /** The presented identifier that matched. */
  presented: string;
}

// ---------------------------------------------------------------- Verdict (RFC 7712)

export type Prooftype = 'PKIX' | 'POSH';

export interface Verdict {
  verified: boolean;
  prooftype: Prooftype | null;
  code: VerdictCode;
  /** What happened, in a sentence a user (and the domain's admin) can act on. */
  reason: string;
  /** The identifier that proved the domain under PKIX. */
  identity?: IdentityMatch;
  /** The published descriptor that matched under POSH. */
  fingerprint?: { index: number; hash: string; value: string };
  /** Why PKIX did not prove the domain, when it did not. */
  pkixFailure?: string;
}

/** What the domain's admin would publish to make the presented certificate verify. */
export interface PublishHint {
  publishAt: string;
  document: { fingerprints: FingerprintDescriptor[]; expires: number };
}

// ---------------------------------------------------------------- The delegation chain

export type StepName = 'srv' | 'posh' | 'dns' | 'tcp' | 'tls' | 'verify' | 'stream' | 'auth' | 'bind';

/** One recorded step, with wall-clock times in epoch milliseconds (fractional). */
export interface TimedStep {
  /** Unique within one connection attempt: steps of one name repeat (one `tcp` per address tried). */
  id: string;
  name: StepName;
  label: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  detail?: string;
}

/** A step as it starts (for a live timeline) and as it ends. */
export type StepEvent = { phase: 'start'; step: Omit<TimedStep, 'endedAt' | 'ok' | 'detail'> } | { phase: 'end'; step: TimedStep };
