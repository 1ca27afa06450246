// The latest history of one conversation from the server archive (XEP-0313), page by page
// backwards (XEP-0059), where the server offers it (XEP-0030 on our own bare JID).
import { randomUUID } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { bareJid, isOwnBareJid } from './jid.ts';
import { NS_DELAY, NS_FORWARD, NS_MAM, parseMessage, type IncomingMessage } from './messages.ts';
import { NS_DATA, NS_DISCO_INFO } from './namespaces.ts';
import type { XmppSession } from './session.ts';

const NS_RSM = 'http://jabber.org/protocol/rsm';

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

export interface ArchiveQuery {
  /** Whose archive: null for the account's own, a room's bare JID for the room's (XEP-0313 5). */
  archive: string | null;
  with?: string;
  /** Page backwards from this archive id ('' or null: from the latest), or forwards after `after`. */
  before?: string | null;
  after?: string;
  max: number;
}

/** The archive ids bounding one page (XEP-0059), and whether the archive has nothing further that way. */
export interface ArchiveWindow {
  complete: boolean;
  first: string | null;
  last: string | null;
}

/** Results of a query beyond this are not read: a hostile archive cannot answer `max` with more. */
const RESULT_SLACK = 10;

/**
 * One archive query: every <message/> carrying this query's results goes to `take` (with its
 * queryid, which `take` checks) while the query runs, at most `max` of them plus a little slack.
 */
export async function queryArchive(session: XmppSession, query: ArchiveQuery, take: (stanza: Element, queryId: string) => void): Promise<ArchiveWindow> {
  const queryId = randomUUID();
  let taken = 0;
  const off = session.events.on('stanza', (stanza) => {
    if (stanza.name !== 'message' || stanza.getChild('result', NS_MAM)?.attrs.queryid !== queryId || taken >= query.max + RESULT_SLACK) return;
    taken += 1;
    take(stanza, queryId);
  });
  try {
    const fields = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM))];
    if (query.with) fields.push(xml('field', { var: 'with' }, xml('value', {}, query.with)));
    const paging = query.after === undefined ? xml('before', {}, query.before ?? '') : xml('after', {}, query.after);
    const rsm = xml('set', { xmlns: NS_RSM }, xml('max', {}, String(query.max)), paging);
    const iq = xml('iq', { type: 'set', ...(query.archive ? { to: query.archive } : {}) }, xml('query', { xmlns: NS_MAM, queryid: queryId }, xml('x', { xmlns: NS_DATA, type: 'submit' }, ...fields), rsm));
    const reply = await session.parts.iqCaller.request(iq, 15_000);
    const fin = reply.getChild('fin', NS_MAM);
    const set = fin?.getChild('set', NS_RSM);
    return { complete: fin?.attrs.complete === 'true', first: set?.getChildText('first') ?? null, last: set?.getChildText('last') ?? null };
  } finally {
    off();
  }
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
    const messages: IncomingMessage[] = [];
    const window = await queryArchive(this.#session, { archive: null, with: peer, before, max }, (stanza, queryId) => {
      const message = parseArchived(stanza, queryId, this.#session.jid);
      if (message) messages.push(message);
    });
    return { messages, complete: window.complete, first: window.first };
  }
}
