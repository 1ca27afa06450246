// Types for the xmpp.js 0.14 packages that compose a client; the packages ship none.
declare module '@xmpp/client-core' {
  import { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/xml';

  export class Client extends EventEmitter {
    constructor(options: { service: string; domain: string; lang?: string; timeout?: number });
    transports: unknown[];
    status: string;
    jid: { toString(): string } | null;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    disconnect(timeout?: number): Promise<unknown>;
    send(element: Element): Promise<void>;
    restart(): Promise<void>;
  }
}

declare module '@xmpp/tcp' {
  import type { Client } from '@xmpp/client-core';

  export default function tcp(dependencies: { entity: Client }): void;
}

declare module '@xmpp/middleware' {
  import type { Client } from '@xmpp/client-core';

  export interface Middleware {
    use(handler: (context: unknown, next: () => Promise<unknown>) => unknown): unknown;
    filter(handler: (context: unknown, next: () => Promise<unknown>) => unknown): unknown;
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
  import type { IqCaller } from '@xmpp/iq/caller.js';
  import type { StreamFeatures } from '@xmpp/stream-features';

  export default function resourceBinding(
    dependencies: { streamFeatures: StreamFeatures; iqCaller: IqCaller },
    resource?: string | (() => string | Promise<string>),
  ): void;
}
