// One-to-one messages (RFC 6121 section 5): sending with a delivery receipt request (XEP-0184)
// and an outbox that holds messages while offline and sends each once after reconnection;
// receiving with delay stamps (XEP-0203), carbons (XEP-0280), receipts and bounces.
import { randomUUID } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { Emitter } from './emitter.ts';
import { bareJid, canonicalBareJid, domainOf, isOwnBareJid } from './jid.ts';
import { nextOutgoingState, type OutgoingEvent, type OutgoingState } from './message-state.ts';
import { NS_CARBONS } from './namespaces.ts';
import type { XmppSession } from './session.ts';

export { NS_CARBONS };
export const NS_RECEIPTS = 'urn:xmpp:receipts';
export const NS_FORWARD = 'urn:xmpp:forward:0';
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_STANZA_ID = 'urn:xmpp:sid:0';
export const NS_MAM = 'urn:xmpp:mam:2';

export interface IncomingMessage {
  /** Our stable id: the archive's stanza-id for received messages, the sender's id for our own. */
  id: string;
  /** The id attribute the sender gave (what a receipt refers to). */
  senderId: string | null;
  peer: string;
  /** Full JID of the other side when known (for receipts). */
  peerFull: string | null;
  direction: 'in' | 'out';
  body: string;
  timestamp: string;
  source: 'live' | 'carbon' | 'archive';
  receiptRequested: boolean;
}

export type ParsedMessage =
  | { kind: 'message'; message: IncomingMessage }
  | { kind: 'receipt'; peer: string; id: string }
  | { kind: 'error'; from: string; id: string; error: string };

/** The stanza-id the account's own server stamped (XEP-0359), if any. */
function ownStanzaId(message: Element, ownBare: string): string | null {
  const stamped = message.getChildren('stanza-id', NS_STANZA_ID).find((element) => element.attrs.by && bareJid(element.attrs.by) === ownBare);
  return stamped?.attrs.id ?? null;
}

/**
 * XEP-0203 and XEP-0160: the time a message was sent, when our own server held it (offline
 * storage stamps it with its domain, or our bare JID); never later than now. A stamp the sender
 * wrote is not taken: anyone could date a message into the middle of the history.
 */
function delayStamp(ownBare: string, now: Date, ...elements: Array<Element | undefined>): string | null {
  const ownDomain = canonicalBareJid(domainOf(ownBare));
  for (const element of elements) {
    // A server appends its own <delay/>: the last one by us is the one that counts.
    const delay = element?.getChildren('delay', NS_DELAY).findLast((candidate) => {
      const by = candidate.attrs.from ?? '';
      return !by.includes('/') && (canonicalBareJid(by) === ownDomain || isOwnBareJid(by, ownBare));
    });
    const stamp = delay?.attrs.stamp;
    if (!stamp || Number.isNaN(Date.parse(stamp))) continue;
    return new Date(Math.min(Date.parse(stamp), now.getTime())).toISOString();
  }
  return null;
}

function errorText(stanza: Element): string {
  const error = stanza.getChild('error');
  const condition = error?.getChildElements().find((child) => child.name !== 'text')?.name ?? 'undefined-condition';
  const text = error?.getChildText('text');
  return text ? `${condition}: ${text}` : condition;
}

/**
 * What one <message/> means for the chat: a message (live, or a carbon copy from our own server),
 * a receipt, a bounce, or nothing (headline, empty, archive results, forged carbons).
 */
