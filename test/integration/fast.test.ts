// FAST (XEP-0484) against the testbed's Prosody 13 (prosody-modules mod_sasl2_fast): a password
// login asks for a token, reconnections and the next start prove the token instead of SCRAM (the
// server's log shows which), the server rotates it, and a refused token falls back to the password
// once, on the same stream, or asks for the password when there is none.
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedControl } from '../../src/testbed/index.ts';
import type { TimedStep } from '../../src/verify/types.ts';
import { memoryTokenStore, type FastToken, type FastTokenStore } from '../../src/xmpp/fast.ts';
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

/** The SASL2 <authenticate/> lines Prosody logged since `from`, each with its mechanism. */
async function authenticationsSince(from: number): Promise<string[]> {
  const lines = (await testbed.prosodyLog()).slice(from).split('\n');
  return lines.flatMap((line) => {
    if (!/Received\[c2s_unauthed\]: <authenticate\b/.test(line)) return [];
    return [/mechanism='([A-Z0-9-]+)'/.exec(line)?.[1] ?? '?'];
  });
}

function authSteps(session: XmppSession): TimedStep[] {
  return session.steps.flatMap((event) => (event.phase === 'end' && event.step.name === 'auth' ? [event.step] : []));
}

/** A user of its own, so that tokens of one row never meet another's. */
async function freshUser(name: string): Promise<{ jid: string; password: string }> {
  const password = `pw-${name}`;
  return { jid: await testbed.addUser(`${name}-${Date.now()}`, 'example.com', password), password };
}

function session(jid: string, password: string, store: FastTokenStore, userAgentId: string): XmppSession {
  const made = testbedSession(testbed, jid, { password: () => password, fastTokens: store, userAgentId });
  started.push(made);
  return made;
}

describe('XEP-0484 FAST on Prosody 13', () => {
  it('4.1 and 4.2: a password login asks for a token bound to the channel; a reconnection proves the token, not the password', async () => {
    const { jid, password } = await freshUser('fast');
    const store = memoryTokenStore();
    const agent = crypto.randomUUID();
    const first = session(jid, password, store, agent);
    let from = (await testbed.prosodyLog()).length;
    expect(await first.start()).toBe('online');
    expect(first.login?.method).toBe('password');
    const issued = store.get();
    // Bound to the TLS 1.3 exporter of the channel it is used on (HT-SHA-256-EXPR), so it cannot be replayed elsewhere.
    expect(issued).toMatchObject({ mechanism: 'HT-SHA-256-EXPR', token: expect.stringMatching(/.{16,}/) });
    expect(Date.parse(issued!.expiry)).toBeGreaterThan(Date.now());
    expect(await authenticationsSince(from)).toEqual([expect.stringMatching(/^SCRAM-SHA-(1|256)-PLUS$/)]);

    // A dropped socket: the reconnection proves the token (and resumes the stream inside the same <authenticate/>).
    from = (await testbed.prosodyLog()).length;
    const back = nextEvent(first.events, 'online', () => true, 15_000);
    (first.parts.entity.socket as Socket).destroy();
    expect(await back).toMatchObject({ resumed: true });
    expect(first.login?.method).toBe('token');
    expect(first.login?.channelBinding).toBe('tls-exporter');
    expect(await authenticationsSince(from), 'the server saw the token mechanism, not SCRAM').toEqual(['HT-SHA-256-EXPR']);
    expect(authSteps(first).at(-1)?.label).toBe('FAST HT-SHA-256-EXPR (token, XEP-0484; channel binding tls-exporter)');
    // 4.3: the server rotated it in that <success/> (the testbed rotates at every use); the new one is kept.
    expect(store.get()?.token).not.toBe(issued!.token);
    expect(store.get()?.mechanism).toBe('HT-SHA-256-EXPR');

    // The next start: a new session of the same client (same user-agent id) with the kept token.
    await first.stop();
    from = (await testbed.prosodyLog()).length;
    const next = session(jid, password, store, agent);
    expect(await next.start()).toBe('online');
    expect(next.login?.method).toBe('token');
    expect(await authenticationsSince(from)).toEqual(['HT-SHA-256-EXPR']);
  });

  it('4.4: a token the server refuses is dropped, and the password logs in once on the same stream and gets a new token', async () => {
    const { jid, password } = await freshUser('fast-refused');
    const bogus: FastToken = { mechanism: 'HT-SHA-256-EXPR', token: 'secret-token:fast-not-issued-by-this-server', expiry: new Date(Date.now() + 3_600_000).toISOString() };
    const store = memoryTokenStore();
    store.set(bogus);
    const from = (await testbed.prosodyLog()).length;
    const refused = session(jid, password, store, crypto.randomUUID());
    expect(await refused.start()).toBe('online');
    expect(refused.login?.method).toBe('password');
    expect(await authenticationsSince(from)).toEqual(['HT-SHA-256-EXPR', expect.stringMatching(/^SCRAM-SHA-(1|256)-PLUS$/)]);
    const [token, password2] = authSteps(refused);
    expect(token).toMatchObject({ ok: false, label: expect.stringMatching(/^FAST HT-SHA-256-EXPR/) });
    expect(password2).toMatchObject({ ok: true, label: expect.stringMatching(/the kept sign-in token was refused with <not-authorized\/>\)$/) });
    expect(store.get()).toMatchObject({ mechanism: 'HT-SHA-256-EXPR' });
    expect(store.get()?.token).not.toBe(bogus.token);
  });

  it('4.4: a refused token with no password at hand asks for the password, after one try (no loop)', async () => {
    const { jid } = await freshUser('fast-nopw');
    const store = memoryTokenStore();
    store.set({ mechanism: 'HT-SHA-256-EXPR', token: 'secret-token:fast-revoked', expiry: new Date(Date.now() + 3_600_000).toISOString() });
    const from = (await testbed.prosodyLog()).length;
    const asking = session(jid, '', store, crypto.randomUUID());
    expect(await asking.start()).toBe('auth-failed');
    expect(asking.problem).toMatchObject({ kind: 'password-needed', code: 'NEEDS_PASSWORD', permanent: true });
    expect(asking.problem?.message).toBe(`Enter the password for ${jid} to connect. The server needs the password: the kept sign-in token was refused with <not-authorized/>.`);
    expect(store.get()).toBeNull();
    expect(await authenticationsSince(from)).toEqual(['HT-SHA-256-EXPR']);
  });

  it('4.2: an expired token is not even tried; the password logs in and a new token replaces it', async () => {
    const { jid, password } = await freshUser('fast-expired');
    const store = memoryTokenStore();
    store.set({ mechanism: 'HT-SHA-256-EXPR', token: 'secret-token:fast-old', expiry: new Date(Date.now() - 1000).toISOString() });
    const from = (await testbed.prosodyLog()).length;
    const expired = session(jid, password, store, crypto.randomUUID());
    expect(await expired.start()).toBe('online');
    expect(await authenticationsSince(from)).toEqual([expect.stringMatching(/^SCRAM-SHA-(1|256)-PLUS$/)]);
    expect(store.get()?.token).not.toBe('secret-token:fast-old');
  });

  it('a host without FAST (the RFC 6120 login on proper.example) gets no token and no FAST attempt', async () => {
    const store = memoryTokenStore();
    const legacy = session('carol@proper.example', testbed.users['carol@proper.example']!, store, crypto.randomUUID());
    expect(await legacy.start()).toBe('online');
    expect(legacy.login?.profile).toBe('sasl');
    expect(store.get()).toBeNull();
  });
});
