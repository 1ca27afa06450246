// The differential check of the certificate reader: seeded mutations of real certificates, each
// read by src/verify/certificate.ts and by the openssl command (a separate OpenSSL build, in its
// own process), which must agree on whether the certificate is readable and on every DNS name.
// npm test runs a small count (test/unit/certificate-differential.test.ts); `npm run
// test:differential` runs 100,000.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { createAuthority, scratchDir, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { describeCertificate } from '../../src/verify/certificate.ts';

const run = promisify(execFile);

/** Certificates with subjectAltNames of every kind the client reads. */
export async function baseCertificates(): Promise<{ certificates: IssuedCertificate[]; remove: () => Promise<void> }> {
  const scratch = await scratchDir('differential');
  const ca = await createAuthority(join(scratch.dir, 'ca'));
  const certificates = [
    await ca.issue({ name: 'many', commonName: 'hosting.example.net', dnsNames: ['hosting.example.net', '*.hosting.example.net', 'example.com'], srvNames: ['_xmpp-client.example.com'], xmppAddrs: ['example.com'] }),
    await ca.issue({ name: 'one', dnsNames: ['a.example'] }),
    await ca.issue({ name: 'unicode', dnsNames: ['xn--bcher-kva.example'], xmppAddrs: ['bücher.example'] }),
    await ca.issue({ name: 'rsa', dnsNames: ['rsa.example', 'b.rsa.example'], key: 'rsa-2048' }),
  ];
  return { certificates, remove: scratch.remove };
}

/** One mutation of a certificate, chosen by fast-check; most of them land on the subjectAltName. */
export interface Mutation {
  base: number;
  kind: 'flip' | 'set' | 'delete' | 'insert' | 'truncate';
  /** Where, as a fraction (in millionths) of the target region. */
  at: number;
  value: number;
  /** Aim at the subjectAltName extension rather than anywhere in the certificate. */
  inSan: boolean;
}

export const mutationArbitrary = (bases: number): fc.Arbitrary<Mutation> =>
  fc.record({
    base: fc.integer({ min: 0, max: bases - 1 }),
    kind: fc.constantFrom('flip', 'set', 'set', 'delete', 'insert', 'truncate'),
    at: fc.integer({ min: 0, max: 999_999 }),
    value: fc.integer({ min: 0, max: 255 }),
    inSan: fc.boolean(),
  });

const SAN_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);

export function mutate(bases: readonly Buffer[], mutation: Mutation): Buffer {
  const base = bases[mutation.base]!;
  const san = base.indexOf(SAN_OID);
  // The extension's OID, its OCTET STRING and the GeneralNames inside, to the end of the extension.
  const [from, to] = mutation.inSan && san >= 0 ? [san, Math.min(base.length, san + 7 + base[san + 6]!)] : [0, base.length];
  const at = from + Math.floor((mutation.at / 1_000_000) * (to - from));
  switch (mutation.kind) {
    case 'flip': {
      const copy = Buffer.from(base);
      copy[at] = copy[at]! ^ (1 << (mutation.value % 8));
      return copy;
    }
    case 'set': {
      const copy = Buffer.from(base);
      copy[at] = mutation.value;
      return copy;
    }
    case 'delete':
      return Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]);
    case 'insert':
      return Buffer.concat([base.subarray(0, at), Buffer.from([mutation.value]), base.subarray(at)]);
    case 'truncate':
      return base.subarray(0, at);
  }
}

export interface Reading {
  readable: boolean;
  dnsNames: string[];
}

/** This client's reading; a DNS name is IA5, so each character stands for one byte, as openssl prints it. */
export function ourReading(der: Buffer): Reading {
  try {
    return { readable: true, dnsNames: describeCertificate(der).dnsNames };
  } catch {
    return { readable: false, dnsNames: [] };
  }
}

