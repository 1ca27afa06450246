// SASL choices a real Prosody never shows: a verified server that offers only PLAIN (used as the
// last resort, inside the verified TLS), and one that offers nothing this client accepts (no
// password leaves). A scripted direct-TLS server on an ephemeral loopback port, with a certificate
// that proves plain.example under PKIX through this test's own CA.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { createAuthority, scratchDir, type CertificateAuthority, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { XmppSession } from '../../src/xmpp/session.ts';
import { useTestbed } from '../support/use-testbed.ts';

const DOMAIN = 'plain.example';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='${DOMAIN}' id='s1' version='1.0'>`;

let testbed: TestbedControl;
let release: () => Promise<void>;
let scratch: { dir: string; remove: () => Promise<void> };
let ca: CertificateAuthority;
let leaf: IssuedCertificate;
beforeAll(async () => {
  ({ testbed, release } = await useTestbed());
  scratch = await scratchDir('sasl-fallback');
  ca = await createAuthority(scratch.dir);
  leaf = await ca.issue({ name: 'plain', dnsNames: [DOMAIN] });
});
afterAll(async () => {
  await scratch.remove();
  await release();
});

/** A server offering `mechanisms`; it records each decoded <auth/> and accepts alice/wonderland over PLAIN. */
async function scriptedServer(mechanisms: string[]): Promise<{ server: Server; port: number; auths: string[] }> {
  const auths: string[] = [];
  const server = createServer({ cert: leaf.certPem + ca.certPem, key: leaf.keyPem }, (socket: TLSSocket) => {
    let buffer = '';
    let authenticated = false;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (buffer.includes('</stream:stream>')) {
          socket.end('</stream:stream>');
          return;
        }
        const header = buffer.match(/<stream:stream[^>]*>/);
        const auth = buffer.match(/<auth[^>]*>([^<]*)<\/auth>/);
        const iq = buffer.match(/<iq[^>]*id=['"]([^'"]+)['"][^>]*>[\s\S]*?<\/iq>/);
        if (header) {
          buffer = buffer.slice((header.index ?? 0) + header[0].length);
          const features = authenticated
            ? `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>`
            : `<mechanisms xmlns='${NS_SASL}'>${mechanisms.map((name) => `<mechanism>${name}</mechanism>`).join('')}</mechanisms>`;
          socket.write(`${HEADER}<stream:features>${features}</stream:features>`);
        } else if (auth) {
          buffer = buffer.slice((auth.index ?? 0) + auth[0].length);
          const decoded = Buffer.from(auth[1] ?? '', 'base64').toString('utf8');
          auths.push(decoded);
          authenticated = decoded === '\u0000alice\u0000wonderland';
          socket.write(authenticated ? `<success xmlns='${NS_SASL}'/>` : `<failure xmlns='${NS_SASL}'><not-authorized/></failure>`);
        } else if (iq) {
          buffer = buffer.slice((iq.index ?? 0) + iq[0].length);
          const bind = iq[0].includes('xmpp-bind') ? `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@${DOMAIN}/fallback</jid></bind>` : '';
          socket.write(`<iq type='result' id='${iq[1]}'>${bind}</iq>`);
        } else {
          return;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, auths };
}

function session(port: number, password: string): XmppSession {
  return new XmppSession({
    jid: `alice@${DOMAIN}`,
    password: () => password,
    resolver: createResolver({ server: testbed.dnsServer }),
    trust: trustStore([ca.certPem]),
    manual: { host: '127.0.0.1', port, directTls: true },
    poshTimeoutMs: 1000,
    attemptTimeoutMs: 5000,
  });
}

it.each([
  ['RFC 6120 6.3.3: with no SCRAM offered, PLAIN is the last resort inside verified TLS (OK_PKIX)', ['PLAIN', 'DIGEST-MD5'], 'online', ['\u0000alice\u0000wonderland'], null],
  ['RFC 6120 6.4.5: nothing acceptable offered is AUTH_NO_SCRAM, and no password leaves', ['DIGEST-MD5', 'X-OAUTH2'], 'auth-failed', [], 'AUTH_NO_SCRAM'],
])('%s', async (_rule, mechanisms, state, auths, code) => {
  const server = await scriptedServer(mechanisms);
  const client = session(server.port, 'wonderland');
  try {
    expect(await client.start()).toBe(state);
    expect(client.lastReport?.verdict.code).toBe('OK_PKIX');
    expect(client.problem?.code ?? null).toBe(code);
    expect(server.auths).toEqual(auths);
    if (state === 'online') expect(client.fullJid).toBe(`alice@${DOMAIN}/fallback`);
  } finally {
    await client.stop();
    server.server.close();
  }
});
