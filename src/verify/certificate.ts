// What a certificate says about itself (RFC 5280), read once from its DER.
//
// @peculiar/x509 cannot be loaded without a Reflect metadata polyfill (it resolves its algorithms
// through tsyringe), so the names and extensions are read with its own ASN.1 layer,
// @peculiar/asn1-x509, and the signature is checked with node:crypto.
import { createHash, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type AttributeValue,
  type Name,
} from '@peculiar/asn1-x509';
import { DnaError, messageOf } from './errors.ts';
import type { CertificateFacts } from './types.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks in `text` (a bundle, or one certificate), in order; unread. */
export function splitPemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/** id-on-dnsSRV (RFC 4985): an IA5String `_service.name`. */
export const OID_SRV_NAME = '1.3.6.1.5.5.7.8.7';
/** id-on-xmppAddr (RFC 6120 section 13.7.1.4): a UTF8String JID. */
export const OID_XMPP_ADDR = '1.3.6.1.5.5.7.8.5';

/** A parsed certificate with what chain validation needs beyond the facts. */
export interface ParsedCertificate {
  der: Uint8Array;
  x509: X509Certificate;
  facts: CertificateFacts;
  /** basicConstraints cA (RFC 5280 4.2.1.9); false when the extension is absent. */
  basicConstraintsCa: boolean;
  /** keyUsage bits by name (RFC 5280 4.2.1.3), or null when the extension is absent. */
  keyUsage: string[] | null;
  /** extendedKeyUsage purposes as OIDs (RFC 5280 4.2.1.12), or null when the extension is absent. */
  extendedKeyUsage: string[] | null;
  /** subjectKeyIdentifier and the authorityKeyIdentifier's keyIdentifier, as hex (RFC 5280 4.2.1.1-2). */
  subjectKeyId: string | null;
  authorityKeyId: string | null;
}

// RFC 4514 section 3: the attribute types with a registered short name; others are written as OIDs.
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};
const OID_COMMON_NAME = '2.5.4.3';

function stringOf(value: AttributeValue): string | null {
  const text =
    value.utf8String ?? value.printableString ?? value.ia5String ?? value.bmpString ?? value.universalString ?? value.teletexString;
  return text ?? null;
}

/** RFC 4514 section 2.4 escaping of a string value. */
function escapeValue(text: string): string {
  let escaped = text.replace(/["+,;<>\\]/g, '\\$&').replace(/\0/g, '\\00');
  if (text.startsWith('#') || text.startsWith(' ')) escaped = '\\' + escaped;
  if (text.length > 1 && text.endsWith(' ')) escaped = escaped.slice(0, -1) + '\\ ';
  return escaped;
}

function valueText(value: AttributeValue): string {
  const text = stringOf(value);
  if (text !== null) return escapeValue(text);
  return '#' + Buffer.from(value.anyValue ?? new ArrayBuffer(0)).toString('hex');
}

/** RFC 4514 string form: the last RDN first, multi-valued RDNs joined with `+`. */
function nameToString(name: Name): string {
  return [...name]
    .reverse()
    .map((rdn) => [...rdn].map((atv) => `${ATTRIBUTE_NAMES[atv.type] ?? atv.type}=${valueText(atv.value)}`).join('+'))
    .join(',');
}

function commonNamesOf(name: Name): string[] {
  return [...name].flatMap((rdn) => [...rdn].filter((atv) => atv.type === OID_COMMON_NAME).map((atv) => stringOf(atv.value) ?? ''));
}

const IA5_STRING = 0x16;
const UTF8_STRING = 0x0c;

/**
 * The content of a single DER string with tag `tag` filling all of `bytes`, or null. otherName values
 * arrive as the raw inner TLV of their [0] EXPLICIT wrapper.
 */
function derStringContent(bytes: Uint8Array, tag: number): Uint8Array | null {
  if (bytes.length < 2 || bytes[0] !== tag) return null;
  let length = bytes[1]!;
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || bytes.length < 2 + count) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[2 + i]!;
    offset = 2 + count;
  }
  return offset + length === bytes.length ? bytes.subarray(offset) : null;
}

