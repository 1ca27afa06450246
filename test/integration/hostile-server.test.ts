// One hostile byte must not crash, stall or fool the client: a scripted server (test/support/
// hostile-server.ts) on 127.0.52.1 does, one row per behaviour, what a server or anyone on the path
// could, and each row checks that this process is alive and heard, the typed outcome, that nothing
// was lost or corrupted, and, where memory is the attack, how much the process grew.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountChat } from '../../src/app/account-chat.ts';
import type { EventName, EventPayloads, RosterContact } from '../../src/app/contract.ts';
import { trustStore } from '../../src/lookup/anchors.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { createAuthority, scratchDir, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { createChatClient, type ChatFeatures, type ChatOptions } from '../../src/xmpp/chat-client.ts';
import { MUC_LIMITS, type Invitation, type RoomMessage } from '../../src/xmpp/muc.ts';
import { XmppSession, type SessionOptions, type SessionProblem, type SessionState } from '../../src/xmpp/session.ts';
import { manualHostOnly, startHostilePlaintext, startHostileServer, type HostileConnection, type HostileScript } from '../support/hostile-server.ts';
import { nextEvent } from '../support/sessions.ts';

const ADDRESS = '127.0.52.1';
const DOMAIN = normalizeDomain('hostile.test');
const ME = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const MiB = 1024 * 1024;
let nextPort = 25_400;

let scratch: { dir: string; remove: () => Promise<void> };
let ca: IssuedCertificate;
let leaf: IssuedCertificate;

beforeAll(async () => {
  scratch = await scratchDir('hostile');
  const authority = await createAuthority(join(scratch.dir, 'ca'));
  ca = authority;
  leaf = await authority.issue({ name: 'hostile', dnsNames: [DOMAIN] });
});

afterAll(async () => {
  await scratch?.remove();
});

function sessionOptions(port: number, directTls = true): SessionOptions {
  return {
    jid: ME,
    password: () => 'not-a-secret',
    resolver: createResolver(),
    trust: trustStore([ca.certPem]),
    manual: { host: ADDRESS, port, directTls },
    delegation: manualHostOnly,
    // One attempt per row: a retry would only repeat what the row already proved.
    backoff: { baseMs: 60_000, capMs: 60_000 },
    attemptTimeoutMs: 10_000,
  };
}

const client = (port: number, directTls = true, chat: ChatOptions = {}): ChatFeatures => createChatClient(sessionOptions(port, directTls), chat);

/** The first state the session reports that passes `test`. */
const stateWhere = (features: ChatFeatures, test: (state: SessionState, problem: SessionProblem | null) => boolean, timeoutMs = 15_000) =>
  nextEvent(features.session.events, 'state', ({ state, problem }) => test(state, problem), timeoutMs);

/** A stream error the client sent, by condition. */
const sentStreamError = (connection: HostileConnection, condition: string): boolean =>
  new RegExp(`<stream:error><${condition} xmlns=['"]urn:ietf:params:xml:ns:xmpp-streams['"]/>`).test(connection.received);

/** Runs `script` against a fresh client that comes online, then stops both. */
async function online(script: HostileScript, run: (features: ChatFeatures, connection: () => HostileConnection) => Promise<void>, chat: ChatOptions = {}): Promise<void> {
  const port = nextPort++;
  const server = await startHostileServer({ address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem, script });
  const features = client(port, true, chat);
  try {
    expect(await features.session.start()).toBe('online');
    await run(features, () => server.connections[0]!);
  } finally {
    await features.session.stop();
    await server.stop();
  }
}

const message = (id: string, body: string, from = `${BOB}/phone`): string =>
  `<message from='${from}' to='${ME}/hostile' type='chat' id='${id}'><body>${body}</body></message>`;

