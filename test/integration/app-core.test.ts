// The app core through call(), as every shell drives it, against the testbed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallError, type AccountSummary, type ChatMessage, type DelegationReport, type SessionSnapshot } from '../../src/app/contract.ts';
import { createAppCore } from '../../src/app/core.ts';
import { memoryStorage } from '../../src/app/storage.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import { prosodyPaths, writeRoster } from '../../src/testbed/prosody.ts';
import type { PoshResult } from '../../src/verify/types.ts';
import { addTestbedAccount, contactChange, recordedCore } from '../support/app-core.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterAll(async () => release());

const failure = async (promise: Promise<unknown>): Promise<CallError> => {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CallError);
  return error as CallError;
};

describe('calls are validated and fail with a code and a sentence', () => {
  const core = createAppCore({ storage: memoryStorage() });
  afterAll(() => core.dispose());

  it.each([
    ['an unknown call is BAD_CALL', 'accounts.explode', [], 'BAD_CALL'],
    ['a JID without a local part is BAD_ARGUMENT', 'accounts.add', [{ jid: 'example.com', password: 'x', rememberPassword: false }], 'BAD_ARGUMENT'],
    ['an empty password is BAD_ARGUMENT', 'accounts.add', [{ jid: 'a@example.com', password: '', rememberPassword: false }], 'BAD_ARGUMENT'],
    ['a resolver that is not IP[:PORT] is BAD_ARGUMENT', 'accounts.add', [{ jid: 'a@example.com', password: 'x', rememberPassword: false, settings: { resolver: 'dns.example' } }], 'BAD_ARGUMENT'],
    ['an unknown account is UNKNOWN_ACCOUNT', 'session.connect', [{ accountId: 'acct-000000000000' }], 'UNKNOWN_ACCOUNT'],
    ['an empty message is BAD_ARGUMENT', 'chat.send', [{ accountId: 'acct-1', to: 'bob@example.com', body: '' }], 'BAD_ARGUMENT'],
    ['the demo without a demo controller is DEMO_UNAVAILABLE', 'demo.start', [], 'DEMO_UNAVAILABLE'],
  ])('%s', async (_rule, name, args, code) => {
    const error = await failure(core.call(name, args));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/\w.*[.)]$/);
  });

  it('a second account with the same JID is ACCOUNT_EXISTS', async () => {
    await core.call('accounts.add', [{ jid: 'dup@example.com', password: 'x', rememberPassword: false }]);
    expect((await failure(core.call('accounts.add', [{ jid: 'Dup@Example.COM', password: 'y', rememberPassword: false }]))).code).toBe('ACCOUNT_EXISTS');
  });
});

describe('passwords', () => {
  it('connecting without a password, none typed and none remembered, is NEEDS_PASSWORD', async () => {
    const storage = memoryStorage();
    const first = createAppCore({ storage });
    const account = (await first.call('accounts.add', [{ jid: 'alice@example.com', password: 'secret-1', rememberPassword: false }])) as AccountSummary;
    expect(account.hasStoredPassword).toBe(false);
    await first.dispose();
    // A new run of the app: the password typed last time was not kept.
    const second = createAppCore({ storage });
    const error = await failure(second.call('session.connect', [{ accountId: account.id }]));
    expect(error.code).toBe('NEEDS_PASSWORD');
    expect(error.message).toContain('alice@example.com');
    await second.dispose();
  });

  it('a remembered password is kept in the SecretStore and forgotten when remembering is turned off', async () => {
    const storage = memoryStorage();
    const core = createAppCore({ storage });
    const account = (await core.call('accounts.add', [{ jid: 'bob@example.com', password: 'secret-2', rememberPassword: true }])) as AccountSummary;
    expect(account.hasStoredPassword).toBe(true);
    expect(storage.secrets.get(account.id)).toBe('secret-2');
    const updated = (await core.call('accounts.update', [{ accountId: account.id, rememberPassword: false }])) as AccountSummary;
    expect(updated.hasStoredPassword).toBe(false);
    expect(storage.secrets.get(account.id)).toBeNull();
    await core.call('accounts.remove', [{ accountId: account.id }]);
    expect(await core.call('accounts.list', [])).toEqual([]);
    await core.dispose();
  });
});

