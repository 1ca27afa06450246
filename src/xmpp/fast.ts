// FAST (XEP-0484): after a password login inside SASL2 the server issues a token, and the next
// logins (every reconnection, the next start) prove the token instead of running SCRAM. The token
// is proven with the HT mechanisms of draft-schmaus-kitten-sasl-ht: an HMAC of the token over
// "Initiator" (and over "Responder" for the server's answer, so the server proves it holds the
// token too), bound to the TLS channel as the SCRAM login would be (HT-SHA-256-EXPR with
// tls-exporter, HT-SHA-256-ENDP with tls-server-end-point), so that what a man in the middle sees
// cannot be replayed on another channel. The unbound HT-SHA-256-NONE only where nothing can bind.
// @xmpp/sasl-ht-sha-256-none does only the unbound variant and cannot say whether the server's
// answer was checked; @xmpp/client-core's FAST part deletes and re-requests tokens in ways that
// would loop here. So both are written for this client: the token's life is the session's.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastPart, Sasl2 } from '@xmpp/sasl2';
import { xml, type Element } from '@xmpp/xml';
import { ScramError, type ChannelBinding, type SaslCredentials } from './scram.ts';

export const NS_FAST = 'urn:xmpp:fast:0';

/** The HT mechanisms this client proves tokens with, best first (the server binds a token to one). */
export const HT_MECHANISMS = ['HT-SHA-256-EXPR', 'HT-SHA-256-ENDP', 'HT-SHA-256-NONE'] as const;
export type HtMechanismName = (typeof HT_MECHANISMS)[number];

/** The channel binding each HT mechanism hashes with the token (RFC 9266, RFC 5929); null: none. */
export const HT_BINDING: Readonly<Record<HtMechanismName, string | null>> = {
  'HT-SHA-256-EXPR': 'tls-exporter',
  'HT-SHA-256-ENDP': 'tls-server-end-point',
  'HT-SHA-256-NONE': null,
};

/** What this stream allows a token to be proven with. */
export interface TokenChannel {
  /** The binding this connection has for the types the server lists, or null. */
  binding: ChannelBinding | null;
  /** The server offers SCRAM -PLUS here: an unbound token would be the downgrade RFC 5802 6 forbids. */
  plusOffered: boolean;
}

/** A bound mechanism fits a channel with its binding; the unbound one only a channel that cannot bind, where nothing bound is offered. */
function fits(mechanism: HtMechanismName, channel: TokenChannel): boolean {
  const wanted = HT_BINDING[mechanism];
  return wanted === null ? channel.binding === null && !channel.plusOffered : channel.binding?.type === wanted;
}

/** What the server issued: a secret bound to one mechanism, valid until `expiry`. */
export interface FastToken {
  mechanism: HtMechanismName;
  token: string;
  /** XEP-0082 date-time. */
  expiry: string;
}

/** Where a session's token lives between logins: memory, or the account's encrypted secret store. */
export interface FastTokenStore {
  get(): FastToken | null;
  set(token: FastToken | null): void;
}

export function memoryTokenStore(): FastTokenStore {
  let kept: FastToken | null = null;
  return {
    get: () => kept,
    set: (token) => {
      kept = token;
    },
  };
}

/** A server's token is a secret of reasonable size; anything else is not kept. */
const MAX_TOKEN_CHARS = 4096;

/** The token a <token/> element carries, or null when it is not one this client can keep. */
export function readIssuedToken(element: Element, mechanism: HtMechanismName, now = Date.now()): FastToken | null {
  const { token, expiry } = element.attrs as { token?: unknown; expiry?: unknown };
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) return null;
  if (typeof expiry !== 'string' || !(Date.parse(expiry) > now)) return null;
  return { mechanism, token, expiry };
}

/** A kept token is usable on this stream when its mechanism is offered, it has not expired, and it fits the channel. */
export function usableToken(token: FastToken | null, offered: readonly string[], channel: TokenChannel, now = Date.now()): FastToken | null {
  if (!token || !offered.includes(token.mechanism) || !(Date.parse(token.expiry) > now)) return null;
  return fits(token.mechanism, channel) ? token : null;
}

/** The mechanism to ask a new token for: the offered one that fits this channel (bound where it can be). */
export function mechanismToRequest(offered: readonly string[], channel: TokenChannel): HtMechanismName | null {
  return HT_MECHANISMS.find((name) => offered.includes(name) && fits(name, channel)) ?? null;
}

/** The binding data an HT mechanism hashes with the token. */
function bindingDataFor(mechanism: HtMechanismName, binding: ChannelBinding | null): Buffer {
  const wanted = HT_BINDING[mechanism];
  if (wanted === null) return Buffer.alloc(0);
  if (binding?.type !== wanted) throw new ScramError('AUTH_CHANNEL_BINDING', `${mechanism} needs the ${wanted} binding, which this connection does not have.`);
  return binding.data;
}

const hashedToken = (token: string, label: 'Initiator' | 'Responder', bindingData: Buffer): Buffer =>
  createHmac('sha256', token).update(Buffer.concat([Buffer.from(label), bindingData])).digest();

/** One HT exchange: the initial response, and the check of the server's answer. */
export class HtExchange {
  readonly name: HtMechanismName;
  readonly clientFirst = true;
  readonly #bindingData: Buffer;
  #token = '';
  #proven = false;

  constructor(name: HtMechanismName, binding: ChannelBinding | null) {
    this.name = name;
    this.#bindingData = bindingDataFor(name, binding);
  }

