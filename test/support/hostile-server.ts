// A scripted XMPP server on loopback for the faults a real server does not produce: it speaks
// just enough XMPP for the client to come online (direct TLS with a certificate the client trusts,
// PLAIN inside that TLS, resource binding, an empty roster), then runs a script that writes
// whatever a hostile server would. A STARTTLS variant misbehaves before TLS instead. Everything
// the client sends is recorded. The server's own parser is ltx's (the client's output is well-formed).
import { once } from 'node:events';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Parser, type Element } from '@xmpp/xml';
import type { ResolveDelegation } from '../../src/lookup/delegation.ts';
import { poshUrl } from '../../src/lookup/posh-fetch.ts';
import { closeServer } from './xmpp-tls-listener.ts';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_ROSTER = 'jabber:iq:roster';
const NS_SM = 'urn:xmpp:sm:3';

export interface HostileConnection {
  /** Writes exactly these bytes inside TLS (one write: one or more TLS records of its own). */
  write(data: string | Buffer): Promise<void>;
  /** Everything the client wrote after authenticating, as text. */
  readonly received: string;
  /** Elements the client sent on its final stream, in order. */
  readonly elements: Element[];
  /** Resolves when the client's socket has closed. */
  readonly closed: Promise<void>;
}

export interface HostileScript {
  /** What the roster request is answered with: written as is (default: an empty roster result). */
  rosterReply?: (id: string) => string;
  /** Runs once the client has sent its initial presence (it is online). */
  online: (connection: HostileConnection) => Promise<void> | void;
  /** Offers XEP-0198 stream management and enables it when asked (no resumption). */
  streamManagement?: boolean;
  /** Never closes its side: ignores the client's stream footer and its FIN. */
  neverClose?: boolean;
  /** The JID resource binding answers with (default: the client's JID with resource "hostile"). */
  boundJid?: string;
  /** Offers resource binding at once, with no SASL at all (a server that never authenticates the user). */
  skipAuthentication?: boolean;
}

export interface HostileServer {
  readonly port: number;
  /** Connections so far, in order. */
  readonly connections: HostileConnection[];
  stop(): Promise<void>;
}

/** For clients of this server, whose lookups are not under test: the account's manual host is the one candidate, POSH absent. */
export const manualHostOnly: ResolveDelegation = async (domain, service, options) => ({
  domain,
  service,
  srv: { records: [], candidates: [...(options.manualCandidates ?? [])], error: null },
  posh: {
    domain, service, url: poshUrl(domain, service), status: 'absent', error: null, steps: [],
    fingerprints: [], expires: null, fetchedAt: null, expiresAt: null, fromCache: false,
  },
  prefetched: new Map(),
});

const header = (domain: string): string =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='${domain}' id='h${Date.now()}' version='1.0'>`;

function serveTls(socket: TLSSocket, domain: string, jid: string, script: HostileScript, connections: HostileConnection[]): void {
  let parser = new Parser();
  let authenticated = script.skipAuthentication ?? false;
  let announced = false;
  let received = '';
  const elements: Element[] = [];
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  socket.once('close', () => markClosed());
  socket.on('error', () => undefined);
  const send = (text: string): void => {
    if (!socket.destroyed) socket.write(text);
  };
  const connection: HostileConnection = {
    write: (data) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.write(data, () => resolve());
      }),
    get received() {
      return received;
    },
    elements,
    closed,
  };
  connections.push(connection);

  const onElement = (element: Element): void => {
    if (authenticated) elements.push(element);
    if (element.is('enable', NS_SM) && script.streamManagement) {
      send(`<enabled xmlns='${NS_SM}' id='sm-1'/>`);
      return;
    }
    if (element.is('auth', NS_SASL)) {
      authenticated = true;
      attach(new Parser());
      send(`<success xmlns='${NS_SASL}'/>`);
      return;
    }
    if (element.name !== 'iq' && element.name !== 'presence') return;
    const id = element.attrs.id ?? '';
    if (element.getChild('bind', NS_BIND)) {
      send(`<iq type='result' id='${id}'><bind xmlns='${NS_BIND}'><jid>${script.boundJid ?? `${jid}/hostile`}</jid></bind></iq>`);
    } else if (element.getChild('query', NS_ROSTER) && element.attrs.type === 'get') {
      send(script.rosterReply ? script.rosterReply(id) : `<iq type='result' id='${id}'><query xmlns='${NS_ROSTER}'/></iq>`);
    } else if (element.name === 'iq' && (element.attrs.type === 'get' || element.attrs.type === 'set')) {
      send(`<iq type='result' id='${id}'/>`);
    } else if (element.name === 'presence' && !element.attrs.to && !announced) {
      announced = true;
      void Promise.resolve(script.online(connection)).catch(() => socket.destroy());
    }
  };
  const attach = (next: Parser): void => {
    parser.removeAllListeners();
    parser = next;
    parser.on('start', () => {
      send(header(domain));
      send(
        authenticated
          ? `<stream:features><bind xmlns='${NS_BIND}'/>${script.streamManagement ? `<sm xmlns='${NS_SM}'/>` : ''}</stream:features>`
          : `<stream:features><mechanisms xmlns='${NS_SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`,
      );
    });
    parser.on('element', onElement);
    parser.on('end', () => {
      if (script.neverClose) return;
      send('</stream:stream>');
      socket.end();
    });
    parser.on('error', () => undefined);
  };
  attach(parser);
  // The server is half-open; a polite one closes its side when the client does.
  socket.on('end', () => {
    if (!script.neverClose) socket.end();
  });
  socket.on('data', (chunk: Buffer) => {
    if (authenticated) received += chunk.toString('utf8');
    try {
      parser.write(chunk.toString('utf8'));
    } catch {
      // The client's stream error or footer after a restart: nothing to answer.
    }
  });
}

/** Where the server listens, whom it serves (`jid`, of `domain`), and with which certificate. */
export interface HostileEndpoint {
  address: string;
  port: number;
  domain: string;
  jid: string;
  certPem: string;
  keyPem: string;
}

/** Direct TLS (XEP-0368) with `certPem`/`keyPem`, for `jid`'s domain; the script takes over once the client is online. */
export async function startHostileServer(options: HostileEndpoint & { script: HostileScript }): Promise<HostileServer> {
  const connections: HostileConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: options.certPem, key: options.keyPem, ALPNProtocols: ['xmpp-client'], allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveTls(socket, options.domain, options.jid, options.script, connections);
  });
  return listen(server, options.address, options.port, sockets, connections);
}

/** STARTTLS whose pre-TLS stream is `reply` (written once the client's stream header arrives). */
export async function startHostilePlaintext(options: { address: string; port: number; reply: string | Buffer }): Promise<HostileServer & { beforeTls: () => string }> {
  const sockets = new Set<Socket>();
  let beforeTls = '';
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      beforeTls += chunk.toString('utf8');
      if (!answered && beforeTls.includes('<stream:stream')) {
        answered = true;
        socket.write(options.reply);
      }
    });
  });
  const running = await listen(server, options.address, options.port, sockets, []);
  return { ...running, beforeTls: () => beforeTls };
}

async function listen(server: Server, address: string, port: number, sockets: Set<Socket>, connections: HostileConnection[]): Promise<HostileServer> {
  server.listen(port, address);
  await once(server, 'listening');
  return {
    port,
    connections,
    stop: () => closeServer(server, sockets),
  };
}
