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
