// Types for the xmpp.js 0.14 pieces that compose a client's SASL step; the packages ship none.
declare module 'saslmechanisms' {
  /** saslmechanisms' Factory: `create` runs `new Mechanism()` for the first registered name offered. */
  export default class Factory {
    use(name: string, mechanism: new () => object): this;
    create(names: string[]): object | null;
  }
}

declare module '@xmpp/sasl' {
  import type { StreamFeatures } from '@xmpp/stream-features';
  import type { Element } from '@xmpp/xml';
  import type Factory from 'saslmechanisms';

  export type Authenticate = (credentials: { username: string; password: string }, mechanism: string) => Promise<void>;
  export type OnAuthenticate = (
    authenticate: Authenticate,
    mechanisms: string[],
    fast: null,
    entity: unknown,
  ) => Promise<void>;

  export function getAvailableMechanisms(element: Element, ns: string, saslFactory: Factory): string[];
  export default function sasl(
    dependencies: { streamFeatures: StreamFeatures; saslFactory: Factory },
    onAuthenticate: OnAuthenticate,
  ): void;
}

declare module '@xmpp/sasl2' {
  import type { Authenticate } from '@xmpp/sasl';
  import type { StreamFeatures } from '@xmpp/stream-features';
  import type { Element } from '@xmpp/xml';
  import type Factory from 'saslmechanisms';

  /** A stream feature negotiated inside <authenticate/> (XEP-0388 inline): its request and what to do with the answer. */
  export type InlineRequest = (offered: Element) => Element | undefined | Promise<Element | undefined>;
  export type InlineResponse = (answer: Element) => void | Promise<void>;

  /** sasl2's own authenticate, as it hands it to its FAST part: one <authenticate/> with any factory's mechanism. */
  export type Sasl2Authenticate = (options: {
    saslFactory: { create(names: string[]): unknown };
    entity: unknown;
    mechanism: string;
    credentials: Record<string, unknown>;
    userAgent: Element | undefined;
    streamFeatures: Array<Element | undefined>;
    features: unknown;
  }) => Promise<void>;

  /** What sasl2 gives its FAST part before every login; streamFeatures (holes where a feature asks nothing) may be added to. */
  export interface FastAuthOptions {
    authenticate: Sasl2Authenticate;
    entity: unknown;
    userAgent: Element | undefined;
    streamFeatures: Array<Element | undefined>;
    features: unknown;
    credentials: { username: string; password: string };
  }

  /** FAST (XEP-0484): sasl2 runs `auth` first; true means the login is done, false: go on with the password. */
  export interface FastPart {
    readonly mechanism: string | null;
    auth(options: FastAuthOptions): Promise<boolean>;
  }

  export interface Sasl2 {
    use(ns: string, request: InlineRequest, response: InlineResponse): void;
    setup(options: { fast: FastPart }): void;
  }

  export type OnAuthenticate2 = (
    authenticate: (credentials: { username: string; password: string }, mechanism: string, userAgent?: Element) => Promise<void>,
    mechanisms: string[],
    fast: unknown,
    entity: unknown,
  ) => Promise<void>;

  export default function sasl2(dependencies: { streamFeatures: StreamFeatures; saslFactory: Factory }, onAuthenticate: OnAuthenticate2): Sasl2;
  export type { Authenticate };
}

declare module '@xmpp/client-core/src/bind2/bind2.js' {
  import type { Client } from '@xmpp/client-core';
  import type { InlineRequest, InlineResponse, Sasl2 } from '@xmpp/sasl2';

  export interface Bind2 {
    use(ns: string, request: InlineRequest, response: InlineResponse): void;
  }
  export default function bind2(dependencies: { sasl2: Sasl2; entity: Client }, tag: string | (() => string | Promise<string>)): Bind2;
}
