import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, createSelfSigned, days, scratchDir } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { fingerprintsOf } from '../../src/verify/fingerprints.ts';
import type { ChainVerification, CodedError, FingerprintDescriptor, PoshErrorCode, PoshResult, ServiceName, Verdict } from '../../src/verify/types.ts';
import { connectionFailure, decideVerdict, HINT_EXPIRES, type VerdictOutcome } from '../../src/verify/verdict.ts';

const DOMAIN = normalizeDomain('example.com');
const CLIENT_URL = 'https://example.com/.well-known/posh/xmpp-client.json';
const SERVER_URL = 'https://example.com/.well-known/posh/xmpp-server.json';

// PoshResult values are the verdict's input, built as the POSH retrieval would report them.
function poshResult(service: ServiceName, status: PoshResult['status'], extra: Partial<PoshResult> = {}): PoshResult {
  return {
    domain: DOMAIN,
    service,
    url: service === 'xmpp-client' ? CLIENT_URL : SERVER_URL,
    status,
    error: null,
    steps: [],
    fingerprints: [],
    expires: null,
    fetchedAt: null,
    expiresAt: null,
    fromCache: false,
    ...extra,
  };
}

const absent = (service: ServiceName = 'xmpp-client'): PoshResult => poshResult(service, 'absent');
const valid = (fingerprints: FingerprintDescriptor[], service: ServiceName = 'xmpp-client'): PoshResult =>
  poshResult(service, 'valid', {
    fingerprints,
    expires: 3600,
    fetchedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
const failed = (status: 'invalid' | 'error', error: CodedError<PoshErrorCode>): PoshResult => poshResult('xmpp-client', status, { error });

// ChainVerification values are the verdict's other input: what OpenSSL said of the chain in the
// handshake (the chain rules themselves are proven against real TLS in test/integration/pkix.test.ts).
const ROOT = 'CN=POSH Messenger Test Root';
const trusted = (extra: Partial<ChainVerification> = {}): ChainVerification => ({
  trusted: true, error: null, anchor: ROOT, nameConstrained: false, permittedDns: [], excludedDns: [], ...extra,
});
const refused = (code: string, reason: string, extra: Partial<ChainVerification> = {}): ChainVerification => ({
  ...trusted(), trusted: false, anchor: null, error: { code, reason }, ...extra,
});
const selfSignedChain = (): ChainVerification => refused('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate');

let scratch: { dir: string; remove: () => Promise<void> };
const der: Record<string, Uint8Array> = {};
const published = (...names: string[]): FingerprintDescriptor[] => names.map((name) => fingerprintsOf(der[name]!));

beforeAll(async () => {
  scratch = await scratchDir('dna-verdict');
  const past = { notBefore: new Date(Date.now() - days(30)), notAfter: new Date(Date.now() - days(1)) };
  const future = { notBefore: new Date(Date.now() + days(1)), notAfter: new Date(Date.now() + days(30)) };
  const ca = await createAuthority(join(scratch.dir, 'ca'));
  const issued = {
    forDomain: await ca.issue({ name: 'for-domain', commonName: DOMAIN, dnsNames: [DOMAIN] }),
    srvId: await ca.issue({ name: 'srv-id', dnsNames: ['hosting.example.net'], srvNames: ['_xmpp-client.example.com'] }),
    delegated: await ca.issue({ name: 'delegated', commonName: 'hosting.example.net', dnsNames: ['hosting.example.net'] }),
    other: await ca.issue({ name: 'other', dnsNames: ['other.example.net'] }),
    expired: await ca.issue({ name: 'expired', dnsNames: ['hosting.example.net'], ...past }),
    expiredForDomain: await ca.issue({ name: 'expired-for-domain', dnsNames: [DOMAIN], ...past }),
    future: await ca.issue({ name: 'future', dnsNames: ['hosting.example.net'], ...future }),
    selfSigned: await createSelfSigned(join(scratch.dir, 'self'), { name: 'self', commonName: 'hosting.example.net', dnsNames: ['hosting.example.net'] }),
    selfSignedForDomain: await createSelfSigned(join(scratch.dir, 'self-domain'), { name: 'self-domain', commonName: DOMAIN, dnsNames: [DOMAIN] }),
    noNames: await createSelfSigned(join(scratch.dir, 'no-names'), { name: 'no-names', organization: 'No Names' }),
    xmppAddrOnly: await ca.issue({ name: 'xmpp-addr-only', dnsNames: ['hosting.example.net'], xmppAddrs: [DOMAIN] }),
    weakSelfSigned: await createSelfSigned(join(scratch.dir, 'weak'), { name: 'weak', dnsNames: ['hosting.example.net'], key: 'rsa-1024' }),
  };
  for (const [name, cert] of Object.entries(issued)) der[name] = cert.der;
}, 60_000);

afterAll(async () => {
  await scratch.remove();
});

interface Row {
  rule: string;
  cert: string;
  /** What OpenSSL said of the chain. */
  pkix: () => ChainVerification;
  posh: () => PoshResult;
  service?: ServiceName;
  code: Verdict['code'];
  /** Further expectations on the verdict (a function when they need the certificates). */
  verdict: Partial<Record<keyof Verdict, unknown>> | (() => Partial<Record<keyof Verdict, unknown>>);
  hint: boolean;
}

function decide(row: Pick<Row, 'cert' | 'pkix' | 'posh' | 'service'>, posh: PoshResult = row.posh()): VerdictOutcome {
  return decideVerdict({ domain: DOMAIN, service: row.service ?? 'xmpp-client', chain: [der[row.cert]!], pkix: row.pkix(), posh, now: new Date() });
}

const rows: Row[] = [
  {
    rule: 'RFC 7712 3.1: a trusted certificate naming the domain is OK_PKIX, with no POSH at all',
    cert: 'forDomain',
    pkix: trusted,
    posh: absent,
    code: 'OK_PKIX',
    verdict: {
      identity: { type: 'DNS-ID', presented: DOMAIN },
      reason: 'example.com is proven by PKIX: example.com\'s certificate chains to the trusted root CN=POSH Messenger Test Root and names example.com (DNS-ID example.com).',
      pkixFailure: undefined,
    },
    hint: false,
  },
  {
    rule: 'RFC 6120 13.7.2.1: an SRV-ID for xmpp-client is OK_PKIX',
    cert: 'srvId',
    pkix: trusted,
    posh: absent,
    code: 'OK_PKIX',
    verdict: { identity: { type: 'SRV-ID', presented: '_xmpp-client.example.com' } },
    hint: false,
  },
  {
    rule: 'ARCHITECTURE#the-verdict: PKIX is decided first, whatever the POSH material says',
    cert: 'forDomain',
    pkix: trusted,
    posh: () => valid(published('other')),
    code: 'OK_PKIX',
    verdict: { identity: { type: 'DNS-ID', presented: DOMAIN } },
    hint: false,
  },
  {
    rule: 'RFC 7712 5.2: a delegated certificate whose fingerprint the domain publishes is OK_POSH',
    cert: 'delegated',
    pkix: trusted,
    posh: () => valid(published('delegated')),
    code: 'OK_POSH',
    verdict: () => ({
      fingerprint: { index: 0, hash: 'sha-512', value: fingerprintsOf(der['delegated']!)['sha-512'] },
      reason: `example.com is proven by POSH: example.com publishes the sha-512 fingerprint of hosting.example.net's certificate at ${CLIENT_URL}.`,
      pkixFailure: 'The certificate names hosting.example.net, not example.com.',
    }),
    hint: false,
  },
  {
    rule: 'RFC 7711 3.3: any matching descriptor is enough (the second of two)',
    cert: 'delegated',
    pkix: trusted,
    posh: () => valid([...published('other'), { 'sha-256': fingerprintsOf(der['delegated']!)['sha-256']! }]),
    code: 'OK_POSH',
    verdict: () => ({ fingerprint: { index: 1, hash: 'sha-256', value: fingerprintsOf(der['delegated']!)['sha-256'] } }),
    hint: false,
  },
  {
    rule: 'ARCHITECTURE#the-verdict: a self-signed certificate published via POSH is OK_POSH (no trusted root needed)',
    cert: 'selfSigned',
    pkix: selfSignedChain,
    posh: () => valid(published('selfSigned')),
    code: 'OK_POSH',
    verdict: { pkixFailure: "hosting.example.net's certificate is self-signed (OpenSSL: self-signed certificate). The certificate names hosting.example.net, not example.com." },
    hint: false,
  },
  {
    rule: 'RFC 7711 6: a published but expired certificate is CERT_EXPIRED, no hint',
    cert: 'expired',
    pkix: () => refused('CERT_HAS_EXPIRED', 'certificate has expired'),
    posh: () => valid(published('expired')),
    code: 'CERT_EXPIRED',
    verdict: {
      reason: expect.stringMatching(/^hosting\.example\.net's certificate expired on \d{4}-.*renew it\. example\.com publishes its fingerprint, but that does not make an out-of-date certificate valid\.$/),
    },
    hint: false,
  },
  {
    rule: 'RFC 5280 4.1.2.5: an expired certificate naming the domain is CERT_EXPIRED, not NO_PROOF',
    cert: 'expiredForDomain',
    pkix: () => refused('CERT_HAS_EXPIRED', 'certificate has expired'),
    posh: absent,
    code: 'CERT_EXPIRED',
    verdict: { pkixFailure: "example.com's certificate has an expired certificate in its chain (OpenSSL: certificate has expired)." },
    hint: false,
  },
  {
    rule: 'RFC 5280 4.1.2.5: a published certificate not yet valid is CERT_NOT_YET_VALID, no hint',
    cert: 'future',
    pkix: () => refused('CERT_NOT_YET_VALID', 'certificate is not yet valid'),
    posh: () => valid(published('future')),
    code: 'CERT_NOT_YET_VALID',
    verdict: { reason: expect.stringMatching(/^hosting\.example\.net's certificate is not valid until \d{4}-.*clock/) },
    hint: false,
  },
  {
    rule: 'RFC 7712 section 6: a trusted chain for the wrong name with no POSH is NO_PROOF, with a hint',
    cert: 'delegated',
    pkix: trusted,
    posh: absent,
    code: 'NO_PROOF',
    verdict: {
      reason: `hosting.example.net's certificate does not name example.com, and example.com publishes no POSH document at ${CLIENT_URL}.`,
      pkixFailure: 'The certificate names hosting.example.net, not example.com.',
    },
    hint: true,
  },
  {
    rule: 'RFC 7711 3: an unpublished self-signed certificate is NO_PROOF, with a hint',
    cert: 'selfSigned',
    pkix: selfSignedChain,
    posh: absent,
    code: 'NO_PROOF',
    verdict: { reason: `hosting.example.net's certificate does not name example.com and is self-signed, and example.com publishes no POSH document at ${CLIENT_URL}.` },
    hint: true,
  },
  {
    rule: 'RFC 5280 6.1: a self-signed certificate naming the domain, unpublished, is NO_PROOF',
    cert: 'selfSignedForDomain',
    pkix: selfSignedChain,
    posh: absent,
    code: 'NO_PROOF',
    verdict: {
      reason: `example.com's certificate names example.com but is self-signed, and example.com publishes no POSH document at ${CLIENT_URL}.`,
      pkixFailure: "example.com's certificate is self-signed (OpenSSL: self-signed certificate).",
    },
    hint: true,
  },
  {
    rule: 'ARCHITECTURE#the-verdict: a certificate with no names is described as the server\'s',
    cert: 'noNames',
    pkix: selfSignedChain,
    posh: absent,
    code: 'NO_PROOF',
    verdict: { reason: expect.stringMatching(/^The server's certificate does not name example\.com and is self-signed, and/) },
    hint: true,
  },
  {
    rule: 'RFC 7711 3.3: valid POSH material that matches nothing is POSH_MISMATCH, with a hint',
    cert: 'delegated',
    pkix: trusted,
    posh: () => valid(published('other', 'selfSigned')),
    code: 'POSH_MISMATCH',
    verdict: { reason: `hosting.example.net's certificate does not name example.com, and none of the 2 fingerprints example.com publishes at ${CLIENT_URL} matches it.` },
    hint: true,
  },
  {
    rule: 'RFC 7711 3.3: one published fingerprint that does not match is named in the singular',
    cert: 'delegated',
    pkix: trusted,
    posh: () => valid(published('other')),
    code: 'POSH_MISMATCH',
    verdict: { reason: `hosting.example.net's certificate does not name example.com, and the fingerprint example.com publishes at ${CLIENT_URL} does not match it.` },
    hint: true,
  },
  {
    rule: 'RFC 7711 3.1: invalid POSH material is NO_PROOF naming the POSH code and message',
    cert: 'delegated',
    pkix: trusted,
    posh: () => failed('invalid', { code: 'POSH_BAD_JSON', message: 'The POSH document is not JSON.' }),
    code: 'NO_PROOF',
    verdict: {
      reason: `hosting.example.net's certificate does not name example.com, and example.com's POSH document at ${CLIENT_URL} could not be used (POSH_BAD_JSON: The POSH document is not JSON).`,
    },
    hint: true,
  },
  {
    rule: 'RFC 7712 5.2: an unreachable POSH server is NO_PROOF naming the POSH code',
    cert: 'selfSigned',
    pkix: selfSignedChain,
    posh: () => failed('error', { code: 'POSH_TIMEOUT', message: 'example.com did not answer within 5 s.' }),
    code: 'NO_PROOF',
    verdict: { reason: expect.stringContaining('could not be used (POSH_TIMEOUT: example.com did not answer within 5 s).') },
    hint: true,
  },
  {
    rule: 'RFC 6120 13.7.2.1: an xmpp-client SRV-ID proves nothing for xmpp-server',
    cert: 'srvId',
    pkix: trusted,
    service: 'xmpp-server',
    posh: () => absent('xmpp-server'),
    code: 'NO_PROOF',
    verdict: {
      reason: `hosting.example.net's certificate does not name example.com, and example.com publishes no POSH document at ${SERVER_URL}.`,
      pkixFailure: expect.stringContaining('does not cover xmpp-server connections'),
    },
    hint: true,
  },
  {
    rule: 'RFC 7712 5: with no trust anchor named, OK_PKIX says a trusted root',
    cert: 'forDomain',
    pkix: () => trusted({ anchor: null }),
    posh: absent,
    code: 'OK_PKIX',
    verdict: { reason: "example.com is proven by PKIX: example.com's certificate chains to a trusted root and names example.com (DNS-ID example.com)." },
    hint: false,
  },
  {
    rule: 'RFC 5280 6.1: a chain OpenSSL refuses proves nothing by PKIX even when the certificate names the domain, and the rule is said in words',
    cert: 'forDomain',
    pkix: () => refused('UNSPECIFIED', 'permitted subtree violation', { nameConstrained: true, permittedDns: ['.allowed.test'] }),
    posh: absent,
    code: 'NO_PROOF',
    verdict: {
      reason: `example.com's certificate names example.com but was issued under a CA that may only issue for .allowed.test (its name constraints), and example.com publishes no POSH document at ${CLIENT_URL}.`,
      pkixFailure: "example.com's certificate was issued under a CA that may only issue for .allowed.test (its name constraints) (OpenSSL: permitted subtree violation).",
    },
    hint: true,
  },
  {
    rule: 'RFC 5280 4.2.1.10: under name constraints a DNS-ID, which OpenSSL checked against them, still proves the domain',
    cert: 'forDomain',
    pkix: () => trusted({ nameConstrained: true, permittedDns: ['example.com'] }),
    posh: absent,
    code: 'OK_PKIX',
    verdict: { identity: { type: 'DNS-ID', presented: DOMAIN } },
    hint: false,
  },
  {
    rule: 'RFC 5280 4.2.1.10: under name constraints an XmppAddr proves nothing (constraints do not cover it)',
    cert: 'xmppAddrOnly',
    pkix: () => trusted({ nameConstrained: true, permittedDns: ['.allowed.test'] }),
    posh: absent,
    code: 'NO_PROOF',
    verdict: { pkixFailure: expect.stringMatching(/name-constrained, and name constraints do not cover SRV-IDs or XmppAddrs, so only a DNS-ID can name example\.com\.$/) },
    hint: true,
  },
  {
    rule: 'RFC 6120 13.7.1.4: without name constraints the same XmppAddr is OK_PKIX',
    cert: 'xmppAddrOnly',
    pkix: trusted,
    posh: absent,
    code: 'OK_PKIX',
    verdict: { identity: { type: 'XmppAddr', presented: DOMAIN } },
    hint: false,
  },
  {
    rule: 'security level 2: a 1024-bit RSA key published via POSH is CERT_WEAK_KEY, and publishing cannot fix it (no hint)',
    cert: 'weakSelfSigned',
    pkix: () => refused('UNSPECIFIED', 'EE certificate key too weak'),
    posh: () => valid(published('weakSelfSigned')),
    code: 'CERT_WEAK_KEY',
    verdict: { reason: expect.stringMatching(/^hosting\.example\.net's certificate cannot be trusted: its RSA 1024 key gives less than 112 bits of security .*replace it\. example\.com publishes its fingerprint, but no publication makes a weak key safe\.$/) },
    hint: false,
  },
  {
    rule: 'security level 2: an unpublished weak key is CERT_WEAK_KEY too, with no hint to publish it',
    cert: 'weakSelfSigned',
    pkix: () => refused('UNSPECIFIED', 'EE certificate key too weak'),
    posh: absent,
    code: 'CERT_WEAK_KEY',
    verdict: { pkixFailure: expect.stringContaining('has a key too weak to trust') },
    hint: false,
  },
];

describe('decideVerdict: PKIX, then POSH, then the most specific failure (ARCHITECTURE#the-verdict)', () => {
  it.each(rows)('$rule', (row) => {
    const { verdict, certificate, hint } = decide(row);
    const verified = row.code === 'OK_PKIX' || row.code === 'OK_POSH';
    expect(verdict).toMatchObject({
      verified,
      prooftype: row.code === 'OK_PKIX' ? 'PKIX' : row.code === 'OK_POSH' ? 'POSH' : null,
      code: row.code,
      reason: expect.any(String),
    });
    const further = typeof row.verdict === 'function' ? row.verdict() : row.verdict;
    for (const [key, value] of Object.entries(further)) expect(verdict[key as keyof Verdict]).toEqual(value);
    if (!verified) expect(verdict.pkixFailure).toEqual(expect.any(String));
    expect(certificate.sha256).toBe(fingerprintsOf(der[row.cert]!)['sha-256']);
    if (row.hint) {
      expect(hint).toEqual({
        publishAt: row.posh().url,
        document: { fingerprints: [fingerprintsOf(der[row.cert]!)], expires: HINT_EXPIRES },
      });
    } else {
      expect(hint).toBeNull();
    }
  });

  it.each(rows.filter((row) => row.hint))('RFC 7711 3.1: the hint, published as is, makes it OK_POSH ($rule)', (row) => {
    const { hint } = decide(row);
    const republished = poshResult(row.service ?? 'xmpp-client', 'valid', {
      fingerprints: hint!.document.fingerprints,
      expires: hint!.document.expires,
    });
    const { verdict } = decide(row, republished);
    expect(verdict).toMatchObject({ verified: true, prooftype: 'POSH', code: 'OK_POSH', fingerprint: { index: 0 } });
  });

  it.each([
    { rule: 'a POSH result for another domain', posh: () => ({ ...absent(), domain: normalizeDomain('example.org') }), code: 'POSH_OTHER_DOMAIN' },
    { rule: 'a POSH result for the other service', posh: () => absent('xmpp-server'), code: 'POSH_OTHER_DOMAIN' },
  ])('fails closed on $rule ($code)', ({ posh, code }) => {
    expect(() => decide({ cert: 'delegated', pkix: trusted, posh })).toThrow(expect.objectContaining({ code, message: expect.stringMatching(/cannot prove this connection\.$/) }));
  });

  it('RFC 6125 6.2.1: the domain may be given in any case with a trailing dot', () => {
    const { verdict } = decideVerdict({ domain: normalizeDomain('EXAMPLE.com.'), service: 'xmpp-client', chain: [der['forDomain']!], pkix: trusted(), posh: absent(), now: new Date() });
    expect(verdict.code).toBe('OK_PKIX');
  });

  it.each([
    { rule: 'an empty chain', chain: (): Uint8Array[] => [], code: 'NO_CERTIFICATE' },
    { rule: 'an unreadable leaf', chain: (): Uint8Array[] => [new Uint8Array([1, 2, 3])], code: 'CERT_UNPARSABLE' },
  ])('refuses $rule with $code', ({ chain, code }) => {
    expect(() => decideVerdict({ domain: DOMAIN, service: 'xmpp-client', chain: chain(), pkix: trusted(), posh: absent(), now: new Date() })).toThrow(
      expect.objectContaining({ code }),
    );
  });
});

describe('connectionFailure: failures before there is a certificate', () => {
  it.each(['CONNECT_FAILED', 'TLS_HANDSHAKE_FAILED', 'SRV_NO_SERVICE'] as const)('ARCHITECTURE#the-verdict: %s is not verified and keeps its reason', (code) => {
    expect(connectionFailure(code, 'Nothing answered at hosting.example.net:5222.')).toEqual({
      verified: false,
      prooftype: null,
      code,
      reason: 'Nothing answered at hosting.example.net:5222.',
    });
  });
});
