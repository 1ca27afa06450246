import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, createSelfSigned, days, scratchDir, type CertificateAuthority, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { describeCertificate } from '../../src/verify/certificate.ts';
import type { CertificateFacts } from '../../src/verify/types.ts';

const run = promisify(execFile);

// Whole seconds: X.509 times carry no milliseconds.
const NOT_BEFORE = new Date(Math.floor((Date.now() - days(2)) / 1000) * 1000);
const NOT_AFTER = new Date(Math.floor((Date.now() + days(30)) / 1000) * 1000);

let scratch: { dir: string; remove: () => Promise<void> };
let ca: CertificateAuthority;
const certs: Record<string, IssuedCertificate> = {};

beforeAll(async () => {
  scratch = await scratchDir('dna-certificate');
  ca = await createAuthority(`${scratch.dir}/ca`);
  const specs = [
    {
      name: 'delegated',
      commonName: 'hosting.example.net',
      dnsNames: ['hosting.example.net', '*.hosting.example.net'],
      srvNames: ['_xmpp-client.example.com', '_xmpp-server.example.com'],
      xmppAddrs: ['example.com'],
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
    },
    { name: 'unicode', commonName: 'bücher.example', xmppAddrs: ['bücher.example', '例え.テスト'] },
    { name: 'no-san', commonName: 'example.com' },
    { name: 'escaped', commonName: 'example.com', organization: 'Acme, Inc. <"x">; #1 ', dnsNames: ['example.com'] },
    // Same name as the root, signed by the root's key: self-issued, not self-signed.
    { name: 'self-issued', commonName: 'POSH Messenger Test Root' },
  ];
  for (const spec of specs) certs[spec.name] = await ca.issue(spec);
  certs['self-signed'] = await createSelfSigned(`${scratch.dir}/self`, {
    name: 'self-signed',
    commonName: 'hosting.example.net',
    dnsNames: ['hosting.example.net'],
  });
});

afterAll(async () => {
  await scratch.remove();
});

const cert = (name: string): IssuedCertificate => certs[name]!;

