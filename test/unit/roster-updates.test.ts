// The renderer's roster between frames: the whole roster once per login, then the contacts that
// changed, applied together once per frame.
import { describe, expect, it } from 'vitest';
import { applyContactChanges, pendingRoster, queueContact, queueFull, settle } from '../../renderer/src/lib/roster-updates.ts';
import type { RosterContact } from '../../src/app/contract.ts';

const contact = (jid: string, extra: Partial<RosterContact> = {}): RosterContact => ({
  jid, name: null, subscription: 'both', pendingOut: false, groups: [], presence: [], unread: 0, ...extra,
});
const jids = (contacts: readonly RosterContact[]) => contacts.map((entry) => entry.jid);

const a = contact('a@example.com');
const b = contact('b@example.com');
const c = contact('c@example.com');

describe('contact changes (the roster.contacts event)', () => {
  it.each([
    { rule: 'a changed contact keeps its place', roster: [a, b, c], changes: [['b@example.com', contact('b@example.com', { unread: 2 })]], expected: ['a@example.com', 'b@example.com', 'c@example.com'], unreadOfB: 2 },
    { rule: 'a contact that left the roster (null) goes', roster: [a, b, c], changes: [['b@example.com', null]], expected: ['a@example.com', 'c@example.com'], unreadOfB: undefined },
    { rule: 'a new contact is added at the end', roster: [a], changes: [['b@example.com', b]], expected: ['a@example.com', 'b@example.com'], unreadOfB: 0 },
    { rule: 'removing a contact that is not there changes nothing', roster: [a], changes: [['b@example.com', null]], expected: ['a@example.com'], unreadOfB: undefined },
    { rule: 'no changes leave the roster as it was', roster: [a, b], changes: [], expected: ['a@example.com', 'b@example.com'], unreadOfB: 0 },
  ] as const)('$rule', ({ roster, changes, expected, unreadOfB }) => {
    const next = applyContactChanges(roster, new Map(changes as ReadonlyArray<[string, RosterContact | null]>));
    expect(jids(next)).toEqual(expected);
    expect(next.find((entry) => entry.jid === 'b@example.com')?.unread).toBe(unreadOfB);
  });

  it('untouched contacts are the same objects (nothing is copied that did not change)', () => {
    const next = applyContactChanges([a, b, c], new Map([['b@example.com', contact('b@example.com', { unread: 1 })]]));
    expect(next[0]).toBe(a);
    expect(next[2]).toBe(c);
  });
});

describe('what one frame shows', () => {
  it.each([
    {
      rule: 'the latest state of a contact changed twice in one frame wins',
      queue: [['contact', 'a@example.com', contact('a@example.com', { unread: 1 })], ['contact', 'a@example.com', contact('a@example.com', { unread: 2 })]],
      shown: [a, b],
      expected: { jids: ['a@example.com', 'b@example.com'], unreadOfA: 2 },
    },
    {
      rule: 'a whole roster replaces what was shown and every change queued before it',
      queue: [['contact', 'a@example.com', contact('a@example.com', { unread: 5 })], ['full', [b, c]]],
      shown: [a],
      expected: { jids: ['b@example.com', 'c@example.com'], unreadOfA: undefined },
    },
    {
      rule: 'changes after a whole roster apply to it',
      queue: [['full', [a, b]], ['contact', 'a@example.com', contact('a@example.com', { unread: 3 })]],
      shown: [],
      expected: { jids: ['a@example.com', 'b@example.com'], unreadOfA: 3 },
    },
  ] as const)('$rule', ({ queue, shown, expected }) => {
    const pending = pendingRoster();
    for (const entry of queue) {
      if (entry[0] === 'full') queueFull(pending, [...entry[1]]);
      else queueContact(pending, entry[1], entry[2]);
    }
    const next = settle(shown, pending);
    expect(jids(next)).toEqual(expected.jids);
    expect(next.find((entry) => entry.jid === 'a@example.com')?.unread).toBe(expected.unreadOfA);
  });

  it('5,000 contacts and 1,000 changes settle in one linear pass', () => {
    const roster = Array.from({ length: 5000 }, (_, index) => contact(`c${index}@example.com`));
    const pending = pendingRoster();
    for (let index = 0; index < 1000; index += 1) queueContact(pending, `c${index * 5}@example.com`, contact(`c${index * 5}@example.com`, { unread: 1 }));
    const next = settle(roster, pending);
    expect(next).toHaveLength(5000);
    expect(next.filter((entry) => entry.unread === 1)).toHaveLength(1000);
  });
});