/** The highest RSS sampled while `work` runs, minus the RSS before it. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

describe('a hostile server after TLS: every violation ends the stream with its own condition', () => {
  it.each([
    { rule: 'XML 1.0 4.1: an undefined entity (&bogus;)', body: '&bogus;', condition: 'not-well-formed' },
    { rule: 'XML 1.0 2.2: a character reference to U+0000 (&#0;)', body: 'a&#0;b', condition: 'not-well-formed' },
    { rule: 'XML 1.0 2.2: a bad character reference in an attribute', raw: `<message from='${BOB}/phone' x='&#1;'/>`, condition: 'not-well-formed' },
    { rule: 'RFC 6120 11.1: a DOCTYPE with an entity declaration', raw: '<!DOCTYPE x [<!ENTITY e "boom">]>', condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.1: a comment', raw: '<!-- hello -->', condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.1: a processing instruction', raw: '<?do something?>', condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.6: bytes that are not UTF-8', bytes: Buffer.concat([Buffer.from(`<message from='${BOB}/phone'><body>`), Buffer.from([0xc3, 0x28]), Buffer.from('</body></message>')]), condition: 'unsupported-encoding' },
    { rule: 'XML namespaces 5: an undeclared prefix', raw: '<x:message/>', condition: 'bad-namespace-prefix' },
    { rule: 'RFC 6120 11.1: an entity declaration inside the stream', raw: "<!ENTITY e 'boom'>", condition: 'restricted-xml' },
    { rule: 'XML 1.0 3: a stanza whose closing tag is wrong, though its body closed', raw: `<message from='${BOB}/phone' type='chat' id='smuggled'><body>smuggled</body></bogus>`, condition: 'not-well-formed' },
    { rule: 'RFC 6120 4.8.3: a message outside jabber:client', raw: `<message xmlns='jabber:server' from='${BOB}/phone'><body>smuggled</body></message>`, condition: 'invalid-namespace' },
  ])('$rule is STREAM_ERROR <$condition/>: what came before is kept, nothing after is read, the stream closed and the session reconnecting', async ({ body, raw, bytes, condition }) => {
    await online({ online: () => undefined }, async (features, connection) => {
      const received: string[] = [];
      features.messaging.events.on('message', (incoming) => received.push(incoming.body));
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      const hostile = bytes ?? Buffer.from(raw ?? message('m1', body ?? ''));
      await connection().write(Buffer.concat([Buffer.from(message('before', 'kept')), hostile, Buffer.from(message('after', 'never read'))]));
      const { problem } = await lost;
      expect(problem).toMatchObject({ code: 'STREAM_ERROR', message: expect.stringContaining(`<${condition}/>`) });
      await connection().closed;
      expect(sentStreamError(connection(), condition)).toBe(true);
      expect(received).toEqual(['kept']);
    });
  });

  it('RFC 6120 4.9.1.1: a server that never closes its side still has the connection closed within seconds, and the session reconnecting', async () => {
    await online({ online: () => undefined, neverClose: true }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting', 5000);
      const startedAt = performance.now();
      await connection().write('<!-- hello -->');
      await lost;
      expect(performance.now() - startedAt).toBeLessThan(3000);
      // The client's socket is gone: the next thing the server writes meets a reset.
      await connection().write(' ');
      await connection().write(' ');
      await connection().closed;
    });
  });

  it('RFC 6120 4.9.1.1: replies still on their way when the stream ends do not keep the stream error from the server, nor change the reason', async () => {
    await online({ online: () => undefined, streamManagement: true }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      await connection().write(`<iq type='get' id='ping-2' from='${DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='urn:xmpp:sm:3'/><!-- x -->`);
      expect((await lost).problem).toMatchObject({ code: 'STREAM_ERROR', message: expect.stringContaining('<restricted-xml/>') });
      await connection().closed;
      expect(sentStreamError(connection(), 'restricted-xml')).toBe(true);
    });
  });

  it('RFC 6120 4.9.1.1: after a stream error from a server that then never closes, the old socket is gone all the same', async () => {
    await online({ online: () => undefined, neverClose: true }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting', 15_000);
      await connection().write("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
      expect((await lost).problem).toMatchObject({ code: 'CONNECTION_LOST', permanent: false, quote: expect.stringContaining('<conflict/>') });
      await sleep(100);
      await connection().write(' ');
      await connection().write(' ');
      await connection().closed;
    });
  }, 20_000);

  it('a session stopped while its server never closes leaves no socket open', async () => {
    const port = nextPort++;
    const server = await startHostileServer({ address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem, script: { online: () => undefined, neverClose: true } });
    const features = client(port);
    try {
      expect(await features.session.start()).toBe('online');
      await features.session.stop();
      const connection = server.connections[0]!;
      await connection.write(' ');
      await connection.write(' ');
      await connection.closed;
    } finally {
      await server.stop();
    }
  }, 20_000);

  it('RFC 6120 4.9.2: a stream error without a condition is undefined-condition: the session reconnects, nothing crashes', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      await connection().write('<stream:error/>');
      expect((await lost).problem).toMatchObject({ code: 'CONNECTION_LOST', quote: expect.stringContaining('<undefined-condition/>') });
    });
  });

  it('UTF-8: a character split across TLS records arrives whole, at every byte offset of the stanza', async () => {
    const body = 'split:© € 😀 ǅ';
    await online({ online: () => undefined }, async (features, connection) => {
      const received = new Map<string, string>();
      features.messaging.events.on('message', (incoming) => received.set(incoming.senderId ?? '', incoming.body));
      const stanzas: Buffer[] = [];
      for (let offset = 1; ; offset += 1) {
        const stanza = Buffer.from(message(`split-${offset}`, body));
        if (offset >= stanza.length) break;
        stanzas.push(stanza);
        // Two writes, two TLS records, apart in time: the client reads them as two chunks.
        await connection().write(stanza.subarray(0, offset));
        await sleep(2);
        await connection().write(stanza.subarray(offset));
      }
      await expect.poll(() => received.size, { timeout: 10_000 }).toBe(stanzas.length);
      expect(new Set(received.values())).toEqual(new Set([body]));
      expect(features.session.state).toBe('online');
    });
  });

  it('policy: a 50 MB stanza without an end ends the stream with <policy-violation/> after the limit, and memory stays near the limit', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      const growth = await rssGrowth(async () => {
        await connection().write(`<message from='${BOB}/phone' type='chat'><body>`);
        const megabyte = Buffer.alloc(MiB, 'a');
        for (let sent = 0; sent < 50 && features.session.state === 'online'; sent += 1) await connection().write(megabyte);
        await lost;
      });
      expect((await lost).problem).toMatchObject({ code: 'STREAM_ERROR', message: expect.stringContaining('<policy-violation/>') });
      expect(sentStreamError(connection(), 'policy-violation')).toBe(true);
      // The default limit is 4 MiB of text; the whole process may grow a few times that, not by 50 MB.
      expect(growth).toBeLessThan(120 * MiB);
    });
  });

  it.each([
    { rule: 'one attribute value', open: `<message from='${BOB}/phone' a='`, filler: 'a' },
    { rule: 'many small attributes', open: `<message from='${BOB}/phone' `, filler: "a='1' " },
    { rule: 'namespace declarations', open: `<message from='${BOB}/phone' `, filler: "xmlns:p='u' " },
    { rule: 'whitespace between stanzas', open: '', filler: ' ' },
    { rule: 'an unfinished comment', open: '<!--', filler: 'a' },
  ])('policy: 50 MB of $rule ends the stream with <policy-violation/> and memory stays near the limit', async ({ open, filler }) => {
    await online({ online: () => undefined }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      // One megabyte of the filler, made before measuring; attribute names are numbered, so that they differ.
      const numbered = filler.replace("a='", "a#='").replace('xmlns:p=', 'xmlns:p#=');
      const piece = numbered === filler
        ? Buffer.alloc(MiB, filler)
        : Buffer.from(Array.from({ length: Math.floor(MiB / (numbered.length + 5)) }, (_, index) => numbered.replace('#', String(index))).join(''));
      const growth = await rssGrowth(async () => {
        await connection().write(open);
        for (let sent = 0; sent < 50 && features.session.state === 'online'; sent += 1) await connection().write(piece);
        await lost;
      });
      expect((await lost).problem).toMatchObject({ code: 'STREAM_ERROR', message: expect.stringContaining('<policy-violation/>') });
      expect(growth).toBeLessThan(120 * MiB);
    });
  });

  it('policy: 100,000 nested elements end the stream at the depth limit, long before the end', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const lost = stateWhere(features, (state) => state === 'reconnecting');
      await connection().write(`<message from='${BOB}/phone'>${'<a>'.repeat(100_000)}`);
      expect((await lost).problem).toMatchObject({ code: 'STREAM_ERROR', message: expect.stringMatching(/nested deeper than 64.*<policy-violation\/>/) });
    });
  });
});

const rosterItems = (count: number, subscription = 'both'): string =>
  Array.from({ length: count }, (_, index) => `<item jid='contact${index}@${DOMAIN}' name='Contact ${index}' subscription='${subscription}'><group>All</group></item>`).join('');

describe('a hostile server: work that stays linear and state that stays bounded', () => {
  it('RFC 6121 2.1.6: a roster push of 20,000 items is refused whole with <bad-request/>, and the roster is unchanged', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await connection().write(`<iq type='set' id='push-1'><query xmlns='jabber:iq:roster'>${rosterItems(20_000)}</query></iq>`);
      // The error answers the push alone: the 20,000 items are not sent back.
      await expect.poll(() => /<iq [^>]*id=['"]push-1['"][^>]*>\s*<error type=['"]modify['"]><bad-request /.test(connection().received), { timeout: 10_000 }).toBe(true);
      expect(connection().received).not.toMatch(/contact0@/);
      expect(features.roster.items).toEqual([]);
      expect(features.session.state).toBe('online');
    });
  });

  it('RFC 6121 2.1.4: a legitimate roster result of 20,000 contacts fits the stanza limit and is read whole', async () => {
    await online({ rosterReply: (id) => `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'>${rosterItems(20_000)}</query></iq>`, online: () => undefined }, async (features) => {
      expect(features.roster.items).toHaveLength(20_000);
      expect(features.roster.item(`contact19999@${DOMAIN}`)).toMatchObject({ name: 'Contact 19999', subscription: 'both', groups: ['All'] });
    });
  });

  it('bounded state: 10,000 presences from one contact\'s resources keep at most 64 of them; 10,000 from strangers keep none', async () => {
    await online({ rosterReply: (id) => `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'><item jid='${BOB}' subscription='both'/></query></iq>`, online: () => undefined }, async (features, connection) => {
      const events: string[] = [];
      features.presence.events.on('contact', ({ jid }) => events.push(jid));
      const many = Array.from({ length: 10_000 }, (_, index) => `<presence from='${BOB}/r${index}'/>`).join('');
      const strangers = Array.from({ length: 10_000 }, (_, index) => `<presence from='stranger${index}@evil.test/x'/>`).join('');
      await connection().write(many + strangers + `<presence from='${BOB}/r0'><show>dnd</show></presence>`);
      await expect.poll(() => features.presence.resourcesOf(BOB).find((resource) => resource.resource === 'r0')?.show, { timeout: 10_000 }).toBe('dnd');
      expect(features.presence.resourcesOf(BOB)).toHaveLength(64);
      expect(features.presence.resourcesOf('stranger1@evil.test')).toEqual([]);
      expect(events.every((jid) => jid === BOB)).toBe(true);
    });
  });

  it('coalesced UI events: 5,000 contacts coming online reach the UI in a few roster.contacts events, each contact in its latest state', async () => {
    const count = 5000;
    const presences = Array.from({ length: count }, (_, index) => `<presence from='contact${index}@${DOMAIN}/laptop'><show>away</show></presence>`).join('');
    const port = nextPort++;
    const server = await startHostileServer({
      address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem,
      script: {
        rosterReply: (id) => `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'>${rosterItems(count)}</query></iq>`,
        // Then contact0 changes its mind: only the latest state may reach the UI.
        online: async (connection) => connection.write(presences + `<presence from='contact0@${DOMAIN}/laptop'><show>dnd</show></presence>`),
      },
    });
    const session = new XmppSession(sessionOptions(port));
    const latest = new Map<string, RosterContact | null>();
    let changeEvents = 0;
    const emit = <N extends EventName>(event: N, payload: EventPayloads[N]): void => {
      if (event === 'roster') for (const contact of (payload as EventPayloads['roster']).contacts) latest.set(contact.jid, contact);
      if (event !== 'roster.contacts') return;
      changeEvents += 1;
      const { changes } = payload as EventPayloads['roster.contacts'];
      expect(new Set(changes.map(({ jid }) => jid)).size).toBe(changes.length);
      for (const { jid, contact } of changes) latest.set(jid, contact);
    };
    const chat = new AccountChat({ id: 'hostile', jid: ME, get session() { return session; } }, emit);
    chat.attach(session);
    try {
      expect(await session.start()).toBe('online');
      const withShow = (show: string) => [...latest.values()].filter((contact) => contact?.presence[0]?.show === show).length;
      await expect.poll(() => withShow('away') + withShow('dnd'), { timeout: 15_000 }).toBe(count);
      await expect.poll(() => latest.get(`contact0@${DOMAIN}`)?.presence[0]?.show, { timeout: 5000 }).toBe('dnd');
      // One event per contact would be 5,001; gathered for 50 ms at a time, it is a handful.
      expect(changeEvents).toBeLessThan(count / 100);
    } finally {
      chat.close();
      await session.stop();
      await server.stop();
    }
  });

  it('bounded state (XEP-0045): a room floods 20,000 occupants and 5,000 history messages; 5,000 and 100 are kept, the rest counted, in one pass', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const room = 'flood@rooms.evil.test';
      const sent = (test: (element: Element) => boolean) => connection().elements.find(test);
      const joined = features.rooms.join(room, 'me');
      await expect.poll(() => sent((element) => element.name === 'iq' && element.attrs.to === room), { timeout: 5000 }).toBeTruthy();
      const disco = sent((element) => element.name === 'iq' && element.attrs.to === room)!;
      await connection().write(`<iq type='result' id='${disco.attrs.id}' from='${room}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
      await expect.poll(() => sent((element) => element.name === 'presence' && element.attrs.to === `${room}/me`), { timeout: 5000 }).toBeTruthy();
      const occupant = (nick: string, codes = '') =>
        `<presence from='${room}/${nick}'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant' affiliation='none'/>${codes}</x></presence>`;
      const flood = Array.from({ length: 20_000 }, (_, index) => occupant(`n${index}`)).join('');
      const history = Array.from({ length: 5000 }, (_, index) =>
        `<message from='${room}/n${index}' type='groupchat' id='h${index}'><body>old ${index}</body><delay xmlns='urn:xmpp:delay' from='${room}' stamp='2026-01-01T00:00:00Z'/></message>`).join('');
      let heard = 0;
      features.rooms.events.on('message', () => void (heard += 1));
      await connection().write(flood + occupant('me', "<status code='110'/>") + history + `<message from='${room}/n1' type='groupchat' id='live'><body>now</body></message>`);
      expect(await joined).toMatchObject({ state: 'joined', self: { nick: 'me' } });
      await expect.poll(() => heard, { timeout: 15_000 }).toBe(MUC_LIMITS.joinHistory + 1);
      expect(features.rooms.occupants(room)).toHaveLength(MUC_LIMITS.occupants + 1);
      expect(features.rooms.status(room)?.overflow).toBe(20_000 - MUC_LIMITS.occupants);
      // Occupants beyond the table change their status again: each is still counted once; one leaves.
      await connection().write(flood + `<presence from='${room}/n19999' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none' affiliation='none'/></x></presence>`);
      await expect.poll(() => features.rooms.status(room)?.overflow, { timeout: 15_000 }).toBe(20_000 - MUC_LIMITS.occupants - 1);
      expect(features.session.state).toBe('online');
    });
  });

  it('bounded state: 50,000 subscription requests keep 500, each sender once', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const requests = Array.from({ length: 50_000 }, (_, index) => `<presence from='asker${index % 25_000}@evil.test' type='subscribe'/>`).join('');
      await connection().write(requests + `<presence from='${BOB}/phone'/>`);
      await expect.poll(() => features.roster.requests.length, { timeout: 10_000 }).toBe(500);
      expect(new Set(features.roster.requests).size).toBe(500);
    });
  });
});

describe('a hostile server: what the session relies on', () => {
  it('XEP-0198 4: every stanza received counts, also the requests and errors the client answers itself', async () => {
    await online({ online: () => undefined, streamManagement: true }, async (features, connection) => {
      const acks = () => [...connection().received.matchAll(/<a xmlns=['"]urn:xmpp:sm:3['"] h=['"](\d+)['"]/g)].map((match) => Number(match[1]));
      await connection().write("<r xmlns='urn:xmpp:sm:3'/>");
      await expect.poll(() => acks().length, { timeout: 5000 }).toBe(1);
      await connection().write(
        `<iq type='get' id='ping-1' from='${DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>` +
          message('counted', 'counted') +
          `<iq type='error' id='nobody-asked' from='${DOMAIN}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>` +
          "<r xmlns='urn:xmpp:sm:3'/>",
      );
      await expect.poll(() => acks().length, { timeout: 5000 }).toBe(2);
      const [first, second] = acks();
      expect(second! - first!).toBe(3);
    });
  });

  it('RFC 6120 8.3.2: an iq error without a condition fails that request at once (undefined-condition), not after a time-out', async () => {
    const startedAt = performance.now();
    await online({ rosterReply: (id) => `<iq type='error' id='${id}'/>`, online: () => undefined }, async (features) => {
      expect(features.session.state).toBe('online');
      expect(performance.now() - startedAt).toBeLessThan(5000);
    });
  });

  it.each([
    { rule: 'another account', bound: `mallory@${DOMAIN}/hostile` },
    { rule: 'a JID with two @', bound: `alice@${DOMAIN}@evil.test/x` },
    { rule: 'the bare JID without a resource', bound: ME },
  ])('RFC 6120 7.6.1: a bound JID that is $rule is refused: SESSION_FAILED, never online', async ({ bound }) => {
    const port = nextPort++;
    const server = await startHostileServer({ address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem, script: { online: () => undefined, boundJid: bound } });
    const features = client(port);
    try {
      expect(await features.session.start()).not.toBe('online');
      expect(features.session.problem).toMatchObject({ code: 'SESSION_FAILED', message: expect.stringContaining(`not a resource of ${ME}`) });
    } finally {
      await features.session.stop();
      await server.stop();
    }
  });

  it('XEP-0474 1 (pinning): once the account has proven SCRAM, a server that offers only PLAIN is refused, and the password is not sent', async () => {
    const port = nextPort++;
    const server = await startHostileServer({ address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem, script: { online: () => undefined } });
    const features = createChatClient({ ...sessionOptions(port), allowPlain: () => false });
    try {
      expect(await features.session.start()).toBe('auth-failed');
      expect(features.session.problem).toMatchObject({ code: 'AUTH_DOWNGRADE', permanent: true });
      expect(features.session.problem?.message).toMatch(/has logged in with SCRAM before/);
      expect(server.connections[0]?.elements.map((element) => element.name)).not.toContain('auth');
    } finally {
      await features.session.stop();
      await server.stop();
    }
  });

  it('RFC 6120 6 and RFC 5802: a server that offers binding without any SASL never gets the session online, and no stanza', async () => {
    const port = nextPort++;
    const server = await startHostileServer({ address: ADDRESS, port, domain: DOMAIN, jid: ME, certPem: leaf.certPem, keyPem: leaf.keyPem, script: { online: () => undefined, skipAuthentication: true } });
    const features = client(port);
    try {
      expect(await features.session.start()).toBe('auth-failed');
      expect(features.session.problem).toMatchObject({ code: 'AUTH_SERVER_SIGNATURE', permanent: true });
      expect(features.session.isOnline).toBe(false);
      // Nothing for a server that proved nothing: no presence, no message.
      expect(server.connections[0]?.elements.map((element) => element.name).filter((name) => name === 'presence' || name === 'message')).toEqual([]);
    } finally {
      await features.session.stop();
      await server.stop();
    }
  });
});

describe('a hostile server: senders that are not who they must be', () => {
  const contacts = (id: string) => `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'><item jid='${BOB}' subscription='both'/></query></iq>`;

  it('RFC 6121 2.1.6: a roster push from another resource of the account is refused (service-unavailable), the roster unchanged', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await connection().write(`<iq type='set' id='forged' from='${ME}/other'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.test' subscription='both'/></query></iq>`);
      await expect.poll(() => /id=['"]forged['"]/.test(connection().received), { timeout: 10_000 }).toBe(true);
      expect(connection().received).toMatch(/service-unavailable/);
      expect(features.roster.items).toEqual([]);
    });
  });

  it('XEP-0280 11: a carbon from another resource of the account is a forgery and shows nothing', async () => {
    await online({ rosterReply: contacts, online: () => undefined }, async (features, connection) => {
      const received: string[] = [];
      features.messaging.events.on('message', (incoming) => received.push(incoming.body));
      const forged = `<message from='${ME}/other' to='${ME}/hostile'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>${message('c1', 'forged carbon')}</forwarded></received></message>`;
      await connection().write(forged + message('real', 'real message'));
      await expect.poll(() => received, { timeout: 10_000 }).toEqual(['real message']);
    });
  });

  it('XEP-0313 4.1.2: archive results from another resource of the account are not the archive', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const page = features.archive.page(BOB, null, 10);
      await expect.poll(() => connection().elements.find((element) => element.getChild('query', 'urn:xmpp:mam:2')), { timeout: 10_000 }).toBeDefined();
      const query = connection().elements.find((element) => element.getChild('query', 'urn:xmpp:mam:2'))!;
      const queryId = query.getChild('query', 'urn:xmpp:mam:2')!.attrs.queryid!;
      const forged = `<message from='${ME}/other' to='${ME}/hostile'><result xmlns='urn:xmpp:mam:2' queryid='${queryId}' id='a1'><forwarded xmlns='urn:xmpp:forward:0'>${message('m1', 'forged history')}</forwarded></result></message>`;
      await connection().write(forged + `<iq type='result' id='${query.attrs.id}'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>`);
      expect((await page).messages).toEqual([]);
    });
  });

  it('RFC 6120 8.2.3: a result with the roster request\'s id from a stranger is not the answer; the real one is', async () => {
    const script: HostileScript = {
      rosterReply: (id) =>
        `<iq type='result' id='${id}' from='mallory@evil.test'><query xmlns='jabber:iq:roster'><item jid='mallory@evil.test' subscription='both'/></query></iq>` +
        contacts(id),
      online: () => undefined,
    };
    await online(script, async (features) => {
      expect(features.roster.items.map((item) => item.jid)).toEqual([BOB]);
    });
  });

  it('XEP-0184 8: a receipt goes to a contact who may see our presence, and not to a stranger', async () => {
    await online({ rosterReply: contacts, online: () => undefined }, async (features, connection) => {
      const withReceipt = (id: string, from: string) => `<message from='${from}' to='${ME}/hostile' type='chat' id='${id}'><body>hi</body><request xmlns='urn:xmpp:receipts'/></message>`;
      await connection().write(withReceipt('from-stranger', 'mallory@evil.test/x') + withReceipt('from-bob', `${BOB}/phone`));
      await expect.poll(() => /received xmlns=['"]urn:xmpp:receipts['"] id=['"]from-bob['"]/.test(connection().received), { timeout: 10_000 }).toBe(true);
      expect(connection().received).not.toMatch(/from-stranger/);
    });
  });

  it('XEP-0184 5, RFC 6120 8.3.1: only the recipient marks our message delivered, and a stranger cannot bounce it', async () => {
    await online({ rosterReply: contacts, online: () => undefined }, async (features, connection) => {
      const states: string[] = [];
      features.messaging.events.on('state', ({ state }) => states.push(state));
      const sent = await features.messaging.send(BOB, 'for bob');
      await expect.poll(() => connection().received.includes(sent.id), { timeout: 5000 }).toBe(true);
      const receipt = (from: string) => `<message from='${from}' to='${ME}/hostile' id='r-${from.length}'><received xmlns='urn:xmpp:receipts' id='${sent.id}'/></message>`;
      const bounce = (from: string) => `<message from='${from}' type='error' id='${sent.id}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`;
      // A message after them: once it has arrived, so have they (one stream, in order).
      const marker = new Promise<void>((resolve) => features.messaging.events.on('message', ({ body }) => body === 'marker' && resolve()));
      await connection().write(receipt('mallory@evil.test/x') + bounce('mallory@evil.test/x') + message('marker', 'marker'));
      await marker;
      expect(states).not.toContain('delivered');
      expect(states).not.toContain('error');
      await connection().write(receipt(`${BOB}/phone`));
      await expect.poll(() => states.includes('delivered'), { timeout: 5000 }).toBe(true);
    });
  });
});

describe('a hostile stream before TLS (STARTTLS, anyone on the path)', () => {
  const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='hostile.test' id='x' version='1.0'>";
  it.each([
    { rule: 'XML 1.0 4.1: an undefined entity in the features', reply: `${header}<stream:features>&bogus;</stream:features>`, says: /not well-formed \(undefined entity\)/, condition: 'not-well-formed' },
    { rule: 'RFC 6120 11.1: an entity bomb in a DOCTYPE', reply: `<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>&lol2;`, says: /document type declaration/, condition: 'restricted-xml' },
    { rule: 'RFC 6120 5.4.2: more than 64 KiB before TLS', reply: `${header}${' '.repeat(70 * 1024)}<stream:features/>`, says: /more than 65536 bytes on a stream that may carry only a stream header/, condition: 'policy-violation' },
  ])('$rule ends the attempt as TLS_HANDSHAKE_FAILED, with the reason; nothing is sent but the header and the stream error <$condition/>', async ({ reply, says, condition }) => {
    const port = nextPort++;
    const server = await startHostilePlaintext({ address: ADDRESS, port, reply });
    const features = client(port, false);
    try {
      const state = await features.session.start();
      expect(state).toBe('error');
      expect(features.session.problem).toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', message: expect.stringMatching(says) });
      expect(server.beforeTls()).not.toMatch(/<auth|<iq|<message|<presence/);
      await expect.poll(() => server.beforeTls(), { timeout: 5000 }).toContain(`<stream:error><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`);
    } finally {
      await features.session.stop();
      await server.stop();
    }
  });
});

const ROOM = 'den@rooms.evil.test';
const LOUNGE = 'lounge@rooms.evil.test';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** The `nth` element (0: the first) the client sends that passes `test`, once it has sent it. */
async function sentBy(connection: () => HostileConnection, test: (element: Element) => boolean, nth = 0): Promise<Element> {
  await expect.poll(() => connection().elements.filter(test).length, { timeout: 5000 }).toBeGreaterThan(nth);
  return connection().elements.filter(test)[nth]!;
}

