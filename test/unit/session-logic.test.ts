// The pure parts of the session: backoff, roster pushes, presence, message parsing and the
// outgoing message state machine. One row per rule, named after it.
import { xml, type Element } from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/app/contract.ts';
import { Conversation } from '../../src/app/conversation.ts';
import { backoffDelay } from '../../src/xmpp/backoff.ts';
import { isOwnBareJid } from '../../src/xmpp/jid.ts';
import { parseArchived } from '../../src/xmpp/mam.ts';
import { nextOutgoingState, type OutgoingEvent, type OutgoingState } from '../../src/xmpp/message-state.ts';
import { parseMessage } from '../../src/xmpp/messages.ts';
import { applyPresence, MAX_RESOURCES_PER_CONTACT, type PresenceTable } from '../../src/xmpp/presence.ts';
import { applyRosterChange, isTrustedPush, parseRosterItem, type RosterItem } from '../../src/xmpp/roster.ts';
import { VerifiedClient } from '../../src/xmpp/verified-client.ts';

const ME = 'alice@example.com';
const NOW = () => new Date('2026-01-02T03:04:05.000Z');

describe('backoff: exponential, capped, jittered', () => {
  const policy = { baseMs: 1000, capMs: 60_000 };
  it.each([
    ['the first retry waits between half and all of the base', 0, 500, 1000],
    ['each retry doubles the ceiling', 3, 4000, 8000],
    ['the ceiling never passes the cap', 12, 30_000, 60_000],
    ['a huge retry count stays at the cap (no overflow)', 10_000, 30_000, 60_000],
  ])('%s', (_rule, retry, low, high) => {
    expect(backoffDelay(retry, policy, () => 0)).toBe(low);
    expect(backoffDelay(retry, policy, () => 1)).toBe(high);
    const middle = backoffDelay(retry, policy, () => 0.5);
    expect(middle).toBeGreaterThan(low);
    expect(middle).toBeLessThan(high);
  });
});

describe('roster pushes (RFC 6121 2.1)', () => {
  const item = (attrs: Record<string, string>, ...groups: string[]) => xml('item', attrs, ...groups.map((group) => xml('group', {}, group)));
  it.each<[string, Element, ReturnType<typeof parseRosterItem>]>([
    ['RFC 6121 2.1.2.2: a missing subscription is none', item({ jid: 'Bob@Example.com' }), { jid: 'bob@example.com', name: null, subscription: 'none', pendingOut: false, groups: [] }],
    ["RFC 6121 2.1.2.2: ask='subscribe' is a pending outbound request", item({ jid: 'bob@example.com', ask: 'subscribe', name: 'Bob' }), { jid: 'bob@example.com', name: 'Bob', subscription: 'none', pendingOut: true, groups: [] }],
    ['RFC 6121 2.1.2.4: groups are kept, empty ones dropped', item({ jid: 'bob@example.com', subscription: 'both' }, 'Friends', '', 'Work'), { jid: 'bob@example.com', name: null, subscription: 'both', pendingOut: false, groups: ['Friends', 'Work'] }],
    ["RFC 6121 2.5.2: subscription='remove' deletes the item", item({ jid: 'bob@example.com', subscription: 'remove' }), { jid: 'bob@example.com', subscription: 'remove' }],
    ['an item without a JID is ignored', item({ name: 'nobody' }), null],
    ['an unknown subscription value is ignored', item({ jid: 'bob@example.com', subscription: 'sometimes' }), null],
  ])('%s', (_rule, element, expected) => {
    expect(parseRosterItem(element)).toEqual(expected);
  });

  it.each([
    ['RFC 6121 2.1.6: a push without from comes from our server', undefined, true],
    ['RFC 6121 2.1.6: a push from our bare JID is accepted', 'alice@example.com', true],
    ['RFC 6121 2.1.6: a push from another resource of ours (a full JID) is not from the server and is ignored', 'alice@example.com/phone', false],
    ['RFC 6121 2.1.6: a push from anyone else is ignored', 'mallory@example.com', false],
  ])('%s', (_rule, from, trusted) => {
    expect(isTrustedPush(from, ME)).toBe(trusted);
  });

  it('RFC 6121 2.1.6: a push replaces the item in place, a remove deletes it, others stay', () => {
    const bob: RosterItem = { jid: 'bob@example.com', name: 'Bob', subscription: 'to', pendingOut: false, groups: [] };
    const carol: RosterItem = { jid: 'carol@example.com', name: null, subscription: 'both', pendingOut: false, groups: [] };
    const roster = new Map([[bob.jid, bob], [carol.jid, carol]]);
    applyRosterChange(roster, { ...bob, name: 'Robert' });
    expect(roster.get('bob@example.com')?.name).toBe('Robert');
    expect([...roster.keys()]).toEqual(['bob@example.com', 'carol@example.com']);
    applyRosterChange(roster, { jid: 'bob@example.com', subscription: 'remove' });
    expect([...roster.keys()]).toEqual(['carol@example.com']);
  });
});

