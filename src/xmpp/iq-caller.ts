// Our iq requests (RFC 6120 8.2.3): each gets a random id, and only the entity that was asked may
// answer it. A result with the right id from anyone else is not an answer (a roster result from a
// stranger would otherwise become the roster): it is dropped and the request keeps waiting.
import { randomUUID } from 'node:crypto';
import type { Client } from '@xmpp/client-core';
import type { Middleware } from '@xmpp/middleware';
import StanzaError from '@xmpp/middleware/lib/StanzaError.js';
import { xml, type Element } from '@xmpp/xml';
import { DnaError } from '../verify/errors.ts';
import { bareJid, domainOf, sameJid } from './jid.ts';

/** Who we are on this stream, for requests the account's own server answers. */
export interface OwnAddress {
  /** The account's bare JID. */
  bare: string;
}

interface Pending {
  to: string | null;
  resolve: (stanza: Element) => void;
  reject: (error: unknown) => void;
}

/** The error of an error answer; one without a condition (RFC 6120 8.3.2 requires one) is undefined-condition. */
function stanzaErrorOf(stanza: Element): StanzaError {
  const error = stanza.getChild('error');
  if (error && error.getChildElements().length > 0) return StanzaError.fromElement(error);
  return StanzaError.fromElement(xml('error', { type: error?.attrs.type ?? 'cancel' }, xml('undefined-condition', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
}

export class IqCaller {
  readonly #entity: Client;
  readonly #own: OwnAddress;
  readonly #pending = new Map<string, Pending>();

  constructor({ entity, middleware }: { entity: Client; middleware: Middleware }, own: OwnAddress) {
    this.#entity = entity;
    this.#own = own;
    middleware.use((context, next) => {
      const { stanza } = context;
      if (stanza.name !== 'iq' || (stanza.attrs.type !== 'result' && stanza.attrs.type !== 'error')) return next();
      const id = stanza.attrs.id;
      const pending = id === undefined ? undefined : this.#pending.get(id);
      if (!pending || !this.#answersFrom(pending.to, stanza.attrs.from)) return next();
      this.#pending.delete(id!);
      if (stanza.attrs.type === 'error') pending.reject(stanzaErrorOf(stanza));
      else pending.resolve(stanza);
      return undefined;
    });
  }

  /**
   * RFC 6120 8.1.2.1 and 10.3.3: the answer to a request sent to X comes from X. A request with no
   * `to` (or to the account itself) is answered by the account's server on its behalf: with no
   * `from`, or from the bare JID or the domain, never from one of the account's resources.
   */
  #answersFrom(to: string | null, from: string | undefined): boolean {
    const own = this.#own;
    if (to === null || sameJid(to, own.bare)) {
      if (from === undefined || from === '') return true;
      return sameJid(from, own.bare) || sameJid(from, domainOf(own.bare));
    }
    return from !== undefined && sameJid(from, to);
  }

  /** Sends an iq and resolves with the answer; rejects with the StanzaError of an error answer, or on time-out. */
  request(stanza: Element, timeoutMs = 30_000): Promise<Element> {
    stanza.attrs.id = randomUUID();
    const id = stanza.attrs.id;
    const to = stanza.attrs.to ? stanza.attrs.to : null;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new DnaError('IQ_TIMEOUT', `${to ?? bareJid(this.#own.bare)} did not answer a request within ${timeoutMs} ms.`));
      }, timeoutMs);
      const settle = <T>(done: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        done(value);
      };
      this.#pending.set(id, { to, resolve: settle(resolve), reject: settle(reject) });
      this.#entity.send(stanza).catch((error: unknown) => {
        this.#pending.delete(id);
        settle(reject)(error);
      });
    });
  }

  async #childRequest(type: 'get' | 'set', element: Element, to?: string, timeoutMs?: number): Promise<Element | undefined> {
    const reply = await this.request(xml('iq', { type, ...(to ? { to } : {}) }, element), timeoutMs);
    return reply.getChild(element.name, element.attrs.xmlns);
  }

  /** The child of the same name and namespace in the result (as @xmpp/iq's caller, which this replaces). */
  get(element: Element, to?: string, timeoutMs?: number): Promise<Element | undefined> {
    return this.#childRequest('get', element, to, timeoutMs);
  }

  set(element: Element, to?: string, timeoutMs?: number): Promise<Element | undefined> {
    return this.#childRequest('set', element, to, timeoutMs);
  }
}
