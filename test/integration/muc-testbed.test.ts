// The testbed's group chat: the MUC services (XEP-0045) with their archives (XEP-0313), PEP
// bookmarks (XEP-0402), conference.proper.example's server-to-server proof, and the control that
// makes a room forget its occupants. Raw stanzas through XmppSession on the real servers: Prosody 13
// (conference.example.com, conference.proper.example) and ejabberd 24.12 (conference.example.org).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { xml, type Element } from '@xmpp/xml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EJABBERD_MUC_DOMAIN, EXAMPLE_MUC_DOMAIN, PROPER_MUC_DOMAIN, PROSODY_PORTS, type TestbedControl } from '../../src/testbed/index.ts';
import type { DelegationReport } from '../../src/verify/report.ts';
import { NS_BOOKMARKS } from '../../src/xmpp/bookmarks.ts';
import { NS_CAPS } from '../../src/xmpp/disco.ts';
import { NS_MUC } from '../../src/xmpp/muc-presence.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB } from '../../src/xmpp/namespaces.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { nextEvent, testbedSession } from '../support/sessions.ts';
import { useTestbed } from '../support/use-testbed.ts';


let testbed: TestbedControl;
let release: () => Promise<void>;
const started: XmppSession[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(started.splice(0).map((session) => session.stop()));
});
afterAll(async () => release());

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function newUser(domain: string): Promise<string> {
  return testbed.addUser(unique('muc'), domain, 'pw-muc');
}

async function online(jid: string, resource?: string): Promise<XmppSession> {
  const session = testbedSession(testbed, jid, { ...(resource ? { resource } : {}) });
  started.push(session);
  expect(await session.start()).toBe('online');
  return session;
}

const statusCodes = (presence: Element): string[] =>
  presence.getChild('x', `${NS_MUC}#user`)?.getChildren('status').map((status) => String(status.attrs.code)) ?? [];

/** Joins `room` as `nick` (XEP-0045 7.2) and resolves with the self-presence (status 110). */
async function join(session: XmppSession, room: string, nick: string): Promise<Element> {
  const self = nextEvent(session.events, 'stanza', (stanza) => stanza.name === 'presence' && stanza.attrs.from === `${room}/${nick}` && statusCodes(stanza).includes('110'));
  await session.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS_MUC })));
  return self;
}

/** XEP-0045 10.1.2: the owner of a new (locked) room accepts the default configuration. */
async function unlock(session: XmppSession, room: string): Promise<void> {
  await session.parts.iqCaller.set(xml('query', { xmlns: `${NS_MUC}#owner` }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' })), room);
}

/** XEP-0410: resolves while `occupant` is joined; rejects with the room's error otherwise. */
const selfPing = (session: XmppSession, occupant: string) => session.parts.iqCaller.get(xml('ping', { xmlns: 'urn:xmpp:ping' }), occupant);

const features = (info: Element | undefined): string[] => info?.getChildren('feature').map((feature) => String(feature.attrs.var)) ?? [];

const SERVICES = [
  { server: 'Prosody 13', domain: 'example.com', muc: EXAMPLE_MUC_DOMAIN, listedBy: 'example.com', lister: 'alice@example.com' },
  // A room service on another domain than its users': routed inside Prosody, no s2s link.
  { server: 'Prosody 13', domain: 'example.com', muc: PROPER_MUC_DOMAIN, listedBy: 'proper.example', lister: 'carol@proper.example' },
  { server: 'ejabberd 24.12', domain: 'example.org', muc: EJABBERD_MUC_DOMAIN, listedBy: 'example.org', lister: 'dave@example.org' },
];

describe.each(SERVICES)('$server: $muc', ({ domain, muc, listedBy, lister }) => {
  it(`XEP-0030: disco#items of ${listedBy} lists ${muc}`, async () => {
    const session = await online(lister);
    const items = await session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_ITEMS }), listedBy);
    expect(items?.getChildren('item').map((item) => item.attrs.jid)).toContain(muc);
  });

  it(`XEP-0045 10.1: an account of ${domain} creates a room: self-presence with 110 and 201, owner; the room archives (urn:xmpp:mam:2) and answers a self-ping`, async () => {
    const session = await online(await newUser(domain));
    const room = `${unique('room')}@${muc}`;
    const self = await join(session, room, 'owner');
    expect(statusCodes(self)).toEqual(expect.arrayContaining(['110', '201']));
    expect(self.getChild('x', `${NS_MUC}#user`)?.getChild('item')?.attrs).toMatchObject({ affiliation: 'owner', role: 'moderator' });
    await unlock(session, room);
    const info = await session.parts.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), room);
    expect(features(info)).toEqual(expect.arrayContaining([NS_MUC, 'urn:xmpp:mam:2']));
    expect(await selfPing(session, `${room}/owner`)).toBeUndefined();
  });
});

