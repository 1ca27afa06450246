import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemRootsPem, trustAnchors } from '../../src/lookup/anchors.ts';
import {
  createAuthority,
  createSelfSigned,
  days,
  issueWith,
  scratchDir,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../../src/testbed/pki.ts';
import { MAX_SIGNATURE_CHECKS, validateChain, type ChainValidation, type TrustAnchors } from '../../src/verify/pkix.ts';

const run = promisify(execFile);

let scratch: { dir: string; remove: () => Promise<void> };
const der: Record<string, Uint8Array> = {};
const pem: Record<string, string> = {};
const subject: Record<string, string> = {};

function keep(name: string, cert: IssuedCertificate, subjectName: string): void {
  der[name] = cert.der;
  pem[name] = cert.certPem;
  subject[name] = subjectName;
}

/** An issuer chain `depth` CAs deep under `root`, each named `Level n`. */
async function ladder(root: CertificateAuthority, depth: number): Promise<CertificateAuthority[]> {
  const levels: CertificateAuthority[] = [];
  let parent = root;
  for (let n = 1; n <= depth; n++) {
    parent = await parent.issueAuthority({ name: `level-${n}`, commonName: `Level ${n}` });
    levels.push(parent);
  }
  return levels;
}

/**
 * `count` CA certificates all named CN=Decoy and holding one key, and a leaf that each of them
 * could have signed: path building has to try every one (none leads to a root).
 */
async function decoys(dir: string, count: number): Promise<Uint8Array[]> {
  const sh = (args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  await writeFile(join(dir, 'ca.ext'), 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign\nsubjectKeyIdentifier = hash\n');
  await writeFile(join(dir, 'leaf.ext'), 'basicConstraints = critical, CA:FALSE\nsubjectAltName = DNS:example.com\n');
  await sh(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'k.pem']);
  await sh(['req', '-x509', '-key', 'k.pem', '-subj', '/CN=Decoy Root', '-days', '30', '-out', 'root.pem']);
  await sh(['req', '-new', '-key', 'k.pem', '-subj', '/CN=Decoy', '-out', 'decoy.csr']);
  const chain: Uint8Array[] = [];
  for (let i = 1; i <= count; i++) {
    await sh(['x509', '-req', '-in', 'decoy.csr', '-CA', 'root.pem', '-CAkey', 'k.pem', '-set_serial', String(i), '-days', '30', '-extfile', 'ca.ext', '-out', `decoy-${i}.pem`]);
    chain.push(new X509Certificate(await readFile(join(dir, `decoy-${i}.pem`))).raw);
  }
  await sh(['req', '-new', '-key', 'k.pem', '-subj', '/CN=example.com', '-out', 'leaf.csr']);
  await sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'decoy-1.pem', '-CAkey', 'k.pem', '-set_serial', '1000', '-days', '30', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
  return [new X509Certificate(await readFile(join(dir, 'leaf.pem'))).raw, ...chain];
}

let anchors: { test: TrustAnchors; testAndSelfSigned: TrustAnchors; system: TrustAnchors };
let decoyChain: Uint8Array[];
let systemRoot: Uint8Array;

beforeAll(async () => {
  scratch = await scratchDir('dna-pkix');
  const dir = scratch.dir;
  const past = { notBefore: new Date(Date.now() - days(30)), notAfter: new Date(Date.now() - days(1)) };
  const future = { notBefore: new Date(Date.now() + days(1)), notAfter: new Date(Date.now() + days(30)) };

  const root = await createAuthority(join(dir, 'root'));
  keep('root', root, 'CN=POSH Messenger Test Root');
  keep('leaf', await root.issue({ name: 'leaf', commonName: 'leaf', dnsNames: ['example.com'] }), 'CN=leaf');
  keep('expired', await root.issue({ name: 'expired', commonName: 'expired', ...past }), 'CN=expired');
  keep('future', await root.issue({ name: 'future', commonName: 'future', ...future }), 'CN=future');

  const intA = await root.issueAuthority({ name: 'int-a', commonName: 'Intermediate A' });
  const intB = await intA.issueAuthority({ name: 'int-b', commonName: 'Intermediate B' });
  keep('intA', intA, 'CN=Intermediate A');
  keep('intB', intB, 'CN=Intermediate B');
  keep('deep', await intB.issue({ name: 'deep', commonName: 'deep' }), 'CN=deep');

  const expiredInt = await root.issueAuthority({ name: 'int-expired', commonName: 'Expired Intermediate', ...past });
  keep('expiredInt', expiredInt, 'CN=Expired Intermediate');
  keep('underExpired', await expiredInt.issue({ name: 'under-expired', commonName: 'under expired' }), 'CN=under expired');

  const notCa = await root.issue({ name: 'not-a-ca', commonName: 'Not A CA' });
  keep('notCa', notCa, 'CN=Not A CA');
  keep('underNotCa', await issueWith(join(dir, 'not-a-ca'), notCa, { name: 'under-not-a-ca', commonName: 'under not a ca' }), 'CN=under not a ca');

  keep('clientOnly', await root.issue({ name: 'client-only', commonName: 'client only', dnsNames: ['example.com'], extendedKeyUsage: ['clientAuth'] }), 'CN=client only');
  keep('anyPurpose', await root.issue({ name: 'any-purpose', commonName: 'any purpose', dnsNames: ['example.com'], extendedKeyUsage: ['anyExtendedKeyUsage'] }), 'CN=any purpose');

  keep('selfSigned', await createSelfSigned(join(dir, 'self'), { name: 'self', commonName: 'self', dnsNames: ['example.com'] }), 'CN=self');

  const unknown = await createAuthority(join(dir, 'unknown'), { commonName: 'Unknown Root' });
  keep('unknownRoot', unknown, 'CN=Unknown Root');
  keep('underUnknown', await unknown.issue({ name: 'under-unknown', commonName: 'under unknown' }), 'CN=under unknown');
  // Same name as the trusted root, another key.
  const twin = await createAuthority(join(dir, 'twin'));
  keep('underTwin', await twin.issue({ name: 'under-twin', commonName: 'under twin' }), 'CN=under twin');

  const levels = await ladder(root, 7);
  levels.forEach((level, i) => keep(`level${i + 1}`, level, `CN=Level ${i + 1}`));
  keep('underLevel6', await levels[5]!.issue({ name: 'under-6', commonName: 'under 6' }), 'CN=under 6');
  keep('underLevel7', await levels[6]!.issue({ name: 'under-7', commonName: 'under 7' }), 'CN=under 7');

  const badSignature = Buffer.from(der['leaf']!);
  badSignature[badSignature.length - 1]! ^= 0x01;
  der['badSignature'] = badSignature;

  await mkdir(join(dir, 'decoys'));
  decoyChain = await decoys(join(dir, 'decoys'), MAX_SIGNATURE_CHECKS + 1);

  const now = Date.now();
  systemRoot = systemRootsPem()
    .map((text) => new X509Certificate(text))
    .find((cert) => cert.validFromDate.getTime() < now && cert.validToDate.getTime() > now)!.raw;

  anchors = {
    test: trustAnchors([pem['root']!]),
    testAndSelfSigned: trustAnchors([pem['root']!, pem['selfSigned']!]),
    system: trustAnchors(),
  };
}, 120_000);

afterAll(async () => {
  await scratch.remove();
});

type Expected = { path: string[] } | { code: Extract<ChainValidation, { ok: false }>['code']; message: RegExp };

interface Row {
  rule: string;
  chain: () => Uint8Array[];
  anchors?: keyof typeof anchors;
  at?: () => Date;
  expected: Expected;
}

const chainOf = (...names: string[]) => () => names.map((name) => der[name]!);
const path = (...names: string[]): { path: string[] } => ({ path: names });

const rows: Row[] = [
  { rule: 'RFC 5280 6.1: a leaf issued by a trusted root validates', chain: chainOf('leaf'), expected: path('leaf', 'root') },
  { rule: 'RFC 5246 7.4.2: a leaf presented with its root validates', chain: chainOf('leaf', 'root'), expected: path('leaf', 'root') },
  { rule: 'RFC 5280 6.1: a leaf through two intermediates presented in order', chain: chainOf('deep', 'intB', 'intA'), expected: path('deep', 'intB', 'intA', 'root') },
  { rule: 'RFC 8446 4.4.2: intermediates presented out of order', chain: chainOf('deep', 'intA', 'intB'), expected: path('deep', 'intB', 'intA', 'root') },
  { rule: 'RFC 8446 4.4.2: extra presented certificates are ignored', chain: chainOf('deep', 'selfSigned', 'intA', 'unknownRoot', 'intB'), expected: path('deep', 'intB', 'intA', 'root') },
  {
    rule: 'RFC 8446 4.4.2: an unreadable presented certificate is ignored',
    chain: () => [der['deep']!, new Uint8Array([0x30, 0x00]), der['intB']!, der['intA']!],
    expected: path('deep', 'intB', 'intA', 'root'),
  },
  { rule: 'RFC 5280 6.1: a missing intermediate is UNTRUSTED', chain: chainOf('deep', 'intA'), expected: { code: 'UNTRUSTED', message: /^No trusted issuer was found for CN=deep \(issued by CN=Intermediate B\).*missing an intermediate/ } },
  { rule: 'RFC 5280 6.1.3: an expired leaf', chain: chainOf('expired'), expected: { code: 'EXPIRED', message: /^The server certificate CN=expired expired on \d{4}-/ } },
  { rule: 'RFC 5280 6.1.3: a leaf not yet valid', chain: chainOf('future'), expected: { code: 'NOT_YET_VALID', message: /^The server certificate CN=future is not valid until \d{4}-/ } },
  {
    rule: 'RFC 5280 6.1.3: validity is judged at the given time, not the clock',
    chain: chainOf('leaf'),
    at: () => new Date(Date.now() + days(400)),
    expected: { code: 'EXPIRED', message: /^The server certificate CN=leaf expired on/ },
  },
  { rule: 'RFC 5280 6.1.3: an expired intermediate', chain: chainOf('underExpired', 'expiredInt'), expected: { code: 'EXPIRED', message: /^The intermediate certificate CN=Expired Intermediate expired on/ } },
  { rule: 'RFC 5280 4.2.1.9: a leaf signed by a certificate that is not a CA', chain: chainOf('underNotCa', 'notCa'), expected: { code: 'NOT_A_CA', message: /^CN=Not A CA signed CN=under not a ca but is not a certification authority/ } },
  { rule: 'RFC 5280 6.1.3: a signature that does not verify', chain: chainOf('badSignature'), expected: { code: 'BAD_SIGNATURE', message: /^The signature on CN=leaf does not verify with the key of its issuer CN=POSH Messenger Test Root\.$/ } },
  { rule: 'RFC 5280 4.2.1.12: a leaf whose extendedKeyUsage lacks serverAuth cannot prove a server', chain: chainOf('clientOnly'), expected: { code: 'WRONG_PURPOSE', message: /^The server certificate CN=client only is not issued for TLS servers/ } },
  { rule: 'RFC 5280 4.2.1.12: anyExtendedKeyUsage allows serving', chain: chainOf('anyPurpose'), expected: path('anyPurpose', 'root') },
  { rule: 'RFC 5280 6.1: a self-signed leaf that is not an anchor is UNTRUSTED', chain: chainOf('selfSigned'), expected: { code: 'UNTRUSTED', message: /^CN=self is self-signed and is not a trusted root\.$/ } },
  { rule: 'RFC 5280 6.1.1: a self-signed leaf configured as an extra anchor is trusted', chain: chainOf('selfSigned'), anchors: 'testAndSelfSigned', expected: path('selfSigned') },
  { rule: 'RFC 5280 6.1: a leaf from an unknown CA is UNTRUSTED', chain: chainOf('underUnknown'), expected: { code: 'UNTRUSTED', message: /^No trusted issuer was found for CN=under unknown \(issued by CN=Unknown Root\)/ } },
  { rule: 'RFC 5280 6.1: an unknown CA presenting its own root is UNTRUSTED', chain: chainOf('underUnknown', 'unknownRoot'), expected: { code: 'UNTRUSTED', message: /^CN=Unknown Root is self-signed and is not a trusted root\.$/ } },
  { rule: 'RFC 5280 4.2.1.1: a CA with the trusted root\'s name but another key is not its issuer', chain: chainOf('underTwin'), expected: { code: 'UNTRUSTED', message: /^No trusted issuer was found for CN=under twin/ } },
  {
    rule: 'RFC 5280 6.1: a path of 8 certificates validates',
    chain: chainOf('underLevel6', 'level1', 'level2', 'level3', 'level4', 'level5', 'level6'),
    expected: path('underLevel6', 'level6', 'level5', 'level4', 'level3', 'level2', 'level1', 'root'),
  },
  {
    rule: 'RFC 5280 6.1: a path longer than 8 certificates is TOO_LONG',
    chain: chainOf('underLevel7', 'level1', 'level2', 'level3', 'level4', 'level5', 'level6', 'level7'),
    expected: { code: 'TOO_LONG', message: /^The chain from CN=under 7 is longer than 8 certificates/ },
  },
  {
    rule: 'RFC 4158: more candidate issuers than the signature budget is TOO_LONG',
    chain: () => decoyChain,
    expected: { code: 'TOO_LONG', message: /more candidate issuers than can be checked/ },
  },
  { rule: 'RFC 5280 6.1.1: a leaf from the test CA is UNTRUSTED with only the system roots', chain: chainOf('leaf'), anchors: 'system', expected: { code: 'UNTRUSTED', message: /^No trusted issuer was found for CN=leaf/ } },
];

describe('validateChain: RFC 5280 path validation from the presented chain to an anchor', () => {
  it.each(rows)('$rule', ({ chain, anchors: which, at, expected }) => {
    const result = validateChain(chain(), anchors[which ?? 'test'], at?.() ?? new Date());
    if ('path' in expected) {
      expect(result).toEqual({ ok: true, path: expected.path.map((name) => expect.objectContaining({ subject: subject[name] })) });
    } else {
      expect(result).toEqual({ ok: false, code: expected.code, message: expect.stringMatching(expected.message) });
    }
  });

  it('RFC 5280 6.1.1: a system root (one of Node\'s default roots) presented as the leaf is trusted', () => {
    const result = validateChain([systemRoot], anchors.system, new Date());
    expect(result).toMatchObject({ ok: true, path: [{ sha256: expect.any(String) }] });
  });

  it('RFC 5246 7.4.2: an empty chain is refused with NO_CERTIFICATE', () => {
    expect(() => validateChain([], anchors.test, new Date())).toThrow(expect.objectContaining({ code: 'NO_CERTIFICATE' }));
  });

  it('the decoy chain really offers more candidates than the budget', () => {
    expect(decoyChain.length - 1).toBeGreaterThan(MAX_SIGNATURE_CHECKS);
  });
});

describe('trustAnchors: system roots plus extras', () => {
  it('RFC 5280 6.1.1: holds every system root and each extra', () => {
    expect(trustAnchors().size).toBe(systemRootsPem().length);
    expect(trustAnchors([pem['root']!, pem['selfSigned']!]).size).toBe(systemRootsPem().length + 2);
  });

  it('RFC 7468 5.1: a PEM bundle counts each certificate in it', () => {
    expect(trustAnchors([pem['root']! + pem['unknownRoot']!]).size).toBe(systemRootsPem().length + 2);
  });

  it.each([
    { rule: 'text without a PEM certificate', text: 'not a certificate' },
    { rule: 'a PEM block whose body is not a certificate', text: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
  ])('RFC 7468 5.1: refuses $rule with BAD_TRUST_ANCHOR', ({ text }) => {
    expect(() => trustAnchors([text])).toThrow(expect.objectContaining({ code: 'BAD_TRUST_ANCHOR', message: expect.stringMatching(/^Extra trust anchor 1 .+\.$/) }));
  });
});
