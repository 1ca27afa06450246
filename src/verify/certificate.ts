// What a certificate says about itself (RFC 5280), as OpenSSL reads it. The certificate is parsed
// by node:crypto's X509Certificate and its names are taken from OpenSSL's reading of the
// subjectAltName, so this client reads exactly what the TLS library read: a certificate OpenSSL
// refuses proves nothing, and no name is ever read from bytes OpenSSL did not accept.
import { createHash, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate,
  GeneralSubtrees,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  NameConstraints,
  SubjectAlternativeName,
  type Extension,
} from '@peculiar/asn1-x509';
import { DnaError, messageOf } from './errors.ts';
import type { CertificateFacts } from './types.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks in `text` (a bundle, or one certificate), in order; unread. */
export function splitPemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/** The dNSName subtrees of a nameConstraints extension (RFC 5280 4.2.1.10); other name forms counted apart. */
export interface NameConstraintFacts {
  permittedDns: string[];
  excludedDns: string[];
  /** Subtrees of other name forms (IP addresses, directory names, otherNames). */
  otherForms: number;
}

/** A parsed certificate: its facts, and what the verdict and the chain's wording need beyond them. */
export interface ParsedCertificate {
  der: Uint8Array;
  x509: X509Certificate;
  facts: CertificateFacts;
  /**
   * The nameConstraints it carries, null when it has none. A certificate whose extensions cannot be
   * read here counts as constrained (with no subtrees known), so that nothing is assumed of it.
   */
  nameConstraints: NameConstraintFacts | null;
}

interface AltNames {
  dnsNames: string[];
  srvNames: string[];
  xmppAddrs: string[];
}

/**
 * The entries of X509Certificate#subjectAltName, OpenSSL's reading of the extension as Node prints
 * it: `TYPE:value`, separated by ", ". A value Node could not print unambiguously is a JSON string
 * literal (after `TYPE:`); plain values never contain a comma, so ", " separates only entries.
 */
function altNameEntries(text: string): Array<{ type: string; value: string }> {
  const entries: Array<{ type: string; value: string }> = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) throw new Error(`unreadable subjectAltName entry at ${at}`);
    const type = text.slice(at, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end += 1;
      value = JSON.parse(text.slice(colon + 1, end)) as string;
    } else {
      end = text.indexOf(', ', colon);
      if (end < 0) end = text.length;
      value = text.slice(colon + 1, end);
    }
    entries.push({ type, value });
    if (end < text.length && !text.startsWith(', ', end)) throw new Error(`unreadable subjectAltName entry at ${end}`);
    at = end + 2;
  }
  return entries;
}

/** id-on-dnsSRV (RFC 4985) and id-on-xmppAddr (RFC 6120 13.7.1.4). */
const OID_SRV_NAME = '1.3.6.1.5.5.7.8.7';
const OID_XMPP_ADDR = '1.3.6.1.5.5.7.8.5';

/**
 * DNS-IDs, SRV-IDs (RFC 4985) and XmppAddrs (RFC 6120 13.7.1.4) as OpenSSL read them. Refused
 * (thrown): a name with a NUL byte (the null-prefix trick, "example.com\0.evil.test"), and an
 * SRV-ID or XmppAddr whose value is not the string type its form requires, which OpenSSL reads as
 * "<unsupported>" and this client would otherwise pass over.
 */
function altNamesOf(x509: X509Certificate, extensions: Extension[] | null): AltNames {
  const names: AltNames = { dnsNames: [], srvNames: [], xmppAddrs: [] };
  let unsupported = 0;
  for (const { type, value } of altNameEntries(x509.subjectAltName ?? '')) {
    if (type === 'DNS') names.dnsNames.push(value);
    if (type !== 'othername') continue;
    if (value.startsWith('SRVName:')) names.srvNames.push(value.slice('SRVName:'.length));
    else if (value.startsWith('XmppAddr:')) names.xmppAddrs.push(value.slice('XmppAddr:'.length));
    else if (value === '<unsupported>') unsupported += 1;
  }
  if ([...names.dnsNames, ...names.srvNames, ...names.xmppAddrs].some((name) => name.includes('\0'))) {
    throw new Error('its subjectAltName holds a name with a NUL byte');
  }
  const xmppForms = xmppOtherNameCount(extensions);
  // When only OpenSSL can read the names, an otherName it could not print may be a malformed one.
  if ((xmppForms === null && unsupported > 0) || (xmppForms !== null && xmppForms !== names.srvNames.length + names.xmppAddrs.length)) {
    throw new Error('its subjectAltName holds an SRV-ID or XmppAddr that is not the string type its form requires');
  }
  return names;
}