describe('forgetMucOccupants (the XEP-0410 case: the service lost its occupants)', () => {
  it('the room forgets both occupants without a word: streams up, no unavailable presence, a self-ping answers not-acceptable; the room stays and takes its owner back', async () => {
    const [owner, guest] = await Promise.all([newUser('example.com').then((jid) => online(jid)), newUser('example.com').then((jid) => online(jid))]);
    const room = `${unique('forget')}@${EXAMPLE_MUC_DOMAIN}`;
    await join(owner, room, 'owner');
    await unlock(owner, room);
    await join(guest, room, 'guest');
    expect(await selfPing(guest, `${room}/guest`)).toBeUndefined();
    const unavailable: Element[] = [];
    for (const session of [owner, guest]) {
      session.events.on('stanza', (stanza) => {
        if (stanza.name === 'presence' && stanza.attrs.type === 'unavailable') unavailable.push(stanza);
      });
    }

    expect(await testbed.forgetMucOccupants(room)).toBe(2);

    await expect(selfPing(owner, `${room}/owner`)).rejects.toMatchObject({ condition: 'not-acceptable' });
    await expect(selfPing(guest, `${room}/guest`)).rejects.toMatchObject({ condition: 'not-acceptable' });
    expect(unavailable).toEqual([]);
    expect([owner.state, guest.state]).toEqual(['online', 'online']);
    // The room itself was kept: joining again is not creating it (no 201), and the owner is still owner.
    const again = await join(owner, room, 'owner');
    expect(statusCodes(again)).not.toContain('201');
    expect(again.getChild('x', `${NS_MUC}#user`)?.getChild('item')?.attrs.affiliation).toBe('owner');
    expect(await selfPing(owner, `${room}/owner`)).toBeUndefined();
  });

  it("a room that is not on Prosody's chat services, or does not exist, is refused", async () => {
    await expect(testbed.forgetMucOccupants(`room@${EJABBERD_MUC_DOMAIN}`)).rejects.toMatchObject({ code: 'TESTBED_BAD_OPTION' });
    const absent = `${unique('absent')}@${EXAMPLE_MUC_DOMAIN}`;
    await expect(testbed.forgetMucOccupants(absent)).rejects.toMatchObject({ code: 'TESTBED_PROSODY_SHELL', message: expect.stringContaining(`${absent} is not a room`) });
  });
});