export function parseMessage(stanza: Element, ownBare: string, now: () => Date = () => new Date()): ParsedMessage | null {
  if (stanza.name !== 'message' || stanza.getChild('result', NS_MAM)) return null;
  const from = stanza.attrs.from ?? '';
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'error') {
    const id = stanza.attrs.id;
    return id ? { kind: 'error', from, id, error: errorText(stanza) } : null;
  }
  const carbon = stanza.getChild('received', NS_CARBONS) ?? stanza.getChild('sent', NS_CARBONS);
  let inner = stanza;
  let source: IncomingMessage['source'] = 'live';
  let direction: 'in' | 'out' = 'in';
  if (carbon) {
    // XEP-0280 11: a carbon comes from the account's bare JID (or with no from: our server on its
    // behalf, RFC 6120 8.1.2.1); from anyone else, another resource of the account included, it is a forgery.
    if (from !== '' && !isOwnBareJid(from, ownBare)) return null;
    const forwarded = carbon.getChild('forwarded', NS_FORWARD)?.getChild('message');
    if (!forwarded) return null;
    inner = forwarded;
    source = 'carbon';
    direction = carbon.name === 'sent' ? 'out' : 'in';
  }
  const peerFull = direction === 'out' ? (inner.attrs.to ?? null) : (inner.attrs.from ?? null);
  if (!peerFull) return null;
  const peer = bareJid(peerFull);
  const receipt = inner.getChild('received', NS_RECEIPTS);
  if (receipt?.attrs.id && direction === 'in') return { kind: 'receipt', peer, id: receipt.attrs.id };
  const body = inner.getChildText('body');
  if (body === null || body === '' || (inner.attrs.type ?? 'normal') === 'groupchat' || (inner.attrs.type ?? 'normal') === 'headline') return null;
  const senderId = inner.attrs.id ?? null;
  const id = (direction === 'in' ? ownStanzaId(inner, ownBare) : null) ?? senderId ?? randomUUID();
  return {
    kind: 'message',
    message: {
      id,
      senderId,
      peer,
      peerFull,
      direction,
      body,
      timestamp: delayStamp(ownBare, now(), inner, stanza) ?? now().toISOString(),
      source,
      receiptRequested: source === 'live' && inner.getChild('request', NS_RECEIPTS) !== undefined,
    },
  };
}

export function chatMessageStanza(to: string, id: string, body: string): Element {
  return xml('message', { to, id, type: 'chat' }, xml('body', {}, body), xml('request', { xmlns: NS_RECEIPTS }), xml('origin-id', { xmlns: NS_STANZA_ID, id }));
}

export interface OutgoingMessage {
  id: string;
  to: string;
  body: string;
  timestamp: string;
  state: OutgoingState;
  error: string | null;
}

export interface MessagingEvents {
  message: IncomingMessage;
  state: { peer: string; id: string; state: OutgoingState; error: string | null };
}

export class Messaging {
  readonly events = new Emitter<MessagingEvents>();
  readonly #session: XmppSession;
  /** Our messages whose fate is still open, by id. */
  readonly #tracked = new Map<string, OutgoingMessage>();
  /** Ids waiting to be written, in order; each is written once per connection that accepts it. */
  #outbox: string[] = [];
  #draining: Promise<void> | null = null;

  readonly #mayGetReceipt: (bareJid: string) => boolean;

