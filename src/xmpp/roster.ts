// The roster (RFC 6121 section 2) and presence subscriptions (section 3): fetched at every new
// session, kept current by server pushes, changed by add, rename and remove; inbound requests are
// held until the user approves or denies them.
import { xml, type Element } from '@xmpp/xml';
import { Emitter } from './emitter.ts';
import { stanzaError } from './iq-callee.ts';
import { bareJid, isOwnBareJid } from './jid.ts';
import type { XmppSession } from './session.ts';

export const NS_ROSTER = 'jabber:iq:roster';

export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface RosterItem {
  jid: string;
  name: string | null;
  subscription: Subscription;
  /** We asked to see their presence and wait for an answer (ask='subscribe'). */
  pendingOut: boolean;
  groups: string[];
}

export type RosterChange = RosterItem | { jid: string; subscription: 'remove' };

const SUBSCRIPTIONS: ReadonlySet<string> = new Set(['none', 'to', 'from', 'both', 'remove']);

/** One <item/> as the server sent it; null when it is unusable (no JID, unknown subscription). */
export function parseRosterItem(element: Element): RosterChange | null {
  const jid = element.attrs.jid;
  const subscription = element.attrs.subscription ?? 'none';
  if (!jid || !SUBSCRIPTIONS.has(subscription)) return null;
  if (subscription === 'remove') return { jid: bareJid(jid), subscription: 'remove' };
  return {
    jid: bareJid(jid),
    name: element.attrs.name?.trim() || null,
    subscription: subscription as Subscription,
    pendingOut: element.attrs.ask === 'subscribe',
    groups: element.getChildren('group').map((group) => group.text()).filter((name) => name !== ''),
  };
}

/** RFC 6121 2.1.6: a push is accepted only from the account itself (no from, or exactly our bare JID). */
export function isTrustedPush(from: string | undefined, ownBareJid: string): boolean {
  return from === undefined || from === '' || isOwnBareJid(from, ownBareJid);
}

/** One push applied in place, in O(1): the item replaces its old version, or a `remove` deletes it. */
export function applyRosterChange(items: Map<string, RosterItem>, change: RosterChange): void {
  if (change.subscription === 'remove') items.delete(change.jid);
  else items.set(change.jid, change);
}

/** Inbound subscription requests kept at once; past that, new ones are dropped until some are answered. */
export const MAX_SUBSCRIPTION_REQUESTS = 500;


export interface RosterEvents {
  /** The whole roster as the server sent it at this session's start. */
  fetched: RosterItem[];
  /** One item of a server push, before the `roster` event that follows it. */
  item: RosterChange;
  'subscription-request': string;
}

export class Roster {
  readonly events = new Emitter<RosterEvents>();
  readonly #items = new Map<string, RosterItem>();
  readonly #requests = new Set<string>();
  readonly #session: XmppSession;

  constructor(session: XmppSession) {
    this.#session = session;
    const { iqCallee, middleware } = session.parts;
    iqCallee.set(NS_ROSTER, 'query', (context) => {
      if (!isTrustedPush(context.stanza.attrs.from, session.jid)) return undefined;
      // RFC 6121 2.1.6: a push carries exactly one item; any other is refused whole.
      const items = context.element.getChildren('item');
      const change = items.length === 1 ? parseRosterItem(items[0]!) : null;
      if (!change) return stanzaError('modify', 'bad-request');
      applyRosterChange(this.#items, change);
      this.events.emit('item', change);
      return true;
    });
    middleware.use(async (context, next) => {
      const { stanza } = context;
      if (stanza.name === 'presence' && stanza.attrs.type === 'subscribe' && stanza.attrs.from) {
        const from = bareJid(stanza.attrs.from);
        if (!this.#requests.has(from) && this.#requests.size < MAX_SUBSCRIPTION_REQUESTS) {
          this.#requests.add(from);
          this.events.emit('subscription-request', from);
        }
        return undefined;
      }
      return next();
    });
    session.onOnline(async (resumed) => {
      if (!resumed) await this.fetch();
    });
  }

  get items(): RosterItem[] {
    return [...this.#items.values()];
  }

  /** The contact with this bare JID, if it is on the roster. */
  item(jid: string): RosterItem | undefined {
    return this.#items.get(jid);
  }

  get requests(): string[] {
    return [...this.#requests];
  }

  async fetch(): Promise<RosterItem[]> {
    const query = await this.#session.parts.iqCaller.get(xml('query', { xmlns: NS_ROSTER }));
    this.#items.clear();
    for (const element of query?.getChildren('item') ?? []) {
      const change = parseRosterItem(element);
      if (change && change.subscription !== 'remove') this.#items.set(change.jid, change);
    }
    this.events.emit('fetched', this.items);
    return this.items;
  }

  /** Adds (or updates) the contact and asks to see their presence. */
  async add(jid: string, name: string | null): Promise<void> {
    await this.#setItem(jid, name, this.#items.get(jid)?.groups ?? []);
    await this.#session.send(xml('presence', { to: jid, type: 'subscribe' }));
  }

  async rename(jid: string, name: string): Promise<void> {
    const item = this.#items.get(jid);
    await this.#setItem(jid, name === '' ? null : name, item?.groups ?? []);
  }

  async remove(jid: string): Promise<void> {
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_ROSTER }, xml('item', { jid, subscription: 'remove' })));
  }

  /** Approves (and asks back, for a mutual subscription) or denies one inbound request. */
  async answer(jid: string, approve: boolean): Promise<void> {
    await this.#session.send(xml('presence', { to: jid, type: approve ? 'subscribed' : 'unsubscribed' }));
    if (approve) {
      const item = this.#items.get(jid);
      const seesThem = item && (item.subscription === 'to' || item.subscription === 'both' || item.pendingOut);
      if (!seesThem) await this.#session.send(xml('presence', { to: jid, type: 'subscribe' }));
    }
    this.#requests.delete(jid);
  }

  async #setItem(jid: string, name: string | null, groups: readonly string[]): Promise<void> {
    const item = xml('item', { jid, ...(name ? { name } : {}) }, ...groups.map((group) => xml('group', {}, group)));
    await this.#session.parts.iqCaller.set(xml('query', { xmlns: NS_ROSTER }, item));
  }
}
