import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePoshDocument, PoshError, poshStatusOf, type PoshDocument } from '../../src/verify/posh-document.ts';
import type { PoshErrorCode } from '../../src/verify/types.ts';

const digest = (algorithm: string): string => createHash(algorithm).update('a certificate DER').digest('base64');
const S256 = digest('sha256');
const S384 = digest('sha384');
const S512 = digest('sha512');
const S1 = digest('sha1');
const S256_UNPADDED = S256.replace(/=+$/, '');

const json = (value: unknown): string => JSON.stringify(value);
const fingerprintsDoc = (descriptors: unknown, expires: unknown = 86400): string => json({ fingerprints: descriptors, expires });

// RFC 7711 section 3.1, first example, with the readability whitespace removed: exactly the 195 bytes of its Content-Length.
const RFC_EXAMPLE_1 =
  '{"fingerprints":[{"sha-256":"4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ=","sha-512":"25N+1hB2Vo42l9lSGqw+n3BKfHdHsyork8ou+D9B43TXeJ1J81mdQEDqm39oR/EHkPBDDG1y5+AG94Kec0xVqA=="}],"expires":604800}';

// RFC 7711 section 3.1, second example, whitespace removed. Its first sha-256 value is unpadded.
const RFC_EXAMPLE_2_DESCRIPTOR_1 = {
  'sha-256': '4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ',
  'sha-512': '25N+1hB2Vo42l9lSGqw+n3BKfHdHsyork8ou+D9B43TXeJ1J8lmdQEDqm39oR/EHkPBDDGly5+AG94Kec0xVqA==',
};
// As printed, this sha-512 value has 87 base64 characters before "==" (64 bytes take 86): a typo in the RFC.
const RFC_EXAMPLE_2_BROKEN_SHA512 = 'MbBD+austTGJisEXKSynROWrMfHP2xvBnmI79Pr/KXnDyLN+13Jof8/Uq9fj5HZG8RklE2fclcivpGdijUsvHRg==';
const RFC_EXAMPLE_2 = json({
  fingerprints: [RFC_EXAMPLE_2_DESCRIPTOR_1, { 'sha-256': 'otyLADSKjRDjVpj8X7/hmCAD5C7Qe+PedcmYV7cUncE=', 'sha-512': RFC_EXAMPLE_2_BROKEN_SHA512 }],
  expires: 806400,
});
const RFC_EXAMPLE_2_WITHOUT_TYPO = json({
  fingerprints: [RFC_EXAMPLE_2_DESCRIPTOR_1, { 'sha-256': 'otyLADSKjRDjVpj8X7/hmCAD5C7Qe+PedcmYV7cUncE=' }],
  expires: 806400,
});

// RFC 7711 section 3.2 example, whitespace removed: the 82 bytes of its Content-Length.
const RFC_REFERENCE_EXAMPLE = '{"url":"https://hosting.example.net/.well-known/posh/spice.json","expires":86400}';

interface AcceptedRow {
  name: string;
  body: string;
  expected: PoshDocument;
}

