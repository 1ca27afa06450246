// The renderer's pure logic: the timeline's one time axis, list windowing for long rosters and
// conversations, countdowns, refusals in words, roster order, rooms and their occupants, and which
// navigations stay home.
import { describe, expect, it } from 'vitest';
import { fieldsOf, settingsOf } from '../../renderer/src/lib/account-settings.ts';
import { formatCountdown, formatMs, groupFingerprint, localizeTimes, secondsUntil } from '../../renderer/src/lib/format.ts';
import { loginWords } from '../../renderer/src/lib/login-words.ts';
import { bestPresence, contactLevel, sortContacts } from '../../renderer/src/lib/presence.ts';
import { describeRefusal } from '../../renderer/src/lib/refusal.ts';
import {
  applyOccupantChanges, describeRoom, filterListed, inviterOf, maySetSubject, occupantActions, occupantWords, roomAddress, roomFacts, roomTitle, sortOccupants,
  sortRooms, upsertInvitation, upsertRoom,
} from '../../renderer/src/lib/rooms.ts';
import { isSameDocument } from '../../renderer/src/lib/same-document.ts';
import { stateWords } from '../../renderer/src/lib/state-words.ts';
import { applyStepEvent, layoutTimeline, overlapped, stepsFromEvents, waitingFor } from '../../renderer/src/lib/timeline.ts';
import { fixedWindowOf, RowHeights, windowOf } from '../../renderer/src/lib/virtual.ts';
import type { RoomInvitation, RoomOccupant, RoomSummary, RosterContact } from '../../src/app/contract.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import type { DelegationReport } from '../../src/verify/report.ts';
import type { PoshResult, StepEvent, TimedStep } from '../../src/verify/types.ts';

const T0 = 1_800_000_000_000;
const step = (id: string, name: TimedStep['name'], start: number, end: number, ok = true): TimedStep => ({
  id, name, label: name, startedAt: T0 + start, endedAt: T0 + end, ok,
});
const start = (timed: TimedStep): StepEvent => ({ phase: 'start', step: { id: timed.id, name: timed.name, label: timed.label, startedAt: timed.startedAt } });
const end = (timed: TimedStep): StepEvent => ({ phase: 'end', step: timed });

describe('the connection timeline', () => {
  const srv = step('srv-1', 'srv', 0, 40);
  const posh = step('posh-2', 'posh', 1, 80);
  const tcp = step('tcp-3', 'tcp', 81, 83);

  it('steps that ran together start at the same place on the axis and overlap (SRV and POSH, ARCHITECTURE#the-connection-pipeline step 1)', () => {
    const layout = layoutTimeline(stepsFromEvents([start(srv), start(posh), end(srv), end(posh), start(tcp), end(tcp)]), T0 + 100);
    const [srvBar, poshBar, tcpBar] = layout.bars;
    expect(layout.spanMs).toBe(83);
    expect(srvBar!.left).toBe(0);
    expect(poshBar!.left).toBeCloseTo((1 / 83) * 100);
    expect(srvBar!.left + srvBar!.width).toBeGreaterThan(poshBar!.left);
    expect(tcpBar!.left).toBeGreaterThanOrEqual(poshBar!.left + poshBar!.width - 1e-9);
  });

  it('a running step grows to now, and the axis with it', () => {
    const steps = stepsFromEvents([start(srv), start(posh), end(srv)]);
    const at50 = layoutTimeline(steps, T0 + 50);
    const at90 = layoutTimeline(steps, T0 + 90);
    expect(at50.bars[1]).toMatchObject({ running: true, durationMs: 49 });
    expect(at90.bars[1]).toMatchObject({ running: true, durationMs: 89 });
    expect(at90.spanMs).toBe(90);
  });

  it('an end that arrives without its start still draws the step, in order of start', () => {
    const steps = applyStepEvent(applyStepEvent([], end(posh)), end(srv));
    expect(steps.map((entry) => entry.id)).toEqual(['srv-1', 'posh-2']);
  });

  it('a quick attempt is drawn on at least the minimum span, with ticks from 0', () => {
    const layout = layoutTimeline(stepsFromEvents([end(step('srv-1', 'srv', 0, 2))]), T0);
    expect(layout.spanMs).toBe(50);
    expect(layout.ticks[0]).toEqual({ at: 0, label: '0 ms' });
    expect(layout.ticks.length).toBeLessThanOrEqual(12);
  });

  it('the total is what the attempt took, not the length of the axis', () => {
    const layout = layoutTimeline(stepsFromEvents([end(step('srv-1', 'srv', 0, 2)), end(step('tcp-1', 'tcp', 3, 24))]), T0);
    expect(layout.spanMs).toBe(50);
    expect(layout.totalMs).toBe(24);
  });

  it('a stretch with no step running is named, with the step it came before; a turn of the event loop is not', () => {
    const layout = layoutTimeline(
      stepsFromEvents([end(step('tls-1', 'tls', 0, 10)), end(step('verify-1', 'verify', 11, 13)), end(step('stream-1', 'stream', 58, 90))]),
      T0,
    );
    expect(layout.gaps).toEqual([{ startMs: 13, durationMs: 45, before: 'stream' }]);
  });

  it('overlapped() is true only for steps that shared some time', () => {
    const [a, b, c] = stepsFromEvents([end(srv), end(posh), end(tcp)]);
    expect(overlapped(a!, b!, T0)).toBe(true);
    expect(overlapped(a!, c!, T0)).toBe(false);
  });
});