describe.each([
  { server: 'Prosody 13', domain: 'example.com' },
  { server: 'ejabberd 24.12', domain: 'example.org' },
])('$server ($domain): PEP bookmarks (XEP-0402)', ({ domain }) => {
  const field = (name: string, value: string) => xml('field', { var: name }, xml('value', {}, value));

  it('a bookmark published with the XEP-0402 publish-options reaches another resource that asks for urn:xmpp:bookmarks:1+notify, and is stored', async () => {
    const jid = await newUser(domain);
    const [publisher, watcher] = [await online(jid, 'publisher'), await online(jid, 'watcher')];
    // XEP-0115: PEP notifies a resource whose capabilities carry +notify; the server asks for them once.
    const caps = [NS_CAPS, NS_DISCO_INFO, `${NS_BOOKMARKS}+notify`].sort();
    const identity = { category: 'client', type: 'pc', name: 'muc-testbed' };
    const ver = createHash('sha1').update([`client/pc//${identity.name}`, ...caps].map((line) => `${line}<`).join('')).digest('base64');
    let answered: () => void;
    const asked = new Promise<void>((resolve) => (answered = resolve));
    watcher.parts.iqCallee.get(NS_DISCO_INFO, 'query', ({ element }) => {
      answered();
      return xml('query', { xmlns: NS_DISCO_INFO, node: element.attrs.node }, xml('identity', identity), ...caps.map((feature) => xml('feature', { var: feature })));
    });
    await watcher.send(xml('presence', {}, xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: 'https://example.net/muc-testbed', ver })));
    await asked;
    // Once the answer is written (the next turn), a round trip on the same stream means the server has read it.
    await new Promise((resolve) => setImmediate(resolve));
    await watcher.parts.iqCaller.get(xml('ping', { xmlns: 'urn:xmpp:ping' }), domain);

    const room = `${unique('bookmarked')}@conference.${domain}`;
    const notified = nextEvent(watcher.events, 'stanza', (stanza) => stanza.name === 'message' && stanza.getChild('event', `${NS_PUBSUB}#event`)?.getChild('items')?.attrs.node === NS_BOOKMARKS);
    const conference = xml('conference', { xmlns: NS_BOOKMARKS, name: 'Bookmarked', autojoin: 'true' }, xml('nick', {}, 'me'));
    await publisher.parts.iqCaller.set(
      xml(
        'pubsub',
        { xmlns: NS_PUBSUB },
        xml('publish', { node: NS_BOOKMARKS }, xml('item', { id: room }, conference)),
        xml(
          'publish-options',
          {},
          xml(
            'x',
            { xmlns: 'jabber:x:data', type: 'submit' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${NS_PUBSUB}#publish-options`)),
            field('pubsub#persist_items', 'true'),
            field('pubsub#max_items', 'max'),
            field('pubsub#send_last_published_item', 'never'),
            field('pubsub#access_model', 'whitelist'),
          ),
        ),
      ),
    );
    const item = (await notified).getChild('event', `${NS_PUBSUB}#event`)?.getChild('items')?.getChild('item');
    expect(item?.attrs.id).toBe(room);
    expect(item?.getChild('conference', NS_BOOKMARKS)?.attrs).toMatchObject({ name: 'Bookmarked', autojoin: 'true' });

    const stored = await publisher.parts.iqCaller.get(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: NS_BOOKMARKS })));
    expect(stored?.getChild('items')?.getChildren('item').map((entry) => entry.attrs.id)).toEqual([room]);
  });
});

const POSH_CHECK = fileURLToPath(new URL('../../bin/posh-check.js', import.meta.url));

describe('conference.proper.example to other servers', () => {
  it('RFC 6120 13.7.2.1: posh-check --service xmpp-server finds proper.example\'s s2s port by SRV and proves the service by PKIX (a DNS-ID in proper.example\'s certificate)', async () => {
    const args = [PROPER_MUC_DOMAIN, '--service', 'xmpp-server', '--dns', testbed.dnsServer, '--ca', testbed.caPath, '--json'];
    const { status, stdout } = await new Promise<{ status: number; stdout: string }>((resolve) => {
      // process.execPath is the Node that runs the tests: the project's pinned Node 24.
      execFile(process.execPath, [POSH_CHECK, ...args], { timeout: 30_000 }, (error, out) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: out });
      });
    });
    const report = JSON.parse(stdout) as DelegationReport;
    const { s2s } = testbed.addresses.xmppPorts ?? PROSODY_PORTS;
    expect(report.connection).toMatchObject({ host: 'proper.example', port: s2s, tls: 'starttls', sni: PROPER_MUC_DOMAIN });
    expect(report.certificate?.sha256).toBe(testbed.certificates.proper.sha256);
    expect(report.posh.status).toBe('absent');
    expect(report.verdict).toMatchObject({ verified: true, code: 'OK_PKIX' });
    expect(status).toBe(0);
  });
});