describe('describeCertificate: facts from real certificates', () => {
  const rows: { rule: string; name: string | 'root'; expected: Partial<CertificateFacts> }[] = [
    {
      rule: 'RFC 5280 4.2.1.6: dNSName SANs are listed as presented, wildcard included',
      name: 'delegated',
      expected: { dnsNames: ['hosting.example.net', '*.hosting.example.net'] },
    },
    {
      rule: 'RFC 4985: SRV-ID otherNames (IA5String) are decoded to _service.name',
      name: 'delegated',
      expected: { srvNames: ['_xmpp-client.example.com', '_xmpp-server.example.com'] },
    },
    {
      rule: 'RFC 6120 13.7.1.4: XmppAddr otherNames (UTF8String) are decoded',
      name: 'delegated',
      expected: { xmppAddrs: ['example.com'] },
    },
    {
      rule: 'RFC 6120 13.7.1.4: a non-ASCII XmppAddr survives as UTF-8',
      name: 'unicode',
      expected: { xmppAddrs: ['bücher.example', '例え.テスト'], dnsNames: [], srvNames: [] },
    },
    {
      rule: 'RFC 9525: the subject CN is reported apart from the SANs',
      name: 'delegated',
      expected: { commonNames: ['hosting.example.net'], subject: 'CN=hosting.example.net' },
    },
    {
      rule: 'RFC 5280 4.2.1.6: a certificate without subjectAltName has no identifiers, only its CN',
      name: 'no-san',
      expected: { commonNames: ['example.com'], dnsNames: [], srvNames: [], xmppAddrs: [] },
    },
    {
      rule: 'RFC 4514 2.1: the last RDN comes first and special characters are escaped',
      name: 'escaped',
      expected: { subject: 'CN=example.com,O=Acme\\, Inc. \\<\\"x\\"\\>\\; #1\\ ' },
    },
    {
      rule: 'RFC 5280 4.1.2.5: validity is reported as ISO instants',
      name: 'delegated',
      expected: { notBefore: NOT_BEFORE.toISOString(), notAfter: NOT_AFTER.toISOString() },
    },
    {
      rule: 'RFC 5280 4.1.2.4: a leaf names its issuer and is not self-signed',
      name: 'delegated',
      expected: { issuer: 'CN=POSH Messenger Test Root', selfSigned: false },
    },
    {
      rule: 'RFC 5280 6.1: issuer equal to subject but signed by another key is not self-signed',
      name: 'self-issued',
      expected: { subject: 'CN=POSH Messenger Test Root', issuer: 'CN=POSH Messenger Test Root', selfSigned: false },
    },
    {
      rule: 'RFC 5280 6.1: a self-signed end-entity certificate is detected',
      name: 'self-signed',
      expected: { subject: 'CN=hosting.example.net', issuer: 'CN=hosting.example.net', selfSigned: true },
    },
    {
      rule: 'RFC 5280 6.1: a root CA is self-signed and names no service',
      name: 'root',
      expected: {
        subject: 'CN=POSH Messenger Test Root',
        issuer: 'CN=POSH Messenger Test Root',
        commonNames: ['POSH Messenger Test Root'],
        dnsNames: [],
        selfSigned: true,
      },
    },
  ];

  it.each(rows)('$rule', ({ name, expected }) => {
    const source = name === 'root' ? ca : cert(name);
    expect(describeCertificate(source.der)).toMatchObject(expected);
  });

  it.each(['delegated', 'unicode', 'self-signed', 'root'])(
    'RFC 7711 3.1: sha256 is base64 of SHA-256 over the DER, as pki.ts computed it (%s)',
    (name) => {
      const source = name === 'root' ? ca : cert(name);
      expect(describeCertificate(source.der).sha256).toBe(source.sha256);
    },
  );

  it('RFC 5280 4.1.2.2: the serial number is the hex openssl prints', async () => {
    const { stdout } = await run('openssl', ['x509', '-in', cert('delegated').certPath, '-noout', '-serial']);
    expect(describeCertificate(cert('delegated').der).serialNumber).toBe(stdout.trim().replace(/^serial=/, ''));
  });

  it('RFC 6120 13.7.1.4: openssl reads the same non-ASCII XmppAddr (the test PKI encodes it as UTF-8 once)', async () => {
    const { stdout } = await run('openssl', ['x509', '-in', cert('unicode').certPath, '-noout', '-ext', 'subjectAltName', '-nameopt', 'utf8']);
    expect(stdout).toContain('XmppAddr::bücher.example');
    expect(stdout).toContain('XmppAddr::例え.テスト');
  });
});

describe('describeCertificate: input that is not a certificate', () => {
  const rows: { rule: string; der: () => Uint8Array }[] = [
    { rule: 'empty input', der: () => new Uint8Array(0) },
    { rule: 'random bytes', der: () => new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05, 0xff, 0x00]) },
    { rule: 'a truncated DER certificate', der: () => cert('delegated').der.subarray(0, 200) },
    { rule: 'PEM text instead of DER', der: () => new TextEncoder().encode(cert('delegated').certPem) },
    { rule: 'bytes after the certificate (the fingerprint would not describe it)', der: () => Buffer.concat([cert('delegated').der, Buffer.from([0])]) },
  ];

  it.each(rows)('RFC 5280 4.1: $rule is CERT_UNPARSABLE with a sentence', ({ der }) => {
    expect(() => describeCertificate(der())).toThrow(
      expect.objectContaining({ code: 'CERT_UNPARSABLE', message: expect.stringMatching(/^The certificate could not be read .+\.$/) }),
    );
  });
});

/** The certificate with `edit` applied to a copy of its bytes at the first `marker` (same length: the layout stays). */
function edited(der: Buffer, marker: Buffer | string, edit: (bytes: Buffer, at: number) => void, after: Buffer | null = null): Buffer {
  const bytes = Buffer.from(der);
  const from = after === null ? 0 : bytes.indexOf(after);
  const at = bytes.indexOf(typeof marker === 'string' ? Buffer.from(marker, 'latin1') : marker, from);
  if (at < 0) throw new Error('marker not found');
  edit(bytes, at);
  return bytes;
}

const SAN = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);
// After the OID: the OCTET STRING's tag and length, then the SEQUENCE of names.
const SEQUENCE_AT = SAN.length + 2;