  /** The authcid, a NUL and the hashed token, as the byte string @xmpp/sasl2 base64-encodes. */
  async response(credentials: SaslCredentials): Promise<string> {
    this.#token = credentials.password;
    const hashed = hashedToken(this.#token, 'Initiator', this.#bindingData);
    return Buffer.concat([Buffer.from(credentials.username, 'utf8'), Buffer.from([0]), hashed]).toString('latin1');
  }

  async challenge(): Promise<void> {
    throw new ScramError('AUTH_BAD_SERVER_MESSAGE', `The server sent a challenge in ${this.name}, which has none.`);
  }

  /** The server's hashed token over "Responder", from <additional-data/>. */
  async final(data: string): Promise<void> {
    const expected = hashedToken(this.#token, 'Responder', this.#bindingData);
    const answer = Buffer.from(data, 'latin1');
    if (answer.length !== expected.length || !timingSafeEqual(answer, expected)) {
      throw new ScramError('AUTH_SERVER_SIGNATURE', `The server's ${this.name} answer does not match the token, so it has not proven that it holds it; not continuing.`);
    }
    this.#proven = true;
  }

  get proven(): boolean {
    return this.#proven;
  }
}

export interface FastLoginOptions {
  sasl2: Sasl2;
  store: FastTokenStore;
  /** This connection's binding for the types the server lists, and whether SCRAM -PLUS is offered. */
  channel: () => TokenChannel;
}

/** What the SASL2 login asks of FAST on one stream. */
export interface FastLogin {
  /** The HT mechanisms the server offers on this stream (XEP-0484 <fast/> inline), ours only. */
  readonly offered: readonly HtMechanismName[];
  /** The kept token this stream can use, or null. */
  usable(): FastToken | null;
  /**
   * Proves `token` in one <authenticate/> (`done` is @xmpp/sasl2's). Resolves once the server's
   * answer matched; rejects with the server's <failure/> (the token is then dropped) or our error.
   */
  authenticate(done: (credentials: SaslCredentials) => Promise<void>, username: string, token: FastToken): Promise<void>;
  /** The current login proved a token and the server proved it holds it too. */
  proven(): boolean;
  forget(): void;
}

/**
 * Plugs FAST into @xmpp/sasl2 (its `setup({ fast })`): a password login asks for a token where the
 * server offers FAST, a token login proves the token, and a <token/> in <success/> (issued or
 * rotated) replaces the kept one. The session decides which login runs; nothing here retries.
 */
export function setupFast(options: FastLoginOptions): FastLogin {
  const { store } = options;
  let offered: HtMechanismName[] = [];
  /** The token this login proves, or null for a password login. */
  let proving: FastToken | null = null;
  /** The mechanism the token requested in this login is bound to. */
  let requested: HtMechanismName | null = null;
  let exchange: HtExchange | null = null;

  options.sasl2.use(
    NS_FAST,
    (element) => {
      offered = element.is('fast', NS_FAST)
        ? HT_MECHANISMS.filter((name) => element.getChildren('mechanism').some((mechanism) => mechanism.text() === name))
        : [];
      return undefined;
    },
    (element) => {
      // Issued after a password login, or rotated after a token login (XEP-0484 4.3).
      if (!element.is('token', NS_FAST)) return;
      const mechanism = requested ?? proving?.mechanism;
      const token = mechanism ? readIssuedToken(element, mechanism) : null;
      if (token) store.set(token);
    },
  );

  const factory = {
    create: ([name]: string[]) => {
      exchange = new HtExchange(name as HtMechanismName, options.channel().binding);
      return exchange;
    },
  };

  const fastPart: FastPart = {
    get mechanism() {
      return offered[0] ?? null;
    },
    // Called by @xmpp/sasl2 before every login: true only when this login proved a token.
    auth: async ({ authenticate, entity, userAgent, streamFeatures, features, credentials }) => {
      const token = proving;
      if (token) {
        await authenticate({
          saslFactory: factory,
          entity,
          mechanism: token.mechanism,
          credentials: { ...credentials, password: token.token },
          userAgent,
          streamFeatures: [...streamFeatures, xml('fast', { xmlns: NS_FAST })],
          features,
        });
        if (!exchange?.proven) {
          throw new ScramError('AUTH_SERVER_SIGNATURE', `The server accepted the token without its ${token.mechanism} answer, so it has not proven that it holds it; not continuing.`);
        }
        return true;
      }
      exchange = null;
      requested = mechanismToRequest(offered, options.channel());
      if (requested && !streamFeatures.some((element) => element?.is('request-token', NS_FAST))) {
        streamFeatures.push(xml('request-token', { xmlns: NS_FAST, mechanism: requested }));
      }
      return false;
    },
  };
  options.sasl2.setup({ fast: fastPart });

  return {
    get offered() {
      return offered;
    },
    usable: () => usableToken(store.get(), offered, options.channel()),
    authenticate: async (done, username, token) => {
      proving = token;
      requested = null;
      exchange = null;
      try {
        await done({ username, password: '' });
      } catch (error) {
        // A token that did not log in is never tried again (XEP-0484 4.4): the password decides.
        // Not only a <failure/>: a server that answers it out of order, or without proving that
        // it holds the token, must not keep the account stuck on it. Only a passing fault keeps it.
        const condition = (error as { name?: string; condition?: string } | null)?.name === 'SASLError' ? (error as { condition?: string }).condition : null;
        if (condition !== 'temporary-auth-failure') store.set(null);
        throw error;
      } finally {
        proving = null;
      }
    },
    proven: () => exchange?.proven ?? false,
    forget: () => {
      offered = [];
      proving = null;
      requested = null;
      exchange = null;
    },
  };
}
