// What a -PLUS login binds to (src/xmpp/channel-binding.ts), over real TLS on loopback: one row
// per rule of RFC 9266 (tls-exporter) and RFC 5929 (tls-server-end-point).
import { createHash, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSigned, scratchDir, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { channelBindingOf, endPointBinding, endPointHashOf } from '../../src/xmpp/channel-binding.ts';

describe('RFC 5929 4.1: the hash of tls-server-end-point', () => {
  it.each([
    ['sha256WithRSAEncryption', 'sha256'],
    ['ecdsa-with-SHA384', 'sha384'],
    ['sha512WithRSAEncryption', 'sha512'],
    ['sha1WithRSAEncryption', 'sha256'],
    ['md5WithRSAEncryption', 'sha256'],
    ['ecdsa-with-SHA1', 'sha256'],
    // The names Node 24 gives them: no single hash, so RFC 5929 4.1 defines no binding.
    ['ED25519', null],
    ['ED448', null],
    ['rsassaPss', null],
    [undefined, null],
  ])('%s: %s', (algorithm, hash) => {
    expect(endPointHashOf(algorithm)).toBe(hash);
  });
});

describe('the binding of a real TLS channel', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  const certificates: Record<string, IssuedCertificate> = {};
  beforeAll(async () => {
    scratch = await scratchDir('channel-binding-');
    for (const digest of ['sha256', 'sha1'] as const) {
      certificates[digest] = await createSelfSigned(scratch.dir, { name: `server-${digest}`, commonName: 'xmpp.test', dnsNames: ['xmpp.test'], digest });
    }
  });
  afterAll(async () => scratch.remove());

  /** A TLS server on loopback and a client of it; resolves with both ends once the handshake is done. */
  async function channel(certificate: IssuedCertificate, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<{ client: TLSSocket; server: TLSSocket; close: () => void }> {
    let serverSide!: TLSSocket;
    const listener = createServer({ cert: certificate.certPem, key: certificate.keyPem, maxVersion });
    const accepted = new Promise<void>((resolve) => {
      listener.once('secureConnection', (socket: TLSSocket) => {
        serverSide = socket;
        resolve();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.61.1', resolve));
    const client = connect({ host: '127.0.61.1', port: (listener.address() as AddressInfo).port, servername: 'xmpp.test', rejectUnauthorized: false });
    await Promise.all([new Promise((resolve) => client.once('secureConnect', resolve)), accepted]);
    return {
      client,
      server: serverSide,
      close: () => {
        client.destroy();
        serverSide.destroy();
        listener.close();
      },
    };
  }

  it('RFC 9266 2: on TLS 1.3 the binding is the exporter both ends compute (and the listed types allow it)', async () => {
    const { client, server, close } = await channel(certificates.sha256!, 'TLSv1.3');
    try {
      const binding = channelBindingOf(client, ['tls-exporter', 'tls-server-end-point']);
      expect(binding?.type).toBe('tls-exporter');
      expect(binding?.data).toEqual(server.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)));
      expect(channelBindingOf(client, null)?.type, 'XEP-0440 absent: tls-exporter assumed on TLS 1.3').toBe('tls-exporter');
    } finally {
      close();
    }
  });

  it.each([
    { rule: 'RFC 5929 4.1: a SHA-256 certificate is hashed with SHA-256', digest: 'sha256', hash: 'sha256' },
    { rule: 'RFC 5929 4.1: a SHA-1 certificate is hashed with SHA-256, not SHA-1', digest: 'sha1', hash: 'sha256' },
  ])('$rule (TLS 1.2, the server lists tls-server-end-point)', async ({ digest, hash }) => {
    const certificate = certificates[digest]!;
    const { client, close } = await channel(certificate, 'TLSv1.2');
    try {
      const binding = channelBindingOf(client, ['tls-unique', 'tls-server-end-point']);
      expect(binding).toEqual({ type: 'tls-server-end-point', data: createHash(hash).update(certificate.der).digest() });
      expect(endPointBinding(new X509Certificate(certificate.der))).toEqual(binding);
    } finally {
      close();
    }
  });

  it.each([
    { rule: 'RFC 9266 3: tls-exporter is not used below TLS 1.3, and the server lists nothing else', listed: ['tls-exporter'], version: 'TLSv1.2' as const },
    { rule: 'XEP-0440: a server that lists only tls-unique gets no binding (undefined on TLS 1.3, unsafe on 1.2)', listed: ['tls-unique'], version: 'TLSv1.2' as const },
    { rule: 'XEP-0440: on TLS 1.3 a list without tls-exporter or tls-server-end-point gets none', listed: ['tls-unique'], version: 'TLSv1.3' as const },
  ])('$rule', async ({ listed, version }) => {
    const { client, close } = await channel(certificates.sha256!, version);
    try {
      expect(channelBindingOf(client, listed)).toBeNull();
    } finally {
      close();
    }
  });

  it('XEP-0440: on TLS 1.3 where only tls-server-end-point is listed, that is what binds', async () => {
    const { client, close } = await channel(certificates.sha256!, 'TLSv1.3');
    try {
      expect(channelBindingOf(client, ['tls-server-end-point'])?.type).toBe('tls-server-end-point');
    } finally {
      close();
    }
  });
});