describe('describeCertificate: what OpenSSL reads, and nothing it reads only in part', () => {
  const rows: { rule: string; der: () => Buffer; refused: RegExp | null; check?: (facts: CertificateFacts) => void }[] = [
    {
      rule: 'RFC 5280 4.2.1.6: a subjectAltName SEQUENCE one byte longer than its names is unreadable, so nothing is named',
      der: () => edited(cert('delegated').der, SAN, (bytes, at) => void (bytes[at + SEQUENCE_AT + 1]! += 1)),
      refused: /subjectAltName extension is not valid DER/,
    },
    {
      rule: 'RFC 5280 4.2.1.6: a subjectAltName SEQUENCE one byte shorter than its names is unreadable',
      der: () => edited(cert('delegated').der, SAN, (bytes, at) => void (bytes[at + SEQUENCE_AT + 1]! -= 1)),
      refused: /subjectAltName extension is not valid DER/,
    },
    {
      rule: 'RFC 5280 4.2.1.6: an empty subjectAltName followed by bytes is refused (SIZE 1..MAX, and nothing after it)',
      der: () => edited(cert('escaped').der, SAN, (bytes, at) => void (bytes[at + SEQUENCE_AT + 1] = 0)),
      refused: /subjectAltName is (empty|not exactly one DER SEQUENCE)/,
    },
    {
      rule: 'RFC 5280 4.2: a second subjectAltName extension is refused, whichever copy holds the names',
      // The subjectKeyIdentifier's OID (2.5.29.14) becomes the subjectAltName's (2.5.29.17).
      der: () => edited(cert('delegated').der, Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]), (bytes, at) => void (bytes[at + 4] = 0x11)),
      refused: /carries the subjectAltName extension twice/,
    },
    {
      rule: 'RFC 5280 4.2.1.6: a DNS name with a NUL byte (a null-prefix name) is refused',
      der: () => edited(cert('escaped').der, 'example.com', (bytes, at) => void (bytes[at + 7] = 0), SAN),
      refused: /NUL byte/,
    },
    {
      rule: 'RFC 6120 13.7.1.4: an XmppAddr whose value is not a UTF8String is refused, not skipped',
      der: () => edited(cert('delegated').der, Buffer.from([0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05]), (bytes, at) => {
        const tag = bytes.indexOf(0x0c, at + 10);
        bytes[tag] = 0x13;
      }),
      refused: /not the string type its form requires/,
    },
    {
      rule: 'RFC 5280 4.1.2.5: a validity time that is not a time is refused',
      // The validity SEQUENCE of two UTCTimes; the month's first digit becomes "x".
      der: () => edited(cert('delegated').der, Buffer.from([0x30, 0x1e, 0x17, 0x0d]), (bytes, at) => void (bytes[at + 6] = 0x78)),
      refused: /validity period is not a valid time/,
    },
    {
      rule: 'RFC 5280 4.1.2.7: a public key that does not decode is read as an unknown key (OpenSSL reads the certificate)',
      // The EC point's form byte (RFC 5480 2.2) set to one no encoding has.
      der: () => edited(cert('delegated').der, Buffer.from([0x03, 0x42, 0x00, 0x04]), (bytes, at) => void (bytes[at + 3] = 0x08)),
      refused: null,
      check: (facts) => expect(facts.key).toBe('unknown'),
    },
  ];

  it('RFC 5280 4.1.2.5: a validity time that is not a time is refused on every read, not only on most', () => {
    // Node 24's validFromDate is made of uninitialized memory for such a time, now and then a plausible date.
    const der = edited(cert('delegated').der, Buffer.from([0x30, 0x1e, 0x17, 0x0d]), (bytes, at) => void (bytes[at + 16] = 0xda));
    const readable = Array.from({ length: 2000 }, () => {
      try {
        describeCertificate(der);
        return true;
      } catch {
        return false;
      }
    });
    expect(readable.filter(Boolean)).toEqual([]);
  });

  it.each(rows)('$rule', ({ der, refused, check }) => {
    if (refused) {
      expect(() => describeCertificate(der())).toThrow(expect.objectContaining({ code: 'CERT_UNPARSABLE', message: expect.stringMatching(refused) }));
    } else {
      check?.(describeCertificate(der()));
    }
  });
});