function ia5String(bytes: Uint8Array): string | null {
  const content = derStringContent(bytes, IA5_STRING);
  if (content === null || content.some((byte) => byte > 0x7f)) return null;
  return Buffer.from(content).toString('latin1');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8String(bytes: Uint8Array): string | null {
  const content = derStringContent(bytes, UTF8_STRING);
  if (content === null) return null;
  try {
    return utf8.decode(content);
  } catch {
    return null;
  }
}

interface AltNames {
  dnsNames: string[];
  srvNames: string[];
  xmppAddrs: string[];
}

/** SAN entries this client can match. otherNames that are not well-formed strings are left out. */
function altNamesOf(certificate: Certificate): AltNames {
  const names: AltNames = { dnsNames: [], srvNames: [], xmppAddrs: [] };
  const extension = certificate.tbsCertificate.extensions?.find((ext) => ext.extnID === id_ce_subjectAltName);
  if (!extension) return names;
  for (const general of AsnConvert.parse(extension.extnValue, SubjectAlternativeName)) {
    if (general.dNSName !== undefined) names.dnsNames.push(general.dNSName);
    const other = general.otherName;
    if (!other) continue;
    const value = new Uint8Array(other.value);
    if (other.typeId === OID_SRV_NAME) {
      const text = ia5String(value);
      if (text !== null) names.srvNames.push(text);
    } else if (other.typeId === OID_XMPP_ADDR) {
      const text = utf8String(value);
      if (text !== null) names.xmppAddrs.push(text);
    }
  }
  return names;
}

function extensionValue<T>(certificate: Certificate, oid: string, type: new () => T): T | null {
  const extension = certificate.tbsCertificate.extensions?.find((ext) => ext.extnID === oid);
  return extension ? AsnConvert.parse(extension.extnValue, type) : null;
}

const hexOf = (bytes: ArrayBuffer | undefined): string | null => (bytes ? Buffer.from(bytes).toString('hex') : null);

function unparsable(cause: unknown): DnaError<'CERT_UNPARSABLE'> {
  return new DnaError(
    'CERT_UNPARSABLE',
    `The certificate could not be read as a DER X.509 certificate (${messageOf(cause)}).`,
    { cause },
  );
}

function verifiesWithOwnKey(x509: X509Certificate): boolean {
  try {
    return x509.verify(x509.publicKey);
  } catch {
    return false;
  }
}

export function parseCertificate(der: Uint8Array): ParsedCertificate {
  let x509: X509Certificate;
  let certificate: Certificate;
  try {
    x509 = new X509Certificate(der);
    // OpenSSL also accepts PEM and ignores bytes after the certificate; a fingerprint over those would describe something else.
    if (!Buffer.from(x509.raw).equals(der)) throw new Error('the input is not exactly one DER certificate');
    certificate = AsnConvert.parse(der, Certificate);
  } catch (error) {
    throw unparsable(error);
  }
  try {
    const tbs = certificate.tbsCertificate;
    const subject = nameToString(tbs.subject);
    const issuer = nameToString(tbs.issuer);
    const keyUsage = extensionValue(certificate, id_ce_keyUsage, KeyUsage);
    const facts: CertificateFacts = {
      subject,
      issuer,
      commonNames: commonNamesOf(tbs.subject),
      ...altNamesOf(certificate),
      notBefore: x509.validFromDate.toISOString(),
      notAfter: x509.validToDate.toISOString(),
      serialNumber: x509.serialNumber,
      sha256: createHash('sha256').update(der).digest('base64'),
      selfSigned: subject === issuer && verifiesWithOwnKey(x509),
    };
    return {
      der,
      x509,
      facts,
      basicConstraintsCa: extensionValue(certificate, id_ce_basicConstraints, BasicConstraints)?.cA ?? false,
      keyUsage: keyUsage ? keyUsage.toJSON() : null,
      extendedKeyUsage: extensionValue(certificate, id_ce_extKeyUsage, ExtendedKeyUsage)?.map(String) ?? null,
      subjectKeyId: hexOf(extensionValue(certificate, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier)?.buffer),
      authorityKeyId: hexOf(extensionValue(certificate, id_ce_authorityKeyIdentifier, AuthorityKeyIdentifier)?.keyIdentifier?.buffer),
    };
  } catch (error) {
    throw unparsable(error);
  }
}

/** The facts of a DER certificate; throws DnaError `CERT_UNPARSABLE` for anything else. */
export function describeCertificate(der: Uint8Array): CertificateFacts {
  return parseCertificate(der).facts;
}
