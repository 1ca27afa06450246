// An xmpp.js client whose only way onto the network is a socket that the pipeline has already
// proven: connect() asks the session for the verified TLS socket instead of dialling anything, so
// xmpp.js opens (and restarts) its stream on TLS whose certificate passed the verdict, and on
// nothing else. Its streams are read by the hardened parser (stream-parser.ts): whatever the
// server sends, a violation ends the stream with its own condition and reaches the session as
// one error, and nothing is thrown inside a socket handler.
import type { TLSSocket } from 'node:tls';
import { Client } from '@xmpp/client-core';
import ConnectionTCP from '@xmpp/connection-tcp';
import { xml, type Element } from '@xmpp/xml';
import { bareJid, canonicalBareJid, resourceOf } from './jid.ts';
import { NS_SASL2 } from './scram.ts';
import { XmppStreamParser, type StreamLimits, type StreamViolation } from './stream-parser.ts';

const NS_BIND2 = 'urn:xmpp:bind:0';
const NS_SM = 'urn:xmpp:sm:3';
const NS_STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams';
/** How long a stream the client ended may take to close before its socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Bytes read per turn of the event loop, and waiting bytes past which the socket is paused. */
const SLICE_BYTES = 32 * 1024;
const INBOX_PAUSE_BYTES = 4 * SLICE_BYTES;

/** Bytes of one socket not read yet, in order. */
interface Inbox {
  socket: TLSSocket;
  chunks: Buffer[];
  bytes: number;
  scheduled: boolean;
}

/** The framing of a client stream over TCP (jabber:client, stream header and footer). */
class ClientStream extends ConnectionTCP {}
(ClientStream.prototype as unknown as { NS: string }).NS = 'jabber:client';

/** Supplies the verified socket for the next connection; throws when the server was not proven. */
export type VerifiedSocketSource = () => Promise<TLSSocket>;

export class VerifiedClient extends Client {
  readonly #source: VerifiedSocketSource;
  readonly #limits: Partial<StreamLimits>;
  readonly #account: string;
  #inbox: Inbox | null = null;
  /** A SASL2 <success/> is being read: its authorization identifier may be the bare JID (XEP-0388 7.3.2). */
  #sasl2Success = false;

  constructor(
    options: { account: string; domain: string; lang?: string; timeout?: number; streamLimits?: Partial<StreamLimits> },
    source: VerifiedSocketSource,
  ) {
    // `service` only names the transport for xmpp.js' own bookkeeping: no URL is ever dialled.
    const { streamLimits, account, ...clientOptions } = options;
    super({ ...clientOptions, service: `xmpp://${options.domain}` });
    this.#source = source;
    this.#limits = streamLimits ?? {};
    this.#account = canonicalBareJid(account);
    this.Transport = ClientStream;
    this.Parser = this.#parserClass();
    // Registered first, so it runs before @xmpp/sasl2 reads the same <success/> and calls _jid.
    // XEP-0388 7.3.2: bare only when nothing was bound or resumed in it.
    const onSasl2Success = (element: Element): void => {
      this.#sasl2Success = element.is('success', NS_SASL2) && !element.getChild('bound', NS_BIND2) && !element.getChild('resumed', NS_SM);
    };
    this.on('nonza', onSasl2Success);
    // Every other 'nonza' listener belongs to one SASL exchange (@xmpp/events' procedure, our
    // SCRAM). One the last server never finished must not answer the next server's challenge.
    this.on('status', (status: string) => {
      if (status !== 'connecting') return;
      for (const listener of this.listeners('nonza')) {
        if (listener !== onSasl2Success) this.removeListener('nonza', listener as (element: Element) => void);
      }
    });
  }

