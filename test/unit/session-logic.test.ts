// The pure parts of the session: backoff, roster pushes, presence, message parsing and the
// outgoing message state machine. One row per rule, named after it.
import { xml, type Element } from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/app/contract.ts';
import { Conversation } from '../../src/app/conversation.ts';
import { backoffDelay } from '../../src/xmpp/backoff.ts';
import { parseArchived } from '../../src/xmpp/mam.ts';
import { nextOutgoingState, type OutgoingEvent, type OutgoingState } from '../../src/xmpp/message-state.ts';
import { parseMessage } from '../../src/xmpp/messages.ts';
import { applyPresence } from '../../src/xmpp/presence.ts';
import { applyRosterChange, isTrustedPush, parseRosterItem, type RosterItem } from '../../src/xmpp/roster.ts';
import { ScramError } from '../../src/xmpp/scram.ts';
import { loginProblem } from '../../src/xmpp/session.ts';

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
    ['RFC 6121 2.1.6: a push from our full JID is accepted', 'alice@example.com/phone', true],
    ['RFC 6121 2.1.6: a push from anyone else is ignored', 'mallory@example.com', false],
  ])('%s', (_rule, from, trusted) => {
    expect(isTrustedPush(from, ME)).toBe(trusted);
  });

  it('RFC 6121 2.1.6: a push replaces the item, a remove deletes it, others stay', () => {
    const bob: RosterItem = { jid: 'bob@example.com', name: 'Bob', subscription: 'to', pendingOut: false, groups: [] };
    const carol: RosterItem = { jid: 'carol@example.com', name: null, subscription: 'both', pendingOut: false, groups: [] };
    const start = new Map([[bob.jid, bob], [carol.jid, carol]]);
    const renamed = applyRosterChange(start, { ...bob, name: 'Robert' });
    expect(renamed.get('bob@example.com')?.name).toBe('Robert');
    expect(start.get('bob@example.com')?.name).toBe('Bob');
    const removed = applyRosterChange(renamed, { jid: 'bob@example.com', subscription: 'remove' });
    expect([...removed.keys()]).toEqual(['carol@example.com']);
  });
});

