import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { saslprep } from '../../src/xmpp/saslprep.ts';
import {
  checkDowngradeProtection,
  downgradeProtectionHash,
  SaltedPasswordCache,
  clientFinalMessage,
  clientFirstMessage,
  createClientNonce,
  parseServerFirst,
  verifyServerFinal,
  type ScramHash,
} from '../../src/xmpp/scram.ts';

interface Vector {
  rule: string;
  hash: ScramHash;
  nonce: string;
  clientFirst: string;
  serverFirst: string;
  clientFinal: string;
  serverFinal: string;
}

const VECTORS: Vector[] = [
  {
    rule: 'RFC 5802 5: SCRAM-SHA-1 example exchange (user "user", password "pencil")',
    hash: 'sha-1',
    nonce: 'fyko+d2lbbFgONRv9qkxdawL',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    rule: 'RFC 7677 3: SCRAM-SHA-256 example exchange (user "user", password "pencil")',
    hash: 'sha-256',
    nonce: 'rOprNGfwEbeRWgbNEkqO',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

async function exchange(vector: Vector, overrides: { password?: string; serverFirst?: string } = {}) {
  const first = clientFirstMessage('user', vector.nonce);
  return {
    first,
    final: await clientFinalMessage({
      hash: vector.hash,
      password: overrides.password ?? 'pencil',
      clientFirstBare: first.clientFirstBare,
      serverFirst: overrides.serverFirst ?? vector.serverFirst,
      gs2Header: first.gs2Header,
    }),
  };
}

const sha1 = VECTORS[0] as Vector;
const sha256 = VECTORS[1] as Vector;

describe('SCRAM test vectors', () => {
  it.each(VECTORS)('$rule: client-first, client-final and server signature reproduced', async (vector) => {
    const { first, final } = await exchange(vector);
    expect(first.message).toBe(vector.clientFirst);
    expect(final.message).toBe(vector.clientFinal);
    expect(() => verifyServerFinal(vector.serverFinal, final.serverSignature)).not.toThrow();
  });
});

describe('server-first message checks', () => {
  const rows: Array<{ rule: string; serverFirst: string; code: string }> = [
    {
      rule: 'RFC 5802 5.1: a server nonce that does not start with ours is refused',
      serverFirst: 'r=XXko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
      code: 'AUTH_NONCE_MISMATCH',
    },
    {
      rule: 'RFC 5802 5.1: a server nonce that adds nothing to ours is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096',
      code: 'AUTH_NONCE_MISMATCH',
    },
    {
      rule: 'RFC 5802 5.1: an iteration count below 4096 is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4095',
      code: 'AUTH_WEAK_ITERATIONS',
    },
    {
      rule: 'RFC 5802 5.1: an iteration count above our limit is refused before any PBKDF2',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=2000000000',
      code: 'AUTH_EXCESSIVE_ITERATIONS',
    },
    {
      rule: 'RFC 5802 5.1: an iteration count that is not a number is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096x',
      code: 'AUTH_BAD_SERVER_MESSAGE',
    },
    {
      rule: 'RFC 5802 5.1: a salt that is not base64 is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9*,i=4096',
      code: 'AUTH_BAD_SALT',
    },
    {
      rule: 'RFC 5802 5.1: a salt with broken base64 padding is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf9,i=4096',
      code: 'AUTH_BAD_SALT',
    },
    {
      rule: 'RFC 5802 5.1: a mandatory extension (m=) is refused',
      serverFirst: 'm=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
      code: 'AUTH_UNSUPPORTED_EXTENSION',
    },
    {
      rule: 'RFC 5802 5.1: a message without the salt is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,i=4096',
      code: 'AUTH_BAD_SERVER_MESSAGE',
    },
    {
      rule: 'RFC 5802 5.1: a message without the iteration count is refused',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92',
      code: 'AUTH_BAD_SERVER_MESSAGE',
    },
    {
      rule: 'RFC 5802 5.1: a message without the nonce is refused',
      serverFirst: 's=QSXCR+Q6sek8bf92,i=4096',
      code: 'AUTH_BAD_SERVER_MESSAGE',
    },
    {
      rule: 'RFC 5802 5.1: a message that is not attribute=value pairs is refused',
      serverFirst: 'hello',
      code: 'AUTH_BAD_SERVER_MESSAGE',
    },
    {
      rule: 'RFC 5802 7: an e= error in place of the first message is the server error',
      serverFirst: 'e=other-error',
      code: 'AUTH_SERVER_ERROR',
    },
  ];

  it.each(rows)('$rule', async ({ serverFirst, code }) => {
    await expect(exchange(sha1, { serverFirst })).rejects.toMatchObject({ code, message: expect.stringMatching(/\S/) });
  });

  it('RFC 5802 5.1: extensions after the iteration count are ignored', () => {
    const parsed = parseServerFirst(`${sha1.serverFirst},x=future`, sha1.nonce);
    expect(parsed).toMatchObject({ nonce: 'fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j', iterations: 4096 });
    expect(parsed.salt.toString('base64')).toBe('QSXCR+Q6sek8bf92');
  });
});

describe('XEP-0474 downgrade protection', () => {
  const offer = { mechanisms: ['SCRAM-SHA-1-PLUS', 'PLAIN', 'SCRAM-SHA-1'], channelBindings: ['tls-server-end-point', 'tls-exporter'] };
  const sha = (hash: string, text: string) => createHash(hash).update(text).digest('base64');
  it.each([
    { rule: '3: mechanisms sorted and joined by U+001E, U+001F, then the binding types likewise', hash: 'sha-1' as const, offered: offer, text: 'PLAIN\u001eSCRAM-SHA-1\u001eSCRAM-SHA-1-PLUS\u001ftls-exporter\u001etls-server-end-point', node: 'sha1' },
    { rule: '3: without a XEP-0440 list, the mechanisms alone', hash: 'sha-1' as const, offered: { ...offer, channelBindings: null }, text: 'PLAIN\u001eSCRAM-SHA-1\u001eSCRAM-SHA-1-PLUS', node: 'sha1' },
    { rule: '3: the offer is a set: a mechanism listed twice counts once', hash: 'sha-1' as const, offered: { ...offer, mechanisms: [...offer.mechanisms, 'PLAIN'] }, text: 'PLAIN\u001eSCRAM-SHA-1\u001eSCRAM-SHA-1-PLUS\u001ftls-exporter\u001etls-server-end-point', node: 'sha1' },
    { rule: '3: the hash is the mechanism\'s own (SHA-256 for SCRAM-SHA-256)', hash: 'sha-256' as const, offered: offer, text: 'PLAIN\u001eSCRAM-SHA-1\u001eSCRAM-SHA-1-PLUS\u001ftls-exporter\u001etls-server-end-point', node: 'sha256' },
  ])('$rule', ({ hash, offered, text, node }) => {
    expect(downgradeProtectionHash(hash, offered)).toBe(sha(node, text));
  });

  const first = (extra: string) => `r=abc123,s=${Buffer.from('salt').toString('base64')},i=4096${extra}`;
  it.each([
    { rule: '3: a matching h= is checked', serverFirst: first(`,h=${downgradeProtectionHash('sha-1', offer)}`), result: true },
    { rule: '3: a server without XEP-0474 sends no h=: nothing to check', serverFirst: first(''), result: false },
    { rule: '3: an h= over another offer (a -PLUS removed on the way) is a downgrade', serverFirst: first(`,h=${downgradeProtectionHash('sha-1', { ...offer, mechanisms: ['PLAIN', 'SCRAM-SHA-1'] })}`), result: 'AUTH_DOWNGRADE' },
    { rule: '3: an h= over another binding list (tls-exporter removed) is a downgrade', serverFirst: first(`,h=${downgradeProtectionHash('sha-1', { ...offer, channelBindings: ['tls-server-end-point'] })}`), result: 'AUTH_DOWNGRADE' },
  ])('$rule', ({ serverFirst, result }) => {
    if (typeof result === 'boolean') expect(checkDowngradeProtection(serverFirst, 'sha-1', offer)).toBe(result);
    else expect(() => checkDowngradeProtection(serverFirst, 'sha-1', offer)).toThrow(expect.objectContaining({ code: result }));
  });
});

describe('server-final message checks', () => {
  const rows: Array<{ rule: string; vector: Vector; serverFinal: string; code: string }> = [
    {
      rule: 'RFC 5802 9: a wrong server signature is an authentication failure (SHA-1)',
      vector: sha1,
      serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKU=',
      code: 'AUTH_SERVER_SIGNATURE',
    },
    {
      rule: 'RFC 7677 3: a wrong server signature is an authentication failure (SHA-256)',
      vector: sha256,
      serverFinal: 'v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
      code: 'AUTH_SERVER_SIGNATURE',
    },
    {
      rule: 'RFC 7677 3: a SHA-1 length signature for a SHA-256 exchange is refused',
      vector: sha256,
      serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
      code: 'AUTH_SERVER_SIGNATURE',
    },
    {
      rule: 'RFC 5802 5.1: a server-final message without v= is an authentication failure',
      vector: sha1,
      serverFinal: '',
      code: 'AUTH_SERVER_SIGNATURE',
    },
    {
      rule: 'RFC 5802 5.1: a v= that is not base64 is an authentication failure',
      vector: sha1,
      serverFinal: 'v=not base64!',
      code: 'AUTH_SERVER_SIGNATURE',
    },
    {
      rule: 'RFC 5802 7: e= in the server-final message is the server error',
      vector: sha1,
      serverFinal: 'e=invalid-proof',
      code: 'AUTH_SERVER_ERROR',
    },
  ];

  it.each(rows)('$rule', async ({ vector, serverFinal, code }) => {
    const { final } = await exchange(vector);
    expect(() => verifyServerFinal(serverFinal, final.serverSignature)).toThrow(expect.objectContaining({ code }));
  });

  it('RFC 5802 9: a wrong password yields a different proof and signature', async () => {
    const { final } = await exchange(sha1, { password: 'pencil2' });
    expect(final.message).not.toBe(sha1.clientFinal);
    expect(() => verifyServerFinal(sha1.serverFinal, final.serverSignature)).toThrow(
      expect.objectContaining({ code: 'AUTH_SERVER_SIGNATURE' }),
    );
  });
});

describe('client-first message', () => {
  const rows: Array<{ rule: string; username: string; bare: string }> = [
    { rule: 'RFC 5802 5.1: "=" in the user name is escaped as =3D', username: 'a=b', bare: 'n=a=3Db,r=abc' },
    { rule: 'RFC 5802 5.1: "," in the user name is escaped as =2C', username: 'a,b', bare: 'n=a=2Cb,r=abc' },
    { rule: 'RFC 5802 5.1: "=" is escaped before "," so =2C stays literal', username: '=2C,', bare: 'n==3D2C=2C,r=abc' },
    { rule: 'RFC 5802 5.1: the user name is SASLprepared (soft hyphen removed)', username: 'us\u00ADer', bare: 'n=user,r=abc' },
  ];

  it.each(rows)('$rule', ({ username, bare }) => {
    expect(clientFirstMessage(username, 'abc')).toEqual({ gs2Header: 'n,,', clientFirstBare: bare, message: `n,,${bare}` });
  });

  it('RFC 5802 5.1: a user name that prepares to nothing is refused', () => {
    expect(() => clientFirstMessage('\u00AD', 'abc')).toThrow(expect.objectContaining({ code: 'AUTH_SASLPREP' }));
  });

  it('RFC 5802 5.1: generated nonces are printable, comma-free and fresh', () => {
    const nonces = new Set(Array.from({ length: 50 }, createClientNonce));
    expect(nonces.size).toBe(50);
    for (const nonce of nonces) expect(nonce).toMatch(/^[\x21-\x2b\x2d-\x7e]{24,}$/);
  });
});

describe('SASLprep', () => {
  // Expected outputs agree with Prosody 0.12's own util.encodings saslprep.
  const prepared: Array<{ rule: string; input: string; output: string }> = [
    { rule: 'RFC 4013 3: SOFT HYPHEN mapped to nothing', input: 'I\u00ADX', output: 'IX' },
    { rule: 'RFC 4013 3: no transformation', input: 'user', output: 'user' },
    { rule: 'RFC 4013 3: case preserved', input: 'USER', output: 'USER' },
    { rule: 'RFC 4013 3: ISO 8859-1 a with ring above, NFKC', input: '\u00AA', output: 'a' },
    { rule: 'RFC 4013 3: ROMAN NUMERAL NINE, NFKC', input: '\u2168', output: 'IX' },
    { rule: 'RFC 4013 2.1: NO-BREAK SPACE mapped to SPACE', input: 'a\u00A0b', output: 'a b' },
    { rule: 'RFC 4013 2.1: ZERO WIDTH SPACE mapped to SPACE, as Prosody does', input: 'a\u200Bb', output: 'a b' },
    { rule: 'RFC 4013 2.1: variation selectors mapped to nothing', input: 'a\uFE0Fb', output: 'ab' },
    { rule: 'RFC 4013 2.2: NFKC composes a combining accent', input: 'e\u0301', output: '\u00E9' },
    { rule: 'RFC 3454 6: right-to-left text starting and ending right-to-left is fine', input: '\u0627\u0031\u0628', output: '\u0627\u0031\u0628' },
  ];

  it.each(prepared)('$rule', ({ input, output }) => {
    expect(saslprep(input, 'password')).toBe(output);
  });

  const prohibited: Array<{ rule: string; input: string }> = [
    { rule: 'RFC 4013 3: prohibited character U+0007 (C.2.1)', input: '\u0007' },
    { rule: 'RFC 4013 2.3: ASCII DEL (C.2.1)', input: 'a\u007Fb' },
    { rule: 'RFC 4013 2.3: private use (C.3)', input: 'a\uE000' },
    { rule: 'RFC 4013 2.3: non-character (C.4)', input: 'a\uFFFF' },
    { rule: 'RFC 4013 2.3: lone surrogate (C.5)', input: 'a\uD800' },
    { rule: 'RFC 4013 2.3: LEFT-TO-RIGHT MARK (C.8)', input: 'a\u200Eb' },
    { rule: 'RFC 4013 2.3: language tag (C.9)', input: 'a\u{E0001}' },
    { rule: 'RFC 4013 3: bidi check, RandALCat then a digit at the end (U+0627 U+0031)', input: '\u0627\u0031' },
    { rule: 'RFC 3454 6: RandALCat mixed with LCat', input: '\u0627a\u0628' },
  ];

  it.each(prohibited)('$rule', ({ input }) => {
    expect(() => saslprep(input, 'password')).toThrow(expect.objectContaining({ code: 'AUTH_SASLPREP' }));
  });

  it('RFC 4013 2.3: the error names the code point, never the password', () => {
    expect(() => saslprep('secret\u0007', 'password')).toThrow(/U\+0007/);
    expect(() => saslprep('secret\u0007', 'password')).not.toThrow(/secret/);
  });

  it('RFC 5802 2.2: the password is SASLprepared before PBKDF2 (pen\\u00ADcil derives like pencil)', async () => {
    const { final } = await exchange(sha1, { password: 'pen\u00ADcil' });
    expect(final.message).toBe(sha1.clientFinal);
  });
});

describe('SaltedPassword cache', () => {
  it('RFC 5802 5.1: a cached SaltedPassword reproduces the exchange without PBKDF2 inputs changing', async () => {
    const cache = new SaltedPasswordCache();
    const first = clientFirstMessage('user', sha256.nonce);
    const input = {
      hash: sha256.hash,
      password: 'pencil',
      clientFirstBare: first.clientFirstBare,
      serverFirst: sha256.serverFirst,
      gs2Header: first.gs2Header,
      saltedPasswordCache: cache,
    };
    const fresh = await clientFinalMessage(input);
    expect(cache.size).toBe(1);
    const again = await clientFinalMessage(input);
    expect(again.message).toBe(sha256.clientFinal);
    expect(fresh.message).toBe(sha256.clientFinal);
    expect(cache.size).toBe(1);
  });

  it('RFC 5802 5.1: a different password never meets the cached entry for the same salt and count', async () => {
    const cache = new SaltedPasswordCache();
    const first = clientFirstMessage('user', sha1.nonce);
    const base = { hash: sha1.hash, clientFirstBare: first.clientFirstBare, serverFirst: sha1.serverFirst, gs2Header: 'n,,', saltedPasswordCache: cache };
    await clientFinalMessage({ ...base, password: 'wrong' });
    const right = await clientFinalMessage({ ...base, password: 'pencil' });
    expect(right.message).toBe(sha1.clientFinal);
    expect(cache.size).toBe(2);
  });

  it('keeps neither the password nor key material visible to loggers', async () => {
    const cache = new SaltedPasswordCache();
    const first = clientFirstMessage('user', sha1.nonce);
    await clientFinalMessage({ hash: 'sha-1', password: 'pencil', clientFirstBare: first.clientFirstBare, serverFirst: sha1.serverFirst, gs2Header: 'n,,', saltedPasswordCache: cache });
    const shown = `${inspect(cache, { showHidden: true, depth: 10 })} ${JSON.stringify({ cache })} ${String(Object.keys(cache))}`;
    expect(shown).toBe('[SaltedPasswordCache: 1 entries] {"cache":"[SaltedPasswordCache: 1 entries]"} ');
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('is bounded: the oldest entry is dropped past its capacity', async () => {
    const cache = new SaltedPasswordCache(2);
    const first = clientFirstMessage('user', sha1.nonce);
    for (const password of ['a', 'b', 'c']) {
      await clientFinalMessage({ hash: 'sha-1', password, clientFirstBare: first.clientFirstBare, serverFirst: sha1.serverFirst, gs2Header: 'n,,', saltedPasswordCache: cache });
    }
    expect(cache.size).toBe(2);
  });
});
