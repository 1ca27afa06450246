// The latest history of one conversation from the server archive (XEP-0313), page by page
// backwards (XEP-0059), where the server offers it (XEP-0030 on our own bare JID).
import { randomUUID } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { bareJid, isOwnBareJid } from './jid.ts';
import { NS_DELAY, NS_FORWARD, NS_MAM, parseMessage, type IncomingMessage } from './messages.ts';
import type { XmppSession } from './session.ts';

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_DATA = 'jabber:x:data';

export interface ArchivePage {
  /** Oldest first. */
  messages: IncomingMessage[];
  /** The archive has nothing older than this page. */
  complete: boolean;
  /** The archive id of the oldest message in this page: `before` for the next page. */
  first: string | null;
}

/** One archived <message><result><forwarded><delay/><message/></forwarded></result></message>. */
export function parseArchived(stanza: Element, queryId: string, ownBare: string): IncomingMessage | null {
  const result = stanza.getChild('result', NS_MAM);
  if (!result || result.attrs.queryid !== queryId || !result.attrs.id) return null;
  // Results come only from our own archive: our bare JID, or no from (XEP-0313 4.1.2); another
  // resource of ours is not the archive.
  if (stanza.attrs.from && !isOwnBareJid(stanza.attrs.from, ownBare)) return null;
  const forwarded = result.getChild('forwarded', NS_FORWARD);
  const inner = forwarded?.getChild('message');
  if (!forwarded || !inner) return null;
  const outgoing = bareJid(inner.attrs.from ?? '') === ownBare;
  const parsed = parseMessage(inner, ownBare);
  if (parsed?.kind !== 'message') return null;
  const stamp = forwarded.getChild('delay', NS_DELAY)?.attrs.stamp;
  const peerFull = outgoing ? (inner.attrs.to ?? '') : (inner.attrs.from ?? '');
  return {
    ...parsed.message,
    // Our own messages keep the id we gave them, so the live copy and the archived one are one.
    id: outgoing ? (inner.attrs.id ?? result.attrs.id) : result.attrs.id,
    peer: bareJid(peerFull),
    peerFull,
    direction: outgoing ? 'out' : 'in',
    timestamp: stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp).toISOString() : parsed.message.timestamp,
    source: 'archive',
    receiptRequested: false,
  };
}

export class Archive {
  readonly #session: XmppSession;
  #offered: boolean | null = null;

  constructor(session: XmppSession) {
    this.#session = session;
    session.onOnline((resumed) => {
      if (!resumed) this.#offered = null;
    });
  }

  /** Whether our server archives messages for us (asked once per session). */
  async offered(): Promise<boolean> {
    if (this.#offered !== null) return this.#offered;
    try {
      const info = await this.#session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), this.#session.jid, 10_000);
      this.#offered = info?.getChildren('feature').some((feature) => feature.attrs.var === NS_MAM) ?? false;
    } catch {
      this.#offered = false;
    }
    return this.#offered;
  }

  /** The page of up to `max` messages with `peer` before the archive id `before` (null: the latest). */
  async page(peer: string, before: string | null, max: number): Promise<ArchivePage> {
    const queryId = randomUUID();
    const messages: IncomingMessage[] = [];
    const off = this.#session.events.on('stanza', (stanza) => {
      if (stanza.name !== 'message') return;
      const message = parseArchived(stanza, queryId, this.#session.jid);
      if (message) messages.push(message);
    });
    try {
      const form = xml(
        'x',
        { xmlns: NS_DATA, type: 'submit' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
        xml('field', { var: 'with' }, xml('value', {}, peer)),
      );
      const rsm = xml('set', { xmlns: NS_RSM }, xml('max', {}, String(max)), xml('before', {}, before ?? ''));
      const reply = await this.#session.parts.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: NS_MAM, queryid: queryId }, form, rsm)), 15_000);
      const fin = reply.getChild('fin', NS_MAM);
      const first = fin?.getChild('set', NS_RSM)?.getChildText('first') ?? null;
      return { messages, complete: fin?.attrs.complete === 'true', first };
    } finally {
      off();
    }
  }
}