describe('FAST tokens (XEP-0484) are kept like the password', () => {
  /** The label of the last login step of the account's current attempt. */
  const loginLabel = async (core: ReturnType<typeof createAppCore>, accountId: string): Promise<string | undefined> => {
    const snapshot = (await core.call('session.snapshot', [{ accountId }])) as SessionSnapshot;
    return snapshot.steps.flatMap((event) => (event.phase === 'end' && event.step.name === 'auth' ? [event.step.label] : [])).at(-1);
  };
  const connect = async (recorded: ReturnType<typeof recordedCore>, accountId: string): Promise<void> => {
    const online = recorded.waitFor('connection.state', (payload) => payload.accountId === accountId && payload.state === 'online');
    await recorded.core.call('session.connect', [{ accountId }]);
    await online;
  };

  it('remembered: encrypted beside the password, proven at the next start instead of the password, dropped at sign-out', async () => {
    const storage = memoryStorage();
    const jid = await testbed.addUser(`fast-app-${Date.now()}`, 'example.com', 'pw-fast-app');
    const first = recordedCore({ storage });
    const account = await addTestbedAccount(first.core, testbed, jid, { rememberPassword: true, password: 'pw-fast-app' });
    await connect(first, account.id);
    expect(await loginLabel(first.core, account.id)).toMatch(/^SASL2 SCRAM-/);
    expect(JSON.parse(storage.secrets.get(`${account.id}.fast`) ?? 'null')).toMatchObject({ mechanism: 'HT-SHA-256-EXPR' });
    // XEP-0474 1: the account is pinned to SCRAM from now on (PLAIN alone would be refused).
    expect(storage.accounts.list().find((record) => record.id === account.id)?.scramPinned).toBe(true);
    await first.core.dispose();

    // The next start of the app: the kept token logs in, and the server sees the token mechanism.
    const logFrom = (await testbed.prosodyLog()).length;
    const second = recordedCore({ storage });
    await connect(second, account.id);
    expect(await loginLabel(second.core, account.id)).toMatch(/^FAST HT-SHA-256-EXPR/);
    expect((await testbed.prosodyLog()).slice(logFrom)).toMatch(/<authenticate [^\n]*mechanism='HT-SHA-256-EXPR'/);

    await second.core.call('session.disconnect', [{ accountId: account.id }]);
    expect(storage.secrets.get(`${account.id}.fast`)).toBeNull();
    await connect(second, account.id);
    expect(await loginLabel(second.core, account.id)).toMatch(/^SASL2 SCRAM-/);
    // Forgetting the password forgets the token with it.
    await second.core.call('accounts.update', [{ accountId: account.id, rememberPassword: false }]);
    expect(storage.secrets.get(`${account.id}.fast`)).toBeNull();
    await second.core.dispose();
  });

  it('not remembered (or no keyring, as in the browser shell): in memory only, still proven at a reconnection', async () => {
    const storage = memoryStorage();
    const jid = await testbed.addUser(`fast-mem-${Date.now()}`, 'example.com', 'pw-fast-mem');
    const recorded = recordedCore({ storage });
    const account = await addTestbedAccount(recorded.core, testbed, jid, { rememberPassword: false, password: 'pw-fast-mem' });
    await connect(recorded, account.id);
    expect(storage.secrets.get(`${account.id}.fast`)).toBeNull();
    // A new connection of the same run (new settings make a new session) proves the token kept in memory.
    const again = recorded.waitFor('connection.state', (payload) => payload.accountId === account.id && payload.state === 'online');
    await recorded.core.call('accounts.update', [{ accountId: account.id, settings: { ...account.settings, directTls: true } }]);
    await again;
    expect(await loginLabel(recorded.core, account.id)).toMatch(/^FAST HT-SHA-256-EXPR/);
    expect(storage.secrets.get(`${account.id}.fast`)).toBeNull();
    await recorded.core.dispose();
  });
});