/**
 * How many SRV-ID and XmppAddr otherNames the subjectAltName holds, whatever their values; null
 * when this parser cannot read what OpenSSL did (then OpenSSL's reading stands alone).
 */
function xmppOtherNameCount(extensions: Extension[] | null): number | null {
  if (extensions === null) return null;
  const extension = extensions.find((ext) => ext.extnID === id_ce_subjectAltName);
  if (!extension) return 0;
  let names;
  try {
    names = AsnConvert.parse(extension.extnValue, SubjectAlternativeName);
  } catch {
    return null;
  }
  return names.filter((name) => name.otherName?.typeId === OID_SRV_NAME || name.otherName?.typeId === OID_XMPP_ADDR).length;
}

/** RFC 4514 form from Node's multi-line rendering (already escaped by OpenSSL as RFC 2253): last RDN first. */
export function distinguishedName(multiline: string): string {
  return multiline.split('\n').reverse().map((rdn) => rdn.replaceAll(' + ', '+')).join(',');
}

/** One RFC 2253 attribute value as OpenSSL escaped it (backslash pairs, `\\XX` hex for bytes) back to text. */
function unescapeValue(escaped: string): string {
  const bytes: number[] = [];
  let at = 0;
  while (at < escaped.length) {
    const hex = /^\\([0-9A-Fa-f]{2})/.exec(escaped.slice(at, at + 3));
    if (hex) {
      bytes.push(Number.parseInt(hex[1]!, 16));
      at += 3;
      continue;
    }
    if (escaped[at] === '\\' && at + 1 < escaped.length) at += 1;
    const char = String.fromCodePoint(escaped.codePointAt(at)!);
    bytes.push(...Buffer.from(char, 'utf8'));
    at += char.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

// Read from the subject's text, not from X509Certificate#toLegacyObject, which crashes the whole
// process on a certificate whose public key does not decode (Node 24, seen in the differential test).
function commonNamesOf(x509: X509Certificate): string[] {
  return x509.subject
    .split('\n')
    .flatMap((rdn) => rdn.split(' + '))
    .filter((attribute) => attribute.startsWith('CN='))
    .map((attribute) => unescapeValue(attribute.slice(3)));
}

function dnsSubtrees(subtrees: GeneralSubtrees | undefined): { dns: string[]; other: number } {
  const dns: string[] = [];
  let other = 0;
  for (const subtree of subtrees ?? []) {
    if (subtree.base.dNSName !== undefined) dns.push(subtree.base.dNSName);
    else other += 1;
  }
  return { dns, other };
}

/** The certificate's extensions as this module reads them, or null when it cannot (OpenSSL could). */
function extensionsOf(der: Uint8Array): Extension[] | null {
  try {
    return AsnConvert.parse(der, Certificate).tbsCertificate.extensions ?? [];
  } catch {
    return null;
  }
}

// The DER of the subjectAltName OID (2.5.29.17), for certificates whose extensions only OpenSSL reads.
const SAN_OID_DER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);

function hasSubjectAltName(der: Uint8Array, extensions: Extension[] | null): boolean {
  return extensions ? extensions.some((ext) => ext.extnID === id_ce_subjectAltName) : Buffer.from(der).includes(SAN_OID_DER);
}

function duplicateExtension(der: Uint8Array, extensions: Extension[] | null): string | null {
  if (extensions === null) {
    const first = Buffer.from(der).indexOf(SAN_OID_DER);
    return first >= 0 && Buffer.from(der).indexOf(SAN_OID_DER, first + 1) >= 0 ? 'subjectAltName' : null;
  }
  const seen = new Set<string>();
  for (const { extnID } of extensions) {
    if (seen.has(extnID)) return extnID === id_ce_subjectAltName ? 'subjectAltName' : extnID;
    seen.add(extnID);
  }
  return null;
}

/**
 * Whether `bytes` is exactly one SEQUENCE: its length minimal and nothing after it. The tag may lack
 * the constructed bit, as OpenSSL reads it either way (the names are OpenSSL's to read).
 */
function isOneSequence(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || (bytes[0] !== 0x30 && bytes[0] !== 0x10)) return false;
  const first = bytes[1]!;
  if (first < 0x80) return 2 + first === bytes.length;
  const count = first & 0x7f;
  if (count === 0 || count > 4 || bytes.length < 2 + count || bytes[2] === 0) return false;
  let length = 0;
  for (let index = 0; index < count; index += 1) length = length * 256 + bytes[2 + index]!;
  return length >= 0x80 && 2 + count + length === bytes.length;
}

