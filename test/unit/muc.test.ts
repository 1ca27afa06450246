// The pure parts of group chat: what a room's presence means (XEP-0045 status codes and errors, in
// words), mentions, bookmarks (XEP-0402) and the capabilities hash (XEP-0115). One row per rule.
import { xml, type Element } from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import { mentions } from '../../src/app/account-rooms.ts';
import { Conversation } from '../../src/app/conversation.ts';
import type { ChatMessage } from '../../src/app/model.ts';
import { bookmarkItem, NS_BOOKMARKS, parseBookmark } from '../../src/xmpp/bookmarks.ts';
import { capsVer, NS_CAPS } from '../../src/xmpp/disco.ts';
import { departureWords, joinErrorWords, MUC_TEXT_LIMITS, NS_MUC, NS_MUC_USER, parseRoomPresence, type RoomPresence } from '../../src/xmpp/muc-presence.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../../src/xmpp/namespaces.ts';

const ROOM = 'room@conference.example.com';

function occupantPresence(nick: string, item: Record<string, string>, codes: number[] = [], type?: string, ...extra: Element[]): Element {
  return xml(
    'presence',
    { from: `${ROOM}/${nick}`, ...(type ? { type } : {}) },
    xml('x', { xmlns: NS_MUC_USER }, xml('item', item, ...extra), ...codes.map((code) => xml('status', { code: String(code) }))),
  );
}

describe('room presence (XEP-0045 7.2, 15.6.2)', () => {
  it.each<[string, Element, Partial<RoomPresence> & Record<string, unknown>]>([
    ['7.2.3: an occupant with role and affiliation', occupantPresence('bob', { role: 'participant', affiliation: 'member' }), { kind: 'available', self: false, occupant: expect.objectContaining({ nick: 'bob', role: 'participant', affiliation: 'member', jid: null }) }],
    ['7.2.3: status 110 is our own presence', occupantPresence('alice', { role: 'moderator', affiliation: 'owner' }, [110, 201]), { kind: 'available', self: true }],
    ['7.2.4: a non-anonymous room shows the real JID', occupantPresence('bob', { role: 'participant', affiliation: 'none', jid: 'bob@example.com/phone' }), { occupant: expect.objectContaining({ jid: 'bob@example.com/phone' }) }],
    ['unknown role and affiliation values are none', occupantPresence('bob', { role: 'emperor', affiliation: 'god' }), { occupant: expect.objectContaining({ role: 'none', affiliation: 'none' }) }],
    ['7.14: an unavailable presence without codes is leaving', occupantPresence('bob', { role: 'none', affiliation: 'none' }, [], 'unavailable'), { kind: 'unavailable', departure: { kind: 'left' } }],
    ['7.6: 303 with the new nick is a nick change', occupantPresence('bob', { role: 'participant', affiliation: 'none', nick: 'robert' }, [303], 'unavailable'), { departure: { kind: 'nick-changed', newNick: 'robert' } }],
    ['8.2: 307 is a kick, with reason and actor', occupantPresence('bob', { role: 'none', affiliation: 'none' }, [307, 110], 'unavailable', xml('actor', { nick: 'carol' }), xml('reason', {}, 'spam')), { self: true, departure: { kind: 'kicked', reason: 'spam', actor: 'carol' } }],
    ['9.1: 301 is a ban', occupantPresence('bob', { role: 'none', affiliation: 'outcast' }, [301], 'unavailable'), { departure: { kind: 'banned', reason: null, actor: null } }],
    ['9.4: 321 is a removal for an affiliation change', occupantPresence('bob', { role: 'none', affiliation: 'none' }, [321], 'unavailable'), { departure: { kind: 'removed-affiliation' } }],
    ['9.6: 322 is a removal when the room became members-only', occupantPresence('bob', { role: 'none', affiliation: 'none' }, [322], 'unavailable'), { departure: { kind: 'removed-members-only' } }],
    ['9.7: 332 is the service shutting down', occupantPresence('bob', { role: 'none', affiliation: 'none' }, [332], 'unavailable'), { departure: { kind: 'shutdown' } }],
    ['7.2.6: an error presence carries its condition', xml('presence', { from: `${ROOM}/alice`, type: 'error' }, xml('error', { type: 'auth' }, xml('not-authorized', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))), { kind: 'error', condition: 'not-authorized', nick: 'alice' }],
    ['a presence from the room itself (no nick) is not an occupant', xml('presence', { from: ROOM }), {}],
    ['a subscription request from a room is not an occupant', xml('presence', { from: `${ROOM}/bob`, type: 'subscribe' }), {}],
  ])('%s', (_rule, stanza, expected) => {
    const parsed = parseRoomPresence(stanza);
    if (Object.keys(expected).length === 0) expect(parsed).toBeNull();
    else expect(parsed).toMatchObject(expected);
  });

  it('10.9: a destroyed room names its reason and alternate venue', () => {
    const destroy = xml('destroy', { jid: 'new@conference.example.com' }, xml('reason', {}, 'moved'));
    const stanza = xml('presence', { from: `${ROOM}/alice`, type: 'unavailable' }, xml('x', { xmlns: NS_MUC_USER }, xml('item', { role: 'none', affiliation: 'none' }), destroy, xml('status', { code: '110' })));
    expect(parseRoomPresence(stanza)).toMatchObject({ kind: 'unavailable', self: true, departure: { kind: 'destroyed', reason: 'moved', alternate: 'new@conference.example.com' } });
  });

  it('a hostile nick, status or reason is cut to its limit', () => {
    const stanza = xml('presence', { from: `${ROOM}/${'n'.repeat(10_000)}` }, xml('status', {}, 's'.repeat(100_000)), xml('x', { xmlns: NS_MUC_USER }, xml('item', { role: 'participant', affiliation: 'none' })));
    const parsed = parseRoomPresence(stanza);
    expect(parsed?.kind === 'available' && [parsed.occupant.nick.length, parsed.occupant.status?.length]).toEqual([MUC_TEXT_LIMITS.nick, MUC_TEXT_LIMITS.status]);
  });
});

