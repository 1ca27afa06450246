// Types for the xmpp.js 0.14 packages that compose a client; the packages ship none.
declare module '@xmpp/client-core' {
  import { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/xml';

  export class Client extends EventEmitter {
    constructor(options: { service: string; domain: string; lang?: string; timeout?: number });
    transports: unknown[];
    status: string;
    jid: { toString(): string; bare(): { toString(): string } } | null;
    options: { service: string; domain: string; lang?: string; timeout?: number };
    timeout: number;
    socket: unknown;
    /** Internal to xmpp.js: the transport class whose prototype sends, frames and parses. */
    Transport: unknown;
    Socket: unknown;
    Parser: unknown;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    disconnect(timeout?: number): Promise<unknown>;
    send(element: Element): Promise<void>;
    sendMany(elements: Element[]): Promise<void>;
    restart(): Promise<void>;
    connect(service: string): Promise<unknown>;
    open(options: { domain: string; lang?: string }): Promise<unknown>;
    isSecure(): boolean;
    /** The stream header as text, from the element open() built (to, xml:lang, and from once secure). */
    header(headerElement: Element, ...rest: unknown[]): string;
    /** Internal to xmpp.js: subscribes the connection to a socket's data, close and error events. */
    _attachSocket(socket: unknown): void;
    _detachSocket(): void;
    /** Internal to xmpp.js: the parser of the stream now, and how the connection follows one. */
    parser: unknown;
    _attachParser(parser: unknown): void;
    _detachParser(): void;
    /** Internal to xmpp.js: ends the socket and waits for its close (rejects after `timeout`). */
    _closeSocket(timeout?: number): Promise<void>;
    _onData(data: Buffer): void;
    /** Internal to xmpp.js: reports a received <stream:error/> (see-other-host, or an 'error' event). */
    _onStreamError(element: Element): void;
    /** Internal to xmpp.js: takes the bound JID (resource binding). */
    _jid(id: string): { toString(): string; bare(): { toString(): string } };
    /** Internal to xmpp.js: sends <stream:error><condition/></stream:error> and disconnects. */
    _streamError(condition: string): Promise<unknown>;
    _status(status: string, ...args: unknown[]): void;
    _ready(resumed?: boolean): void;
    hook(event: 'close', handler: () => Promise<void>): void;
  }
  export function xml(name: string, attrs?: Record<string, string | number | undefined> | null, ...children: unknown[]): Element;
}

declare module '@xmpp/connection-tcp' {
  import { Client } from '@xmpp/client-core';

  /** The TCP framing of an XMPP stream (header, footer, sendMany). */
  export default class ConnectionTCP extends Client {}
}

declare module '@xmpp/stream-management' {
  import { EventEmitter } from 'node:events';
  import type { Client } from '@xmpp/client-core';
  import type { Middleware } from '@xmpp/middleware';
  import type { StreamFeatures } from '@xmpp/stream-features';

  export const NS: string;
  export interface StreamManagement extends EventEmitter {
    enabled: boolean;
    /** An <enable/> went out on this stream and its answer has not come yet. */
    enableSent: boolean;
    id: string;
    outbound: number;
    inbound: number;
    outbound_q: Array<{ stanza: import('@xmpp/xml').Element; stamp: string }>;
    timeout: number;
    requestAckInterval: number;
  }
  export default function streamManagement(dependencies: {
    streamFeatures: StreamFeatures;
    entity: Client;
    middleware: Middleware;
    /** XEP-0388 and XEP-0386: resumption inside <authenticate/>, enabling inside <bind/>. */
    sasl2?: import('@xmpp/sasl2').Sasl2;
    bind2?: import('@xmpp/client-core/src/bind2/bind2.js').Bind2;
  }): StreamManagement;
}

declare module '@xmpp/id' {
  export default function id(): string;
}

declare module '@xmpp/tcp' {
  import type { Client } from '@xmpp/client-core';

  export default function tcp(dependencies: { entity: Client }): void;
}

declare module '@xmpp/middleware' {
  import type { Client } from '@xmpp/client-core';
  import type { Element } from '@xmpp/xml';

  /** What a middleware handler sees of one stanza or nonza. */
  export interface IncomingContext {
    stanza: Element;
    entity: Client;
    name: string;
    id: string;
    type: string;
    from: { toString(): string; bare(): { toString(): string }; resource: string } | null;
    to: { toString(): string } | null;
    local: string;
    domain: string;
    resource: string;
  }
  export interface Middleware {
    use(handler: (context: IncomingContext, next: () => Promise<unknown>) => unknown): unknown;
    filter(handler: (context: IncomingContext, next: () => Promise<unknown>) => unknown): unknown;
  }
  export default function middleware(dependencies: { entity: Client }): Middleware;
}

declare module '@xmpp/stream-features' {
  import type { Middleware } from '@xmpp/middleware';

  export interface StreamFeatures {
    use(name: string, xmlns: string, handler: (context: unknown, next: () => Promise<unknown>, feature: unknown) => unknown): unknown;
  }
  export default function streamFeatures(dependencies: { middleware: Middleware }): StreamFeatures;
}

declare module '@xmpp/iq/caller.js' {
  import type { Client } from '@xmpp/client-core';
  import type { Middleware } from '@xmpp/middleware';
  import type { Element } from '@xmpp/xml';

  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
    get(element: Element, to?: string, timeout?: number): Promise<Element>;
    set(element: Element, to?: string, timeout?: number): Promise<Element>;
  }
  export default function iqCaller(dependencies: { entity: Client; middleware: Middleware }): IqCaller;
}

declare module '@xmpp/resource-binding' {
  import type { StreamFeatures } from '@xmpp/stream-features';
  import type { Element } from '@xmpp/xml';

  export default function resourceBinding(
    dependencies: { streamFeatures: StreamFeatures; iqCaller: { set(element: Element, to?: string, timeout?: number): Promise<Element | undefined> } },
    resource?: string | (() => string | Promise<string>),
  ): void;
}

declare module '@xmpp/middleware/lib/StanzaError.js' {
  import type { Element } from '@xmpp/xml';

  /** An <error/> answer to a stanza (RFC 6120 8.3), as xmpp.js reports it. */
  export default class StanzaError extends Error {
    condition: string;
    text: string | undefined;
    static fromElement(element: Element | undefined): StanzaError;
  }
}