describe('presence per resource (RFC 6121 4)', () => {
  const presence = (attrs: Record<string, string>, ...children: Element[]) => xml('presence', attrs, ...children);
  it('RFC 6121 4.7: available sets a resource with show, status and priority; unavailable removes it (in place)', () => {
    const table: PresenceTable = new Map();
    expect(applyPresence(table, presence({ from: 'bob@example.com/phone' }, xml('show', {}, 'away'), xml('status', {}, 'out'), xml('priority', {}, '5')))).toBe('bob@example.com');
    applyPresence(table, presence({ from: 'bob@example.com/desk' }));
    expect([...table.get('bob@example.com')!.values()]).toEqual([
      { resource: 'phone', show: 'away', status: 'out', priority: 5 },
      { resource: 'desk', show: null, status: null, priority: 0 },
    ]);
    applyPresence(table, presence({ from: 'bob@example.com/phone', type: 'unavailable' }));
    expect([...table.get('bob@example.com')!.keys()]).toEqual(['desk']);
    applyPresence(table, presence({ from: 'bob@example.com/desk', type: 'unavailable' }));
    expect(table.has('bob@example.com')).toBe(false);
  });

  it('RFC 6121 4.5.3: unavailable from a contact already offline changes nothing (no event to send)', () => {
    expect(applyPresence(new Map(), presence({ from: 'bob@example.com/phone', type: 'unavailable' }))).toBeNull();
  });

  it(`bounded state: a contact's resources stop growing at ${MAX_RESOURCES_PER_CONTACT}, and known ones still update`, () => {
    const table: PresenceTable = new Map();
    for (let index = 0; index < MAX_RESOURCES_PER_CONTACT + 10; index += 1) applyPresence(table, presence({ from: `bob@example.com/r${index}` }));
    expect(table.get('bob@example.com')!.size).toBe(MAX_RESOURCES_PER_CONTACT);
    expect(applyPresence(table, presence({ from: `bob@example.com/r${MAX_RESOURCES_PER_CONTACT + 20}` }))).toBeNull();
    expect(applyPresence(table, presence({ from: 'bob@example.com/r0' }, xml('show', {}, 'dnd')))).toBe('bob@example.com');
    expect(table.get('bob@example.com')!.get('r0')?.show).toBe('dnd');
  });

  it.each([
    ['RFC 6121 3: subscription stanzas are not availability', { from: 'bob@example.com', type: 'subscribe' }],
    ['RFC 6121 4.3: probes are not availability', { from: 'bob@example.com', type: 'probe' }],
    ['RFC 6120 8.3: presence errors are not availability', { from: 'bob@example.com', type: 'error' }],
  ])('%s', (_rule, attrs) => {
    expect(applyPresence(new Map(), presence(attrs))).toBeNull();
  });

  it('RFC 6121 4.7.2.1: an unknown show value is no show; priority is clamped to -128..127', () => {
    const table: PresenceTable = new Map();
    applyPresence(table, presence({ from: 'bob@example.com/x' }, xml('show', {}, 'sleeping'), xml('priority', {}, '500')));
    expect(table.get('bob@example.com')!.get('x')).toMatchObject({ show: null, priority: 127 });
  });
});

