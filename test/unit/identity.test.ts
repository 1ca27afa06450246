import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, scratchDir, type CertificateAuthority } from '../../src/testbed/pki.ts';
import { describeCertificate } from '../../src/verify/certificate.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { IdentityMismatch, verifyServiceIdentity } from '../../src/verify/identity.ts';
import type { CertificateFacts, IdentityMatch, ServiceName } from '../../src/verify/types.ts';

/** What the certificate presents; every row gets a real certificate with exactly these names. */
interface Presented {
  commonName?: string;
  dnsNames?: string[];
  srvNames?: string[];
  xmppAddrs?: string[];
}

interface Row {
  rule: string;
  presented: Presented;
  domain: string;
  service?: ServiceName;
  match: IdentityMatch | null;
  /** The DNS names as a parser reads them, when that differs from what was written. */
  dnsNamesAsRead?: string[];
}

const dns = (presented: string): IdentityMatch => ({ type: 'DNS-ID', presented });
const srv = (presented: string): IdentityMatch => ({ type: 'SRV-ID', presented });
const xmpp = (presented: string): IdentityMatch => ({ type: 'XmppAddr', presented });

const rows: Row[] = [
  // DNS-ID (RFC 6125 6.4.1, RFC 6120 13.7.2.1)
  { rule: 'RFC 6125 6.4.1: a DNS-ID equal to the domain matches', presented: { dnsNames: ['example.com'] }, domain: 'example.com', match: dns('example.com') },
  { rule: 'RFC 6125 6.4.1: a DNS-ID matches case-insensitively', presented: { dnsNames: ['EXAMPLE.Com'] }, domain: 'example.com', match: dns('EXAMPLE.Com') },
  { rule: 'RFC 6125 6.4.1: the reference domain matches case-insensitively', presented: { dnsNames: ['example.com'] }, domain: 'Example.COM', match: dns('example.com') },
  { rule: 'RFC 6125 6.4.1: a trailing dot on the reference domain is ignored', presented: { dnsNames: ['example.com'] }, domain: 'example.com.', match: dns('example.com') },
  { rule: 'RFC 6125 6.4.1: a trailing dot on the presented DNS-ID is ignored', presented: { dnsNames: ['example.com.'] }, domain: 'example.com', match: dns('example.com.') },
  { rule: 'RFC 6125 6.3: any one presented identifier is enough', presented: { dnsNames: ['hosting.example.net', 'example.com'] }, domain: 'example.com', match: dns('example.com') },
  { rule: 'RFC 7712 section 6: the delegate\'s own name does not prove the domain', presented: { dnsNames: ['hosting.example.net'] }, domain: 'example.com', match: null },
  { rule: 'RFC 6125 6.4.1: a parent domain DNS-ID does not match a subdomain', presented: { dnsNames: ['example.com'] }, domain: 'chat.example.com', match: null },
  { rule: 'RFC 6125 6.4.1: a subdomain DNS-ID does not match its parent', presented: { dnsNames: ['chat.example.com'] }, domain: 'example.com', match: null },
  // Wildcards (RFC 6125 6.4.3, RFC 9525 6.3)
  { rule: 'RFC 6125 6.4.3: *.example.com matches one leftmost label', presented: { dnsNames: ['*.example.com'] }, domain: 'chat.example.com', match: dns('*.example.com') },
  { rule: 'RFC 6125 6.4.3: a wildcard matches case-insensitively', presented: { dnsNames: ['*.EXAMPLE.com'] }, domain: 'Chat.example.com', match: dns('*.EXAMPLE.com') },
  { rule: 'RFC 6125 6.4.3: *.example.com does not match example.com', presented: { dnsNames: ['*.example.com'] }, domain: 'example.com', match: null },
  { rule: 'RFC 6125 6.4.3: *.example.com does not match two labels (a.b.example.com)', presented: { dnsNames: ['*.example.com'] }, domain: 'a.b.example.com', match: null },
  { rule: 'RFC 9525 6.3: a partial wildcard f*.example.com never matches', presented: { dnsNames: ['f*.example.com'] }, domain: 'foo.example.com', match: null },
  { rule: 'RFC 9525 6.3: a partial wildcard *oo.example.com never matches', presented: { dnsNames: ['*oo.example.com'] }, domain: 'foo.example.com', match: null },
  { rule: 'RFC 6125 6.4.3: a wildcard outside the leftmost label (a.*.example.com) never matches', presented: { dnsNames: ['a.*.example.com'] }, domain: 'a.b.example.com', match: null },
  { rule: 'RFC 6125 6.4.3: two wildcard labels (*.*.example.com) never match', presented: { dnsNames: ['*.*.example.com'] }, domain: 'a.b.example.com', match: null },
  { rule: 'RFC 9525 6.3: a wildcard directly over a single label (*.com) never matches', presented: { dnsNames: ['*.com'] }, domain: 'example.com', match: null },
  // SRV-ID (RFC 4985, RFC 6120 13.7.1.2.1, RFC 7712 section 4)
  { rule: 'RFC 4985: SRV-ID _xmpp-client.D proves an xmpp-client connection', presented: { dnsNames: ['hosting.example.net'], srvNames: ['_xmpp-client.example.com'] }, domain: 'example.com', service: 'xmpp-client', match: srv('_xmpp-client.example.com') },
  { rule: 'RFC 4985: SRV-ID _xmpp-server.D proves an xmpp-server connection', presented: { srvNames: ['_xmpp-server.example.com'] }, domain: 'example.com', service: 'xmpp-server', match: srv('_xmpp-server.example.com') },
  { rule: 'RFC 6125 6.5.1: _xmpp-server.D does not prove an xmpp-client connection', presented: { srvNames: ['_xmpp-server.example.com'] }, domain: 'example.com', service: 'xmpp-client', match: null },
  { rule: 'RFC 6125 6.5.1: _xmpp-client.D does not prove an xmpp-server connection', presented: { srvNames: ['_xmpp-client.example.com'] }, domain: 'example.com', service: 'xmpp-server', match: null },
  { rule: 'RFC 4985: an SRV-ID for another domain does not match', presented: { srvNames: ['_xmpp-client.example.org'] }, domain: 'example.com', match: null },
  { rule: 'RFC 4985: an SRV-ID matches case-insensitively', presented: { srvNames: ['_XMPP-Client.Example.COM'] }, domain: 'example.com', match: srv('_XMPP-Client.Example.COM') },
  { rule: 'RFC 4985: the SRV-ID name is compared as A-labels (U-label reference)', presented: { srvNames: ['_xmpp-client.xn--bcher-kva.example'] }, domain: 'bücher.example', match: srv('_xmpp-client.xn--bcher-kva.example') },
  { rule: 'RFC 6125 6.4.3 covers DNS-IDs only: SRV-IDs carry no wildcards', presented: { srvNames: ['_xmpp-client.*.example.com'] }, domain: 'chat.example.com', match: null },
  // XmppAddr (RFC 6120 13.7.1.4)
  { rule: 'RFC 6120 13.7.1.4: an XmppAddr equal to the domain matches', presented: { dnsNames: ['hosting.example.net'], xmppAddrs: ['example.com'] }, domain: 'example.com', match: xmpp('example.com') },
  { rule: 'RFC 6120 13.7.1.4: an XmppAddr matches case-insensitively', presented: { xmppAddrs: ['EXAMPLE.com'] }, domain: 'example.com', match: xmpp('EXAMPLE.com') },
  { rule: 'RFC 6120 13.7.1.4: a UTF-8 XmppAddr matches its domain as A-labels', presented: { xmppAddrs: ['bücher.example'] }, domain: 'xn--bcher-kva.example', match: xmpp('bücher.example') },
  { rule: 'RFC 6120 13.7.1.4: a UTF-8 XmppAddr matches a U-label domain in another case', presented: { xmppAddrs: ['BÜCHER.example'] }, domain: 'bücher.example', match: xmpp('BÜCHER.example') },
  { rule: 'RFC 6120 13.7.1.4: an XmppAddr naming a user (user@D) does not identify the server', presented: { xmppAddrs: ['user@example.com'] }, domain: 'example.com', match: null },
  { rule: 'RFC 6120 13.7.1.4: an XmppAddr with a resource (D/res) does not identify the server', presented: { xmppAddrs: ['example.com/res'] }, domain: 'example.com', match: null },
  { rule: 'RFC 6120 13.7.1.4: a wildcard XmppAddr never matches', presented: { xmppAddrs: ['*.example.com'] }, domain: 'chat.example.com', match: null },
  // IDN (RFC 6125 6.4.2, RFC 5890)
  { rule: 'RFC 6125 6.4.2: a U-label reference matches an A-label DNS-ID', presented: { dnsNames: ['xn--bcher-kva.example'] }, domain: 'bücher.example', match: dns('xn--bcher-kva.example') },
  // dNSName is an IA5String: openssl writes the UTF-8 bytes raw and they read back one character per byte.
  { rule: 'RFC 6125 6.4.2: a presented DNS-ID with U-labels never matches', presented: { dnsNames: ['bücher.example'] }, dnsNamesAsRead: [Buffer.from('bücher.example').toString('latin1')], domain: 'bücher.example', match: null },
  // No CN fallback (RFC 9525 section 6.2)
  { rule: 'RFC 9525 (replacing RFC 6125 6.4.4): the subject CN is ignored when there are no SANs', presented: { commonName: 'example.com' }, domain: 'example.com', match: null },
  { rule: 'RFC 9525 (replacing RFC 6125 6.4.4): the subject CN is ignored next to non-matching SANs', presented: { commonName: 'example.com', dnsNames: ['hosting.example.net'] }, domain: 'example.com', match: null },
];