describe('a login through the core', () => {
  it('emits attempt, live steps in order, the report, then online; the snapshot rebuilds the same', async () => {
    const { core, events, waitFor } = recordedCore();
    const account = await addTestbedAccount(core, testbed, 'alice@example.com');
    const online = waitFor('connection.state', (payload) => payload.accountId === account.id && payload.state === 'online');
    await core.call('session.connect', [{ accountId: account.id }]);
    await online;

    const names = events.map((event) => event.event).filter((name) => name.startsWith('connection.'));
    expect(names[0]).toBe('connection.attempt');
    expect(names.indexOf('connection.report')).toBeGreaterThan(names.indexOf('connection.step'));
    const states = events.filter((event) => event.event === 'connection.state').map((event) => (event.payload as { state: string }).state);
    expect(states).toEqual(['connecting', 'online']);
    const ended = events
      .filter((event) => event.event === 'connection.step' && (event.payload as { event: { phase: string } }).event.phase === 'end')
      .map((event) => (event.payload as { event: { step: { name: string } } }).event.step.name);
    // The timeline a user sees: SRV and POSH together, then TCP, TLS, the verdict, SASL and binding.
    // The first target's A/AAAA lookup may end before POSH does (it starts once SRV has answered).
    const withoutDns = ended.filter((name) => name !== 'dns');
    expect(new Set(withoutDns.slice(0, 2))).toEqual(new Set(['srv', 'posh']));
    expect(withoutDns.slice(2)).toEqual(['tcp', 'tls', 'verify', 'stream', 'auth', 'bind']);
    const report = (events.find((event) => event.event === 'connection.report')?.payload as { report: DelegationReport }).report;
    expect(report.verdict.code).toBe('OK_POSH');

    const snapshot = (await core.call('session.snapshot', [{ accountId: account.id }])) as SessionSnapshot;
    expect(snapshot.account.state).toBe('online');
    expect(snapshot.attempt?.report?.verdict.code).toBe('OK_POSH');
    expect(snapshot.steps.filter((step) => step.phase === 'end').map((step) => step.step.name)).toEqual(
      events.filter((event) => event.event === 'connection.step' && (event.payload as { event: { phase: string } }).event.phase === 'end').map((event) => (event.payload as { event: { step: { name: string } } }).event.step.name),
    );
    expect(snapshot.problem).toBeNull();

    await core.call('session.disconnect', [{ accountId: account.id }]);
    expect(((await core.call('session.snapshot', [{ accountId: account.id }])) as SessionSnapshot).account.state).toBe('offline');
    await core.dispose();
  });
});

describe('domain.check', () => {
  it('checks a delegation without logging in and streams its steps under the checkId', async () => {
    const { core, events } = recordedCore();
    const report = (await core.call('domain.check', [
      { checkId: 'check-1', domain: 'Example.COM', service: 'xmpp-client', resolver: testbed.dnsServer, extraAnchorsPem: testbed.caPem },
    ])) as DelegationReport;
    expect(report.domain).toBe('example.com');
    expect(report.verdict.code).toBe('OK_POSH');
    const steps = events.filter((event) => event.event === 'domainCheck.step');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((event) => (event.payload as { checkId: string }).checkId === 'check-1')).toBe(true);
    await core.dispose();
  });
});

