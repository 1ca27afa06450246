// A TLS listener that speaks just enough XMPP for a client to reach TLS: stream header, features
// with <starttls/>, <proceed/> (RFC 6120 5.4.2), or direct TLS (XEP-0368). It records every byte a
// client sends before and after TLS, the SNI it asked for and its ALPN, so tests can prove what a
// client did and did not send. Not a server to log in to: Prosody in the testbed is that.
import { once } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, TLSSocket, type TlsOptions } from 'node:tls';

export interface XmppListenerSpec {
  address: string;
  port: number;
  tls: 'starttls' | 'direct';
  /** Leaf first, then any intermediates, as PEM. */
  certPem: string;
  keyPem: string;
  /** false: features without <starttls/> (a server that would talk in the clear). */
  offerStartTls?: boolean;
  /** Serve certificates below security level 2 (weak keys and digests), for clients that must refuse them. */
  anySecurityLevel?: boolean;
}

export interface ObservedConnection {
  /** Everything the client wrote before TLS (empty for direct TLS). */
  beforeTls: string;
  /** Everything the client wrote inside TLS. */
  insideTls: string;
  servername: string | null;
  alpn: string | null;
  tlsVersion: string | null;
}

export interface XmppListener {
  connections: ObservedConnection[];
  stop(): Promise<void>;
}

const FEATURES_NS = "xmlns:stream='http://etherx.jabber.org/streams'";

export async function startXmppListener(spec: XmppListenerSpec): Promise<XmppListener> {
  const connections: ObservedConnection[] = [];
  const sockets = new Set<Socket>();
  const tlsOptions: TlsOptions = {
    cert: spec.certPem,
    key: spec.keyPem,
    ALPNProtocols: ['xmpp-client', 'xmpp-server'],
    ...(spec.anySecurityLevel ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
  };
  const context = createSecureContext(tlsOptions);

  const watchSecure = (secure: TLSSocket, observed: ObservedConnection): void => {
    secure.on('secure', () => {
      observed.alpn = typeof secure.alpnProtocol === 'string' ? secure.alpnProtocol : null;
      observed.tlsVersion = secure.getProtocol();
    });
    secure.on('data', (chunk: Buffer) => {
      observed.insideTls += chunk.toString('utf8');
    });
    secure.on('error', () => secure.destroy());
  };

  let server: Server;
  if (spec.tls === 'direct') {
    server = createTlsServer(tlsOptions, (secure) => {
      const observed: ObservedConnection = { beforeTls: '', insideTls: '', servername: null, alpn: null, tlsVersion: null };
      connections.push(observed);
      observed.servername = typeof secure.servername === 'string' ? secure.servername : null;
      observed.alpn = typeof secure.alpnProtocol === 'string' ? secure.alpnProtocol : null;
      observed.tlsVersion = secure.getProtocol();
      secure.on('data', (chunk: Buffer) => {
        observed.insideTls += chunk.toString('utf8');
      });
      secure.on('error', () => secure.destroy());
    });
  } else {
    server = createTcpServer((socket) => {
      const observed: ObservedConnection = { beforeTls: '', insideTls: '', servername: null, alpn: null, tlsVersion: null };
      connections.push(observed);
      socket.on('error', () => socket.destroy());
      let featuresSent = false;
      const onData = (chunk: Buffer) => {
        observed.beforeTls += chunk.toString('utf8');
        if (observed.beforeTls.includes('<stream:stream') && !observed.beforeTls.includes('<starttls')) {
          if (!featuresSent) {
            featuresSent = true;
            const starttls = spec.offerStartTls === false ? '' : "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>";
            socket.write(
              `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ${FEATURES_NS} id='test' from='test' version='1.0'>` +
                `<stream:features>${starttls}</stream:features>`,
            );
          }
        }
        if (observed.beforeTls.includes('<starttls')) {
          socket.off('data', onData);
          socket.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", () => {
            const secure = new TLSSocket(socket, {
              isServer: true,
              secureContext: context,
              ALPNProtocols: ['xmpp-client', 'xmpp-server'],
              SNICallback: (name, done) => {
                observed.servername = name;
                done(null, context);
              },
            });
            watchSecure(secure, observed);
          });
        }
      };
      socket.on('data', onData);
    });
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, spec.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    connections,
    stop: () => closeServer(server, sockets),
  };
}

/** Stops listening and ends the connections still open, so no test waits on a peer's goodbye. */
export async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  for (const socket of sockets) socket.destroy();
  await closed;
}