describe('incoming messages', () => {
  const message = (attrs: Record<string, string>, ...children: Element[]) => xml('message', attrs, ...children);
  const body = (text: string) => xml('body', {}, text);
  const carbon = (kind: 'received' | 'sent', from: string, inner: Element) =>
    message({ from, to: `${ME}/desk` }, xml(kind, { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, inner)));

  it.each<[string, Element, unknown]>([
    ['RFC 6121 5.2.2: a chat message with a body is a live incoming message', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm1' }, body('hi'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: ME, id: 'arch-1' })),
      { kind: 'message', message: { id: 'arch-1', senderId: 'm1', peer: 'bob@example.com', peerFull: 'bob@example.com/phone', direction: 'in', body: 'hi', timestamp: NOW().toISOString(), source: 'live', receiptRequested: false } }],
    ['XEP-0359: a stanza-id stamped by someone else is not ours to trust', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm1' }, body('hi'), xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: 'bob@example.com', id: 'forged' })),
      { kind: 'message', message: expect.objectContaining({ id: 'm1' }) }],
    ['XEP-0160 3: a delay stamp from our server (offline storage) is the timestamp', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm2' }, body('late'), xml('delay', { xmlns: 'urn:xmpp:delay', from: 'example.com', stamp: '2025-12-31T23:00:00Z' })),
      { kind: 'message', message: expect.objectContaining({ timestamp: '2025-12-31T23:00:00.000Z' }) }],
    ['XEP-0203 3: of several stamps by our server the last, which the server appended, dates the message', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm2' }, body('late'),
      xml('delay', { xmlns: 'urn:xmpp:delay', from: 'example.com', stamp: '2001-01-01T00:00:00Z' }), xml('delay', { xmlns: 'urn:xmpp:delay', from: 'example.com', stamp: '2025-12-31T23:00:00Z' })),
      { kind: 'message', message: expect.objectContaining({ timestamp: '2025-12-31T23:00:00.000Z' }) }],
    ['XEP-0203 3: a delay stamp the sender wrote does not date the message (it arrived now)', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm2' }, body('backdated'), xml('delay', { xmlns: 'urn:xmpp:delay', from: 'bob@example.com/phone', stamp: '2001-01-01T00:00:00Z' })),
      { kind: 'message', message: expect.objectContaining({ timestamp: NOW().toISOString() }) }],
    ['XEP-0203 3: a delay stamp in the future is now', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm2' }, body('from the future'), xml('delay', { xmlns: 'urn:xmpp:delay', from: 'example.com', stamp: '2099-01-01T00:00:00Z' })),
      { kind: 'message', message: expect.objectContaining({ timestamp: NOW().toISOString() }) }],
    ['XEP-0184 3: a receipt request is noted', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm3' }, body('ack?'), xml('request', { xmlns: 'urn:xmpp:receipts' })),
      { kind: 'message', message: expect.objectContaining({ receiptRequested: true }) }],
    ['XEP-0184 3: a receipt refers to our message id', message({ from: 'bob@example.com/phone', id: 'r1' }, xml('received', { xmlns: 'urn:xmpp:receipts', id: 'our-1' })),
      { kind: 'receipt', peer: 'bob@example.com', id: 'our-1' }],
    ['RFC 6120 8.3: an error message bounces our message by id', message({ from: 'nobody@example.com', type: 'error', id: 'our-2' }, xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))),
      { kind: 'error', from: 'nobody@example.com', id: 'our-2', error: 'service-unavailable' }],
    ['XEP-0280 6: a received carbon from our server is an incoming copy', carbon('received', ME, message({ from: 'bob@example.com/phone', to: `${ME}/phone`, type: 'chat', id: 'c1' }, body('to your phone'))),
      { kind: 'message', message: expect.objectContaining({ direction: 'in', peer: 'bob@example.com', source: 'carbon', receiptRequested: false }) }],
    ['XEP-0280 6: a sent carbon is our own outgoing message from another device', carbon('sent', ME, message({ from: `${ME}/phone`, to: 'bob@example.com', type: 'chat', id: 'c2' }, body('from my phone'))),
      { kind: 'message', message: expect.objectContaining({ id: 'c2', direction: 'out', peer: 'bob@example.com', source: 'carbon' }) }],
    ['XEP-0280 11: a carbon from anyone but our own account is a forgery and ignored', carbon('received', 'mallory@example.com', message({ from: 'bob@example.com/phone', type: 'chat' }, body('trust me'))), null],
    ['RFC 6120 8.1.2.1: a carbon without a from is from our server on our behalf', message({ to: `${ME}/desk` }, xml('received', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, message({ from: 'bob@example.com/phone', type: 'chat', id: 'c3' }, body('no from'))))),
      { kind: 'message', message: expect.objectContaining({ id: 'c3', source: 'carbon' }) }],
    ['XEP-0280 11: a carbon from another resource of ours (a full JID) is a forgery too', carbon('received', `${ME}/phone`, message({ from: 'bob@example.com/phone', type: 'chat' }, body('trust me'))), null],
    ['a message without a body (chat state, marker) is not shown', message({ from: 'bob@example.com/phone', type: 'chat' }, xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' })), null],
    ['RFC 6121 5.2.2: groupchat and headline messages are not one-to-one chat', message({ from: 'room@conf.example.com/x', type: 'groupchat' }, body('hello room')), null],
    ['XEP-0313: archive results are read by the archive query, not as live messages', message({ from: ME }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: 'q', id: 'a1' })), null],
  ])('%s', (_rule, stanza, expected) => {
    expect(parseMessage(stanza, ME, NOW)).toEqual(expected);
  });

  it('XEP-0313 4.2: an archived message carries the archive id and time; our own keep the id we gave them', () => {
    const archived = (from: string, to: string, id: string) =>
      message({ to: `${ME}/desk` }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: 'q1', id }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' },
        xml('delay', { xmlns: 'urn:xmpp:delay', stamp: '2025-06-01T10:00:00Z' }), message({ from, to, type: 'chat', id: `sender-${id}` }, body(`text ${id}`)))));
    expect(parseArchived(archived('bob@example.com/phone', ME, 'a1'), 'q1', ME)).toMatchObject({ id: 'a1', direction: 'in', peer: 'bob@example.com', source: 'archive', timestamp: '2025-06-01T10:00:00.000Z' });
    expect(parseArchived(archived(`${ME}/desk`, 'bob@example.com', 'a2'), 'q1', ME)).toMatchObject({ id: 'sender-a2', direction: 'out', peer: 'bob@example.com' });
    expect(parseArchived(archived('bob@example.com/phone', ME, 'a3'), 'another-query', ME)).toBeNull();
  });

  it.each([
    ['XEP-0313 4.1.2: a result with no from is from our own archive', undefined, true],
    ['XEP-0313 4.1.2: a result from our bare JID is from our own archive', ME, true],
    ['XEP-0313 4.1.2: a result from another resource of ours is not from the archive', `${ME}/phone`, false],
    ['XEP-0313 4.1.2: a result from a stranger is not from the archive', 'mallory@evil.test', false],
  ])('%s', (_rule, from, accepted) => {
    const result = message({ to: `${ME}/desk`, ...(from ? { from } : {}) }, xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: 'q1', id: 'x1' },
      xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, message({ from: 'bob@example.com/phone', to: ME, type: 'chat', id: 's1' }, body('archived')))));
    expect(parseArchived(result, 'q1', ME) !== null).toBe(accepted);
  });
});