const accepted: AcceptedRow[] = [
  {
    name: 'RFC 7711 3.1: the first fingerprints example (sha-256 and sha-512) is accepted',
    body: RFC_EXAMPLE_1,
    expected: {
      kind: 'fingerprints',
      fingerprints: [
        {
          'sha-256': '4/mggdlVx8A3pvHAWW5sD+qJyMtUHgiRuPjVC48N0XQ=',
          'sha-512': '25N+1hB2Vo42l9lSGqw+n3BKfHdHsyork8ou+D9B43TXeJ1J81mdQEDqm39oR/EHkPBDDG1y5+AG94Kec0xVqA==',
        },
      ],
      expires: 604800,
    },
  },
  {
    name: 'RFC 7711 3.1: the second example (alternate certificates, unpadded sha-256) is accepted once its malformed sha-512 is left out',
    body: RFC_EXAMPLE_2_WITHOUT_TYPO,
    expected: {
      kind: 'fingerprints',
      fingerprints: [RFC_EXAMPLE_2_DESCRIPTOR_1, { 'sha-256': 'otyLADSKjRDjVpj8X7/hmCAD5C7Qe+PedcmYV7cUncE=' }],
      expires: 806400,
    },
  },
  {
    name: 'RFC 7711 3.2: the reference example is accepted',
    body: RFC_REFERENCE_EXAMPLE,
    expected: { kind: 'reference', url: 'https://hosting.example.net/.well-known/posh/spice.json', expires: 86400 },
  },
  {
    name: 'RFC 7711 3.1: the readable layout with whitespace between tokens is ordinary JSON',
    body: `{\n  "fingerprints": [\n    { "sha-256": "${S256}" }\n  ],\n  "expires": 604800\n}\n`,
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: 604800 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: sha-384 alone is a supported hash',
    body: fingerprintsDoc([{ 'sha-384': S384 }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-384': S384 }], expires: 86400 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: sha-512 alone is a supported hash',
    body: fingerprintsDoc([{ 'sha-512': S512 }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-512': S512 }], expires: 86400 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: base64 without padding is accepted and kept as published',
    body: fingerprintsDoc([{ 'sha-256': S256_UNPADDED }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256_UNPADDED }], expires: 86400 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: a weak hash (sha-1) beside a supported one is kept but not checked',
    body: fingerprintsDoc([{ 'sha-256': S256, 'sha-1': 'not base64 at all!' }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256, 'sha-1': 'not base64 at all!' }], expires: 86400 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: an unknown hash name with a malformed value is ignored',
    body: fingerprintsDoc([{ 'sha3-256': '%%%', 'sha-256': S256 }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha3-256': '%%%', 'sha-256': S256 }], expires: 86400 },
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: an ignored member whose value is not a string is dropped from the descriptor',
    body: fingerprintsDoc([{ 'sha-256': S256, md5: 42, comment: { note: 'x' } }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: 86400 },
  },
  {
    name: 'RFC 7711 3.3: one descriptor with a supported hash is enough when another has only weak ones',
    body: fingerprintsDoc([{ 'sha-1': S1 }, { 'sha-512': S512 }]),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-1': S1 }, { 'sha-512': S512 }], expires: 86400 },
  },
  {
    name: 'RFC 7711 3.1: unknown top-level members of a fingerprints document are ignored',
    body: json({ fingerprints: [{ 'sha-256': S256 }], expires: 60, comment: 'rotated 2024', version: 2 }),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: 60 },
  },
  {
    name: 'RFC 7711 3.2: unknown top-level members of a reference document are ignored',
    body: json({ url: 'https://hosting.example.net/posh.json', expires: 60, note: null }),
    expected: { kind: 'reference', url: 'https://hosting.example.net/posh.json', expires: 60 },
  },
  {
    name: 'RFC 7711 3.2: the referenced URL need not be a well-known POSH URL, and is returned normalised',
    body: json({ url: 'https://HOSTING.example.net:443/certs/../posh/xmpp.json?v=2', expires: 3600 }),
    expected: { kind: 'reference', url: 'https://hosting.example.net/posh/xmpp.json?v=2', expires: 3600 },
  },
  {
    name: 'RFC 7711 3.1: expires 1 (the smallest positive lifetime) is accepted',
    body: fingerprintsDoc([{ 'sha-256': S256 }], 1),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: 1 },
  },
  {
    name: 'RFC 7711 3.1: expires 2^53-1 (the largest exact integer) is accepted; the client caps it later',
    body: fingerprintsDoc([{ 'sha-256': S256 }], Number.MAX_SAFE_INTEGER),
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: Number.MAX_SAFE_INTEGER },
  },
  {
    name: 'RFC 7159 6: expires written 6.048e5 is the JSON number 604800, an integer',
    body: `{"fingerprints":[{"sha-256":"${S256}"}],"expires":6.048e5}`,
    expected: { kind: 'fingerprints', fingerprints: [{ 'sha-256': S256 }], expires: 604800 },
  },
];

interface RefusedRow {
  name: string;
  body: string;
  code: PoshErrorCode;
  message?: RegExp;
}

const refused: RefusedRow[] = [
  // Not JSON at all.
  { name: 'RFC 7711 3.1: an empty body is not JSON', body: '', code: 'POSH_BAD_JSON', message: /not JSON/ },
  { name: 'RFC 7711 3.1: a truncated document is not JSON', body: '{"fingerprints":[{"sha-256":', code: 'POSH_BAD_JSON' },
  { name: 'RFC 7159: a trailing comma is not JSON', body: `{"fingerprints":[{"sha-256":"${S256}"}],"expires":60,}`, code: 'POSH_BAD_JSON' },
  { name: 'RFC 7159: an HTML error page served with 200 is not JSON', body: '<html><body>Not here</body></html>', code: 'POSH_BAD_JSON' },

  // The top level must be an object.
  { name: 'RFC 7711 3.1: a top-level array is not a POSH document', body: json([{ 'sha-256': S256 }]), code: 'POSH_BAD_DOCUMENT', message: /got an array/ },
  { name: 'RFC 7711 3.1: a top-level string is not a POSH document', body: '"https://hosting.example.net/"', code: 'POSH_BAD_DOCUMENT', message: /\(a string\)/ },
  { name: 'RFC 7711 3.1: a top-level null is not a POSH document', body: 'null', code: 'POSH_BAD_DOCUMENT', message: /got null/ },
  { name: 'RFC 7711 3.1: a top-level number is not a POSH document', body: '604800', code: 'POSH_BAD_DOCUMENT', message: /604800 \(a number\)/ },

  // Exactly one of "fingerprints" and "url".
  {
    name: 'RFC 7711 3.1: a fingerprints document MUST NOT contain "url" (both present)',
    body: json({ url: 'https://hosting.example.net/posh.json', fingerprints: [{ 'sha-256': S256 }], expires: 60 }),
    code: 'POSH_BAD_DOCUMENT',
    message: /both "url" and "fingerprints"/,
  },
  { name: 'RFC 7711 3.1/3.2: neither "fingerprints" nor "url"', body: json({ expires: 60 }), code: 'POSH_BAD_DOCUMENT', message: /neither/ },
  { name: 'RFC 7711 3.1: "fingerprints" with a null value still counts as present, and is not an array', body: json({ fingerprints: null, expires: 60 }), code: 'POSH_BAD_DOCUMENT', message: /array/ },

  // expires.
  { name: 'RFC 7711 3.1: a fingerprints document without "expires"', body: json({ fingerprints: [{ 'sha-256': S256 }] }), code: 'POSH_BAD_DOCUMENT', message: /no "expires"/ },
  { name: 'RFC 7711 3.2: a reference document without "expires"', body: json({ url: 'https://hosting.example.net/p.json' }), code: 'POSH_BAD_DOCUMENT', message: /no "expires"/ },
  {
    name: 'RFC 7711 3.1: expires as a string is not a JSON number',
    body: fingerprintsDoc([{ 'sha-256': S256 }], '86400'),
    code: 'POSH_BAD_DOCUMENT',
    message: /^"expires" must be a non-negative integer number of seconds, got "86400" \(a string\)\.$/,
  },
  { name: 'RFC 7711 3.1: expires 1.5 is not an integer', body: fingerprintsDoc([{ 'sha-256': S256 }], 1.5), code: 'POSH_BAD_DOCUMENT', message: /got 1\.5 \(not an integer\)/ },
  { name: 'RFC 7711 3.1: expires -1 is negative', body: fingerprintsDoc([{ 'sha-256': S256 }], -1), code: 'POSH_BAD_DOCUMENT', message: /got -1 \(negative\)/ },
  { name: 'RFC 7711 3.2: a negative expires on a reference', body: json({ url: 'https://hosting.example.net/p.json', expires: -86400 }), code: 'POSH_BAD_DOCUMENT', message: /negative/ },
  { name: 'RFC 7711 3.1: expires null', body: fingerprintsDoc([{ 'sha-256': S256 }], null), code: 'POSH_BAD_DOCUMENT', message: /got null/ },
  { name: 'RFC 7711 3.1: expires true', body: fingerprintsDoc([{ 'sha-256': S256 }], true), code: 'POSH_BAD_DOCUMENT', message: /true \(a boolean\)/ },
  { name: 'RFC 7711 3.1: expires 2^53 is beyond an exact integer', body: fingerprintsDoc([{ 'sha-256': S256 }], 2 ** 53), code: 'POSH_BAD_DOCUMENT', message: /too large/ },

  // fingerprints and descriptors.
  { name: 'RFC 7711 3.1: "fingerprints" as an object instead of an array', body: fingerprintsDoc({ 'sha-256': S256 }), code: 'POSH_BAD_DOCUMENT', message: /must be an array of fingerprint descriptors, got an object/ },
  { name: 'RFC 7711 3.1: "fingerprints" MUST include at least one descriptor', body: fingerprintsDoc([]), code: 'POSH_BAD_DOCUMENT', message: /at least one/ },
  { name: 'RFC 7711 3.1: a descriptor that is a string', body: fingerprintsDoc([S256]), code: 'POSH_BAD_DOCUMENT', message: /"fingerprints"\[0\] must be an object/ },
  { name: 'RFC 7711 3.1: a descriptor that is an array', body: fingerprintsDoc([[S256]]), code: 'POSH_BAD_DOCUMENT', message: /got an array/ },
  { name: 'RFC 7711 3.1: a descriptor that is null', body: fingerprintsDoc([{ 'sha-256': S256 }, null]), code: 'POSH_BAD_DOCUMENT', message: /"fingerprints"\[1\] must be an object.*got null/ },
  { name: 'RFC 7711 3.1: a supported hash whose value is a number', body: fingerprintsDoc([{ 'sha-256': 12345 }]), code: 'POSH_BAD_DOCUMENT', message: /\["sha-256"\] must be a base64 string, got 12345/ },
  {
    name: 'RFC 7711 3.1 / RFC 4648 4: a value still wrapped over two lines (whitespace inside base64)',
    body: fingerprintsDoc([{ 'sha-512': `${S512.slice(0, 40)}\n        ${S512.slice(40)}` }]),
    code: 'POSH_BAD_DOCUMENT',
    message: /\["sha-512"\] is not base64/,
  },
  { name: 'RFC 4648 4: the URL-safe alphabet (section 5) is not base64', body: fingerprintsDoc([{ 'sha-256': S256.replace(/\+/g, '-').replace(/\//g, '_').replace(/^./, '-') }]), code: 'POSH_BAD_DOCUMENT', message: /not base64/ },
  { name: 'RFC 7711 3.1: padding bits not set to zero', body: fingerprintsDoc([{ 'sha-256': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=' }]), code: 'POSH_BAD_DOCUMENT', message: /not base64/ },
  { name: 'ARCHITECTURE#posh-retrieval: a sha-1 digest published under "sha-256" decodes to the wrong length', body: fingerprintsDoc([{ 'sha-256': S1 }]), code: 'POSH_BAD_DOCUMENT', message: /decodes to 20 bytes, but a sha-256 hash is 32 bytes/ },
  { name: 'ARCHITECTURE#posh-retrieval: a sha-512 digest published under "sha-384" decodes to the wrong length', body: fingerprintsDoc([{ 'sha-384': S512 }]), code: 'POSH_BAD_DOCUMENT', message: /decodes to 64 bytes, but a sha-384 hash is 48 bytes/ },
  { name: 'ARCHITECTURE#posh-retrieval: an empty string is not a hash', body: fingerprintsDoc([{ 'sha-256': '' }]), code: 'POSH_BAD_DOCUMENT', message: /decodes to 0 bytes/ },
  {
    name: 'ARCHITECTURE#posh-retrieval: a malformed hash in a later descriptor invalidates the document even when an earlier one is fine',
    body: fingerprintsDoc([{ 'sha-256': S256 }, { 'sha-256': S256, 'sha-512': S256 }]),
    code: 'POSH_BAD_DOCUMENT',
    message: /"fingerprints"\[1\]\["sha-512"\] decodes to 32 bytes/,
  },
  {
    name: 'RFC 7711 3.1 / ARCHITECTURE#posh-retrieval: the second example as printed is refused, its second sha-512 having 87 base64 characters',
    body: RFC_EXAMPLE_2,
    code: 'POSH_BAD_DOCUMENT',
    message: /"fingerprints"\[1\]\["sha-512"\] is not base64/,
  },

  // Reference url.
  { name: 'RFC 7711 3.2: "url" as a number', body: json({ url: 443, expires: 60 }), code: 'POSH_BAD_DOCUMENT', message: /"url" must be a string/ },
  { name: 'RFC 7711 3.2: "url" without a scheme is not a URL', body: json({ url: 'hosting.example.net/.well-known/posh/xmpp-client.json', expires: 60 }), code: 'POSH_BAD_DOCUMENT', message: /"url" is not a URL/ },
  { name: 'RFC 7711 3.2: a relative "url" has nothing to resolve against', body: json({ url: '/.well-known/posh/xmpp-client.json', expires: 60 }), code: 'POSH_BAD_DOCUMENT', message: /not a URL/ },
  { name: 'RFC 7711 3.2: an http: "url" is insecure', body: json({ url: 'http://hosting.example.net/.well-known/posh/xmpp-client.json', expires: 60 }), code: 'POSH_INSECURE_URL', message: /must be an https: URL, got "http:/ },
  { name: 'RFC 7711 3.2: an ftp: "url" is insecure', body: json({ url: 'ftp://hosting.example.net/posh.json', expires: 60 }), code: 'POSH_INSECURE_URL' },

  // expires 0.
  { name: 'RFC 7711 3.1: expires 0 makes the material invalid', body: fingerprintsDoc([{ 'sha-256': S256 }], 0), code: 'POSH_EXPIRED', message: /material invalid/ },
  { name: 'RFC 7711 3.2: expires 0 makes the delegation invalid', body: json({ url: 'https://hosting.example.net/p.json', expires: 0 }), code: 'POSH_EXPIRED', message: /delegation invalid/ },
  { name: 'RFC 7711 3.1: -0 is the integer 0 and expires the material', body: `{"fingerprints":[{"sha-256":"${S256}"}],"expires":-0}`, code: 'POSH_EXPIRED' },
  { name: 'ARCHITECTURE#posh-retrieval: expires 0 is reported before "no usable hash" (the publisher withdrew it)', body: fingerprintsDoc([{ md5: 'x' }], 0), code: 'POSH_EXPIRED' },
  { name: 'ARCHITECTURE#posh-retrieval: expires 0 is reported before an insecure reference url', body: json({ url: 'http://hosting.example.net/p.json', expires: 0 }), code: 'POSH_EXPIRED' },
  { name: 'ARCHITECTURE#posh-retrieval: a malformed supported hash is reported before expires 0 (structure first)', body: fingerprintsDoc([{ 'sha-256': 'abc' }], 0), code: 'POSH_BAD_DOCUMENT' },

  // No usable hash.
  { name: 'ARCHITECTURE#posh-retrieval: only weak hashes (md5, sha-1) leave nothing usable', body: fingerprintsDoc([{ md5: digest('md5'), 'sha-1': S1 }]), code: 'POSH_NO_USABLE_HASH', message: /sha-256, sha-384, sha-512/ },
  { name: 'ARCHITECTURE#posh-retrieval: only unknown hash names leave nothing usable', body: fingerprintsDoc([{ 'sha3-256': S256 }, { blake2b: S512 }]), code: 'POSH_NO_USABLE_HASH' },
  { name: 'ARCHITECTURE#posh-retrieval: empty descriptor objects have no usable hash', body: fingerprintsDoc([{}, {}]), code: 'POSH_NO_USABLE_HASH' },
  {
    name: 'ARCHITECTURE#posh-retrieval: hash names are the IANA lowercase names, so "SHA-256" is an unknown name and ignored',
    body: fingerprintsDoc([{ 'SHA-256': S256 }]),
    code: 'POSH_NO_USABLE_HASH',
  },
  { name: 'ARCHITECTURE#posh-retrieval: "sha256" without the hyphen is an unknown name', body: fingerprintsDoc([{ sha256: S256 }]), code: 'POSH_NO_USABLE_HASH' },
];

function refusal(body: string): PoshError {
  try {
    parsePoshDocument(body);
  } catch (error) {
    if (error instanceof PoshError) return error;
    throw error;
  }
  throw new Error('the document was accepted');
}

describe('parsePoshDocument accepts', () => {
  it.each(accepted)('$name', ({ body, expected }) => {
    expect(parsePoshDocument(body)).toEqual(expected);
  });
});

describe('parsePoshDocument refuses', () => {
  it.each(refused)('$name -> $code', ({ body, code, message }) => {
    const error = refusal(body);
    expect(error.code).toBe(code);
    expect(error.status).toBe('invalid');
    // One sentence a person can act on.
    expect(error.message).toMatch(/^[A-Z"].*\.$/s);
    if (message) expect(error.message).toMatch(message);
  });

  it('covers every code parsePoshDocument can produce', () => {
    expect(new Set(refused.map((row) => row.code))).toEqual(
      new Set(['POSH_BAD_JSON', 'POSH_BAD_DOCUMENT', 'POSH_INSECURE_URL', 'POSH_EXPIRED', 'POSH_NO_USABLE_HASH']),
    );
  });
});

describe('PoshError status (ARCHITECTURE#posh-retrieval)', () => {
  const codes: [PoshErrorCode, 'invalid' | 'error'][] = [
    ['POSH_NETWORK', 'error'],
    ['POSH_TIMEOUT', 'error'],
    ['POSH_HTTPS_CERT', 'error'],
    ['POSH_HTTP_STATUS', 'error'],
    ['POSH_INSECURE_URL', 'invalid'],
    ['POSH_TOO_MANY_REDIRECTS', 'invalid'],
    ['POSH_TOO_LARGE', 'invalid'],
    ['POSH_BAD_JSON', 'invalid'],
    ['POSH_BAD_DOCUMENT', 'invalid'],
    ['POSH_NESTED_REFERENCE', 'invalid'],
    ['POSH_EXPIRED', 'invalid'],
    ['POSH_NO_USABLE_HASH', 'invalid'],
  ];
  it.each(codes)('ARCHITECTURE#posh-retrieval: %s is status %s', (code, status) => {
    expect(poshStatusOf(code)).toBe(status);
    const error = new PoshError(code, 'Something specific happened.');
    expect(error.status).toBe(status);
    expect(error.toJSON()).toEqual({ code, message: 'Something specific happened.' });
  });
});