describe('departures and refusals in words (XEP-0045 7.2.6 to 7.2.11, 8.2, 9.1, 10.9)', () => {
  it.each([
    ['8.2: kicked, with who and why, and that one may rejoin', departureWords(ROOM, { kind: 'kicked', reason: 'spam', actor: 'carol' }), `You were removed from ${ROOM} by carol: "spam" You can join again.`],
    ['9.1: banned, and that it lasts', departureWords(ROOM, { kind: 'banned', reason: null, actor: null }), `You were banned from ${ROOM}. You cannot join again unless an admin lifts the ban.`],
    ['10.9: destroyed, with the alternate room', departureWords(ROOM, { kind: 'destroyed', reason: null, alternate: 'new@conference.example.com' }), `${ROOM} was destroyed. Its owner suggests new@conference.example.com instead.`],
    ['7.2.6: a password room asks for the password', joinErrorWords(ROOM, 'not-authorized', null), `${ROOM} needs a password. Enter the room's password and join again.`],
    ['7.2.7: members-only says whom to ask', joinErrorWords(ROOM, 'registration-required', null), `${ROOM} is members-only and you are not a member. Ask one of its admins to add you.`],
    ['7.2.9: a nick conflict asks for another nick', joinErrorWords(ROOM, 'conflict', null), `Someone in ${ROOM} already uses that nickname. Pick another one.`],
    ["an unknown condition is named, with the room's own text", joinErrorWords(ROOM, 'policy-violation', 'no'), `${ROOM} refused the join (<policy-violation/>). The room said: "no".`],
  ])('%s', (_rule, words, expected) => {
    expect(words).toBe(expected);
  });
});

describe('mentions', () => {
  it.each([
    ['the nick as a word', 'hi alice, look', 'alice', true],
    ['case does not matter', 'ALICE!', 'alice', true],
    ['inside another word it is not one', 'malice aforethought', 'alice', false],
    ['a nick with spaces and punctuation', 'ping Dr. Who please', 'Dr. Who', true],
    ['letters of other scripts count as word characters', 'jürgenalice', 'alice', false],
    ['an empty nick mentions nobody', 'anything', '  ', false],
  ])('%s', (_rule, text, nick, expected) => {
    expect(mentions(text, nick)).toBe(expected);
  });
});

describe('bookmarks (XEP-0402 3)', () => {
  const item = (attrs: Record<string, string>, ...children: Element[]) => xml('item', { id: ROOM }, xml('conference', { xmlns: NS_BOOKMARKS, ...attrs }, ...children));
  it.each<[string, Element, ReturnType<typeof parseBookmark>]>([
    ['3.2: autojoin, name, nick and password', item({ autojoin: 'true', name: 'Room' }, xml('nick', {}, 'al'), xml('password', {}, 'pw')), { jid: ROOM, name: 'Room', autojoin: true, nick: 'al', password: 'pw' }],
    ["3.2: autojoin is an xs:boolean ('1' is true)", item({ autojoin: '1' }), { jid: ROOM, name: null, autojoin: true, nick: null, password: null }],
    ['3.2: autojoin defaults to false', item({}), { jid: ROOM, name: null, autojoin: false, nick: null, password: null }],
    ['an item id that is no room JID is no bookmark', xml('item', { id: 'conference.example.com' }, xml('conference', { xmlns: NS_BOOKMARKS })), null],
    ['an item of another namespace is no bookmark', xml('item', { id: ROOM }, xml('conference', { xmlns: 'storage:bookmarks' })), null],
  ])('%s', (_rule, element, expected) => {
    expect(parseBookmark(element)).toEqual(expected);
  });

  it('3.3: what is published reads back the same', () => {
    const bookmark = { jid: ROOM, name: 'Room', autojoin: true, nick: 'al', password: null };
    expect(parseBookmark(bookmarkItem(bookmark))).toEqual(bookmark);
  });
});

describe('entity capabilities (XEP-0115 5.1)', () => {
  it("5.2: the specification's simple example hashes to its ver", () => {
    const features = [NS_CAPS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC];
    expect(capsVer([{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }], features)).toBe('QgayPKawpkPSDYmwT/WM94uAlu0=');
  });
});

describe('a conversation known by two ids (a room echo and its stanza-id)', () => {
  const message = (id: string): ChatMessage => ({ id, accountId: 'a', peer: ROOM, direction: 'out', body: 'x', timestamp: '2026-01-01T00:00:00.000Z', state: 'sending', error: null, source: 'live', stranger: false });
  it('an alias finds the message, and a trimmed message takes its aliases with it', () => {
    const conversation = new Conversation();
    conversation.add(message('ours'));
    conversation.alias('stanza-id-1', 'ours');
    expect(conversation.get('stanza-id-1')?.id).toBe('ours');
    conversation.add({ ...message('later'), timestamp: '2026-01-01T00:00:01.000Z' });
    conversation.keepLatest(1);
    expect(conversation.get('stanza-id-1')).toBeUndefined();
  });
});
