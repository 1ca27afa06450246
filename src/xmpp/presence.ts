// Presence (RFC 6121 section 4): our own show and status, sent at every new session and on each
// change, and every contact's presence per resource.
import { xml, type Element } from '@xmpp/xml';
import { Emitter } from './emitter.ts';
import { bareJid, resourceOf } from './jid.ts';
import type { XmppSession } from './session.ts';

export type Show = 'chat' | 'away' | 'xa' | 'dnd';
const SHOWS: ReadonlySet<string> = new Set(['chat', 'away', 'xa', 'dnd']);

export interface ResourcePresence {
  resource: string;
  show: Show | null;
  status: string | null;
  priority: number;
}

export interface OwnPresence {
  show: Show | 'online';
  status: string;
}

export type PresenceTable = Map<string, Map<string, ResourcePresence>>;

/** Resources kept per contact: a real one has a handful; a hostile one must not grow the table without end. */
export const MAX_RESOURCES_PER_CONTACT = 64;

/**
 * Applies one presence stanza to the table in place, in O(1): available sets the resource,
 * unavailable removes it (a bare unavailable, every resource). Returns the contact's bare JID
 * when its available resources changed, null when nothing changed or the stanza is not about
 * availability (subscriptions, errors, probes).
 */
export function applyPresence(table: PresenceTable, stanza: Element): string | null {
  const from = stanza.attrs.from;
  const type = stanza.attrs.type;
  if (!from || (type !== undefined && type !== 'unavailable')) return null;
  const jid = bareJid(from);
  const resource = resourceOf(from);
  const resources = table.get(jid);
  if (type === 'unavailable') {
    if (!resources) return null;
    if (resource === '') table.delete(jid);
    else if (!resources.delete(resource)) return null;
    if (resources.size === 0) table.delete(jid);
    return jid;
  }
  const show = stanza.getChildText('show');
  const priority = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
  const entry: ResourcePresence = {
    resource,
    show: show && SHOWS.has(show) ? (show as Show) : null,
    status: stanza.getChildText('status') || null,
    priority: Number.isFinite(priority) ? Math.max(-128, Math.min(127, priority)) : 0,
  };
  if (resources) {
    if (!resources.has(resource) && resources.size >= MAX_RESOURCES_PER_CONTACT) return null;
    resources.set(resource, entry);
  } else {
    table.set(jid, new Map([[resource, entry]]));
  }
  return jid;
}

/** Our presence, with `extra` children (the caps element, XEP-0115; the MUC join element). */
export function presenceStanza(own: OwnPresence, attrs: Record<string, string> = {}, ...extra: Element[]): Element {
  return xml('presence', attrs, own.show === 'online' ? null : xml('show', {}, own.show), own.status ? xml('status', {}, own.status) : null, ...extra);
}

export interface PresenceEvents {
  /** A contact's available resources changed (empty: offline). */
  contact: { jid: string; resources: ResourcePresence[] };
  own: OwnPresence;
}

export class Presence {
  readonly events = new Emitter<PresenceEvents>();
  readonly #table: PresenceTable = new Map();
  #own: OwnPresence = { show: 'online', status: '' };
  readonly #session: XmppSession;
  readonly #caps: () => Element;

  /**
   * `follows(bareJid)`: whose presence is kept (the roster's contacts and the account itself); the
   * rest is dropped. `caps`: the capabilities element each presence of ours carries.
   */
  constructor(session: XmppSession, follows: (jid: string) => boolean, caps: () => Element) {
    this.#session = session;
    this.#caps = caps;
    session.parts.middleware.use(async (context, next) => {
      if (context.stanza.name === 'presence') {
        const from = context.stanza.attrs.from;
        // A stranger's presence costs nothing: it is neither kept nor reported.
        const jid = from && follows(bareJid(from)) ? applyPresence(this.#table, context.stanza) : null;
        if (jid !== null) this.events.emit('contact', { jid, resources: this.resourcesOf(jid) });
      }
      return next();
    });
    // Stage 1: after the roster and carbons, since initial presence follows the roster request (RFC 6121 2.2).
    session.onOnline(async (resumed) => {
      if (resumed) return;
      // A new session: what we knew of contacts is gone; the server sends it again after our presence.
      const known = [...this.#table.keys()];
      this.#table.clear();
      for (const jid of known) this.events.emit('contact', { jid, resources: [] });
      await session.parts.entity.send(presenceStanza(this.#own, {}, this.#caps()));
    }, 1);
  }

  get own(): OwnPresence {
    return { ...this.#own };
  }

  resourcesOf(jid: string): ResourcePresence[] {
    return [...(this.#table.get(jid)?.values() ?? [])];
  }

  /** Forgets a contact's presence (it left the roster). */
  forget(jid: string): void {
    if (this.#table.delete(jid)) this.events.emit('contact', { jid, resources: [] });
  }

  /** Remembers our presence and sends it when online (otherwise at the next login). */
  async setOwn(own: OwnPresence): Promise<void> {
    this.#own = { ...own };
    this.events.emit('own', this.own);
    if (this.#session.isOnline) await this.#session.send(presenceStanza(this.#own, {}, this.#caps()));
  }
}
