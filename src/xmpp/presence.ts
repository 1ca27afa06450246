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

export type PresenceTable = ReadonlyMap<string, ReadonlyMap<string, ResourcePresence>>;

/**
 * The table after one presence stanza: available sets the resource, unavailable removes it.
 * Returns null when the stanza is not about availability (subscriptions, errors, probes).
 */
export function applyPresence(table: PresenceTable, stanza: Element): { table: Map<string, Map<string, ResourcePresence>>; jid: string } | null {
  const from = stanza.attrs.from;
  const type = stanza.attrs.type;
  if (!from || (type !== undefined && type !== 'unavailable')) return null;
  const jid = bareJid(from);
  const resource = resourceOf(from);
  const next = new Map([...table].map(([key, resources]) => [key, new Map(resources)]));
  const resources = next.get(jid) ?? new Map<string, ResourcePresence>();
  if (type === 'unavailable') {
    if (resource === '') resources.clear();
    else resources.delete(resource);
  } else {
    const show = stanza.getChildText('show');
    const priority = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
    resources.set(resource, {
      resource,
      show: show && SHOWS.has(show) ? (show as Show) : null,
      status: stanza.getChildText('status') || null,
      priority: Number.isFinite(priority) ? Math.max(-128, Math.min(127, priority)) : 0,
    });
  }
  if (resources.size === 0) next.delete(jid);
  else next.set(jid, resources);
  return { table: next, jid };
}

export function presenceStanza(own: OwnPresence): Element {
  return xml('presence', {}, own.show === 'online' ? null : xml('show', {}, own.show), own.status ? xml('status', {}, own.status) : null);
}

export interface PresenceEvents {
  /** A contact's available resources changed (empty: offline). */
  contact: { jid: string; resources: ResourcePresence[] };
  own: OwnPresence;
}

export class Presence {
  readonly events = new Emitter<PresenceEvents>();
  #table: Map<string, Map<string, ResourcePresence>> = new Map();
  #own: OwnPresence = { show: 'online', status: '' };
  readonly #session: XmppSession;

  constructor(session: XmppSession) {
    this.#session = session;
    session.parts.middleware.use(async (context, next) => {
      if (context.stanza.name === 'presence') {
        const applied = applyPresence(this.#table, context.stanza);
        // "Unavailable" from a contact already offline changes nothing (a server answers every
        // probe of an offline contact so, thousands at a login): no event.
        if (applied && (this.#table.has(applied.jid) || applied.table.has(applied.jid))) {
          this.#table = applied.table;
          this.events.emit('contact', { jid: applied.jid, resources: this.resourcesOf(applied.jid) });
        }
      }
      return next();
    });
    // Stage 1: after the roster and carbons, since initial presence follows the roster request (RFC 6121 2.2).
    session.onOnline(async (resumed) => {
      if (resumed) return;
      // A new session: what we knew of contacts is gone; the server sends it again after our presence.
      const known = [...this.#table.keys()];
      this.#table = new Map();
      for (const jid of known) this.events.emit('contact', { jid, resources: [] });
      await session.parts.entity.send(presenceStanza(this.#own));
    }, 1);
  }

  get own(): OwnPresence {
    return { ...this.#own };
  }

  resourcesOf(jid: string): ResourcePresence[] {
    return [...(this.#table.get(jid)?.values() ?? [])];
  }

  /** Remembers our presence and sends it when online (otherwise at the next login). */
  async setOwn(own: OwnPresence): Promise<void> {
    this.#own = { ...own };
    this.events.emit('own', this.own);
    if (this.#session.isOnline) await this.#session.send(presenceStanza(this.#own));
  }
}