const iqTo = (to: string) => (element: Element) => element.name === 'iq' && element.attrs.to === to;
const presenceTo = (to: string) => (element: Element) => element.name === 'presence' && element.attrs.to === to;

/** disco#info of a room (XEP-0045 6.4), or of something that is not one. */
const discoAnswer = (id: string | undefined, from: string, isRoom = true): string =>
  `<iq type='result' id='${id}' from='${from}'><query xmlns='http://jabber.org/protocol/disco#info'>${isRoom
    ? "<identity category='conference' type='text'/><feature var='http://jabber.org/protocol/muc'/>" : "<identity category='account' type='registered'/>"}</query></iq>`;

const selfPresence = (room: string, nick: string, codes: number[] = [110], type = ''): string =>
  `<presence from='${room}/${nick}'${type ? ` type='${type}'` : ''}><x xmlns='${NS_MUC_USER}'><item role='participant' affiliation='none'${type ? ` nick='${nick}-2'` : ''}/>${codes.map((code) => `<status code='${code}'/>`).join('')}</x></presence>`;

/** Joins `room` as `nick`, the scripted room answering disco#info and with our own presence. */
async function joinRoom(features: ChatFeatures, connection: () => HostileConnection, room: string, nick: string, nth = 0): Promise<void> {
  const joined = features.rooms.join(room, nick);
  const disco = await sentBy(connection, iqTo(room), nth);
  await connection().write(discoAnswer(disco.attrs.id, room));
  await sentBy(connection, presenceTo(`${room}/${nick}`), nth);
  await connection().write(selfPresence(room, nick));
  expect(await joined).toMatchObject({ state: 'joined' });
}

