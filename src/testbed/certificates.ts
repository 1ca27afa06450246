// The testbed's CA and certificates, made with openssl at every start (the clock moves).
import { join } from 'node:path';
import { normalizeDomain } from '../verify/domain.ts';
import { createAuthority, createSelfSigned, days, type CertificateAuthority, type IssuedCertificate } from './pki.ts';

export const EXAMPLE_DOMAIN = normalizeDomain('example.com');
export const HOSTING_HOST = 'hosting.example.net';
export const PROPER_DOMAIN = normalizeDomain('proper.example');
/** The user domain ejabberd serves, delegated to EJABBERD_HOST and proven by POSH only. */
export const EJABBERD_DOMAIN = normalizeDomain('example.org');
export const EJABBERD_HOST = 'ejabberd.example.net';
/** Multi-user chat (XEP-0045) services: Prosody's for example.com, one on a domain of its own, ejabberd's. */
export const EXAMPLE_MUC_DOMAIN = normalizeDomain('conference.example.com');
export const PROPER_MUC_DOMAIN = normalizeDomain('conference.proper.example');
export const EJABBERD_MUC_DOMAIN = normalizeDomain('conference.example.org');

export interface TestbedCertificates {
  ca: CertificateAuthority;
  /** hosting.example.net: what Prosody presents for example.com (the delegated case). */
  hosting: IssuedCertificate;
  /** example.com: only the HTTPS POSH host serves it. */
  example: IssuedCertificate;
  /** proper.example with DNS-ID, SRV-IDs and XmppAddr: the OK_PKIX case; also conference.proper.example's DNS-ID (its s2s). */
  proper: IssuedCertificate;
  /** hosting.example.net, expired yesterday. */
  expired: IssuedCertificate;
  /** hosting.example.net, signed by its own key. */
  selfSigned: IssuedCertificate;
  /** A valid certificate nobody presents: its fingerprint is the wrong one. */
  other: IssuedCertificate;
  /** ejabberd.example.net: what ejabberd presents for example.org (never naming example.org). */
  ejabberd: IssuedCertificate;
  /** example.org: only its HTTPS POSH host serves it. */
  exampleOrg: IssuedCertificate;
}

/** Which kind of hosting certificate a variant presents; rotation issues a fresh one of the same kind. */
export type HostingKind = 'valid' | 'expired' | 'self-signed';

export type SerializedCertificate = Omit<IssuedCertificate, 'der'>;

/** The plain-data fields only (a CA object also carries its signing functions). */
export const serializeCertificate = ({ name, certPath, keyPath, certPem, keyPem, sha256 }: IssuedCertificate): SerializedCertificate => ({
  name,
  certPath,
  keyPath,
  certPem,
  keyPem,
  sha256,
});

let rotation = 0;

/** A fresh hosting.example.net certificate of `kind`, with a file name unique inside `dir`. */
export async function issueHosting(ca: CertificateAuthority, dir: string, kind: HostingKind): Promise<IssuedCertificate> {
  const name = `hosting-${kind}-${Date.now()}-${++rotation}`;
  const spec = { name, commonName: HOSTING_HOST, dnsNames: [HOSTING_HOST] };
  if (kind === 'self-signed') return createSelfSigned(join(dir, 'self-signed'), spec);
  if (kind === 'expired') {
    return ca.issue({ ...spec, notBefore: new Date(Date.now() - days(30)), notAfter: new Date(Date.now() - days(1)) });
  }
  return ca.issue(spec);
}

export async function createTestbedCertificates(dir: string): Promise<TestbedCertificates> {
  const ca = await createAuthority(join(dir, 'ca'), { commonName: 'POSH Messenger Testbed Root' });
  // The authority signs one at a time; the self-signed one has its own directory and runs alongside.
  const selfSigned = issueHosting(ca, dir, 'self-signed');
  const hosting = await issueHosting(ca, dir, 'valid');
  const expired = await issueHosting(ca, dir, 'expired');
  const example = await ca.issue({ name: 'example.com', commonName: EXAMPLE_DOMAIN, dnsNames: [EXAMPLE_DOMAIN] });
  const proper = await ca.issue({
    name: 'proper.example',
    commonName: PROPER_DOMAIN,
    dnsNames: [PROPER_DOMAIN, PROPER_MUC_DOMAIN],
    srvNames: [`_xmpp-client.${PROPER_DOMAIN}`, `_xmpp-server.${PROPER_DOMAIN}`],
    xmppAddrs: [PROPER_DOMAIN],
  });
  const other = await ca.issue({ name: 'other', commonName: 'other.example.net', dnsNames: ['other.example.net'] });
  const ejabberd = await ca.issue({ name: EJABBERD_HOST, commonName: EJABBERD_HOST, dnsNames: [EJABBERD_HOST] });
  const exampleOrg = await ca.issue({ name: EJABBERD_DOMAIN, commonName: EJABBERD_DOMAIN, dnsNames: [EJABBERD_DOMAIN] });
  return { ca, hosting, example, proper, expired, selfSigned: await selfSigned, other, ejabberd, exampleOrg };
}
