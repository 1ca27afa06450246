// Certificates made at test time with openssl: the clock moves, so nothing here is committed.
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  name: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  der: Buffer;
  /** base64 of SHA-256 over the DER, as a POSH fingerprint. */
  sha256: string;
}

export interface CertificateSpec {
  /** File name stem, unique inside the authority's directory. */
  name: string;
  commonName?: string;
  organization?: string;
  dnsNames?: string[];
  /** SRV-IDs as `_service.domain` (RFC 4985 otherName). */
  srvNames?: string[];
  /** XmppAddr otherName values (RFC 6120 section 13.7.1.4). */
  xmppAddrs?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Issue a CA certificate (for intermediates). */
  isCa?: boolean;
  /** extendedKeyUsage purposes in openssl's names; default serverAuth and clientAuth. */
  extendedKeyUsage?: string[];
  /**
   * Extension lines in openssl's configuration syntax instead of the defaults for a CA or a leaf
   * (basicConstraints, keyUsage, extendedKeyUsage); subjectKeyIdentifier and the names stay.
   */
  extensions?: string[];
  /** Extension lines added to the defaults: nameConstraints, an unknown critical extension. */
  extraExtensions?: string[];
  /** The subject's key (default EC P-256). */
  key?: 'ec-p256' | 'rsa-1024' | 'rsa-2048';
  /** The digest the issuer signs with (default sha256). */
  digest?: 'sha256' | 'sha1' | 'md5';
}

export interface CertificateAuthority extends IssuedCertificate {
  dir: string;
  issue(spec: CertificateSpec): Promise<IssuedCertificate>;
  issueAuthority(spec: CertificateSpec): Promise<CertificateAuthority>;
}

const DAY_MS = 86_400_000;

function asn1Time(date: Date): string {
  // UTCTime (YYMMDDHHMMSSZ) is what RFC 5280 wants before 2050.
  const iso = date.toISOString();
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
}

function subjectOf(spec: CertificateSpec): string {
  const parts: string[] = [];
  if (spec.organization ?? !spec.commonName) parts.push(`/O=${spec.organization ?? 'POSH Messenger Tests'}`);
  if (spec.commonName) parts.push(`/CN=${spec.commonName}`);
  return parts.join('');
}

function extensionSection(spec: CertificateSpec): string {
  const lines = ['[ext]', 'subjectKeyIdentifier = hash'];
  if (spec.extensions) {
    lines.push(...spec.extensions);
  } else if (spec.isCa) {
    lines.push('basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign');
  } else {
    lines.push(
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${(spec.extendedKeyUsage ?? ['serverAuth', 'clientAuth']).join(', ')}`,
    );
  }
  lines.push(...(spec.extraExtensions ?? []));
  const alt: string[] = [];
  (spec.dnsNames ?? []).forEach((name, i) => alt.push(`DNS.${i + 1} = ${name}`));
  let other = 0;
  for (const srv of spec.srvNames ?? []) alt.push(`otherName.${++other} = 1.3.6.1.5.5.7.8.7;IA5STRING:${srv}`);
  // Without FORMAT:UTF8 openssl reads the value as Latin-1 and encodes non-ASCII characters twice.
  for (const addr of spec.xmppAddrs ?? []) alt.push(`otherName.${++other} = 1.3.6.1.5.5.7.8.5;FORMAT:UTF8,UTF8:${addr}`);
  if (alt.length > 0) lines.push('subjectAltName = @alt', '[alt]', ...alt);
  return lines.join('\n') + '\n';
}

const CA_CONFIG = `[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
organizationName = optional
commonName = optional
`;

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

const KEY_OPTIONS: Record<NonNullable<CertificateSpec['key']>, string[]> = {
  'ec-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'rsa-1024': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  'rsa-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

async function newKey(dir: string, name: string, key: CertificateSpec['key'] = 'ec-p256'): Promise<string> {
  const keyPath = join(dir, `${name}.key`);
  await openssl(dir, ['genpkey', ...KEY_OPTIONS[key], '-out', keyPath]);
  return keyPath;
}

async function loadIssued(name: string, certPath: string, keyPath: string): Promise<IssuedCertificate> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  const der = Buffer.from(new X509Certificate(certPem).raw);
  return { name, certPath, keyPath, certPem, keyPem, der, sha256: createHash('sha256').update(der).digest('base64') };
}

async function sign(
  dir: string,
  spec: CertificateSpec,
  issuer: { certPath: string; keyPath: string } | 'self',
): Promise<IssuedCertificate> {
  const keyPath = await newKey(dir, spec.name, spec.key);
  const csrPath = join(dir, `${spec.name}.csr`);
  const extPath = join(dir, `${spec.name}.ext`);
  const certPath = join(dir, `${spec.name}.pem`);
  await openssl(dir, ['req', '-new', '-key', keyPath, '-subj', subjectOf(spec), '-out', csrPath]);
  await writeFile(extPath, extensionSection(spec));
  const notBefore = spec.notBefore ?? new Date(Date.now() - DAY_MS);
  const notAfter = spec.notAfter ?? new Date(Date.now() + 365 * DAY_MS);
  const signer =
    issuer === 'self' ? ['-selfsign', '-keyfile', keyPath] : ['-cert', issuer.certPath, '-keyfile', issuer.keyPath];
  await openssl(dir, [
    'ca', '-batch', '-notext', '-config', 'ca.cnf', '-in', csrPath, '-out', certPath,
    '-extfile', extPath, '-extensions', 'ext',
    '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter),
    '-md', spec.digest ?? 'sha256',
    ...signer,
  ]);
  return loadIssued(spec.name, certPath, keyPath);
}

async function prepareSigningDir(dir: string): Promise<void> {
  await mkdir(join(dir, 'issued'), { recursive: true });
  await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
  await writeFile(join(dir, 'index.txt'), '', { flag: 'a' });
  await writeFile(join(dir, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`, { flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
}

function authorityFrom(dir: string, self: IssuedCertificate): CertificateAuthority {
  // openssl ca keeps its serial and index files in `dir`: issue one certificate at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    ...self,
    dir,
    issue: (spec) => serialized(() => sign(dir, { ...spec, isCa: spec.isCa ?? false }, self)),
    issueAuthority: (spec) =>
      serialized(async () => {
        const cert = await sign(dir, { ...spec, isCa: true }, self);
        const subdir = join(dir, spec.name);
        await prepareSigningDir(subdir);
        return authorityFrom(subdir, cert);
      }),
  };
}

/** A fresh root CA in `dir` (created if missing). */
export async function createAuthority(
  dir: string,
  spec: Partial<CertificateSpec> = {},
): Promise<CertificateAuthority> {
  await prepareSigningDir(dir);
  const root = await sign(dir, { name: 'root-ca', commonName: 'POSH Messenger Test Root', ...spec, isCa: true }, 'self');
  return authorityFrom(dir, root);
}

/** A self-signed end-entity certificate (no CA anywhere). */
export async function createSelfSigned(dir: string, spec: CertificateSpec): Promise<IssuedCertificate> {
  await prepareSigningDir(dir);
  return sign(dir, { ...spec, isCa: spec.isCa ?? false }, 'self');
}

/** A certificate signed by any issued certificate, CA or not: for chains a validator must refuse. */
export async function issueWith(dir: string, issuer: IssuedCertificate, spec: CertificateSpec): Promise<IssuedCertificate> {
  await prepareSigningDir(dir);
  return sign(dir, { ...spec, isCa: spec.isCa ?? false }, issuer);
}

/** A temporary directory removed by the returned function. */
export async function scratchDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export const days = (n: number): number => n * DAY_MS;