const invitations = (features: ChatFeatures): Invitation[] => {
  const heard: Invitation[] = [];
  features.rooms.events.on('invitation', (invitation) => void heard.push(invitation));
  return heard;
};

describe('a hostile room (XEP-0045): what a room, an occupant or a stranger cannot make the client do', () => {
  it('XEP-0045 7.14: leaving while the room answers disco#info cancels the join; no join presence follows', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const joined = features.rooms.join(ROOM, 'me');
      const disco = await sentBy(connection, iqTo(ROOM));
      await features.rooms.leave(ROOM);
      await connection().write(discoAnswer(disco.attrs.id, ROOM));
      await expect(joined).rejects.toMatchObject({ code: 'MUC_LEFT' });
      // The stream is ordered: a join presence sent for ROOM would come before this later disco#info.
      void features.rooms.join(LOUNGE, 'me').catch(() => undefined);
      await sentBy(connection, iqTo(LOUNGE));
      expect(connection().elements.filter((element) => element.name === 'presence' && element.attrs.to?.startsWith(ROOM))).toEqual([]);
    });
  });

  it("XEP-0045 7.2 and 7.14: our leave's echo, arriving late after we asked to join again, neither cancels the new join nor ends it", async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const echo = `<presence from='${ROOM}/me' type='unavailable'><x xmlns='${NS_MUC_USER}'><item role='none' affiliation='none'/><status code='110'/></x></presence>`;
      await joinRoom(features, connection, ROOM, 'me');
      // The echo while the new join waits for disco#info.
      await features.rooms.leave(ROOM);
      const again = features.rooms.join(ROOM, 'me');
      const disco = await sentBy(connection, iqTo(ROOM), 1);
      await connection().write(echo + discoAnswer(disco.attrs.id, ROOM));
      // Presences to the occupant JID: the first join, the leave, this join.
      await sentBy(connection, presenceTo(`${ROOM}/me`), 2);
      await connection().write(selfPresence(ROOM, 'me'));
      expect(await again).toMatchObject({ state: 'joined' });
      // The echo after the new join presence, before the room's answer to it.
      await features.rooms.leave(ROOM);
      const third = features.rooms.join(ROOM, 'me');
      const disco2 = await sentBy(connection, iqTo(ROOM), 2);
      await connection().write(discoAnswer(disco2.attrs.id, ROOM));
      await sentBy(connection, presenceTo(`${ROOM}/me`), 4);
      await connection().write(echo + selfPresence(ROOM, 'me'));
      expect(await third).toMatchObject({ state: 'joined' });
      expect(features.rooms.status(ROOM)).toMatchObject({ state: 'joined', problem: null });
    });
  });

  it('XEP-0045 7.8.2: an invite inside a groupchat message is the room talking, not an invitation', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await joinRoom(features, connection, ROOM, 'me');
      const heard = invitations(features);
      const said = nextEvent(features.rooms.events, 'message', (message) => message.body === 'come along', 5000);
      await connection().write(`<message from='${ROOM}/n1' type='groupchat' id='g1'><body>come along</body><x xmlns='${NS_MUC_USER}'><invite from='boss@${DOMAIN}'/><password>p</password></x></message>`);
      expect(await said).toMatchObject({ nick: 'n1', direction: 'in' });
      expect(heard).toEqual([]);
      expect(features.rooms.invitations()).toEqual([]);
    });
  });

  it('XEP-0045 7.8.2: a mediated invitation speaks for its inviter only from a real room; from a person or an occupant it is dropped', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const heard = invitations(features);
      const mediated = (from: string) => `<message from='${from}' id='${randomUUID()}'><x xmlns='${NS_MUC_USER}'><invite from='boss@${DOMAIN}'><reason>join us</reason></invite><password>p1</password></x></message>`;
      await connection().write(mediated('mallory@evil.test'));
      const asked = await sentBy(connection, iqTo('mallory@evil.test'));
      await connection().write(discoAnswer(asked.attrs.id, 'mallory@evil.test', false));
      await connection().write(mediated(`${LOUNGE}/n1`) + mediated(LOUNGE));
      const room = await sentBy(connection, iqTo(LOUNGE));
      await connection().write(discoAnswer(room.attrs.id, LOUNGE));
      await expect.poll(() => heard.length, { timeout: 5000 }).toBe(1);
      expect(heard).toEqual([{ room: LOUNGE, from: `boss@${DOMAIN}`, reason: 'join us', password: 'p1', kind: 'mediated' }]);
      // One disco#info for the room, none for its occupant's JID.
      expect(connection().elements.filter((element) => element.name === 'iq' && element.attrs.to?.startsWith(LOUNGE))).toHaveLength(1);
    });
  });

  it('XEP-0249: a direct invitation naming our own JID or a contact as the room is dropped without asking anyone', async () => {
    const roster = `<item jid='${BOB}' subscription='both'/>`;
    await online({ online: () => undefined, rosterReply: (id) => `<iq type='result' id='${id}'><query xmlns='jabber:iq:roster'>${roster}</query></iq>` }, async (features, connection) => {
      const heard = invitations(features);
      const direct = (room: string) => `<message from='carol@evil.test/pc' id='${randomUUID()}'><x xmlns='jabber:x:conference' jid='${room}'/></message>`;
      await connection().write(direct(ME) + direct(BOB) + direct(LOUNGE));
      const room = await sentBy(connection, iqTo(LOUNGE));
      await connection().write(discoAnswer(room.attrs.id, LOUNGE));
      await expect.poll(() => heard.length, { timeout: 5000 }).toBe(1);
      expect(heard[0]).toMatchObject({ room: LOUNGE, from: 'carol@evil.test', kind: 'direct' });
      expect(connection().elements.filter((element) => element.name === 'iq' && (element.attrs.to === ME || element.attrs.to === BOB))).toEqual([]);
    });
  });

  it(`XEP-0249: one invitation per room, which another inviter cannot replace (nor its password); ${MUC_LIMITS.invitations + 10} rooms keep the latest ${MUC_LIMITS.invitations}, and each one given way is announced`, async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const invite = async (from: string, room: string, password: string) => {
        await connection().write(`<message from='${from}' id='${randomUUID()}'><x xmlns='jabber:x:conference' jid='${room}' password='${password}'/></message>`);
        const asked = await sentBy(connection, iqTo(room), connection().elements.filter(iqTo(room)).length);
        await connection().write(discoAnswer(asked.attrs.id, room));
      };
      const heard = invitations(features);
      const gone: string[] = [];
      features.rooms.events.on('invitationGone', ({ room }) => void gone.push(room));
      await invite('carol@evil.test/pc', LOUNGE, 'right');
      await expect.poll(() => heard.length, { timeout: 5000 }).toBe(1);
      await invite('mallory@evil.test/pc', LOUNGE, 'wrong');
      const rooms = Array.from({ length: MUC_LIMITS.invitations + 10 }, (_, index) => `r${index}@rooms.evil.test`);
      for (const room of rooms) await invite('carol@evil.test/pc', room, 'x');
      await expect.poll(() => heard.length, { timeout: 10_000 }).toBe(1 + rooms.length);
      expect(heard.filter((invitation) => invitation.room === LOUNGE)).toHaveLength(1);
      const kept = features.rooms.invitations().map((invitation) => invitation.room);
      expect(kept).toEqual(rooms.slice(-MUC_LIMITS.invitations));
      // The window learns of each eviction, oldest first: the one kept longest, then r0 to r9.
      expect(gone).toEqual([LOUNGE, ...rooms.slice(0, 10)]);
    });
  });

  it('XEP-0045 7.4: only the room\'s echo from our nick, with what we wrote, marks our message sent; an occupant copying its id does not', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await joinRoom(features, connection, ROOM, 'me');
      const reflected: string[] = [];
      const messages: RoomMessage[] = [];
      features.rooms.events.on('reflected', ({ id }) => void reflected.push(id));
      features.rooms.events.on('message', (message) => void messages.push(message));
      const id = await features.rooms.send(ROOM, 'hello');
      const groupchat = (nick: string, body: string) => `<message from='${ROOM}/${nick}' type='groupchat' id='${id}'><body>${body}</body><origin-id xmlns='urn:xmpp:sid:0' id='${id}'/></message>`;
      await connection().write(groupchat('n1', 'hello') + groupchat('me', 'not what I wrote'));
      await expect.poll(() => messages.length, { timeout: 5000 }).toBe(2);
      expect(reflected).toEqual([]);
      expect(messages.map((message) => message.direction)).toEqual(['in', 'in']);
      await connection().write(groupchat('me', 'hello'));
      await expect.poll(() => reflected, { timeout: 5000 }).toEqual([id]);
      expect(messages.at(-1)).toMatchObject({ id, direction: 'out', body: 'hello' });
    });
  });

  it('XEP-0410 3.1: a message refused as not-acceptable makes the client self-ping the room, and rejoin when it is gone', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await joinRoom(features, connection, ROOM, 'me');
      const id = await features.rooms.send(ROOM, 'anyone?');
      await connection().write(`<message from='${ROOM}' type='error' id='${id}'><error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`);
      const ping = await sentBy(connection, iqTo(`${ROOM}/me`));
      expect(ping.getChild('ping', 'urn:xmpp:ping')).toBeDefined();
      await connection().write(`<iq type='error' id='${ping.attrs.id}' from='${ROOM}/me'><error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
      // Gone: the join starts again with disco#info, then presence.
      const again = await sentBy(connection, iqTo(ROOM), 1);
      await connection().write(discoAnswer(again.attrs.id, ROOM));
      await sentBy(connection, presenceTo(`${ROOM}/me`), 1);
      await connection().write(selfPresence(ROOM, 'me'));
      await expect.poll(() => features.rooms.status(ROOM)?.state, { timeout: 5000 }).toBe('joined');
    });
  });

  it('XEP-0045 7.2: a join the room never answers ends as left, with the reason in words', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      const joined = features.rooms.join(ROOM, 'me');
      const disco = await sentBy(connection, iqTo(ROOM));
      await connection().write(discoAnswer(disco.attrs.id, ROOM));
      await expect(joined).rejects.toMatchObject({ code: 'MUC_JOIN_TIMEOUT' });
      expect(features.rooms.status(ROOM)).toMatchObject({ state: 'left', problem: expect.stringMatching(/did not answer the join/) });
    }, { rooms: { joinTimeoutMs: 500 } });
  });

  it('XEP-0045 7.6 (status 210): a nick change the room adjusts completes with the room\'s nick', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await joinRoom(features, connection, ROOM, 'me');
      const changed = features.rooms.setNick(ROOM, 'me2');
      await sentBy(connection, presenceTo(`${ROOM}/me2`));
      await connection().write(selfPresence(ROOM, 'me', [303, 110], 'unavailable') + selfPresence(ROOM, 'me-2', [110, 210]));
      await changed;
      expect(features.rooms.status(ROOM)).toMatchObject({ state: 'joined', nick: 'me-2' });
    });
  });

  it('XEP-0045 7.7: our own availability reaches every room we are in', async () => {
    await online({ online: () => undefined }, async (features, connection) => {
      await joinRoom(features, connection, ROOM, 'me');
      await features.presence.setOwn({ show: 'away', status: 'lunch' });
      const told = await sentBy(connection, presenceTo(`${ROOM}/me`), 1);
      expect(told.getChildText('show')).toBe('away');
      expect(told.getChildText('status')).toBe('lunch');
      expect(told.getChild('c', 'http://jabber.org/protocol/caps')).toBeDefined();
    });
  });
});