describe('chat through two cores', () => {
  /**
   * Two new users on the testbed (so no other test's messages reach them), each with a core and an
   * account; `contacts`: each on the other's roster with a mutual subscription, as receipts need
   * (XEP-0184 8), written before their first login.
   */
  async function twoFreshCores({ contacts = false } = {}) {
    const stamp = Date.now().toString(36);
    const [aliceJid, bobJid] = await Promise.all([
      testbed.addUser(`alice-${stamp}`, 'example.com', 'alice-core-pw'),
      testbed.addUser(`bob-${stamp}`, 'example.com', 'bob-core-pw'),
    ]);
    if (contacts) {
      const data = prosodyPaths(join(testbed.runtimeDir, 'prosody')).data;
      await writeRoster(data, aliceJid, [{ jid: bobJid, name: 'Bob' }]);
      await writeRoster(data, bobJid, [{ jid: aliceJid, name: 'Alice' }]);
    }
    const alice = recordedCore();
    const bob = recordedCore();
    const aliceAccount = await addTestbedAccount(alice.core, testbed, aliceJid);
    const bobAccount = await addTestbedAccount(bob.core, testbed, bobJid);
    return { alice, bob, aliceJid, bobJid, aliceAccount, bobAccount };
  }

  it('alice and bob exchange messages both ways; a message written offline is sent once online; history comes local, then from the archive', async () => {
    const { alice, bob, aliceJid, bobJid, aliceAccount, bobAccount } = await twoFreshCores({ contacts: true });
    try {
      // Written before alice is connected: queued, then sent once she is online.
      const queued = (await alice.core.call('chat.send', [{ accountId: aliceAccount.id, to: bobJid, body: 'written offline' }])) as ChatMessage;
      expect(queued.state).toBe('sending');
      await bob.core.call('session.connect', [{ accountId: bobAccount.id }]);
      const arrived = bob.waitFor('message', ({ message }) => message.body === 'written offline');
      const delivered = alice.waitFor('message.state', ({ id, state }) => id === queued.id && state === 'delivered');
      await alice.core.call('session.connect', [{ accountId: aliceAccount.id }]);
      expect((await arrived).message).toMatchObject({ accountId: bobAccount.id, peer: aliceJid, direction: 'in', state: 'received', source: 'live' });
      await delivered;

      const reply = alice.waitFor('message', ({ message }) => message.body === 'got it');
      await bob.core.call('chat.send', [{ accountId: bobAccount.id, to: aliceJid, body: 'got it' }]);
      expect((await reply).message).toMatchObject({ peer: bobJid, direction: 'in' });

      const local = (await alice.core.call('chat.history', [{ accountId: aliceAccount.id, peer: bobJid }])) as { messages: ChatMessage[]; complete: boolean };
      expect(local.messages.map((message) => [message.direction, message.body])).toEqual([
        ['out', 'written offline'],
        ['in', 'got it'],
      ]);

      // A fresh core for alice knows nothing locally: history comes from the server archive.
      const again = recordedCore();
      const againAccount = await addTestbedAccount(again.core, testbed, aliceJid);
      await again.core.call('session.connect', [{ accountId: againAccount.id }]);
      const archived = (await again.core.call('chat.history', [{ accountId: againAccount.id, peer: bobJid, max: 10 }])) as { messages: ChatMessage[]; complete: boolean };
      expect(archived.messages.map((message) => [message.direction, message.body, message.source])).toEqual([
        ['out', 'written offline', 'archive'],
        ['in', 'got it', 'archive'],
      ]);
      expect(archived.complete).toBe(true);
      await again.core.dispose();
    } finally {
      await Promise.all([alice.core.dispose(), bob.core.dispose()]);
    }
  });

  it('a message written offline survives new account settings: the next session sends it, once', async () => {
    const { alice, bob, aliceJid, bobJid, aliceAccount, bobAccount } = await twoFreshCores({ contacts: true });
    try {
      const queued = (await alice.core.call('chat.send', [{ accountId: aliceAccount.id, to: bobJid, body: 'written before the settings changed' }])) as ChatMessage;
      // New settings replace the session that holds the queued message.
      await alice.core.call('accounts.update', [{ accountId: aliceAccount.id, settings: { ...aliceAccount.settings, directTls: true } }]);
      await bob.core.call('session.connect', [{ accountId: bobAccount.id }]);
      const arrived = bob.waitFor('message', ({ message }) => message.body === 'written before the settings changed');
      const delivered = alice.waitFor('message.state', ({ id, state }) => id === queued.id && state === 'delivered');
      await alice.core.call('session.connect', [{ accountId: aliceAccount.id }]);
      await Promise.all([arrived, delivered]);
      const history = (await bob.core.call('chat.history', [{ accountId: bobAccount.id, peer: aliceJid }])) as { messages: ChatMessage[] };
      expect(history.messages.filter((message) => message.body === 'written before the settings changed')).toHaveLength(1);
    } finally {
      await Promise.all([alice.core.dispose(), bob.core.dispose()]);
    }
  });

  it('roster calls need a connection; a subscription request reaches the other core as an event; unread counts until marked read', async () => {
    const { alice: one, bob: two, aliceJid: oneJid, bobJid: twoJid, aliceAccount: oneAccount, bobAccount: twoAccount } = await twoFreshCores();
    try {
      expect((await failure(one.core.call('roster.add', [{ accountId: oneAccount.id, jid: twoJid }]))).code).toBe('NOT_CONNECTED');
      await Promise.all([one.core.call('session.connect', [{ accountId: oneAccount.id }]), two.core.call('session.connect', [{ accountId: twoAccount.id }])]);
      const request = two.waitFor('subscription.request', ({ from }) => from === oneJid);
      // After the login's whole roster, a change arrives as that contact alone.
      const fullRosters = () => one.events.filter((event) => event.event === 'roster').length;
      const fullAtLogin = fullRosters();
      const listed = contactChange(one, (jid, contact) => jid === twoJid && contact?.name === 'Two');
      await one.core.call('roster.add', [{ accountId: oneAccount.id, jid: twoJid, name: 'Two' }]);
      await listed;
      await request;
      expect(((await two.core.call('session.snapshot', [{ accountId: twoAccount.id }])) as SessionSnapshot).subscriptionRequests).toEqual([oneJid]);
      const approved = contactChange(one, (jid, contact) => jid === twoJid && contact?.subscription === 'to');
      await two.core.call('subscription.answer', [{ accountId: twoAccount.id, jid: oneJid, approve: true }]);
      await approved;
      expect(((await two.core.call('session.snapshot', [{ accountId: twoAccount.id }])) as SessionSnapshot).subscriptionRequests).toEqual([]);
      // A message from a contact counts as unread on the contact until it is marked read.
      const unread = contactChange(one, (jid, contact) => jid === twoJid && contact?.unread === 1);
      await two.core.call('chat.send', [{ accountId: twoAccount.id, to: oneJid, body: 'hi one' }]);
      await unread;
      const read = contactChange(one, (jid, contact) => jid === twoJid && contact?.unread === 0);
      await one.core.call('chat.markRead', [{ accountId: oneAccount.id, peer: twoJid }]);
      await read;
      expect(fullRosters()).toBe(fullAtLogin);
      // The snapshot (what a reloaded window starts from) has the contact as the last event left it.
      const snapshot = (await one.core.call('session.snapshot', [{ accountId: oneAccount.id }])) as SessionSnapshot;
      expect(snapshot.roster.find((contact) => contact.jid === twoJid)).toMatchObject({ name: 'Two', subscription: 'to', unread: 0 });
      // RFC 6121 4: a contact's presence changes only that contact.
      const away = contactChange(one, (jid, contact) => jid === twoJid && contact?.presence[0]?.show === 'away');
      await two.core.call('presence.set', [{ accountId: twoAccount.id, show: 'away', status: 'lunch' }]);
      expect((await away)?.presence[0]?.status).toBe('lunch');
      // RFC 6121 2.5: a removed contact leaves as a null contact.
      const removed = contactChange(one, (jid, contact) => jid === twoJid && contact === null);
      await one.core.call('roster.remove', [{ accountId: oneAccount.id, jid: twoJid }]);
      await removed;
      expect(fullRosters()).toBe(fullAtLogin);

      const own = one.waitFor('presence.own');
      await one.core.call('presence.set', [{ accountId: oneAccount.id, show: 'dnd', status: 'focus' }]);
      expect((await own).presence).toEqual({ show: 'dnd', status: 'focus' });
    } finally {
      await Promise.all([one.core.dispose(), two.core.dispose()]);
    }
  });
});