let scratch: { dir: string; remove: () => Promise<void> };
let ca: CertificateAuthority;
const factsByRow = new Map<string, CertificateFacts>();

beforeAll(async () => {
  scratch = await scratchDir('dna-identity');
  ca = await createAuthority(scratch.dir);
  for (const [index, row] of [...rows, ...mismatchRows()].entries()) {
    const issued = await ca.issue({ name: `row-${index}`, ...row.presented });
    factsByRow.set(row.rule, describeCertificate(issued.der));
  }
}, 60_000);

afterAll(async () => {
  await scratch.remove();
});

const factsFor = (rule: string): CertificateFacts => factsByRow.get(rule)!;

describe('verifyServiceIdentity: RFC 6125 / RFC 9525 as profiled by RFC 6120 13.7.2 and RFC 7712', () => {
  it.each(rows)('$rule', ({ rule, presented, dnsNamesAsRead, domain, service, match }) => {
    // The certificate presents exactly the row's names, so a refusal is the rule's doing.
    expect(factsFor(rule)).toMatchObject({
      dnsNames: dnsNamesAsRead ?? presented.dnsNames ?? [],
      srvNames: presented.srvNames ?? [],
      xmppAddrs: presented.xmppAddrs ?? [],
      commonNames: presented.commonName ? [presented.commonName] : [],
    });
    const verify = (): IdentityMatch => verifyServiceIdentity(factsFor(rule), normalizeDomain(domain), service ?? 'xmpp-client');
    if (match) {
      expect(verify()).toEqual(match);
    } else {
      expect(verify).toThrow(IdentityMismatch);
    }
  });

  it('RFC 6125 6.4.2: a DNS-ID holding U-labels as text never matches, even its own U-label domain', () => {
    const facts = { ...factsFor(rows[0]!.rule), dnsNames: ['bücher.example'] };
    expect(() => verifyServiceIdentity(facts, normalizeDomain('bücher.example'), 'xmpp-client')).toThrow(IdentityMismatch);
  });
});