  /** xmpp.js makes `new this.Parser()` for every stream; each gets this client's limits. */
  #parserClass(): new () => XmppStreamParser {
    const limits = this.#limits;
    return class extends XmppStreamParser {
      constructor() {
        super(limits);
      }
    };
  }

  override async connect(service: string): Promise<void> {
    this.Transport = ClientStream;
    this.Parser = this.#parserClass();
    this._status('connecting', service);
    const socket = await this.#source();
    // xmpp.js reads `secure` to decide whether the stream is protected (RFC 6120 4.7.1 `from`).
    Object.defineProperty(socket, 'secure', { value: true, configurable: true });
    this._attachSocket(socket);
    this._status('connect');
  }

  /**
   * RFC 6120 4.7.1: inside TLS the client names itself in `from`, from the first header on (every
   * stream here is inside verified TLS); XEP-0484 servers offer FAST only to a stream that does.
   */
  override header(headerElement: Element, ...rest: unknown[]): string {
    headerElement.attrs['from'] = this.#account;
    return super.header(headerElement, ...rest);
  }

  override _attachParser(parser: unknown): void {
    super._attachParser(parser);
    (parser as XmppStreamParser).on('violation', (violation: StreamViolation) => {
      this.#abandonStream(violation.condition);
      this.emit('error', violation);
    });
  }

  /**
   * RFC 6120 4.9.1.1: the stream error and the footer, then the socket. A parser that stopped
   * reading never sees the server's footer, so nothing is waited for: the socket is ended and, if
   * the server keeps it open, destroyed after a moment.
   */
  #abandonStream(condition: string): void {
    const socket = this.socket as TLSSocket | null;
    this._detachParser();
    // xmpp.js writes nothing more once closing: replies still on their way would land after the
    // socket's end, and Node would destroy it before the stream error is out.
    this._status('closing');
    if (!socket || socket.destroyed) return;
    socket.end(`<stream:error><${condition} xmlns='${NS_STREAM_ERRORS}'/></stream:error></stream:stream>`);
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** A socket that does not close when asked (the server keeps its side open) is destroyed, not left behind. */
  override async _closeSocket(timeout?: number): Promise<void> {
    const socket = this.socket as TLSSocket | null;
    try {
      await super._closeSocket(timeout);
    } finally {
      socket?.destroy();
    }
  }

  /** A stream error whose condition is missing (RFC 6120 4.9.2 requires one) is undefined-condition, not a crash in xmpp.js. */
  override _onStreamError(element: Element): void {
    const condition = element.getChildElements().find((child) => child.attrs.xmlns === NS_STREAM_ERRORS && child.name !== 'text');
    if (condition && element.getChildElements()[0] === condition) return super._onStreamError(element);
    const text = element.getChild('text', NS_STREAM_ERRORS);
    super._onStreamError(xml('stream:error', {}, condition ?? xml('undefined-condition', { xmlns: NS_STREAM_ERRORS }), text ?? null));
  }

  /** RFC 6120 7.6.1: the bound JID is the account's bare JID with a resource; any other is refused. */
  override _jid(id: string): ReturnType<Client['_jid']> {
    // Only SASL2's authorization identifier may be bare (no resource bound yet); a bound JID never.
    const bareAllowed = this.#sasl2Success;
    this.#sasl2Success = false;
    const resourceMissing = typeof id === 'string' && resourceOf(id) === '' && !bareAllowed;
    if (typeof id !== 'string' || resourceMissing || bareJid(id).split('@').length !== 2 || canonicalBareJid(id) !== this.#account) {
      const shown = typeof id === 'string' ? (id.length > 80 ? `${id.slice(0, 80)}…` : id) : 'nothing';
      throw new Error(`the server bound this session to ${shown}, which is not a resource of ${this.#account}`);
    }
    return super._jid(id);
  }

  /**
   * The bytes as they arrive, read a slice per turn of the event loop: libuv hands over up to 2 MB
   * of a busy socket in one callback, and a roster of thousands coming online must not hold the
   * loop for all of it. While more than a few slices wait, the socket is paused (the server waits
   * in TCP, not in our memory). The parser decodes UTF-8 across slices itself.
   */
  override _onData(data: Buffer): void {
    const socket = this.socket as TLSSocket | null;
    if (!socket) return;
    if (this.#inbox?.socket !== socket) this.#inbox = { socket, chunks: [], bytes: 0, scheduled: false };
    const inbox = this.#inbox;
    inbox.chunks.push(data);
    inbox.bytes += data.length;
    if (inbox.bytes > INBOX_PAUSE_BYTES) socket.pause();
    if (!inbox.scheduled) {
      inbox.scheduled = true;
      setImmediate(() => this.#readSlice(inbox));
    }
  }

  #readSlice(inbox: Inbox): void {
    inbox.scheduled = false;
    // A socket replaced or a parser gone (the stream ended): what was left of it is no one's to read.
    if (this.#inbox !== inbox || this.socket !== inbox.socket || !this.parser) {
      inbox.chunks.length = 0;
      inbox.bytes = 0;
      // Still read (and drop) what comes, so that the server's close is seen.
      if (inbox.socket.isPaused()) inbox.socket.resume();
      return;
    }
    let budget = SLICE_BYTES;
    while (budget > 0 && inbox.chunks.length > 0 && this.parser) {
      let chunk = inbox.chunks[0]!;
      if (chunk.length > budget) {
        inbox.chunks[0] = chunk.subarray(budget);
        chunk = chunk.subarray(0, budget);
      } else {
        inbox.chunks.shift();
      }
      inbox.bytes -= chunk.length;
      budget -= chunk.length;
      (this.parser as XmppStreamParser).write(chunk);
    }
    if (inbox.chunks.length > 0) {
      inbox.scheduled = true;
      setImmediate(() => this.#readSlice(inbox));
    } else if (inbox.socket.isPaused()) {
      inbox.socket.resume();
    }
  }
}
