// Group chat in the UI: alice in the browser shell, bob as a second real client (an app core of his
// own from test/support, on the same testbed Prosody). Alice joins bob's room from the service's
// list, they talk both ways, she sees him leave and come back, a mention of her counts apart from
// unread while the room is not open and is highlighted when it is, a nick in use is refused in the
// server's words, bob's invitation is accepted from its notice, the history comes back after a
// reload, and a room on another domain shows its server's proof. Fresh accounts and rooms.
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/app/contract.ts';
import { EXAMPLE_MUC_DOMAIN, PROPER_MUC_DOMAIN, type TestbedControl } from '../../src/testbed/index.ts';
import { addTestbedAccount, recordedCore, type RecordedCore } from '../support/app-core.ts';
import { useTestbed } from '../support/use-testbed.ts';
import { collectPageErrors, launchChromium, screenshot } from './support/browser.ts';
import { expectNoPageErrors, signIn, waitForState } from './support/flows.ts';
import { openApp, startShell, type TestShell } from './support/shell.ts';

const suffix = randomBytes(3).toString('hex');
const lobby = `lobby-${suffix}@${EXAMPLE_MUC_DOMAIN}`;
const lobbyName = `Lobby ${suffix}`;

let testbed: TestbedControl;
let release: () => Promise<void>;
let browser: Browser;
let shell: TestShell;
let alice: Page;
let aliceJid: string;
let aliceNick: string;
let bob: RecordedCore;
let bobId: string;
let errors: string[];

beforeAll(async () => {
  ({ testbed, release } = await useTestbed());
  aliceJid = await testbed.addUser(`alice-${suffix}`, 'example.com', 'alice-password');
  aliceNick = aliceJid.slice(0, aliceJid.indexOf('@'));
  const bobJid = await testbed.addUser(`bob-${suffix}`, 'example.com', 'bob-password');

  // Bob: an app core of his own, online, with a persistent public room named for this run.
  bob = recordedCore();
  bobId = (await addTestbedAccount(bob.core, testbed, bobJid)).id;
  const online = bob.waitFor('connection.state', (payload) => payload.accountId === bobId && payload.state === 'online', 20_000);
  await bob.core.call('session.connect', [{ accountId: bobId }]);
  await online;
  await bob.core.call('rooms.create', [{ accountId: bobId, room: lobby, nick: 'bob', config: { name: lobbyName, persistent: true, public: true } }]);

  browser = await launchChromium();
  shell = await startShell();
  ({ page: alice } = await openApp(browser, shell.shell.launchUrl()));
  errors = collectPageErrors(alice);
  await signIn(alice, { jid: aliceJid, password: 'alice-password', testbed });
  await waitForState(alice, 'online');
  await alice.getByTestId('nav-chat').click();
});

afterAll(async () => {
  await browser?.close();
  await shell?.dispose();
  await bob?.core.dispose();
  await release?.();
});

const roomRow = (jid: string) => alice.locator(`[data-testid=room-row][data-jid="${jid}"]`);
const occupant = (nick: string) => alice.locator(`[data-testid=occupant][data-nick="${nick}"]`);
const roomView = (jid: string) => alice.locator(`[data-testid=room-view][data-jid="${jid}"]`);
const bobCall = (name: string, args: Record<string, unknown>) => bob.core.call(name, [{ accountId: bobId, ...args }]);
const bobHears = (room: string, test: (message: ChatMessage) => boolean) =>
  bob.waitFor('message', ({ message }) => message.peer === room && message.direction === 'in' && test(message), 15_000);

