// FAST (XEP-0484) and the HT mechanisms (draft-schmaus-kitten-sasl-ht): one row per rule. The
// logins themselves run against Prosody in test/integration/fast.test.ts; here are the faults a
// real server does not produce (a success without the server's answer, a wrong answer).
import { createHmac } from 'node:crypto';
import type { FastPart, InlineRequest, InlineResponse, Sasl2 } from '@xmpp/sasl2';
import { xml } from '@xmpp/xml';
import { describe, expect, it } from 'vitest';
import { HtExchange, mechanismToRequest, memoryTokenStore, NS_FAST, readIssuedToken, setupFast, usableToken, type FastToken } from '../../src/xmpp/fast.ts';
import type { ChannelBinding } from '../../src/xmpp/scram.ts';

const EXPORTER: ChannelBinding = { type: 'tls-exporter', data: Buffer.alloc(32, 7) };
const END_POINT: ChannelBinding = { type: 'tls-server-end-point', data: Buffer.alloc(32, 9) };
/** A channel for the token rules: its binding, and whether SCRAM -PLUS is on offer. */
const on = (binding: ChannelBinding | null, plusOffered = binding !== null) => ({ binding, plusOffered });
const SECRET = 'secret-token:fast-abc';
const hmac = (label: string, binding: Buffer) => createHmac('sha256', SECRET).update(Buffer.concat([Buffer.from(label), binding])).digest();
const latin1 = (bytes: Buffer) => bytes.toString('latin1');
const hour = () => new Date(Date.now() + 3_600_000).toISOString();
const token = (mechanism: FastToken['mechanism'], expiry = hour()): FastToken => ({ mechanism, token: SECRET, expiry });

describe('HT mechanisms (draft-schmaus-kitten-sasl-ht 3)', () => {
  it.each([
    { rule: '3.1: HT-SHA-256-NONE hashes "Initiator" alone', name: 'HT-SHA-256-NONE' as const, binding: null, data: Buffer.alloc(0) },
    { rule: '3.1: HT-SHA-256-EXPR hashes "Initiator" with the tls-exporter data (RFC 9266)', name: 'HT-SHA-256-EXPR' as const, binding: EXPORTER, data: EXPORTER.data },
    { rule: '3.1: HT-SHA-256-ENDP hashes "Initiator" with the tls-server-end-point data (RFC 5929)', name: 'HT-SHA-256-ENDP' as const, binding: END_POINT, data: END_POINT.data },
  ])('$rule', async ({ name, binding, data }) => {
    const exchange = new HtExchange(name, binding);
    const response = await exchange.response({ username: 'alice', password: SECRET });
    expect(Buffer.from(response, 'latin1')).toEqual(Buffer.concat([Buffer.from('alice\0'), hmac('Initiator', data)]));
    expect(exchange.proven).toBe(false);
    await exchange.final(latin1(hmac('Responder', data)));
    expect(exchange.proven).toBe(true);
  });

  it.each([
    { rule: '3.2: the server answer over "Initiator" instead of "Responder" proves nothing', answer: latin1(hmac('Initiator', EXPORTER.data)) },
    { rule: '3.2: an answer over another channel is refused', answer: latin1(hmac('Responder', Buffer.alloc(32, 8))) },
    { rule: '3.2: a truncated answer is refused', answer: latin1(hmac('Responder', EXPORTER.data).subarray(0, 16)) },
  ])('$rule', async ({ answer }) => {
    const exchange = new HtExchange('HT-SHA-256-EXPR', EXPORTER);
    await exchange.response({ username: 'alice', password: SECRET });
    await expect(exchange.final(answer)).rejects.toMatchObject({ code: 'AUTH_SERVER_SIGNATURE' });
    expect(exchange.proven).toBe(false);
  });

  it.each([
    { rule: 'RFC 9266: HT-SHA-256-EXPR without tls-exporter', name: 'HT-SHA-256-EXPR' as const, binding: null },
    { rule: 'RFC 5929: HT-SHA-256-ENDP with tls-exporter data instead of the end point', name: 'HT-SHA-256-ENDP' as const, binding: EXPORTER },
  ])('$rule is refused before anything is sent', ({ name, binding }) => {
    expect(() => new HtExchange(name, binding)).toThrow(expect.objectContaining({ code: 'AUTH_CHANNEL_BINDING' }));
  });
});