describe('windowing long lists', () => {
  it('rows of measured heights: offsets, the row at a y, and the window with overscan', () => {
    const heights = [10, 20, 30, 40];
    const rows = new RowHeights();
    rows.reset(4, (index) => heights[index]!);
    expect([0, 1, 2, 3, 4].map((index) => rows.offsetOf(index))).toEqual([0, 10, 30, 60, 100]);
    expect([rows.rowAt(0), rows.rowAt(9.9), rows.rowAt(10), rows.rowAt(99), rows.rowAt(1000)]).toEqual([0, 0, 1, 3, 3]);
    expect(windowOf(rows, 25, 10, 0)).toEqual({ start: 1, end: 3, padTop: 10, padBottom: 40, total: 100 });
    expect(windowOf(rows, 25, 10, 1)).toEqual({ start: 0, end: 4, padTop: 0, padBottom: 0, total: 100 });
  });

  it('a measured height replaces the estimate: every offset after it moves, none before', () => {
    const rows = new RowHeights();
    rows.reset(5, () => 50);
    rows.set(2, 80);
    expect([0, 1, 2, 3, 4, 5].map((index) => rows.offsetOf(index))).toEqual([0, 50, 100, 180, 230, 280]);
    expect(rows.total).toBe(280);
    expect(rows.rowAt(179)).toBe(2);
    expect(rows.rowAt(180)).toBe(3);
    rows.set(7, 10);
    expect(rows.total).toBe(280);
  });

  it('20,000 rows render only the rows in view (plus overscan), wherever the view is', () => {
    const rows = new RowHeights();
    rows.reset(20_000, (index) => 40 + (index % 3) * 10);
    for (const scrollTop of [0, 400_000, rows.total - 600]) {
      const range = windowOf(rows, scrollTop, 600, 8);
      expect(range.end - range.start).toBeLessThanOrEqual(600 / 40 + 2 + 16);
      expect(range.padTop + (rows.offsetOf(range.end) - rows.offsetOf(range.start)) + range.padBottom).toBe(range.total);
    }
  });

  it('20,000 rows: offsets from the tree equal the running sum after any measurements', () => {
    const heights = Array.from({ length: 20_000 }, (_, index) => 40 + (index % 7) * 3);
    const rows = new RowHeights();
    rows.reset(heights.length, (index) => heights[index]!);
    for (const index of [0, 1, 4095, 4096, 12_345, 19_999]) {
      heights[index] = 97;
      rows.set(index, 97);
    }
    let sum = 0;
    for (let index = 0; index < heights.length; index += 1) {
      if (index % 997 === 0) {
        expect(rows.offsetOf(index)).toBe(sum);
        expect(rows.rowAt(sum)).toBe(index);
      }
      sum += heights[index]!;
    }
    expect(rows.total).toBe(sum);
  });

  it('fixed-height rows (the roster): 5,000 contacts, a window of about a screen', () => {
    expect(fixedWindowOf(5000, 52, 52 * 1000, 520, 6)).toEqual({ start: 994, end: 1017, padTop: 994 * 52, padBottom: (5000 - 1017) * 52, total: 5000 * 52 });
    expect(fixedWindowOf(0, 52, 0, 520)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0, total: 0 });
    expect(fixedWindowOf(3, 52, 10_000, 520).end).toBe(3);
  });
});