describe('outgoing message states', () => {
  it.each<[string, OutgoingState, OutgoingEvent, OutgoingState]>([
    ['XEP-0198 4: an ack makes a sending message sent', 'sending', 'acked', 'sent'],
    ['XEP-0184: a receipt makes a sent message delivered', 'sent', 'receipt', 'delivered'],
    ['XEP-0184: a receipt before the ack still means delivered', 'sending', 'receipt', 'delivered'],
    ['RFC 6120 8.3: a bounce makes a sent message an error', 'sent', 'bounced', 'error'],
    ['a late ack does not take a delivered message back', 'delivered', 'acked', 'delivered'],
    ['a late bounce does not undo a delivery', 'delivered', 'bounced', 'delivered'],
    ['an ack does not clear an error', 'error', 'acked', 'error'],
  ])('%s', (_rule, state, event, next) => {
    expect(nextOutgoingState(state, event)).toBe(next);
  });
});

describe('a conversation', () => {
  const chat = (id: string, timestamp: string): ChatMessage => ({
    id, accountId: 'acct-1', peer: 'bob@example.com', direction: 'in', body: id, timestamp, state: 'received', error: null, source: 'live', stranger: false,
  });
  it('bounded state: a stranger\'s conversation keeps only its latest messages, and ids leave with them', () => {
    const conversation = new Conversation();
    for (let index = 0; index < 10; index += 1) conversation.add(chat(`m${index}`, `2025-01-01T00:00:0${index}Z`));
    conversation.keepLatest(3);
    expect(conversation.before(null, 10).map((message) => message.id)).toEqual(['m7', 'm8', 'm9']);
    expect(conversation.get('m0')).toBeUndefined();
    expect(conversation.add(chat('m0', '2025-01-01T00:00:00Z'))).toBe(true);
  });

  it('keeps messages in time order, each id once, and pages backwards', () => {
    const conversation = new Conversation();
    expect(conversation.add(chat('b', '2026-01-01T00:00:02Z'))).toBe(true);
    expect(conversation.add(chat('a', '2026-01-01T00:00:01Z'))).toBe(true);
    expect(conversation.add(chat('c', '2026-01-01T00:00:03Z'))).toBe(true);
    expect(conversation.add(chat('b', '2026-01-01T00:00:02Z'))).toBe(false);
    expect(conversation.before(null, 2).map((message) => message.id)).toEqual(['b', 'c']);
    expect(conversation.before('b', 5).map((message) => message.id)).toEqual(['a']);
    expect(conversation.size).toBe(3);
  });

  it('a message out of order goes after every message not later than it (arrival order among equal times)', () => {
    const conversation = new Conversation();
    const stamps = Array.from({ length: 1000 }, (_, index) => new Date(Date.UTC(2026, 0, 1, 0, 0, 1000 - index)).toISOString());
    for (const [index, stamp] of stamps.entries()) conversation.add(chat(`d${index}`, stamp));
    conversation.add(chat('same-a', stamps[500]!));
    conversation.add(chat('same-b', stamps[500]!));
    const ids = conversation.before(null, 2000).map((message) => message.id);
    expect(ids.slice(0, 2)).toEqual(['d999', 'd998']);
    expect(ids.slice(499, 503)).toEqual(['d500', 'same-a', 'same-b', 'd499']);
    expect(ids.at(-1)).toBe('d0');
  });
});