describe('XEP-0484 token rules', () => {
  const now = Date.parse('2026-12-02T00:00:00Z');
  it.each([
    { rule: '4.2: a token of an offered mechanism, not expired, is used', kept: token('HT-SHA-256-EXPR', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-EXPR'], channel: on(EXPORTER), usable: true },
    { rule: '4.2: an unbound token where nothing can bind and nothing bound is offered is used', kept: token('HT-SHA-256-NONE', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-NONE'], channel: on(null, false), usable: true },
    { rule: '4.2: an expired token is not tried (it would only cost a round trip)', kept: token('HT-SHA-256-EXPR', '2026-12-01T00:00:00Z'), offered: ['HT-SHA-256-EXPR'], channel: on(EXPORTER), usable: false },
    { rule: '4.2: a token whose mechanism the server no longer offers is not tried', kept: token('HT-SHA-256-EXPR', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-NONE'], channel: on(EXPORTER), usable: false },
    { rule: 'RFC 9266: a channel-bound token is not tried on a channel without tls-exporter', kept: token('HT-SHA-256-EXPR', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-EXPR'], channel: on(END_POINT), usable: false },
    { rule: 'RFC 5802 6: an unbound token is not tried where the channel can bind (a downgrade)', kept: token('HT-SHA-256-NONE', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-NONE'], channel: on(EXPORTER), usable: false },
    { rule: 'RFC 5802 6: nor where SCRAM -PLUS is offered and this channel cannot bind', kept: token('HT-SHA-256-NONE', '2026-12-03T00:00:00Z'), offered: ['HT-SHA-256-NONE'], channel: on(null, true), usable: false },
    { rule: '4.2: an expiry that is not a date is not a token', kept: token('HT-SHA-256-EXPR', 'soon'), offered: ['HT-SHA-256-EXPR'], channel: on(EXPORTER), usable: false },
  ])('$rule', ({ kept, offered, channel, usable }) => {
    expect(usableToken(kept, offered, channel, now)).toBe(usable ? kept : null);
  });

  it.each([
    { rule: 'a token is requested bound to the channel where it can be', offered: ['HT-SHA-256-NONE', 'HT-SHA-256-ENDP', 'HT-SHA-256-EXPR'], channel: on(EXPORTER), mechanism: 'HT-SHA-256-EXPR' },
    { rule: 'on TLS 1.2 with tls-server-end-point listed, bound to the end point', offered: ['HT-SHA-256-NONE', 'HT-SHA-256-ENDP', 'HT-SHA-256-EXPR'], channel: on(END_POINT), mechanism: 'HT-SHA-256-ENDP' },
    { rule: 'unbound only where nothing binds and nothing bound is offered', offered: ['HT-SHA-256-EXPR', 'HT-SHA-256-NONE'], channel: on(null, false), mechanism: 'HT-SHA-256-NONE' },
    { rule: 'no unbound token where SCRAM -PLUS is offered and this channel cannot bind', offered: ['HT-SHA-256-EXPR', 'HT-SHA-256-NONE'], channel: on(null, true), mechanism: null },
    { rule: 'no mechanism of ours: no request', offered: ['HT-SHA-256-UNIQ'], channel: on(EXPORTER), mechanism: null },
  ])('4.1: $rule', ({ offered, channel, mechanism }) => {
    expect(mechanismToRequest(offered, channel)).toBe(mechanism);
  });

  it.each([
    { rule: 'a token and a future expiry are kept', attrs: { token: SECRET, expiry: '2026-12-20T00:00:00Z' }, kept: true },
    { rule: 'an expired one is not', attrs: { token: SECRET, expiry: '2026-12-01T00:00:00Z' }, kept: false },
    { rule: 'an empty one is not', attrs: { token: '', expiry: '2026-12-20T00:00:00Z' }, kept: false },
    { rule: 'a megabyte "token" is not', attrs: { token: 'x'.repeat(1 << 20), expiry: '2026-12-20T00:00:00Z' }, kept: false },
    { rule: 'one without expiry is not', attrs: { token: SECRET }, kept: false },
  ])('4.3: $rule', ({ attrs, kept }) => {
    const read = readIssuedToken(xml('token', { xmlns: NS_FAST, ...attrs }), 'HT-SHA-256-NONE', now);
    expect(read === null).toBe(!kept);
  });
});

/** @xmpp/sasl2 as FAST sees it: the inline handlers and the FAST part it is set up with. */
function fakeSasl2(): Sasl2 & { handlers: Map<string, [InlineRequest, InlineResponse]>; fast: FastPart | null } {
  const handlers = new Map<string, [InlineRequest, InlineResponse]>();
  const fake = {
    handlers,
    fast: null as FastPart | null,
    use: (ns: string, request: InlineRequest, response: InlineResponse) => void handlers.set(ns, [request, response]),
    setup: ({ fast }: { fast: FastPart }) => {
      fake.fast = fast;
    },
  };
  return fake;
}

describe('XEP-0484 with a server a real one is not', () => {
  const offer = xml('fast', { xmlns: NS_FAST }, xml('mechanism', {}, 'HT-SHA-256-NONE'));

  it.each([
    { rule: 'XEP-0388 7.3: a <success/> with no answer from the server has not proven the token: refused', answer: null },
    { rule: 'draft-schmaus-kitten-sasl-ht 3.2: a wrong answer is refused', answer: latin1(hmac('Responder', Buffer.from('x'))) },
  ])('$rule', async ({ answer }) => {
    const sasl2 = fakeSasl2();
    const store = memoryTokenStore();
    store.set(token('HT-SHA-256-NONE'));
    const fast = setupFast({ sasl2, store, channel: () => on(null, false) });
    await sasl2.handlers.get(NS_FAST)![0](offer);
    const kept = fast.usable();
    expect(kept).not.toBeNull();
    // sasl2's authenticate: creates the mechanism, sends its response, and calls final only with additional data.
    const authenticate = async ({ saslFactory, credentials }: { saslFactory: { create(names: string[]): unknown }; credentials: Record<string, unknown> }) => {
      const mechanism = saslFactory.create(['HT-SHA-256-NONE']) as HtExchange;
      await mechanism.response(credentials as { username: string; password: string });
      if (answer !== null) await mechanism.final(answer);
    };
    const done = () => sasl2.fast!.auth({ authenticate, entity: null, userAgent: undefined, streamFeatures: [], features: null, credentials: { username: 'alice', password: '' } }).then(() => undefined);
    await expect(fast.authenticate(done, 'alice', kept!)).rejects.toMatchObject({ code: 'AUTH_SERVER_SIGNATURE' });
    expect(fast.proven()).toBe(false);
    // 4.4: a token that did not log in is not tried again, or the account would be stuck on it.
    expect(store.get()).toBeNull();
  });

  it.each([
    { rule: 'XEP-0388 6: a <continue/> this client cannot follow drops the token', error: new Error('SASL continue is not supported yet'), kept: false },
    { rule: 'XEP-0484 4.4: a <failure/> with <not-authorized/> drops it', error: Object.assign(new Error('not-authorized'), { name: 'SASLError', condition: 'not-authorized' }), kept: false },
    { rule: 'RFC 6120 6.5.12: <temporary-auth-failure/> keeps it for the next attempt', error: Object.assign(new Error('temporary'), { name: 'SASLError', condition: 'temporary-auth-failure' }), kept: true },
  ])('$rule', async ({ error, kept }) => {
    const sasl2 = fakeSasl2();
    const store = memoryTokenStore();
    store.set(token('HT-SHA-256-NONE'));
    const fast = setupFast({ sasl2, store, channel: () => on(null, false) });
    await sasl2.handlers.get(NS_FAST)![0](offer);
    await expect(fast.authenticate(() => Promise.reject(error), 'alice', fast.usable()!)).rejects.toBe(error);
    expect(store.get() !== null).toBe(kept);
  });

  it('4.3: a <token/> arriving with nothing asked for it (no request, no token login) is not kept', async () => {
    const sasl2 = fakeSasl2();
    const store = memoryTokenStore();
    setupFast({ sasl2, store, channel: () => on(null, false) });
    await sasl2.handlers.get(NS_FAST)![1](xml('token', { xmlns: NS_FAST, token: SECRET, expiry: hour() }));
    expect(store.get()).toBeNull();
  });

  it('4.1: a password login asks for one token, however often sasl2 asks its FAST part', async () => {
    const sasl2 = fakeSasl2();
    setupFast({ sasl2, store: memoryTokenStore(), channel: () => on(null, false) });
    await sasl2.handlers.get(NS_FAST)![0](offer);
    const features: Array<ReturnType<typeof xml> | undefined> = [undefined];
    const ask = () => sasl2.fast!.auth({ authenticate: async () => undefined, entity: null, userAgent: undefined, streamFeatures: features, features: null, credentials: { username: 'alice', password: 'pw' } });
    expect(await ask()).toBe(false);
    expect(await ask()).toBe(false);
    expect(features.filter((element) => element?.is('request-token', NS_FAST)).map((element) => element!.attrs['mechanism'])).toEqual(['HT-SHA-256-NONE']);
  });
});