function mismatchRows(): { rule: string; presented: Presented; domain: string; service: ServiceName; message: string }[] {
  return [
    {
      rule: 'mismatch: the delegate\'s name is quoted',
      presented: { commonName: 'hosting.example.net', dnsNames: ['hosting.example.net'] },
      domain: 'example.com',
      service: 'xmpp-client',
      message: 'The certificate names hosting.example.net, not example.com.',
    },
    {
      rule: 'mismatch: every presented identifier is listed',
      presented: { dnsNames: ['hosting.example.net', '*.example.net'], srvNames: ['_xmpp-client.example.org'], xmppAddrs: ['example.org'] },
      domain: 'example.com',
      service: 'xmpp-client',
      message: 'The certificate names hosting.example.net, *.example.net, _xmpp-client.example.org and example.org, not example.com.',
    },
    {
      rule: 'mismatch: an SRV-ID for the other service is explained',
      presented: { srvNames: ['_xmpp-server.example.com'] },
      domain: 'example.com',
      service: 'xmpp-client',
      message:
        'The certificate names _xmpp-server.example.com, not example.com. _xmpp-server.example.com does not cover xmpp-client connections (_xmpp-client.example.com would).',
    },
    {
      rule: 'mismatch: a CN-only certificate says the CN is not used',
      presented: { commonName: 'example.com' },
      domain: 'example.com',
      service: 'xmpp-client',
      message:
        'The certificate names no domain (it has no DNS, SRV or XmppAddr subjectAltName), not example.com. Its subject CN example.com is not used to identify a server (RFC 9525); example.com must be a subjectAltName.',
    },
  ];
}

