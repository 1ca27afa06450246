// Requests others send us (RFC 6120 8.2.3): handlers by type, namespace and element. A request
// with no handler is answered <service-unavailable/>, a malformed one <bad-request/>, and an error
// answer never echoes the request's payload (a 20,000-item roster push is not sent back).
import type { Client } from '@xmpp/client-core';
import type { IncomingContext, Middleware } from '@xmpp/middleware';
import { xml, type Element } from '@xmpp/xml';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** An <error/> for a handler to return (RFC 6120 8.3.2). */
export const stanzaError = (type: 'cancel' | 'modify' | 'auth' | 'wait', condition: string): Element =>
  xml('error', { type }, xml(condition, { xmlns: NS_STANZAS }));

/** Answers with the returned payload (`true`: an empty result), an <error/>, or nothing: service-unavailable. */
export type IqHandler = (context: IncomingContext & { element: Element }) => Element | true | undefined | Promise<Element | true | undefined>;

export class IqCallee {
  readonly #handlers = new Map<string, IqHandler>();

  constructor({ entity, middleware }: { entity: Client; middleware: Middleware }) {
    middleware.use(async (context, next) => {
      const { stanza } = context;
      const type = stanza.attrs.type;
      if (stanza.name !== 'iq' || (type !== 'get' && type !== 'set')) return next();
      const children = stanza.getChildElements();
      const reply = (payload: Element | null, error: Element | null): Element =>
        xml('iq', { to: stanza.attrs.from, id: stanza.attrs.id, type: error ? 'error' : 'result' }, payload, error);
      const [element] = children;
      if (children.length !== 1 || !element) return reply(null, stanzaError('modify', 'bad-request'));
      const handler = this.#handlers.get(`${type} ${element.attrs.xmlns ?? ''} ${element.name}`);
      let answer: Element | true | undefined;
      try {
        answer = handler ? await handler({ ...context, element }) : undefined;
      } catch (error) {
        entity.emit('error', error);
        return reply(null, stanzaError('cancel', 'internal-server-error'));
      }
      if (answer === undefined) return reply(null, stanzaError('cancel', 'service-unavailable'));
      if (answer === true) return reply(null, null);
      return answer.is('error') ? reply(null, answer) : reply(answer, null);
    });
  }

  get(ns: string, name: string, handler: IqHandler): void {
    this.#handlers.set(`get ${ns} ${name}`, handler);
  }

  set(ns: string, name: string, handler: IqHandler): void {
    this.#handlers.set(`set ${ns} ${name}`, handler);
  }
}
