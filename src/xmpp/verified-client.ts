// An xmpp.js client whose only way onto the network is a socket that the DNA pipeline has already
// proven: connect() asks the session for the verified TLS socket instead of dialling anything, so
// xmpp.js opens (and restarts) its stream on TLS whose certificate passed the verdict, and on
// nothing else.
import type { TLSSocket } from 'node:tls';
import { Client } from '@xmpp/client-core';
import ConnectionTCP from '@xmpp/connection-tcp';
import { Parser } from '@xmpp/xml';

/** The framing of a client stream over TCP (jabber:client, stream header and footer). */
class ClientStream extends ConnectionTCP {}
(ClientStream.prototype as unknown as { NS: string }).NS = 'jabber:client';

/** Supplies the verified socket for the next connection; throws when the server was not proven. */
export type VerifiedSocketSource = () => Promise<TLSSocket>;

export class VerifiedClient extends Client {
  readonly #source: VerifiedSocketSource;

  constructor(options: { domain: string; lang?: string; timeout?: number }, source: VerifiedSocketSource) {
    // `service` only names the transport for xmpp.js' own bookkeeping: no URL is ever dialled.
    super({ ...options, service: `xmpp://${options.domain}` });
    this.#source = source;
    this.Transport = ClientStream;
    this.Parser = Parser;
  }

  override async connect(service: string): Promise<void> {
    this.Transport = ClientStream;
    this.Parser = Parser;
    this._status('connecting', service);
    const socket = await this.#source();
    // xmpp.js reads `secure` to decide whether the stream is protected (RFC 6120 4.7.1 `from`).
    Object.defineProperty(socket, 'secure', { value: true, configurable: true });
    this._attachSocket(socket);
    this._status('connect');
  }
}