describe('POSH refresh, the lifetime cap and problems in the snapshot', () => {
  it('posh.refresh fetches now (the web server sees it), and the settings cap the effective lifetime', async () => {
    const { core, waitFor } = recordedCore();
    const account = await addTestbedAccount(core, testbed, 'alice@example.com');
    try {
      await core.call('settings.set', [{ maxPoshLifetimeSeconds: 60 }]);
      const before = (await testbed.webRequests()).length;
      const posh = (await core.call('posh.refresh', [{ accountId: account.id }])) as PoshResult;
      expect(posh).toMatchObject({ status: 'valid', fromCache: false, expires: 60 });
      const requests = (await testbed.webRequests()).slice(before).filter((request) => request.path === '/.well-known/posh/xmpp-client.json');
      expect(requests.map((request) => request.host)).toEqual(['example.com']);
      // The refreshed material is what the next login uses, from the cache.
      const report = waitFor('connection.report');
      await core.call('session.connect', [{ accountId: account.id }]);
      expect((await report).report.posh).toMatchObject({ fromCache: true, expires: 60 });
    } finally {
      await core.dispose();
    }
  });

  it('a wrong password ends in auth-failed with the problem in the event and in the snapshot', async () => {
    const { core, waitFor } = recordedCore();
    const account = await addTestbedAccount(core, testbed, 'bob@example.com', { password: 'not-bobs-password' });
    try {
      const failed = waitFor('connection.state', ({ state }) => state === 'auth-failed');
      await core.call('session.connect', [{ accountId: account.id }]);
      const { problem, retryInMs } = await failed;
      expect(problem?.code).toBe('AUTH_FAILED');
      expect(retryInMs).toBeNull();
      const snapshot = (await core.call('session.snapshot', [{ accountId: account.id }])) as SessionSnapshot;
      expect(snapshot.account.state).toBe('auth-failed');
      expect(snapshot.problem).toEqual(problem);
      // With the right password typed, the same account logs in.
      await core.call('session.connect', [{ accountId: account.id, password: testbed.users['bob@example.com'] }]);
      expect(((await core.call('session.snapshot', [{ accountId: account.id }])) as SessionSnapshot).account.state).toBe('online');
    } finally {
      await core.dispose();
    }
  });
});
