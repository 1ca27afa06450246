// Roster, subscriptions, presence, carbons, receipts, bounces and the archive against both real
// servers of the testbed (one table, the server as a column): Prosody 13 for example.com and
// ejabberd 24.12 for example.org. Each test makes its own users, so server state never leaks.
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/xml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { createChatClient, type ChatFeatures } from '../../src/xmpp/chat-client.ts';
import { resourceOf } from '../../src/xmpp/jid.ts';
import type { RosterItem } from '../../src/xmpp/roster.ts';
import { nextEvent } from '../support/sessions.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const clients: ChatFeatures[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.session.stop()));
});
afterAll(async () => release());

const SERVERS = [
  { server: 'Prosody 13', domain: 'example.com' },
  { server: 'ejabberd 24.12', domain: 'example.org' },
];

describe.each(SERVERS)('$server ($domain)', ({ domain }) => {
  async function newUser(prefix: string): Promise<string> {
    return testbed.addUser(`${prefix}-${randomBytes(4).toString('hex')}`, domain, `pw-${prefix}`);
  }

  async function online(jid: string, resource?: string): Promise<ChatFeatures> {
    const features = createChatClient({
      jid,
      password: () => testbed.users[jid] ?? '',
      ...(resource ? { resource } : {}),
      resolver: createResolver({ server: testbed.dnsServer }),
      trust: trustStore([testbed.caPem]),
      cache: new PoshCache(new MemoryStore()),
    });
    clients.push(features);
    expect(await features.session.start()).toBe('online');
    return features;
  }

  const itemOf = (items: RosterItem[], jid: string) => items.find((item) => item.jid === jid);
  /** The roster once its item for `jid` passes `test`: now, or at a later push. */
  const rosterWhere = async (client: ChatFeatures, jid: string, test: (item: RosterItem | undefined) => boolean): Promise<RosterItem[]> =>
    test(itemOf(client.roster.items, jid))
      ? client.roster.items
      : nextEvent(client.roster.events, 'item', () => test(itemOf(client.roster.items, jid))).then(() => client.roster.items);

  describe('roster and subscriptions (RFC 6121 2 and 3)', () => {
    it('add, approve both ways, rename and remove arrive as roster pushes', async () => {
      const [oneJid, twoJid] = await Promise.all([newUser('one'), newUser('two')]);
      const [one, two] = await Promise.all([online(oneJid), online(twoJid)]);
      expect(one.roster.items).toEqual([]);

      const pushed = rosterWhere(one, twoJid, (item) => item?.pendingOut === true);
      const request = nextEvent(two.roster.events, 'subscription-request');
      await one.roster.add(twoJid, 'Two');
      expect(await pushed).toContainEqual({ jid: twoJid, name: 'Two', subscription: 'none', pendingOut: true, groups: [] });
      expect(await request).toBe(oneJid);
      expect(two.roster.requests).toEqual([oneJid]);

      // two approves and asks back; one approves that: a mutual subscription.
      const backRequest = nextEvent(one.roster.events, 'subscription-request');
      const oneSeesBoth = rosterWhere(one, twoJid, (item) => item?.subscription === 'both');
      await two.roster.answer(oneJid, true);
      expect(two.roster.requests).toEqual([]);
      expect(await backRequest).toBe(twoJid);
      await one.roster.answer(twoJid, true);
      await oneSeesBoth;
      await rosterWhere(two, oneJid, (item) => item?.subscription === 'both');

      const renamed = rosterWhere(one, twoJid, (item) => item?.name === 'Deux');
      await one.roster.rename(twoJid, 'Deux');
      await renamed;

      const removed = rosterWhere(one, twoJid, (item) => item === undefined);
      await one.roster.remove(twoJid);
      await removed;
      expect(itemOf(await one.roster.fetch(), twoJid)).toBeUndefined();
    });

    it('a denied request leaves the asker without a subscription', async () => {
      const [oneJid, threeJid] = await Promise.all([newUser('one'), newUser('three')]);
      const [one, three] = await Promise.all([online(oneJid), online(threeJid)]);
      const request = nextEvent(one.roster.events, 'subscription-request');
      await three.roster.add(oneJid, null);
      expect(await request).toBe(threeJid);
      const settled = rosterWhere(three, oneJid, (item) => item?.pendingOut === false);
      await one.roster.answer(threeJid, false);
      expect(itemOf(await settled, oneJid)).toMatchObject({ subscription: 'none', pendingOut: false });
    });
  });

  /** Two fresh users with a mutual subscription, both online. */
  async function friends(): Promise<[ChatFeatures, ChatFeatures]> {
    const [aJid, bJid] = await Promise.all([newUser('a'), newUser('b')]);
    const [a, b] = await Promise.all([online(aJid), online(bJid)]);
    const asked = nextEvent(b.roster.events, 'subscription-request');
    await a.roster.add(bJid, null);
    await asked;
    const askedBack = nextEvent(a.roster.events, 'subscription-request');
    await b.roster.answer(aJid, true);
    await askedBack;
    const mutual = rosterWhere(a, bJid, (item) => item?.subscription === 'both');
    await a.roster.answer(bJid, true);
    await mutual;
    return [a, b];
  }

  describe('presence (RFC 6121 4)', () => {
    it("a contact's show and status arrive per resource, and its going offline empties them", async () => {
      const [a, b] = await friends();
      const bJid = b.session.jid;
      const away = nextEvent(a.presence.events, 'contact', ({ jid, resources }) => jid === bJid && resources.some((r) => r.show === 'away'));
      await b.presence.setOwn({ show: 'away', status: 'at lunch' });
      const { resources } = await away;
      // RFC 7622 3.4: the resource is everything after the first "/", and may hold more of them
      // (Prosody's Bind 2 resources sometimes do).
      expect(resources).toEqual([{ resource: resourceOf(b.session.fullJid ?? ''), show: 'away', status: 'at lunch', priority: 0 }]);
      const gone = nextEvent(a.presence.events, 'contact', ({ jid, resources: now }) => jid === bJid && now.length === 0);
      await b.session.stop();
      await gone;
      expect(a.presence.resourcesOf(bJid)).toEqual([]);
    });
  });

  describe('messages: receipts (XEP-0184), bounces, carbons (XEP-0280), archive (XEP-0313)', () => {
    it('a message to an online contact ends delivered (receipt), never in error', async () => {
      const [a, b] = await friends();
      const states: string[] = [];
      a.messaging.events.on('state', ({ state }) => states.push(state));
      const delivered = nextEvent(a.messaging.events, 'state', ({ state }) => state === 'delivered');
      const arrived = nextEvent(b.messaging.events, 'message');
      const sent = await a.messaging.send(b.session.jid, 'receipt please');
      expect((await arrived).body).toBe('receipt please');
      expect((await delivered).id).toBe(sent.id);
      // The XEP-0198 ack is debounced, so the receipt may come first: 'sent' is then skipped.
      expect(states.at(-1)).toBe('delivered');
      expect(states).not.toContain('error');
    });

    it('a message to an account that does not exist comes back as an error', async () => {
      const aJid = await newUser('a');
      const a = await online(aJid);
      const bounced = nextEvent(a.messaging.events, 'state', ({ state }) => state === 'error');
      const sent = await a.messaging.send(`nobody-here@${domain}`, 'anyone?');
      const { id, error } = await bounced;
      expect(id).toBe(sent.id);
      expect(error).toMatch(/service-unavailable|item-not-found|recipient-unavailable/);
    });

    it('carbons: what one of our devices sends or receives shows on the other', async () => {
      const [aJid, bJid] = await Promise.all([newUser('a'), newUser('b')]);
      const [phone, desktop, b] = await Promise.all([online(aJid, 'phone'), online(aJid, 'desktop'), online(bJid)]);
      expect(phone.carbons.enabled && desktop.carbons.enabled).toBe(true);
      const sentCopy = nextEvent(desktop.messaging.events, 'message', (message) => message.source === 'carbon');
      const outgoing = await phone.messaging.send(bJid, 'from my phone');
      expect(await sentCopy).toMatchObject({ direction: 'out', peer: bJid, body: 'from my phone', id: outgoing.id, source: 'carbon' });

      // b writes to the phone's full JID (under Bind 2 the server completes the resource tag): the
      // desktop gets a "received" carbon.
      expect(phone.session.fullJid).toMatch(new RegExp(`^${aJid}/phone`));
      const receivedCopy = nextEvent(desktop.messaging.events, 'message', (message) => message.source === 'carbon' && message.direction === 'in');
      await b.session.send(xml('message', { to: phone.session.fullJid!, type: 'chat', id: 'to-the-phone' }, xml('body', {}, 'to your phone')));
      expect(await receivedCopy).toMatchObject({ direction: 'in', peer: bJid, body: 'to your phone', source: 'carbon' });
    });

    it('the archive gives the latest page first, then older pages until complete', async () => {
      const [a, b] = await friends();
      const bJid = b.session.jid;
      for (const body of ['first', 'second', 'third']) {
        const acked = nextEvent(a.messaging.events, 'state', ({ state }) => state === 'delivered');
        await a.messaging.send(bJid, body);
        await acked;
      }
      expect(await a.archive.offered()).toBe(true);
      // Pages count archived stanzas (b's receipts among them); only messages with a body come out.
      const latest = await a.archive.page(bJid, null, 2);
      expect(latest.messages.at(-1)).toMatchObject({ body: 'third', direction: 'out', source: 'archive' });
      expect(latest.complete).toBe(false);
      const pages = [latest];
      while (!pages.at(-1)?.complete && pages.length < 10) pages.push(await a.archive.page(bJid, pages.at(-1)?.first ?? null, 2));
      expect(pages.at(-1)?.complete).toBe(true);
      const all = pages.reverse().flatMap((page) => page.messages);
      expect(all.map((message) => [message.body, message.direction])).toEqual([
        ['first', 'out'],
        ['second', 'out'],
        ['third', 'out'],
      ]);
      // b's archive holds the same conversation, seen from the other side.
      const theirs = await b.archive.page(a.session.jid, null, 10);
      expect(theirs.messages.map((message) => [message.body, message.direction])).toEqual([
        ['first', 'in'],
        ['second', 'in'],
        ['third', 'in'],
      ]);
    });
  });
});