describe('whose JID is whose (RFC 7622 3)', () => {
  it.each([
    ['RFC 7622 3.2: a domain in U-labels is the same domain in A-labels', 'alice@bücher.example', 'alice@xn--bcher-kva.example', true],
    ['RFC 7622 3.3: the local part compares without case', 'Alice@Example.com', 'alice@example.com', true],
    ['RFC 6121 2.1.6: another resource of the account is not the account', 'alice@example.com/phone', 'alice@example.com', false],
    ['another account on the same domain is not the account', 'mallory@example.com', 'alice@example.com', false],
    ['the domain alone is not the account', 'example.com', 'alice@example.com', false],
  ])('%s', (_rule, jid, own, expected) => {
    expect(isOwnBareJid(jid, own)).toBe(expected);
  });
});

describe('a new connection forgets the last one\'s SASL exchange', () => {
  it('RFC 6120 6.4: a listener left by an exchange the last server never finished is gone at the next connection; the client\'s own stays', () => {
    const client = new VerifiedClient({ account: 'alice@example.com', domain: 'example.com' }, async () => {
      throw new Error('no socket in this test');
    });
    const stale = (): void => undefined;
    client.on('nonza', stale);
    expect(client.listenerCount('nonza')).toBe(2);
    (client as unknown as { _status(status: string): void })._status('connecting');
    expect(client.listeners('nonza')).not.toContain(stale);
    expect(client.listenerCount('nonza')).toBe(1);
  });
});