describe('alice in rooms, bob as a second client', () => {
  it('the dialog opens from the sidebar and Escape closes it, giving focus back', async () => {
    const opener = alice.getByTestId('room-join-open');
    await opener.click();
    await alice.getByTestId('room-dialog').waitFor();
    // The nick field comes first and holds the account's local part.
    expect(await alice.getByTestId('room-join-nick').inputValue()).toBe(aliceNick);
    await alice.keyboard.press('Escape');
    await alice.getByTestId('room-dialog').waitFor({ state: 'detached' });
    expect(await opener.evaluate((element) => element === document.activeElement)).toBe(true);
  });

  it("alice finds bob's room in the service's list by a filter and joins it: it opens with its occupants, their roles and affiliations", async () => {
    await alice.getByTestId('room-join-open').click();
    const listed = alice.locator(`[data-testid=room-directory-room][data-jid="${lobby}"]`);
    await listed.waitFor({ timeout: 10_000 });
    await alice.getByTestId('room-directory-filter').fill(`no-such-room-${suffix}`);
    await expect.poll(() => listed.count()).toBe(0);
    await alice.getByTestId('room-directory-filter').fill(suffix.toUpperCase());
    await listed.waitFor();
    expect(await listed.textContent()).toContain(lobbyName);
    await screenshot(alice, 'rooms-dialog');
    await listed.getByTestId('room-directory-join').click();

    await alice.getByTestId('room-dialog').waitFor({ state: 'detached', timeout: 15_000 });
    await roomView(lobby).and(alice.locator('[data-state=joined]')).waitFor({ timeout: 15_000 });
    expect(await alice.getByTestId('room-title').textContent()).toBe(lobbyName);
    await occupant('bob').waitFor({ timeout: 10_000 });
    expect(await occupant('bob').getAttribute('data-role')).toBe('moderator');
    expect(await occupant('bob').getAttribute('data-affiliation')).toBe('owner');
    expect(await occupant('bob').getByTestId('occupant-role').textContent()).toContain('moderator, owner');
    expect(await occupant(aliceNick).getAttribute('data-role')).toBe('participant');
    expect(await roomRow(lobby).getAttribute('data-state')).toBe('joined');
  });

  it('messages both ways: Enter sends to the room and its echo marks it sent; bob hears it; bob answers and alice reads it under his nick', async () => {
    const heard = bobHears(lobby, (message) => message.body === 'Hello room, alice here.');
    const input = alice.getByTestId('composer-input');
    await input.fill('Hello room, alice here.');
    await input.press('Enter');
    const sent = alice.locator('[data-testid=message][data-direction=out]').last();
    await expect.poll(() => sent.getByTestId('message-body').textContent()).toBe('Hello room, alice here.');
    await expect.poll(() => sent.getAttribute('data-state'), { timeout: 10_000 }).toBe('sent');
    expect((await heard).message.room).toMatchObject({ nick: aliceNick, private: false, mention: false });

    await bobCall('rooms.send', { room: lobby, body: 'Welcome! Bob speaking.' });
    const answer = alice.locator('[data-testid=message][data-direction=in][data-nick=bob]').last();
    await expect.poll(() => answer.getByTestId('message-body').textContent(), { timeout: 10_000 }).toBe('Welcome! Bob speaking.');
    expect(await answer.getByTestId('message-nick').textContent()).toBe('bob');
    expect(await answer.getAttribute('data-mention')).toBe('false');
  });

  it('the subject bob sets shows in the room and in the sidebar', async () => {
    await bobCall('rooms.setSubject', { room: lobby, subject: 'Release day' });
    await expect.poll(() => alice.getByTestId('room-subject').textContent(), { timeout: 10_000 }).toContain('Release day');
    expect(await alice.getByTestId('room-subject').textContent()).toContain('set by bob');
    expect(await roomRow(lobby).textContent()).toContain('Release day');
    // A participant may not change it here: no button offers to.
    expect(await alice.getByTestId('room-subject-edit').count()).toBe(0);
  });

  it('occupants are live: bob leaves and the list loses him; he comes back and is owner again', async () => {
    await bobCall('rooms.leave', { room: lobby });
    await occupant('bob').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await alice.getByTestId('occupants').getAttribute('data-count')).toBe('1');
    await bobCall('rooms.join', { room: lobby, nick: 'bob' });
    await occupant('bob').waitFor({ timeout: 10_000 });
    expect(await occupant('bob').getAttribute('data-affiliation')).toBe('owner');
    expect(await alice.getByTestId('occupants').getAttribute('data-count')).toBe('2');
    await screenshot(alice, 'rooms-lobby');
  });

  it('a nick in use is refused in the words the room gives, and the old nick is kept', async () => {
    await alice.getByTestId('room-nick-change').click();
    const field = alice.getByTestId('room-nick-input');
    await field.fill('bob');
    await field.press('Enter');
    await expect.poll(() => alice.getByTestId('room-controls-error').textContent(), { timeout: 10_000 }).toMatch(/already uses that nickname/);
    await field.press('Escape');
    await alice.getByTestId('room-nick-input').waitFor({ state: 'detached' });
    expect(await alice.getByTestId('room-own-nick').textContent()).toBe(aliceNick);
  });

  it('bookmarked with autojoin from the room, and the bookmark dropped again (XEP-0402, as the server keeps it)', async () => {
    await alice.getByTestId('room-autojoin').check();
    await expect.poll(() => alice.getByTestId('room-bookmark').isChecked(), { timeout: 10_000 }).toBe(true);
    expect(await alice.getByTestId('room-autojoin').isChecked()).toBe(true);
    await expect.poll(() => roomRow(lobby).getAttribute('aria-label')).toMatch(/bookmarked, joined at login/);
    await alice.getByTestId('room-bookmark').uncheck();
    await expect.poll(() => roomRow(lobby).getAttribute('aria-label'), { timeout: 10_000 }).not.toMatch(/bookmarked/);
    expect(await alice.getByTestId('room-autojoin').isChecked()).toBe(false);
  });

  it('while another room is open, a mention of alice counts apart from unread; opening the room highlights it and clears both', async () => {
    // Alice creates a room of her own (instant) and stays in it.
    const side = `side-${suffix}@${EXAMPLE_MUC_DOMAIN}`;
    await alice.getByTestId('room-join-open').click();
    await alice.getByTestId('room-tab-create').click();
    await alice.getByTestId('room-create-address').fill(`side-${suffix}`);
    expect(await alice.getByTestId('room-create-preview').textContent()).toContain(side);
    await alice.getByTestId('room-create-address').press('Enter');
    await roomView(side).and(alice.locator('[data-state=joined]')).waitFor({ timeout: 15_000 });
    expect(await occupant(aliceNick).getAttribute('data-affiliation')).toBe('owner');

    await bobCall('rooms.send', { room: lobby, body: 'Anyone around?' });
    await bobCall('rooms.send', { room: lobby, body: `${aliceNick}: the deploy is yours` });
    await expect.poll(() => roomRow(lobby).getByTestId('room-unread').textContent(), { timeout: 10_000 }).toBe('2');
    expect(await roomRow(lobby).getByTestId('room-mentions').textContent()).toBe('@1');
    expect(await roomRow(lobby).getAttribute('aria-label')).toMatch(/2 unread, 1 mention of you/);
    await screenshot(alice, 'rooms-mention-badge', 'rooms');

    await roomRow(lobby).click();
    const mentioned = alice.locator('[data-testid=message][data-mention=true]');
    await expect.poll(() => mentioned.getByTestId('message-body').allTextContents(), { timeout: 10_000 }).toEqual([`${aliceNick}: the deploy is yours`]);
    expect(await mentioned.evaluate((element) => element.classList.contains('mention'))).toBe(true);
    const plain = alice.locator('[data-testid=message][data-mention=false]', { hasText: 'Anyone around?' });
    expect(await plain.count()).toBe(1);
    await expect.poll(() => roomRow(lobby).getByTestId('room-unread').count(), { timeout: 10_000 }).toBe(0);
    expect(await roomRow(lobby).getByTestId('room-mentions').count()).toBe(0);
    await screenshot(alice, 'rooms-mention');
  });

  it('in her own room alice, owner, acts on bob: a private message reaches him alone, and a kick puts him out with the reason', async () => {
    const side = `side-${suffix}@${EXAMPLE_MUC_DOMAIN}`;
    await bobCall('rooms.join', { room: side, nick: 'bob' });
    await roomRow(side).click();
    await occupant('bob').waitFor({ timeout: 10_000 });
    await occupant('bob').getByTestId('occupant-actions-open').click();
    const panel = alice.getByTestId('occupant-actions');
    await panel.waitFor();
    // A moderator and owner: everything, ban and membership too (moderators see real addresses).
    const offered = await panel.getByTestId('occupant-action').evaluateAll((buttons) => buttons.map((button) => (button as HTMLElement).dataset['action']));
    expect(offered).toEqual(['private', 'kick', 'mute', 'member', 'ban']);
    await screenshot(alice, 'rooms-occupant-actions');

    const whisper = bobHears(side, (message) => message.room?.private === true);
    await panel.locator('[data-action=private]').click();
    const text = panel.getByTestId('occupant-action-text');
    expect(await text.evaluate((element) => element === document.activeElement)).toBe(true);
    await text.fill('Just between us');
    await text.press('Enter');
    expect((await whisper).message).toMatchObject({ body: 'Just between us', room: { nick: aliceNick, private: true, mention: true } });
    const mine = alice.locator('[data-testid=message][data-direction=out]', { hasText: 'Just between us' });
    expect(await mine.getByTestId('message-nick').textContent()).toBe('Private, to bob');

    const out = bob.waitFor('room', ({ room }) => room.jid === side && room.state === 'left', 10_000);
    await panel.locator('[data-action=kick]').click();
    await text.fill('Testing kicks');
    await text.press('Enter');
    expect((await out).room.problem).toContain('Testing kicks');
    await occupant('bob').waitFor({ state: 'detached', timeout: 10_000 });
    await panel.waitFor({ state: 'detached' });
  });

  it("bob invites alice to a new room; she accepts from the notice and is in it", async () => {
    const party = `party-${suffix}@${EXAMPLE_MUC_DOMAIN}`;
    await bobCall('rooms.create', { room: party, nick: 'bob' });
    await bobCall('rooms.invite', { room: party, jid: aliceJid, reason: 'Cake at four' });
    const notice = alice.locator(`[data-testid=room-invitation][data-room="${party}"]`);
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.textContent()).toContain('Cake at four');
    // Prosody names the inviter as an occupant of the (semi-anonymous) room: the notice shows the nick.
    expect(await notice.getByTestId('room-invitation-from').textContent()).toBe('bob');
    await screenshot(alice, 'rooms-invitation');
    await notice.getByTestId('room-invitation-accept').click();
    await roomView(party).and(alice.locator('[data-state=joined]')).waitFor({ timeout: 15_000 });
    await notice.waitFor({ state: 'detached' });
    await occupant('bob').waitFor({ timeout: 10_000 });
    expect(await roomRow(party).getAttribute('data-state')).toBe('joined');
  });

  it('after a reload, the rooms are listed again and the room\'s messages come back from its history', async () => {
    await alice.reload();
    await alice.getByTestId('nav-chat').click();
    // By keyboard: the rooms are a listbox (joined ones by name: lobby, party, side), Enter opens.
    await roomRow(lobby).waitFor({ timeout: 10_000 });
    await alice.getByTestId('room-list').focus();
    await alice.keyboard.press('End');
    await alice.keyboard.press('Home');
    await alice.keyboard.press('Enter');
    await roomView(lobby).waitFor();
    const bodies = alice.locator('[data-testid=message] [data-testid=message-body]');
    await expect.poll(() => bodies.allTextContents(), { timeout: 10_000 }).toEqual(
      expect.arrayContaining(['Hello room, alice here.', 'Welcome! Bob speaking.', 'Anyone around?', `${aliceNick}: the deploy is yours`]),
    );
    const all = await bodies.allTextContents();
    expect(all.indexOf('Hello room, alice here.')).toBeLessThan(all.indexOf('Welcome! Bob speaking.'));
    expect(new Set(all).size).toBe(all.length);
  });

  it("a room on another domain shows, in its details, that server's own proof (RFC 7712) in the chain view", async () => {
    const remote = `far-${suffix}@${PROPER_MUC_DOMAIN}`;
    await alice.getByTestId('room-join-open').click();
    await alice.getByTestId('room-join-address').fill(remote);
    await alice.getByTestId('room-join-address').press('Enter');
    // Joining never creates: the address names no room yet, and the dialog says so.
    await expect.poll(() => alice.getByTestId('room-join-error').textContent(), { timeout: 15_000 }).toContain(`There is no room at ${remote}`);
    expect(await roomRow(remote).count()).toBe(0);
    await alice.getByTestId('room-tab-create').click();
    await alice.getByTestId('room-create-address').fill(remote);
    await alice.getByTestId('room-create-address').press('Enter');
    await roomView(remote).and(alice.locator('[data-state=joined]')).waitFor({ timeout: 15_000 });
    await alice.getByTestId('room-info').locator('summary').click();
    const verdict = alice.getByTestId('room-trust').getByTestId('chain-verdict');
    await verdict.waitFor({ timeout: 20_000 });
    expect(await alice.getByTestId('room-trust').getAttribute('data-domain')).toBe(PROPER_MUC_DOMAIN);
    expect(await verdict.getAttribute('data-verified')).toBe('true');
    expect(await verdict.getAttribute('data-prooftype')).toBe('PKIX');
    expect(await alice.getByTestId('room-trust').getByTestId('chain').getAttribute('data-service')).toBe('xmpp-server');
    await screenshot(alice, 'rooms-trust');

    // Leaving a room that is not bookmarked takes it off the list.
    await alice.getByTestId('room-leave').click();
    await roomRow(remote).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await alice.getByTestId('room-view').count()).toBe(0);
    expectNoPageErrors(errors);
  });
});
