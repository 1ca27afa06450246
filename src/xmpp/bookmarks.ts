// The account's room bookmarks (XEP-0402, PEP bookmarks 2): fetched at every new session, kept
// current by the notifications PEP sends this client's other resources' changes with (we ask for
// them with "+notify" in our capabilities), changed by publishing or retracting one item per room.
import { xml, type Element } from '@xmpp/xml';
import { Emitter } from './emitter.ts';
import { bareJid, isOwnBareJid } from './jid.ts';
import { NS_DATA, NS_PUBSUB, NS_PUBSUB_EVENT } from './namespaces.ts';
import type { XmppSession } from './session.ts';

export const NS_BOOKMARKS = 'urn:xmpp:bookmarks:1';
const NS_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** Bookmarks kept: a real account has dozens; the server's node must not grow our memory without end. */
export const MAX_BOOKMARKS = 1000;

export interface Bookmark {
  /** The room's bare JID (the item id). */
  jid: string;
  name: string | null;
  autojoin: boolean;
  nick: string | null;
  password: string | null;
}

export interface BookmarkEvents {
  /** Every bookmark, after the fetch at a new session. */
  fetched: Bookmark[];
  /** One bookmark added or changed (here or from another device). */
  bookmark: Bookmark;
  /** One bookmark removed. */
  retracted: string;
  /**
   * Another client of the account changed or removed (null) a bookmark: XEP-0402 3.5 has this
   * client follow its autojoin. Our own publishes, echoed back by PEP, are not this.
   */
  elsewhere: { jid: string; bookmark: Bookmark | null };
}

/** Two states of one room's bookmark, null when there is none. */
const sameBookmark = (a: Bookmark | null, b: Bookmark | null): boolean =>
  a === null || b === null ? a === b : a.name === b.name && a.autojoin === b.autojoin && a.nick === b.nick && a.password === b.password;

/** One <item id=room><conference/></item>; null when it is not a bookmark. */
export function parseBookmark(item: Element): Bookmark | null {
  const conference = item.getChild('conference', NS_BOOKMARKS);
  const id = item.attrs.id;
  if (!conference || !id || !id.includes('@') || id.includes('/')) return null;
  const text = (value: string | null | undefined, max: number) => (value ? value.slice(0, max) : null);
  return {
    jid: bareJid(id),
    name: text(conference.attrs.name, 256),
    autojoin: conference.attrs.autojoin === 'true' || conference.attrs.autojoin === '1',
    nick: text(conference.getChildText('nick'), 256),
    password: text(conference.getChildText('password'), 1024),
  };
}

export function bookmarkItem(bookmark: Bookmark): Element {
  return xml(
    'item',
    { id: bookmark.jid },
    xml(
      'conference',
      { xmlns: NS_BOOKMARKS, autojoin: String(bookmark.autojoin), ...(bookmark.name ? { name: bookmark.name } : {}) },
      bookmark.nick ? xml('nick', {}, bookmark.nick) : null,
      bookmark.password ? xml('password', {}, bookmark.password) : null,
    ),
  );
}

/** XEP-0402 3.3 (and XEP-0223): the node is private, keeps every item, and sends none at subscription. */
function publishOptions(): Element {
  const field = (name: string, value: string) => xml('field', { var: name }, xml('value', {}, value));
  return xml(
    'publish-options',
    {},
    xml(
      'x',
      { xmlns: NS_DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_PUBLISH_OPTIONS)),
      field('pubsub#persist_items', 'true'),
      field('pubsub#max_items', 'max'),
      field('pubsub#send_last_published_item', 'never'),
      field('pubsub#access_model', 'whitelist'),
    ),
  );
}

export class Bookmarks {
  readonly events = new Emitter<BookmarkEvents>();
  readonly #session: XmppSession;
  readonly #items = new Map<string, Bookmark>();
  /** What our own publishes and retractions in flight will make PEP echo (null: a retraction). */
  readonly #ours = new Map<string, Bookmark | null>();