  /** `mayGetReceipt(bareJid)`: whether a sender may learn from a receipt that we are online (XEP-0184 8). */
  constructor(session: XmppSession, mayGetReceipt: (bareJid: string) => boolean) {
    this.#session = session;
    this.#mayGetReceipt = mayGetReceipt;
    const { middleware } = session.parts;
    middleware.use(async (context, next) => {
      if (context.stanza.name !== 'message') return next();
      const parsed = parseMessage(context.stanza, session.jid);
      if (parsed) this.#onParsed(parsed);
      return next();
    });
    session.events.on('acked', (stanza) => this.#advance(stanza.attrs.id, 'acked'));
    // Not acknowledged before the stream was lost for good: send it again on the next stream.
    session.events.on('unacked', (stanza) => {
      const id = stanza.attrs.id;
      if (stanza.name === 'message' && id && this.#tracked.get(id)?.state === 'sending' && !this.#outbox.includes(id)) this.#outbox.push(id);
    });
    // Queued messages go out once initial presence (stage 1) has been sent.
    session.onOnline(() => this.#flush(), 2);
  }

  /** Sends now when online, else queues for the next connection; the message starts as 'sending'. */
  async send(to: string, body: string): Promise<OutgoingMessage> {
    const message: OutgoingMessage = { id: randomUUID(), to, body, timestamp: new Date().toISOString(), state: 'sending', error: null };
    this.#tracked.set(message.id, message);
    this.#outbox.push(message.id);
    if (this.#session.isOnline) void this.#flush();
    return { ...message };
  }

  /** Messages queued and not yet written. */
  get queued(): number {
    return this.#outbox.length;
  }

  /**
   * Hands over the messages not yet written, in order, when this session is replaced (new account
   * settings); they are this object's no more. Written ones stay: sending them again could deliver twice.
   */
  takeQueued(): OutgoingMessage[] {
    const queued = this.#outbox.flatMap((id) => {
      const message = this.#tracked.get(id);
      this.#tracked.delete(id);
      return message ? [{ ...message }] : [];
    });
    this.#outbox = [];
    return queued;
  }

  /** Queues messages a replaced session did not write, ids kept, ahead of any written since. */
  adopt(messages: readonly OutgoingMessage[]): void {
    for (const message of messages) this.#tracked.set(message.id, { ...message });
    this.#outbox = [...messages.map((message) => message.id), ...this.#outbox];
    if (this.#session.isOnline) void this.#flush();
  }

  /** One drain at a time, so that no message is written twice by two overlapping flushes. */
  #flush(): Promise<void> {
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  async #drain(): Promise<void> {
    const { entity, streamManagement } = this.#session.parts;
    while (this.#outbox.length > 0 && this.#session.isOnline) {
      const id = this.#outbox[0] as string;
      const message = this.#tracked.get(id);
      if (message) {
        try {
          await entity.send(chatMessageStanza(message.to, message.id, message.body));
        } catch {
          // The connection went away under us: the message stays first in the queue.
          return;
        }
        if (!streamManagement.enabled) this.#advance(id, 'acked');
      }
      this.#outbox.shift();
    }
  }

  #onParsed(parsed: ParsedMessage): void {
    switch (parsed.kind) {
      case 'receipt':
        // XEP-0184 5: only the recipient can say it received the message.
        if (this.#tracked.has(parsed.id) && bareJid(this.#tracked.get(parsed.id)!.to) === parsed.peer) this.#advance(parsed.id, 'receipt');
        return;
      case 'error': {
        // RFC 6120 8.3.1: an error comes back from the recipient, or from a server on its way
        // (the recipient's or ours); a stranger who guessed the id cannot bounce it.
        const message = this.#tracked.get(parsed.id);
        if (!message) return;
        const from = bareJid(parsed.from || domainOf(this.#session.jid));
        const bouncers = new Set([bareJid(message.to), bareJid(domainOf(message.to)), bareJid(domainOf(this.#session.jid))]);
        if (bouncers.has(from)) this.#advance(parsed.id, 'bounced', parsed.error);
        return;
      }
      case 'message': {
        const { message } = parsed;
        if (message.receiptRequested && message.senderId && message.peerFull && this.#mayGetReceipt(message.peer)) {
          this.#session.send(xml('message', { to: message.peerFull, id: randomUUID() }, xml('received', { xmlns: NS_RECEIPTS, id: message.senderId }))).catch(() => undefined);
        }
        this.events.emit('message', message);
      }
    }
  }

  #advance(id: string | undefined, event: OutgoingEvent, error: string | null = null): void {
    const message = id ? this.#tracked.get(id) : undefined;
    if (!message) return;
    const state = nextOutgoingState(message.state, event);
    if (state === message.state) return;
    message.state = state;
    message.error = state === 'error' ? error : null;
    if (state === 'delivered') this.#tracked.delete(message.id);
    this.events.emit('state', { peer: bareJid(message.to), id: message.id, state, error: message.error });
  }
}
