// The PKIX prooftype is OpenSSL's chain check, run in the handshake (docs/ARCHITECTURE.md#the-verdict).
// One row per RFC 5280 rule: a chain made with openssl at test time, presented by a real TLS
// listener in the order the row gives, judged by the client's whole attempt; and the same chain
// judged by `openssl verify -x509_strict -purpose sslserver -auth_level 2`, which must agree with
// the client's chain result. The lookups are not under test: the attempt's delegation is given.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import type { ResolveDelegation } from '../../src/lookup/delegation.ts';
import { poshUrl } from '../../src/lookup/posh-fetch.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { StepRecorder } from '../../src/lookup/steps.ts';
import { createAuthority, createSelfSigned, issueWith, scratchDir, type CertificateAuthority, type CertificateSpec, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { fingerprintsOf } from '../../src/verify/fingerprints.ts';
import type { PoshResult, VerdictCode } from '../../src/verify/types.ts';
import { runDelegationAttempt } from '../../src/xmpp/attempt.ts';
import { startXmppListener } from '../support/xmpp-tls-listener.ts';

const run = promisify(execFile);
const ADDRESS = '127.0.51.1';
const FIRST_PORT = 25_300;
const DOMAIN = normalizeDomain('example.com');
const HOUR = 3_600_000;

interface Built {
  /** As the server sends them: the leaf first, then the rest in this order. */
  presented: IssuedCertificate[];
  /** What the client trusts (default: the test root). */
  anchors?: IssuedCertificate[];
}

interface Row {
  rule: string;
  build: () => Promise<Built>;
  /** The domain publishes the leaf's fingerprints over POSH. */
  published?: boolean;
  code: VerdictCode;
  /** What the reason (or why PKIX failed) must say. */
  says?: RegExp;
}

let scratch: { dir: string; remove: () => Promise<void> };
let root: CertificateAuthority;
let serial = 0;
const fresh = (prefix: string): string => `${prefix}-${++serial}`;
const leafFor = (extra: Partial<CertificateSpec> = {}): CertificateSpec => ({ name: fresh('leaf'), commonName: DOMAIN, dnsNames: [DOMAIN], ...extra });
const CA_USAGE = 'keyUsage = critical, keyCertSign, cRLSign';

async function issuedUnder(intermediate: Partial<CertificateSpec>, leaf: Partial<CertificateSpec> = {}): Promise<Built> {
  const ca = await root.issueAuthority({ name: fresh('ca'), commonName: 'Intermediate', ...intermediate });
  return { presented: [await ca.issue(leafFor(leaf)), ca] };
}

const rows: Row[] = [
  {
    rule: 'RFC 5280 6.1: a leaf and its intermediate under a trusted root (control)',
    build: () => issuedUnder({}),
    code: 'OK_PKIX',
    says: /chains to the trusted root CN=POSH Messenger Test Root and names example\.com \(DNS-ID example\.com\)/,
  },
  {
    rule: 'RFC 5280 4.2.1.10: a leaf outside the intermediate\'s permitted subtree (.allowed.test) is refused',
    build: () => issuedUnder({ extraExtensions: ['nameConstraints = critical, permitted;DNS:.allowed.test'] }),
    code: 'NO_PROOF',
    says: /the issuing CA|may only issue for \.allowed\.test/,
  },
  {
    rule: 'RFC 5280 4.2.1.10: a leaf inside an intermediate\'s excluded subtree is refused',
    build: () => issuedUnder({ extraExtensions: ['nameConstraints = critical, excluded;DNS:example.com'] }),
    code: 'NO_PROOF',
    says: /may not issue for example\.com/,
  },
  {
    rule: 'RFC 5280 4.2.1.10: a leaf inside the trusted root\'s excluded subtree is refused',
    build: async () => {
      const constrained = await createAuthority(join(scratch.dir, fresh('constrained-root')), {
        commonName: 'Constrained Root', extraExtensions: ['nameConstraints = critical, excluded;DNS:example.com'],
      });
      return { presented: [await constrained.issue(leafFor())], anchors: [constrained] };
    },
    code: 'NO_PROOF',
    says: /may not issue for example\.com/,
  },
  {
    rule: 'RFC 5280 4.2.1.10: under a DNS name constraint an XmppAddr and an SRV-ID for the domain prove nothing (the constraint cannot cover them)',
    build: () => issuedUnder(
      { extraExtensions: ['nameConstraints = critical, permitted;DNS:.allowed.test'] },
      { dnsNames: ['xmpp.allowed.test'], xmppAddrs: [DOMAIN], srvNames: [`_xmpp-client.${DOMAIN}`] },
    ),
    code: 'NO_PROOF',
    says: /name-constrained/,
  },
  {
    rule: 'RFC 5280 4.2.1.9: a second intermediate below one with pathLenConstraint 0 is refused',
    build: async () => {
      const first = await root.issueAuthority({ name: fresh('ca'), commonName: 'Path Zero', extensions: ['basicConstraints = critical, CA:TRUE, pathlen:0', CA_USAGE] });
      const second = await first.issueAuthority({ name: fresh('ca'), commonName: 'Below Path Zero' });
      return { presented: [await second.issue(leafFor()), second, first] };
    },
    code: 'NO_PROOF',
    says: /longer than a CA in it allows/,
  },
  {
    rule: 'RFC 5280 4.2: an unknown critical extension on the leaf is refused',
    build: () => issuedUnder({}, { extraExtensions: ['1.3.6.1.4.1.55555.1 = critical, ASN1:UTF8String:unknown'] }),
    code: 'NO_PROOF',
    says: /critical extension/,
  },
  {
    rule: 'RFC 5280 4.2: an unknown critical extension on the intermediate is refused',
    build: () => issuedUnder({ extraExtensions: ['1.3.6.1.4.1.55555.1 = critical, ASN1:UTF8String:unknown'] }),
    code: 'NO_PROOF',
    says: /critical extension/,
  },
  {
    rule: 'RFC 5280 4.2.1.3: a leaf whose keyUsage has neither digitalSignature, keyEncipherment nor keyAgreement is refused',
    build: () => issuedUnder({}, { extensions: ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, dataEncipherment', 'extendedKeyUsage = serverAuth'] }),
    code: 'NO_PROOF',
    says: /not issued for TLS servers/,
  },
  {
    rule: 'RFC 5280 4.2.1.12: an intermediate whose extendedKeyUsage is clientAuth only is refused for a server',
    build: () => issuedUnder({ extensions: ['basicConstraints = critical, CA:TRUE', CA_USAGE, 'extendedKeyUsage = clientAuth'] }),
    code: 'NO_PROOF',
    says: /not issued for TLS servers/,
  },
  {
    rule: 'security level 2: a leaf signed with SHA-1 is refused',
    build: () => issuedUnder({}, { digest: 'sha1' }),
    code: 'NO_PROOF',
    says: /weak digest/,
  },
  {
    rule: 'security level 2: a leaf signed with MD5 is refused',
    build: () => issuedUnder({ key: 'rsa-2048' }, { digest: 'md5' }),
    code: 'NO_PROOF',
    says: /weak digest/,
  },
  {
    rule: 'security level 2: a leaf with a 1024-bit RSA key is refused, and no publication could help',
    build: () => issuedUnder({}, { key: 'rsa-1024' }),
    code: 'CERT_WEAK_KEY',
    says: /RSA 1024 key/,
  },
  {
    rule: 'security level 2: an intermediate with a 1024-bit RSA key is refused',
    build: () => issuedUnder({ key: 'rsa-1024' }),
    code: 'NO_PROOF',
    says: /CA whose key is too weak/,
  },
  {
    rule: 'RFC 8446 4.4.2: intermediates sent out of order (the root-side one first) still chain',
    build: async () => {
      const upper = await root.issueAuthority({ name: fresh('ca'), commonName: 'Upper' });
      const lower = await upper.issueAuthority({ name: fresh('ca'), commonName: 'Lower' });
      return { presented: [await lower.issue(leafFor()), upper, lower] };
    },
    code: 'OK_PKIX',
  },
  {
    rule: 'RFC 5280 6.1: a missing intermediate is refused',
    build: async () => ({ presented: [(await issuedUnder({})).presented[0]!] }),
    code: 'NO_PROOF',
    says: /not issued by a trusted authority/,
  },
  {
    rule: 'RFC 5280 4.1.2.5: an expired intermediate is refused',
    build: () => issuedUnder(
      { notBefore: new Date(Date.now() - 48 * HOUR), notAfter: new Date(Date.now() - HOUR) },
      { notBefore: new Date(Date.now() - 47 * HOUR) },
    ),
    code: 'NO_PROOF',
    says: /expired certificate in its chain/,
  },
  {
    rule: 'RFC 5280 4.2.1.9: an intermediate that is not a CA is refused',
    build: async () => {
      const notCa = await root.issue({ name: fresh('not-ca'), commonName: 'Not A CA' });
      return { presented: [await issueWith(join(scratch.dir, fresh('not-ca-dir')), notCa, leafFor()), notCa] };
    },
    code: 'NO_PROOF',
    says: /not a CA|may not sign certificates/,
  },
  {
    rule: 'RFC 5280 4.2.1.3: an intermediate without keyCertSign is refused',
    build: () => issuedUnder({ extensions: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, digitalSignature'] }),
    code: 'NO_PROOF',
    says: /may not sign certificates|not a CA/,
  },
  {
    rule: 'RFC 7711 4: a self-signed leaf published via POSH is OK_POSH although OpenSSL refuses its chain',
    build: async () => ({ presented: [await createSelfSigned(join(scratch.dir, fresh('self')), leafFor({ dnsNames: ['hosting.example.net'] }))] }),
    published: true,
    code: 'OK_POSH',
  },
];

/** The delegation the attempt is given: one candidate (the row's listener), POSH as the row says. */
function delegationTo(port: number, posh: PoshResult): ResolveDelegation {
  return async (domain, service) => ({
    domain,
    service,
    srv: { records: [], candidates: [{ host: ADDRESS, port, tls: 'direct', source: 'manual' }], error: null },
    posh,
    prefetched: new Map(),
  });
}

function poshFor(leaf: IssuedCertificate, published: boolean): PoshResult {
  const url = poshUrl(DOMAIN, 'xmpp-client');
  const base: PoshResult = {
    domain: DOMAIN, service: 'xmpp-client', url, status: 'absent', error: null, steps: [],
    fingerprints: [], expires: null, fetchedAt: null, expiresAt: null, fromCache: false,
  };
  if (!published) return base;
  return { ...base, status: 'valid', fingerprints: [fingerprintsOf(leaf.der)], expires: 3600, fetchedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + HOUR).toISOString() };
}

/** Whether `openssl verify` accepts the chain, with its output for the failure message. */
async function opensslVerifies(built: Built, anchors: IssuedCertificate[], dir: string): Promise<{ ok: boolean; output: string }> {
  const [leaf, ...rest] = built.presented;
  await writeFile(join(dir, 'anchors.pem'), anchors.map((anchor) => anchor.certPem).join(''));
  await writeFile(join(dir, 'untrusted.pem'), rest.map((cert) => cert.certPem).join(''));
  const args = ['verify', '-x509_strict', '-purpose', 'sslserver', '-auth_level', '2', '-CAfile', join(dir, 'anchors.pem')];
  if (rest.length > 0) args.push('-untrusted', join(dir, 'untrusted.pem'));
  try {
    const { stdout } = await run('openssl', [...args, leaf!.certPath]);
    return { ok: true, output: stdout };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${stdout}${stderr}` };
  }
}

beforeAll(async () => {
  scratch = await scratchDir('pkix-openssl');
  root = await createAuthority(join(scratch.dir, 'root'));
});

afterAll(async () => {
  await scratch?.remove();
});

describe('PKIX by OpenSSL: each chain rule on a real TLS listener, and openssl verify agrees', () => {
  it.each(rows.map((row, index) => ({ ...row, port: FIRST_PORT + index })))('$rule', async ({ build, published, code, says, port }) => {
    const built = await build();
    const anchors = built.anchors ?? [root];
    const leaf = built.presented[0]!;
    const listener = await startXmppListener({
      address: ADDRESS, port, tls: 'direct', anySecurityLevel: true,
      certPem: built.presented.map((cert) => cert.certPem).join(''), keyPem: leaf.keyPem,
    });
    try {
      const { report } = await runDelegationAttempt({
        domain: DOMAIN,
        service: 'xmpp-client',
        connect: true,
        keepSocket: false,
        resolver: createResolver(),
        trust: trustStore(anchors.map((anchor) => anchor.certPem)),
        recorder: new StepRecorder(),
        delegation: delegationTo(port, poshFor(leaf, published ?? false)),
        signal: AbortSignal.timeout(10_000),
      });
      const openssl = await opensslVerifies(built, anchors, scratch.dir);
      // The chain result is OpenSSL's: trusted exactly when openssl verify says OK.
      expect({ trusted: report.pkix?.trusted, openssl: openssl.ok }, openssl.output).toEqual({ trusted: openssl.ok, openssl: openssl.ok });
      expect(report.verdict.code, report.verdict.reason).toBe(code);
      if (says) expect(`${report.verdict.reason} ${report.verdict.pkixFailure ?? ''}`).toMatch(says);
      // The chain as the server sent it, in that order, for display; the hint and POSH use the leaf.
      expect(report.chain.map((cert) => cert.sha256)).toEqual(built.presented.map((cert) => cert.sha256));
      expect(report.certificate?.sha256).toBe(leaf.sha256);
    } finally {
      await listener.stop();
    }
  });
});