describe('presence per resource (RFC 6121 4)', () => {
  const presence = (attrs: Record<string, string>, ...children: Element[]) => xml('presence', attrs, ...children);
  it('RFC 6121 4.7: available sets a resource with show, status and priority; unavailable removes it', () => {
    const one = applyPresence(new Map(), presence({ from: 'bob@example.com/phone' }, xml('show', {}, 'away'), xml('status', {}, 'out'), xml('priority', {}, '5')));
    expect(one?.jid).toBe('bob@example.com');
    const two = applyPresence(one!.table, presence({ from: 'bob@example.com/desk' }));
    expect([...two!.table.get('bob@example.com')!.values()]).toEqual([
      { resource: 'phone', show: 'away', status: 'out', priority: 5 },
      { resource: 'desk', show: null, status: null, priority: 0 },
    ]);
    const three = applyPresence(two!.table, presence({ from: 'bob@example.com/phone', type: 'unavailable' }));
    expect([...three!.table.get('bob@example.com')!.keys()]).toEqual(['desk']);
    const gone = applyPresence(three!.table, presence({ from: 'bob@example.com/desk', type: 'unavailable' }));
    expect(gone!.table.has('bob@example.com')).toBe(false);
  });

  it.each([
    ['RFC 6121 3: subscription stanzas are not availability', { from: 'bob@example.com', type: 'subscribe' }],
    ['RFC 6121 4.3: probes are not availability', { from: 'bob@example.com', type: 'probe' }],
    ['RFC 6120 8.3: presence errors are not availability', { from: 'bob@example.com', type: 'error' }],
  ])('%s', (_rule, attrs) => {
    expect(applyPresence(new Map(), presence(attrs))).toBeNull();
  });

  it('RFC 6121 4.7.2.1: an unknown show value is no show; priority is clamped to -128..127', () => {
    const applied = applyPresence(new Map(), presence({ from: 'bob@example.com/x' }, xml('show', {}, 'sleeping'), xml('priority', {}, '500')));
    expect(applied!.table.get('bob@example.com')!.get('x')).toMatchObject({ show: null, priority: 127 });
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
    ['XEP-0203: a delay stamp is the timestamp', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm2' }, body('late'), xml('delay', { xmlns: 'urn:xmpp:delay', stamp: '2025-12-31T23:00:00Z' })),
      { kind: 'message', message: expect.objectContaining({ timestamp: '2025-12-31T23:00:00.000Z' }) }],
    ['XEP-0184 3: a receipt request is noted', message({ from: 'bob@example.com/phone', type: 'chat', id: 'm3' }, body('ack?'), xml('request', { xmlns: 'urn:xmpp:receipts' })),
      { kind: 'message', message: expect.objectContaining({ receiptRequested: true }) }],
    ['XEP-0184 3: a receipt refers to our message id', message({ from: 'bob@example.com/phone', id: 'r1' }, xml('received', { xmlns: 'urn:xmpp:receipts', id: 'our-1' })),
      { kind: 'receipt', peer: 'bob@example.com', id: 'our-1' }],
    ['RFC 6120 8.3: an error message bounces our message by id', message({ from: 'nobody@example.com', type: 'error', id: 'our-2' }, xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))),
      { kind: 'error', peer: 'nobody@example.com', id: 'our-2', error: 'service-unavailable' }],
    ['XEP-0280 6: a received carbon from our server is an incoming copy', carbon('received', ME, message({ from: 'bob@example.com/phone', to: `${ME}/phone`, type: 'chat', id: 'c1' }, body('to your phone'))),
      { kind: 'message', message: expect.objectContaining({ direction: 'in', peer: 'bob@example.com', source: 'carbon', receiptRequested: false }) }],
    ['XEP-0280 6: a sent carbon is our own outgoing message from another device', carbon('sent', ME, message({ from: `${ME}/phone`, to: 'bob@example.com', type: 'chat', id: 'c2' }, body('from my phone'))),
      { kind: 'message', message: expect.objectContaining({ id: 'c2', direction: 'out', peer: 'bob@example.com', source: 'carbon' }) }],
    ['XEP-0280 11: a carbon from anyone but our own account is a forgery and ignored', carbon('received', 'mallory@example.com', message({ from: 'bob@example.com/phone', type: 'chat' }, body('trust me'))), null],
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

describe('login problems', () => {
  it.each<[string, unknown, { auth: boolean; code: string }, RegExp]>([
    ['a refused password is AUTH_FAILED, an authentication problem', new ScramError('AUTH_REFUSED', 'not-authorized'), { auth: true, code: 'AUTH_FAILED' }, /refused the login for alice@example\.com: check the password/],
    ['a server that cannot prove its SCRAM signature is an authentication problem', new ScramError('AUTH_SERVER_SIGNATURE', 'bad v='), { auth: true, code: 'AUTH_SERVER_SIGNATURE' }, /^bad v=$/],
    ['no SCRAM offered is an authentication problem', new ScramError('AUTH_NO_SCRAM', 'none offered'), { auth: true, code: 'AUTH_NO_SCRAM' }, /^none offered$/],
    ['anything else after the verdict is SESSION_FAILED and may be retried', new Error('socket hang up'), { auth: false, code: 'SESSION_FAILED' }, /after the server was verified \(socket hang up\)/],
  ])('%s', (_rule, error, expected, message) => {
    const { auth, problem } = loginProblem(error, ME);
    expect({ auth, code: problem.code }).toEqual(expected);
    expect(problem.message).toMatch(message);
  });
});

describe('a conversation', () => {
  const chat = (id: string, timestamp: string): ChatMessage => ({
    id, accountId: 'acct-1', peer: 'bob@example.com', direction: 'in', body: id, timestamp, state: 'received', error: null, source: 'live',
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
});