describe('numbers and words', () => {
  it.each([
    [86_400 * 7, '7 d 0 h 0 min'],
    [86_399, '23 h 59 min 59 s'],
    [3_601, '1 h 0 min 1 s'],
    [61, '1 min 1 s'],
    [0.5, 'less than 1 s'],
    [0, 'expired'],
    [-5, 'expired'],
  ])('a countdown of %s s reads "%s"', (seconds, text) => {
    expect(formatCountdown(seconds)).toBe(text);
  });

  it.each([
    [3.14159, '3.1 ms'],
    [42.4, '42 ms'],
    [12_345, '12.3 s'],
    [-1, '–'],
  ])('%s ms reads "%s"', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it('a fingerprint is grouped by four for reading aloud', () => {
    expect(groupFingerprint('Fzmt8AqHxDZ=')).toBe('Fzmt 8AqH xDZ=');
  });
});

function report(verdict: DelegationReport['verdict'], posh: Partial<PoshResult> = {}): DelegationReport {
  return {
    domain: 'example.com',
    service: 'xmpp-client',
    checkedAt: '2026-01-01T00:00:00.000Z',
    srv: { records: [], candidates: [], error: null },
    posh: {
      domain: normalizeDomain('example.com'), service: 'xmpp-client', url: 'https://example.com/.well-known/posh/xmpp-client.json', status: 'absent', error: null,
      steps: [], fingerprints: [], expires: null, fetchedAt: null, expiresAt: null, fromCache: false, ...posh,
    },
    poshRefetched: false,
    connection: null,
    certificate: {
      subject: 'CN=hosting.example.net', issuer: 'CN=CA', commonNames: [], dnsNames: ['hosting.example.net'], srvNames: [], xmppAddrs: [],
      notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z', serialNumber: '01', sha256: 'x', selfSigned: false,
      key: 'EC P-256', signatureAlgorithm: 'ecdsa-with-SHA256',
    },
    chain: [],
    pkix: null,
    verdict,
    hint: null,
    timings: { srvMs: 1, poshMs: 1, connectMs: 1, tlsMs: 1, totalMs: 3 },
    steps: [],
  };
}

describe('live words for the connection', () => {
  it.each<[string, Parameters<typeof waitingFor>[0], string | null, string]>([
    ['SRV waits for the account\'s DNS server', { name: 'srv', label: 'SRV example.com' }, '127.0.0.1:5353', 'the DNS server 127.0.0.1:5353 (SRV example.com)'],
    ['an address lookup without a resolver waits for the system\'s', { name: 'dns', label: 'A/AAAA hosting.example.net' }, null, "this computer's DNS resolver (A/AAAA hosting.example.net)"],
    ['TCP waits for the address to accept', { name: 'tcp', label: 'TCP 127.0.0.3:5222' }, null, '127.0.0.3:5222 to accept the connection'],
    ['the stream waits for the features', { name: 'stream', label: 'Open the XMPP stream' }, null, "the server's stream features"],
    ['SASL waits for the password check', { name: 'auth', label: 'SASL SCRAM-SHA-1' }, null, 'the server to check the password'],
  ])('%s', (_rule, running, resolver, words) => {
    expect(waitingFor(running, resolver)).toBe(words);
  });

  it.each<[string, Parameters<typeof stateWords>, { title: string; action: string }]>([
    ['a permanent failure offers Retry and no countdown', ['error', null, false], { title: 'Could not connect', action: 'Retry' }],
    ['a failure that will be retried says "yet" and offers to try now', ['error', null, true], { title: 'Could not connect yet', action: 'Try now' }],
    ['only a session that was online is "lost"', ['reconnecting', null, true], { title: 'Connection lost', action: 'Reconnect now' }],
    ['a server that cannot do our login does not blame the password', ['auth-failed', { code: 'AUTH_NO_SCRAM', kind: 'login-impossible', permanent: true, message: 'm', admin: null, quote: null }, false], { title: 'The login cannot work with this server', action: 'Retry' }],
    ['XEP-0484 4.4: a refused token with no password asks for it, without blaming it', ['auth-failed', { code: 'NEEDS_PASSWORD', kind: 'password-needed', permanent: true, message: 'm', admin: null, quote: null }, false], { title: 'The password is needed', action: 'Connect' }],
    ['a disabled account is not a wrong password', ['auth-failed', { code: 'ACCOUNT_DISABLED', kind: 'account-disabled', permanent: true, message: 'm', admin: null, quote: null }, false], { title: 'The account is disabled', action: 'Connect' }],
  ])('%s', (_rule, args, words) => {
    expect(stateWords(...args)).toEqual(words);
  });

  it('the countdown counts whole seconds down to zero and never below', () => {
    expect([secondsUntil(T0 + 4_200, T0), secondsUntil(T0 + 4_200, T0 + 1_300), secondsUntil(T0 + 4_200, T0 + 9_000)]).toEqual([5, 3, 0]);
  });

  it('the core\'s exact ISO times read as local times, the rest of the sentence unchanged', () => {
    const text = localizeTimes('It expired on 2026-11-30T10:00:00.000Z; renew it.');
    expect(text).not.toContain('2026-11-30T10:00:00.000Z');
    expect(text).toMatch(/^It expired on .+2026.+; renew it\.$/);
  });
});

describe('a refusal in plain words: the headline and why each proof failed', () => {
  it.each([
    ['NO_PROOF with POSH absent', report({ verified: false, prooftype: null, code: 'NO_PROOF', reason: 'r', pkixFailure: 'The certificate names hosting.example.net, not example.com.' }), /Nothing proves/, /publishes no POSH document/],
    ['POSH_MISMATCH', report({ verified: false, prooftype: null, code: 'POSH_MISMATCH', reason: 'r' }, { status: 'valid', fingerprints: [{ 'sha-256': 'a' }] }), /vouches for a different certificate/, /^example\.com publishes one fingerprint, and it does not match the presented certificate\.$/],
    ['POSH_MISMATCH with two fingerprints', report({ verified: false, prooftype: null, code: 'POSH_MISMATCH', reason: 'r' }, { status: 'valid', fingerprints: [{ 'sha-256': 'a' }, { 'sha-256': 'b' }] }), /vouches for a different certificate/, /^example\.com publishes 2 fingerprints, and none matches the presented certificate\.$/],
    ['NO_PROOF with POSH invalid', report({ verified: false, prooftype: null, code: 'NO_PROOF', reason: 'r' }, { status: 'invalid', error: { code: 'POSH_EXPIRED', message: 'expires is 0' } }), /Nothing proves/, /cannot be used: expires is 0 \(POSH_EXPIRED\)/],
    ['NO_PROOF with POSH unreachable', report({ verified: false, prooftype: null, code: 'NO_PROOF', reason: 'r' }, { status: 'error', error: { code: 'POSH_TIMEOUT', message: 'no answer in 5 s' } }), /Nothing proves/, /could not be fetched: no answer in 5 s \(POSH_TIMEOUT\)/],
    ['CERT_EXPIRED', report({ verified: false, prooftype: null, code: 'CERT_EXPIRED', reason: 'r' }, { status: 'valid', fingerprints: [{ 'sha-256': 'x' }] }), /has expired/, /publishes valid POSH material/],
  ])('%s', (_case, input, headline, poshText) => {
    const refusal = describeRefusal(input);
    expect(refusal.headline).toMatch(headline);
    expect(refusal.findings.map((finding) => finding.proof)).toEqual(['PKIX', 'POSH']);
    expect(refusal.findings[1]!.text).toMatch(poshText);
  });

  it('a connection that failed before any certificate has no per-proof findings', () => {
    const refusal = describeRefusal({ ...report({ verified: false, prooftype: null, code: 'CONNECT_FAILED', reason: 'No server answered.' }), certificate: null });
    expect(refusal).toEqual({ headline: 'No server for example.com could be reached.', reason: 'No server answered.', code: 'CONNECT_FAILED', findings: [] });
  });
});

const contact = (jid: string, extra: Partial<RosterContact> = {}): RosterContact => ({
  jid, name: null, subscription: 'both', pendingOut: false, groups: [], presence: [], unread: 0, ...extra,
});

describe('the roster', () => {
  it('a contact shows its highest-priority resource, the more available one on a tie', () => {
    const presence = [
      { resource: 'phone', show: 'away' as const, status: null, priority: 0 },
      { resource: 'desk', show: null, status: 'at work', priority: 0 },
      { resource: 'old', show: 'chat' as const, status: null, priority: -1 },
    ];
    expect(bestPresence(presence)?.resource).toBe('desk');
    expect(contactLevel(contact('a@x', { presence }))).toBe('online');
    expect(contactLevel(contact('a@x'))).toBe('offline');
  });

  it('is ordered unread first, then available, then by name', () => {
    const online = [{ resource: 'r', show: null, status: null, priority: 0 }];
    const sorted = sortContacts([
      contact('zed@x'),
      contact('amy@x'),
      contact('bob@x', { presence: online }),
      contact('carl@x', { unread: 2 }),
    ]);
    expect(sorted.map((entry) => entry.jid)).toEqual(['carl@x', 'bob@x', 'amy@x', 'zed@x']);
  });
});

describe('navigation that stays on the app', () => {
  it.each([
    ['the same page with a fragment', 'http://127.0.0.1:4000/#x', true],
    ['another page of the same origin', 'http://127.0.0.1:4000/other.html', false],
    ['the same path with a query', 'http://127.0.0.1:4000/?q', false],
    ['another origin', 'https://example.org/', false],
    ['not a URL', 'nonsense', false],
  ])('%s', (_case, url, same) => {
    expect(isSameDocument(url, 'http://127.0.0.1:4000/')).toBe(same);
  });
});

describe('the account form\'s advanced fields', () => {
  it.each([
    ['empty fields are the defaults', { resolver: ' ', host: '', port: '', directTls: true, extraAnchorsPem: '' }, { resolver: null, host: null, port: null, directTls: false, extraAnchorsPem: null }],
    ['a number input bound as a number', { resolver: '127.0.0.1:5353', host: 'xmpp.example.net', port: 5223, directTls: true, extraAnchorsPem: '' }, { resolver: '127.0.0.1:5353', host: 'xmpp.example.net', port: 5223, directTls: true, extraAnchorsPem: null }],
    ['a cleared number input (null)', { resolver: '', host: '', port: null, directTls: false, extraAnchorsPem: '' }, { resolver: null, host: null, port: null, directTls: false, extraAnchorsPem: null }],
    ['direct TLS only with a manual host', { resolver: '', host: '', port: '', directTls: true, extraAnchorsPem: '' }, { resolver: null, host: null, port: null, directTls: false, extraAnchorsPem: null }],
  ])('%s', (_case, fields, settings) => {
    expect(settingsOf(fields)).toEqual({ ok: true, settings });
    expect(settingsOf({ ...fieldsOf(settings), port: fieldsOf(settings).port })).toEqual({ ok: true, settings });
  });

  it.each([70_000, 0, 1.5, 'abc'])('port %s is refused in words', (port) => {
    expect(settingsOf({ resolver: '', host: 'h', port, directTls: false, extraAnchorsPem: '' })).toEqual({
      ok: false,
      message: 'The port must be a whole number between 1 and 65535.',
    });
  });
});

describe('loginWords: the chain\'s login node', () => {
  const base = { profile: 'sasl2' as const, mechanism: 'SCRAM-SHA-1-PLUS', method: 'password' as const, channelBinding: 'tls-exporter', downgradeChecked: true, resumed: false };
  it.each([
    { rule: 'RFC 9266: a password login bound to the channel says so, and XEP-0474 when checked', login: base, headline: 'Logged in with the password (SCRAM-SHA-1-PLUS)', has: [/tls-exporter, RFC 9266/, /XEP-0474/, /SASL2 \(XEP-0388\) in two round trips/], hasNot: [/resumed/], bound: true },
    { rule: 'XEP-0484: a token login names the token and its mechanism', login: { ...base, method: 'token' as const, mechanism: 'HT-SHA-256-EXPR', downgradeChecked: false }, headline: 'Logged in with a FAST token (HT-SHA-256-EXPR, XEP-0484)', has: [/tls-exporter/, /in one round trip/], hasNot: [/XEP-0474/], bound: true },
    { rule: 'RFC 5929: tls-server-end-point is the presented certificate', login: { ...base, channelBinding: 'tls-server-end-point' }, headline: 'Logged in with the password (SCRAM-SHA-1-PLUS)', has: [/certificate this server presented/], hasNot: [], bound: true },
    { rule: 'RFC 6120: the legacy profile, unbound, resumed', login: { ...base, profile: 'sasl' as const, mechanism: 'SCRAM-SHA-1', channelBinding: null, resumed: true }, headline: 'Logged in with the password (SCRAM-SHA-1)', has: [/RFC 6120/, /Not bound/, /resumed \(XEP-0198\)/], hasNot: [/XEP-0388/], bound: false },
  ])('$rule', ({ login, headline, has, hasNot, bound }) => {
    const words = loginWords(login);
    expect(words.headline).toBe(headline);
    expect(words.bound).toBe(bound);
    const text = words.lines.join('\n');
    for (const pattern of has) expect(text).toMatch(pattern);
    for (const pattern of hasNot) expect(text).not.toMatch(pattern);
  });
});

describe('group chat', () => {
  const room = (jid: string, extra: Partial<RoomSummary> = {}): RoomSummary => ({
    jid, state: 'joined', name: null, nick: 'alice', subject: null, subjectBy: null, role: 'participant', affiliation: 'none', passwordProtected: false,
    membersOnly: false, archived: true, nonAnonymous: false, anyoneMaySetSubject: false, created: false, problem: null, occupantCount: 2, unread: 0, mentions: 0, bookmarked: false,
    autojoin: false, remote: false, ...extra,
  });
  const occupant = (nick: string, extra: Partial<RoomOccupant> = {}): RoomOccupant => ({ nick, role: 'participant', affiliation: 'none', jid: null, show: null, status: null, ...extra });

  it('a room is called by its name, else by the local part of its address', () => {
    expect(roomTitle(room('team@conference.example.com', { name: 'The Team' }))).toBe('The Team');
    expect(roomTitle(room('team@conference.example.com', { name: '  ' }))).toBe('team');
    expect(roomTitle({ jid: 'lobby@conference.example.com', name: null })).toBe('lobby');
  });

  it('rooms with mentions come first, then unread, then joined before not joined, then by name', () => {
    const order = sortRooms([
      room('b@c.example', { state: 'left' }),
      room('a@c.example'),
      room('quiet@c.example', { unread: 3 }),
      room('zed@c.example', { unread: 1, mentions: 1 }),
    ]).map((entry) => entry.jid);
    expect(order).toEqual(['zed@c.example', 'quiet@c.example', 'a@c.example', 'b@c.example']);
  });

  it('a room in one sentence names its unread messages and mentions apart', () => {
    expect(describeRoom(room('team@c.example', { name: 'Team', unread: 4, mentions: 1, bookmarked: true, autojoin: true })))
      .toBe('Room Team, 2 occupants, 4 unread, 1 mention of you, bookmarked, joined at login');
    expect(describeRoom(room('team@c.example', { state: 'left', problem: 'You were banned.', occupantCount: 0 }))).toBe('Room team, not joined: see why');
    expect(describeRoom(room('team@c.example', { state: 'joining', mentions: 2 }))).toBe('Room team, joining…, 2 mentions of you');
  });

  it('a room event replaces the room in place, or adds it; an invitation replaces the one to the same room', () => {
    const rooms = [room('a@c.example'), room('b@c.example')];
    expect(upsertRoom(rooms, room('a@c.example', { unread: 2 })).map((entry) => [entry.jid, entry.unread])).toEqual([['a@c.example', 2], ['b@c.example', 0]]);
    expect(upsertRoom(rooms, room('c@c.example')).map((entry) => entry.jid)).toEqual(['a@c.example', 'b@c.example', 'c@c.example']);
    expect(rooms.map((entry) => entry.unread)).toEqual([0, 0]);
    const invitation = (roomJid: string, reason: string): RoomInvitation => ({ room: roomJid, from: 'bob@example.com', reason, kind: 'direct', hasPassword: false });
    expect(upsertInvitation([invitation('a@c.example', 'old'), invitation('b@c.example', 'b')], invitation('a@c.example', 'new')).map((entry) => entry.reason)).toEqual(['b', 'new']);
  });

  it('the inviter is the nick when a semi-anonymous room names them as its occupant, else the address', () => {
    expect(inviterOf({ room: 'party@c.example', from: 'party@c.example/bob' })).toBe('bob');
    expect(inviterOf({ room: 'party@c.example', from: 'bob@example.com/laptop' })).toBe('bob@example.com/laptop');
    expect(inviterOf({ room: 'party@c.example', from: 'party@c.example/' })).toBe('party@c.example/');
  });

  it.each([
    ['team@conference.example.com', 'conference.example.com', 'team@conference.example.com'],
    ['team@other.example', null, 'team@other.example'],
    ['Team Notes', 'conference.example.com', 'team-notes@conference.example.com'],
    ['  ', 'conference.example.com', null],
    ['team', null, null],
  ])('the typed room %j on service %j is %j', (typed, service, expected) => {
    expect(roomAddress(typed, service)).toBe(expected);
  });

  it('the service list is filtered by address or name, case-insensitively, in name order', () => {
    const listed = [{ jid: 'zeta@c.example', name: 'Alpha Lounge' }, { jid: 'beta@c.example', name: null }, { jid: 'gamma@c.example', name: 'Other' }];
    expect(filterListed(listed, '').map((entry) => entry.jid)).toEqual(['zeta@c.example', 'beta@c.example', 'gamma@c.example']);
    expect(filterListed(listed, 'LOUNGE').map((entry) => entry.jid)).toEqual(['zeta@c.example']);
    expect(filterListed(listed, 'eta@').map((entry) => entry.jid)).toEqual(['zeta@c.example', 'beta@c.example']);
    expect(filterListed(listed, 'nothing')).toEqual([]);
  });

  it('occupants by role, then affiliation, then nick; occupant events set or remove one nick each', () => {
    const table = new Map([
      ['visitor', occupant('visitor', { role: 'visitor' })],
      ['carol', occupant('carol')],
      ['admin', occupant('admin', { role: 'moderator', affiliation: 'admin' })],
      ['owner', occupant('owner', { role: 'moderator', affiliation: 'owner' })],
      ['bob', occupant('bob', { affiliation: 'member' })],
    ]);
    expect(sortOccupants(table.values()).map((entry) => entry.nick)).toEqual(['owner', 'admin', 'bob', 'carol', 'visitor']);
    const next = applyOccupantChanges(table, [{ nick: 'carol', occupant: null }, { nick: 'dave', occupant: occupant('dave') }, { nick: 'bob', occupant: occupant('bob', { role: 'visitor' }) }]);
    expect([...next.keys()].sort()).toEqual(['admin', 'bob', 'dave', 'owner', 'visitor']);
    expect(next.get('bob')?.role).toBe('visitor');
    expect(table.has('carol')).toBe(true);
    expect(occupantWords(occupant('x', { role: 'moderator', affiliation: 'owner' }))).toBe('moderator, owner');
    expect(occupantWords(occupant('x', { role: 'visitor' }))).toBe('visitor (no voice)');
  });

  it('what our role lets us do (XEP-0045 8, 9): a participant only writes privately; a moderator kicks and voices but spares admins; an owner bans and makes members where the address is known', () => {
    const participant = { role: 'participant' as const, affiliation: 'none' as const, nick: 'me' };
    const moderator = { role: 'moderator' as const, affiliation: 'none' as const, nick: 'me' };
    const owner = { role: 'moderator' as const, affiliation: 'owner' as const, nick: 'me' };
    const bob = occupant('bob', { jid: 'bob@example.com' });
    expect(occupantActions(participant, bob)).toEqual(['private']);
    expect(occupantActions(participant, occupant('me'))).toEqual([]);
    expect(occupantActions(moderator, bob)).toEqual(['private', 'kick', 'mute']);
    expect(occupantActions(moderator, occupant('quiet', { role: 'visitor' }))).toEqual(['private', 'kick', 'voice']);
    expect(occupantActions(moderator, occupant('boss', { role: 'moderator', affiliation: 'admin' }))).toEqual(['private']);
    expect(occupantActions(owner, bob)).toEqual(['private', 'kick', 'mute', 'member', 'ban']);
    expect(occupantActions(owner, occupant('anon'))).toEqual(['private', 'kick', 'mute']);
    expect(occupantActions(owner, occupant('member', { affiliation: 'member', jid: 'm@example.com' }))).toEqual(['private', 'kick', 'mute', 'ban']);
    expect(occupantActions({ ...owner, affiliation: 'admin' }, occupant('boss', { role: 'moderator', affiliation: 'owner', jid: 'o@example.com' }))).toEqual(['private']);
  });

  it('XEP-0045 8.1: moderators may change the subject of a room they are in, participants where the room lets them, visitors never; the room facts say what its features mean', () => {
    expect(maySetSubject(room('r@c.example', { role: 'moderator' }))).toBe(true);
    expect(maySetSubject(room('r@c.example', { role: 'participant' }))).toBe(false);
    expect(maySetSubject(room('r@c.example', { role: 'participant', anyoneMaySetSubject: true }))).toBe(true);
    expect(maySetSubject(room('r@c.example', { role: 'visitor', anyoneMaySetSubject: true }))).toBe(false);
    expect(maySetSubject(room('r@c.example', { role: 'moderator', state: 'left' }))).toBe(false);
    expect(maySetSubject(room('r@c.example', { role: 'participant', anyoneMaySetSubject: true, state: 'left' }))).toBe(false);
    expect(roomFacts(room('r@c.example', { anyoneMaySetSubject: true }))).toContain('Anyone with a voice may change the subject.');
    expect(roomFacts(room('r@c.example', { archived: false, membersOnly: true, passwordProtected: true, nonAnonymous: true }))).toEqual([
      'Keeps no archive: only what was said while you were in it.',
      'Members only: others need an invitation or membership.',
      'Protected by a password.',
      'Everyone in it sees your address.',
    ]);
  });
});