/**
 * RFC 5280 4.2.1.6: the subjectAltName is one SEQUENCE of at least one name, in exact DER, with
 * nothing after it (OpenSSL itself reads the names and stops at the end of the SEQUENCE).
 */
function checkSubjectAltNameEnvelope(x509: X509Certificate, extensions: Extension[] | null): void {
  if (x509.subjectAltName === '') throw new Error('its subjectAltName is empty or unreadable');
  const extension = extensions?.find((ext) => ext.extnID === id_ce_subjectAltName);
  if (extension && !isOneSequence(new Uint8Array(extension.extnValue.buffer, extension.extnValue.byteOffset, extension.extnValue.byteLength))) {
    throw new Error('its subjectAltName is not exactly one DER SEQUENCE');
  }
}

/** The nameConstraints extension, if any; unreadable extensions count as an unknown constraint. */
function nameConstraintsOf(extensions: Extension[] | null): NameConstraintFacts | null {
  if (extensions === null) return { permittedDns: [], excludedDns: [], otherForms: 1 };
  const extension = extensions.find((ext) => ext.extnID === id_ce_nameConstraints);
  if (!extension) return null;
  try {
    const constraints = AsnConvert.parse(extension.extnValue, NameConstraints);
    const permitted = dnsSubtrees(constraints.permittedSubtrees);
    const excluded = dnsSubtrees(constraints.excludedSubtrees);
    return { permittedDns: permitted.dns, excludedDns: excluded.dns, otherForms: permitted.other + excluded.other };
  } catch {
    return { permittedDns: [], excludedDns: [], otherForms: 1 };
  }
}

// Security bits of the elliptic curves OpenSSL names (NIST SP 800-57 part 1, table 2).
const CURVES: Readonly<Record<string, { name: string; bits: number }>> = {
  prime192v1: { name: 'P-192', bits: 96 },
  secp224r1: { name: 'P-224', bits: 112 },
  prime256v1: { name: 'P-256', bits: 128 },
  secp256k1: { name: 'secp256k1', bits: 128 },
  secp384r1: { name: 'P-384', bits: 192 },
  secp521r1: { name: 'P-521', bits: 256 },
  brainpoolP256r1: { name: 'brainpoolP256r1', bits: 128 },
  brainpoolP384r1: { name: 'brainpoolP384r1', bits: 192 },
  brainpoolP512r1: { name: 'brainpoolP512r1', bits: 256 },
};

/** The subject key in words, and its strength in bits of security (0 when unknown). */
function keyOf(x509: X509Certificate): { description: string; bits: number } {
  let key;
  try {
    key = x509.publicKey;
  } catch {
    // A key type node:crypto cannot represent: nothing is known of its strength.
    return { description: 'unknown', bits: 0 };
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
    case 'dsa': {
      const size = details.modulusLength ?? 0;
      // RSA and DSA of 2048 bits give 112 bits of security, 3072 give 128.
      const bits = size >= 3072 ? 128 : size >= 2048 ? 112 : 80;
      return { description: `${key.asymmetricKeyType.toUpperCase()} ${size}`, bits };
    }
    case 'ec': {
      const curve = CURVES[details.namedCurve ?? ''];
      return { description: `EC ${curve?.name ?? details.namedCurve ?? 'unknown curve'}`, bits: curve?.bits ?? 0 };
    }
    case 'ed25519':
      return { description: 'Ed25519', bits: 128 };
    case 'ed448':
      return { description: 'Ed448', bits: 224 };
    default:
      return { description: key.asymmetricKeyType ?? 'unknown', bits: 0 };
  }
}

/**
 * Why the certificate's own key is too weak to authenticate a TLS server, or null: under 112 bits
 * of security, the floor of OpenSSL's security level 2 (RSA under 2048 bits, curves under 224).
 */