describe('IdentityMismatch: a message that says what the certificate presented', () => {
  it.each(mismatchRows())('RFC 6125 6.6: $rule', ({ rule, domain, service, message }) => {
    const facts = factsFor(rule);
    let thrown: unknown;
    try {
      verifyServiceIdentity(facts, normalizeDomain(domain), service);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IdentityMismatch);
    const mismatch = thrown as IdentityMismatch;
    expect(mismatch.code).toBe('IDENTITY_MISMATCH');
    expect(mismatch.message).toBe(message);
    expect(mismatch.reference).toEqual({ dnsId: 'example.com', srvId: `_${service}.example.com`, xmppAddr: 'example.com' });
    expect(mismatch.presented).toEqual({
      dnsNames: facts.dnsNames,
      srvNames: facts.srvNames,
      xmppAddrs: facts.xmppAddrs,
      commonNames: facts.commonNames,
    });
  });
});

describe('normalizeDomain: the domain D the client looks for', () => {
  it.each([
    { rule: 'RFC 6125 6.2.1: lowercased', input: 'Example.COM', expected: 'example.com' },
    { rule: 'RFC 6125 6.2.1: one trailing dot removed', input: 'example.com.', expected: 'example.com' },
    { rule: 'RFC 5890 2.3.2.1: U-labels become A-labels', input: 'Bücher.example', expected: 'xn--bcher-kva.example' },
  ])('$rule', ({ input, expected }) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each([
    { rule: 'the empty string', input: '' },
    { rule: 'an empty label', input: 'example..com' },
    { rule: 'a space', input: 'exa mple.com' },
    { rule: 'a JID with a localpart', input: 'user@example.com' },
    { rule: 'a URL path', input: 'example.com/path' },
    { rule: 'a label starting with a hyphen', input: '-bad.example' },
    { rule: 'an IPv4 address', input: '127.0.0.1' },
    { rule: 'an IPv6 literal', input: '[::1]' },
  ])('RFC 6125 6.2.1: refuses $rule with BAD_DOMAIN', ({ input }) => {
    expect(() => verifyServiceIdentity(factsFor(rows[0]!.rule), normalizeDomain(input), 'xmpp-client')).toThrow(
      expect.objectContaining({ code: 'BAD_DOMAIN', message: expect.stringMatching(/example\.com\.$/) }),
    );
  });
});

describe('normalizeDomain: no IP address in any form the URL parser reads', () => {
  it.each([
    ['dotted quad', '127.0.0.1'],
    ['one number (WHATWG IPv4)', '2130706433'],
    ['two parts', '127.1'],
    ['hexadecimal parts', '0x7f.1'],
    ['one hexadecimal number', '0x7f000001'],
    ['octal parts', '0177.0.0.1'],
    ['a trailing dot', '10.0.0.1.'],
    ['full-width digits and dots', '\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11'],
    ['a bracketed IPv6 literal', '[::1]'],
    ['a bare IPv6 literal', '::1'],
    ['an IPv4-mapped IPv6 literal', '::ffff:127.0.0.1'],
  ])('RFC 3696 2 / WHATWG URL host parsing: %s (%s) is BAD_DOMAIN as an IP address', (_form, input) => {
    expect(() => normalizeDomain(input)).toThrow(expect.objectContaining({ code: 'BAD_DOMAIN', message: expect.stringMatching(/is an IP address/) }));
  });

  it.each([
    ['a label that starts with digits', '1password.example', '1password.example'],
    ['an all-digit label that is not the last', '123.example', '123.example'],
  ])('RFC 1123 2.1: %s is still a domain', (_form, input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });
});