  constructor(session: XmppSession) {
    this.#session = session;
    session.parts.middleware.use(async (context, next) => {
      const { stanza } = context;
      const items = stanza.name === 'message' ? stanza.getChild('event', NS_PUBSUB_EVENT)?.getChild('items') : undefined;
      if (items?.attrs.node !== NS_BOOKMARKS) return next();
      // XEP-0163 4: our own PEP speaks from our bare JID (or with no from: our server); nobody else
      // may change our bookmarks.
      const from = stanza.attrs.from ?? '';
      if (from !== '' && !isOwnBareJid(from, session.jid)) return undefined;
      for (const child of items.getChildElements()) {
        if (child.name === 'retract' && child.attrs.id) {
          const jid = bareJid(child.attrs.id);
          const elsewhere = this.#fromElsewhere(jid, null);
          if (this.#items.delete(jid)) {
            this.events.emit('retracted', jid);
            if (elsewhere) this.events.emit('elsewhere', { jid, bookmark: null });
          }
        } else if (child.name === 'item') {
          const bookmark = parseBookmark(child);
          if (!bookmark) continue;
          const elsewhere = this.#fromElsewhere(bookmark.jid, bookmark);
          if (!this.#keep(bookmark)) continue;
          this.events.emit('bookmark', bookmark);
          if (elsewhere) this.events.emit('elsewhere', { jid: bookmark.jid, bookmark: { ...bookmark } });
        }
      }
      return undefined;
    });
    // Stage 0, beside the roster: the rooms to join at login are known before initial presence.
    session.onOnline(async (resumed) => {
      if (resumed) return;
      await this.#fetch();
    });
  }

  list(): Bookmark[] {
    return [...this.#items.values()].map((bookmark) => ({ ...bookmark }));
  }

  get(jid: string): Bookmark | undefined {
    const bookmark = this.#items.get(bareJid(jid));
    return bookmark ? { ...bookmark } : undefined;
  }

  /** Adds or replaces the bookmark of one room. */
  async set(bookmark: Bookmark): Promise<void> {
    const publish = xml('publish', { node: NS_BOOKMARKS }, bookmarkItem(bookmark));
    this.#ours.set(bookmark.jid, { ...bookmark });
    try {
      await this.#session.parts.iqCaller.set(xml('pubsub', { xmlns: NS_PUBSUB }, publish, publishOptions()), undefined, 10_000);
    } finally {
      this.#ours.delete(bookmark.jid);
    }
    if (this.#keep(bookmark)) this.events.emit('bookmark', { ...bookmark });
  }

  async remove(jid: string): Promise<void> {
    const retract = xml('retract', { node: NS_BOOKMARKS, notify: 'true' }, xml('item', { id: bareJid(jid) }));
    this.#ours.set(bareJid(jid), null);
    try {
      await this.#session.parts.iqCaller.set(xml('pubsub', { xmlns: NS_PUBSUB }, retract), undefined, 10_000);
    } finally {
      this.#ours.delete(bareJid(jid));
    }
    if (this.#items.delete(bareJid(jid))) this.events.emit('retracted', bareJid(jid));
  }

  async #fetch(): Promise<void> {
    let answer: Element | undefined;
    try {
      answer = await this.#session.parts.iqCaller.get(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS })), undefined, 10_000);
    } catch (error) {
      // No node yet (item-not-found): no bookmarks. Any other failure (a timeout, PEP briefly
      // unavailable) keeps the ones we had rather than forgetting them.
      if ((error as { condition?: string }).condition !== 'item-not-found') {
        this.events.emit('fetched', this.list());
        return;
      }
      answer = undefined;
    }
    this.#items.clear();
    for (const item of answer?.getChild('items')?.getChildren('item') ?? []) {
      const bookmark = parseBookmark(item);
      if (bookmark) this.#keep(bookmark);
    }
    this.events.emit('fetched', this.list());
  }

  /** A notification changes what we hold, and is not the echo of our own publish or retraction in flight. */
  #fromElsewhere(jid: string, bookmark: Bookmark | null): boolean {
    if (this.#ours.has(jid) && sameBookmark(this.#ours.get(jid)!, bookmark)) return false;
    return !sameBookmark(this.#items.get(jid) ?? null, bookmark);
  }

  /** Keeps a bookmark unless the table is full of others; false when it was dropped. */
  #keep(bookmark: Bookmark): boolean {
    if (!this.#items.has(bookmark.jid) && this.#items.size >= MAX_BOOKMARKS) return false;
    this.#items.set(bookmark.jid, { ...bookmark });
    return true;
  }
}