const GENERAL_NAME_PREFIXES = ['DNS:', 'othername:', 'email:', 'IP Address:', 'URI:', 'DirName:', 'Registered ID:', 'EdiPartyName:', 'X400Name:'];
const NEXT_ENTRY = new RegExp(`, (?=${GENERAL_NAME_PREFIXES.map((prefix) => prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);

/**
 * RFC 5280 4.2: whether an extension appears twice, by the headings of `openssl x509 -text` (each
 * extension's name or OID, indented by twelve spaces). OpenSSL marks a certificate with a repeated
 * standard extension invalid for verification.
 */
async function hasDuplicateExtension(path: string): Promise<boolean> {
  const { stdout } = await run('openssl', ['x509', '-inform', 'DER', '-in', path, '-noout', '-text'], { encoding: 'latin1' });
  const start = stdout.indexOf('        X509v3 extensions:\n');
  if (start < 0) return false;
  const end = stdout.indexOf('\n    Signature Algorithm:', start);
  const headings = [...stdout.slice(start, end < 0 ? undefined : end).matchAll(/^ {12}(\S[^\n]*?):(?: critical)? ?$/gm)].map((match) => match[1]);
  return new Set(headings).size !== headings.length;
}

/**
 * openssl's reading: the certificate is readable when `openssl x509` reads exactly these bytes (its
 * re-encoding is the input), its validity times, and no extension twice; when it has a
 * subjectAltName, it prints it as entries (what it cannot decode or print, a name with a NUL byte
 * included, it dumps as bytes).
 */
export async function opensslReading(der: Buffer, path: string): Promise<Reading> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, der);
  let stdout: string;
  try {
    ({ stdout } = await run('openssl', ['x509', '-inform', 'DER', '-in', path, '-dates', '-ext', 'subjectAltName', '-outform', 'PEM'], { encoding: 'latin1' }));
  } catch {
    return { readable: false, dnsNames: [] };
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(stdout)?.[1] ?? '';
  if (!Buffer.from(pem.replace(/\s+/g, ''), 'base64').equals(der)) return { readable: false, dnsNames: [] };
  // A validity time openssl cannot read makes the certificate unjudgeable (its verify refuses it too).
  if (/^not(Before|After)=Bad time value$/m.test(stdout)) return { readable: false, dnsNames: [] };
  if (await hasDuplicateExtension(path)) return { readable: false, dnsNames: [] };
  // The entries stand between the header and the PEM, indented by four spaces; a name may hold any byte.
  const header = /X509v3 Subject Alternative Name:(?: critical)? ?\n {4}/.exec(stdout);
  if (header === null) return { readable: true, dnsNames: [] };
  const entries = stdout.slice(header.index + header[0].length, stdout.indexOf('\n-----BEGIN CERTIFICATE-----'));
  if (entries !== '' && !GENERAL_NAME_PREFIXES.some((prefix) => entries.startsWith(prefix))) return { readable: false, dnsNames: [] };
  const dnsNames = entries === '' ? [] : entries.split(NEXT_ENTRY).filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4));
  return { readable: true, dnsNames };
}

export interface Disagreement {
  mutation: Mutation;
  ours: Reading;
  openssl: Reading;
  hex: string;
}

/**
 * Whether Node's own OpenSSL, the one its TLS client parses the peer's chain with, refuses the
 * bytes outright. The openssl command is a different OpenSSL build; where only it reads a
 * certificate, the client refusing it fails closed, and is counted apart from the disagreements.
 */
function runtimeRefuses(der: Buffer): boolean {
  try {
    new X509Certificate(der);
    return false;
  } catch {
    return true;
  }
}

/** Runs `count` seeded mutations through both readers, `parallel` openssl processes at a time. */
export async function compareReaders(options: {
  bases: readonly Buffer[];
  seed: number;
  count: number;
  parallel: number;
  workDir: string;
  onProgress?: (done: number) => void;
}): Promise<{ compared: number; readable: number; disagreements: Disagreement[]; runtimeRefusals: Disagreement[] }> {
  const mutations = fc.sample(mutationArbitrary(options.bases.length), { seed: options.seed, numRuns: options.count });
  const disagreements: Disagreement[] = [];
  const runtimeRefusals: Disagreement[] = [];
  let next = 0;
  let readable = 0;
  let done = 0;
  const worker = async (slot: number): Promise<void> => {
    for (;;) {
      const index = next++;
      const mutation = mutations[index];
      if (mutation === undefined) return;
      const der = mutate(options.bases, mutation);
      const ours = ourReading(der);
      const openssl = await opensslReading(der, join(options.workDir, `candidate-${slot}.der`));
      if (ours.readable) readable += 1;
      if (ours.readable !== openssl.readable || JSON.stringify(ours.dnsNames) !== JSON.stringify(openssl.dnsNames)) {
        const disagreement = { mutation, ours, openssl, hex: der.toString('hex') };
        if (!ours.readable && runtimeRefuses(der)) runtimeRefusals.push(disagreement);
        else disagreements.push(disagreement);
      }
      done += 1;
      if (done % 1000 === 0) options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, (_, slot) => worker(slot)));
  return { compared: mutations.length, readable, disagreements, runtimeRefusals };
}