export function weakKey(parsed: ParsedCertificate): string | null {
  const { description, bits } = keyOf(parsed.x509);
  return bits >= 112 ? null : `its ${description} key gives less than 112 bits of security (RSA needs at least 2048 bits, an elliptic curve at least 224)`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PRINTED_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(\.\d+)? (\d{4}) GMT$/;

/**
 * A validity time as OpenSSL prints it (ASN1_TIME_print: "Dec  1 00:43:53 2026 GMT"), or null for
 * anything else ("Bad time value"). Not X509Certificate#validFromDate: for a time OpenSSL cannot
 * read, Node 24 returns a date made of uninitialized memory, now and then a plausible one.
 */
function printedTime(printed: string): Date | null {
  const match = PRINTED_TIME.exec(printed);
  if (!match) return null;
  const [, monthName, day, hours, minutes, seconds, fraction, year] = match;
  const month = MONTHS.indexOf(monthName!);
  const time = new Date(0);
  time.setUTCFullYear(Number(year), month, Number(day));
  time.setUTCHours(Number(hours), Number(minutes), Number(seconds), Math.floor(Number(fraction ?? 0) * 1000));
  // A day or an hour past its range would roll over into another date: not a time.
  const exact = time.getUTCFullYear() === Number(year) && time.getUTCMonth() === month && time.getUTCDate() === Number(day) &&
    time.getUTCHours() === Number(hours) && time.getUTCMinutes() === Number(minutes) && time.getUTCSeconds() === Number(seconds);
  return month >= 0 && exact ? time : null;
}

function unparsable(cause: unknown): DnaError<'CERT_UNPARSABLE'> {
  return new DnaError('CERT_UNPARSABLE', `The certificate could not be read as a DER X.509 certificate (${messageOf(cause).replace(/\.$/, '')}).`, { cause });
}

/** Self-issued (RFC 5280 3.2) and signed by its own key; keyUsage is not asked (a self-signed leaf has no keyCertSign). */
function isSelfSigned(x509: X509Certificate): boolean {
  try {
    return x509.subject === x509.issuer && x509.verify(x509.publicKey);
  } catch {
    return false;
  }
}

/** Reads one DER certificate; throws DnaError `CERT_UNPARSABLE` for anything OpenSSL does not read as exactly one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  let x509: X509Certificate;
  let names: AltNames;
  let extensions: Extension[] | null;
  let notBefore: Date | null;
  let notAfter: Date | null;
  try {
    x509 = new X509Certificate(der);
    // OpenSSL also accepts PEM and ignores bytes after the certificate; a fingerprint over those would describe something else.
    if (!Buffer.from(x509.raw).equals(der)) throw new Error('the input is not exactly one DER certificate');
    extensions = extensionsOf(der);
    // RFC 5280 4.2: no extension twice (OpenSSL marks such a certificate invalid and reads neither copy).
    const twice = duplicateExtension(der, extensions);
    if (twice !== null) throw new Error(`it carries the ${twice} extension twice`);
    // OpenSSL reads a certificate whose subjectAltName it cannot decode, and then names nothing: such
    // a certificate is refused whole, never read in part.
    if (x509.subjectAltName === undefined && hasSubjectAltName(der, extensions)) throw new Error('its subjectAltName extension is not valid DER');
    notBefore = printedTime(x509.validFrom);
    notAfter = printedTime(x509.validTo);
    if (notBefore === null || notAfter === null) throw new Error('its validity period is not a valid time');
    if (x509.subjectAltName !== undefined) checkSubjectAltNameEnvelope(x509, extensions);
    names = altNamesOf(x509, extensions);
  } catch (error) {
    throw unparsable(error);
  }
  const facts: CertificateFacts = {
    subject: distinguishedName(x509.subject),
    issuer: distinguishedName(x509.issuer),
    commonNames: commonNamesOf(x509),
    ...names,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    serialNumber: x509.serialNumber,
    sha256: createHash('sha256').update(der).digest('base64'),
    selfSigned: isSelfSigned(x509),
    key: keyOf(x509).description,
    signatureAlgorithm: x509.signatureAlgorithm ?? 'unknown',
  };
  return { der, x509, facts, nameConstraints: nameConstraintsOf(extensions) };
}

/** The facts of a DER certificate; throws DnaError `CERT_UNPARSABLE` for anything else. */
export function describeCertificate(der: Uint8Array): CertificateFacts {
  return parseCertificate(der).facts;
}
