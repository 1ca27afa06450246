// A man in the middle between a client and an XMPP server's direct TLS port, for the login tests:
// it holds the very certificate the server presents (so the client's verdict accepts it), opens
// its own TLS to the server, and may rewrite what either side says. A real part cannot be made to
// do this, so it is scripted.
import type { AddressInfo, Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { IssuedCertificate } from '../../src/testbed/index.ts';

export interface Upstream {
  host: string;
  port: number;
  /** The SNI name the client would send. */
  servername: string;
  /** What the server presents: the middleman presents the same. */
  certificate: IssuedCertificate;
}

export interface Rewrites {
  fromServer: (text: string) => string;
  fromClient: (text: string) => string;
}

/** Where the middleman listens (a loopback address of its own). */
const ADDRESS = '127.0.50.77';

/** Runs `work` with the middleman listening; `work` gets the manual host to give the client. */
export async function withMiddleman(upstream: Upstream, rewrite: Rewrites | null, work: (manual: { host: string; port: number; directTls: boolean }) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const proxy = createTlsServer({ cert: upstream.certificate.certPem, key: upstream.certificate.keyPem, ALPNProtocols: ['xmpp-client'] }, (client) => {
    const server = tlsConnect({ host: upstream.host, port: upstream.port, servername: upstream.servername, ALPNProtocols: ['xmpp-client'], rejectUnauthorized: false });
    sockets.add(client).add(server);
    if (rewrite) {
      server.on('data', (chunk: Buffer) => client.write(rewrite.fromServer(chunk.toString('utf8'))));
      client.on('data', (chunk: Buffer) => server.write(rewrite.fromClient(chunk.toString('utf8'))));
    } else {
      client.pipe(server).pipe(client);
    }
    const close = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, ADDRESS, resolve));
  try {
    await work({ host: ADDRESS, port: (proxy.address() as AddressInfo).port, directTls: true });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
}
