// Client-side SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677), with PBKDF2 in Node's native
// crypto on the libuv thread pool, so a login costs milliseconds and never blocks the main thread.
// The pure core (messages, proof, server signature) is separate from the xmpp.js adapter below.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import type { Element } from '@xmpp/xml';
import { DnaError } from '../verify/errors.ts';
import { saslprep, type SaslprepErrorCode } from './saslprep.ts';

export type ScramHash = 'sha-1' | 'sha-256';

export type ScramErrorCode =
  | SaslprepErrorCode
  | 'AUTH_BAD_SERVER_MESSAGE'
  | 'AUTH_NONCE_MISMATCH'
  | 'AUTH_WEAK_ITERATIONS'
  | 'AUTH_EXCESSIVE_ITERATIONS'
  | 'AUTH_BAD_SALT'
  | 'AUTH_UNSUPPORTED_EXTENSION'
  | 'AUTH_SERVER_ERROR'
  | 'AUTH_SERVER_SIGNATURE'
  | 'AUTH_NO_SCRAM'
  | 'AUTH_CHANNEL_BINDING'
  | 'AUTH_REFUSED'
  | 'AUTH_NEEDS_PASSWORD'
  | 'AUTH_DOWNGRADE';

export class ScramError extends DnaError<ScramErrorCode> {}

/** The server's <failure/> (RFC 6120 6.5): its defined condition and its optional text, kept apart from our words. */
export class SaslRefusal extends ScramError {
  readonly condition: string | null;
  readonly serverText: string | null;

  constructor(condition: string | null, serverText: string | null, options?: ErrorOptions) {
    // The condition is protocol vocabulary; the server's prose stays out of our sentence.
    super('AUTH_REFUSED', condition ? `The server refused the login with <${condition}/>.` : 'The server refused the login.', options);
    this.condition = condition;
    this.serverText = serverText;
  }
}

/** RFC 5802 5.1 and RFC 7677 4: an iteration count below 4096 is refused. */
export const MIN_ITERATIONS = 4096;
/** A server must not be able to make us spin for minutes; about half a second of PBKDF2. */
export const MAX_ITERATIONS = 1_000_000;

const DIGESTS = {
  'sha-1': { node: 'sha1', length: 20 },
  'sha-256': { node: 'sha256', length: 32 },
} as const satisfies Record<ScramHash, { node: string; length: number }>;

const pbkdf2Async = promisify(pbkdf2);

// --- SaltedPassword cache -------------------------------------------------------------------

export interface SaltedPasswordKey {
  hash: ScramHash;
  /** The prepared (SASLprep) password; only a keyed digest of it is kept. */
  password: string;
  salt: Buffer;
  iterations: number;
}

/**
 * SaltedPassword by (hash, salt, iterations), so a reconnection skips PBKDF2. Entries are also
 * bound to the password through an HMAC under a random per-cache key, so a changed or mistyped
 * password never meets a stale entry. The password itself is never stored. Owned by one session
 * (there is no module-level instance); it refuses to show its contents to loggers.
 */
export class SaltedPasswordCache {
  readonly #secret = randomBytes(32);
  readonly #entries = new Map<string, Buffer>();
  readonly #capacity: number;

  constructor(capacity = 8) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: SaltedPasswordKey): Buffer | undefined {
    const value = this.#entries.get(this.#keyOf(key));
    return value && Buffer.from(value);
  }

  set(key: SaltedPasswordKey, saltedPassword: Buffer): void {
    const id = this.#keyOf(key);
    this.#entries.delete(id);
    this.#entries.set(id, Buffer.from(saltedPassword));
    for (const [oldest, value] of this.#entries) {
      if (this.#entries.size <= this.#capacity) break;
      value.fill(0);
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    for (const value of this.#entries.values()) value.fill(0);
    this.#entries.clear();
  }

  toJSON(): string {
    return `[SaltedPasswordCache: ${this.size} entries]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }

  #keyOf({ hash, password, salt, iterations }: SaltedPasswordKey): string {
    const passwordTag = createHmac('sha256', this.#secret).update(password, 'utf8').digest('base64');
    return `${hash} ${iterations} ${salt.toString('base64')} ${passwordTag}`;
  }
}

// --- The pure core ----------------------------------------------------------------------------

export interface ClientFirst {
  /** GS2 header (RFC 5802 7): "n,," (no binding), "y,," (we bind, the server offered none) or "p=TYPE,,". */
  gs2Header: string;
  /** client-first-message-bare: "n=<escaped user>,r=<nonce>". */
  clientFirstBare: string;
  /** gs2Header + clientFirstBare, what goes into <auth/>. */
  message: string;
}

/** A fresh client nonce: 24 random bytes in base64 (printable, never a comma). */
export function createClientNonce(): string {
  return randomBytes(24).toString('base64');
}

/** RFC 5802 5.1: saslname escapes "=" as "=3D" and "," as "=2C". */
export function escapeUsername(username: string): string {
  return username.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** RFC 5802 5.1 (client-first-message), with the user name SASLprepared and escaped. */
export function clientFirstMessage(username: string, nonce: string, gs2Header = 'n,,'): ClientFirst {
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
    throw new TypeError('The client nonce must be printable ASCII without commas (RFC 5802 5.1).');
  }
  const prepared = saslprep(username, 'user name');
  if (prepared === '') {
    throw new ScramError('AUTH_SASLPREP', 'The user name is empty after SASLprep; enter a user name.');
  }
  const clientFirstBare = `n=${escapeUsername(prepared)},r=${nonce}`;
  return { gs2Header, clientFirstBare, message: gs2Header + clientFirstBare };
}

export interface ServerFirst {
  /** The combined nonce: ours, then the server's part. */
  nonce: string;
  salt: Buffer;
  iterations: number;
}

export interface IterationLimits {
  minIterations?: number;
  maxIterations?: number;
}

type Attribute = readonly [name: string, value: string];

function parseAttributes(message: string, which: string): Attribute[] {
  return message.split(',').map((part) => {
    const match = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!match) {
      throw new ScramError(
        'AUTH_BAD_SERVER_MESSAGE',
        `The server's ${which} SCRAM message is malformed near "${part.slice(0, 40)}"; the server is not speaking RFC 5802.`,
      );
    }
    return [match[1] ?? '', match[2] ?? ''] as const;
  });
}

function serverError(value: string): ScramError {
  return new ScramError('AUTH_SERVER_ERROR', `The server ended SCRAM with the error "${value}" (RFC 5802 7).`);
}

/** Strict base64 (RFC 4648 4, padded): Node's own decoder skips garbage silently. */
function decodeStrictBase64(value: string): Buffer | null {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  return Buffer.from(value, 'base64');
}

/** The client nonce inside a client-first-message-bare. */
function clientNonceOf(clientFirstBare: string): string {
  const nonce = /(?:^|,)r=([^,]+)/.exec(clientFirstBare)?.[1];
  if (!nonce) throw new TypeError('The client-first message has no nonce (r=).');
  return nonce;
}

/** RFC 5802 5.1 (server-first-message), checked against our nonce and the iteration limits. */
export function parseServerFirst(serverFirst: string, clientNonce: string, limits: IterationLimits = {}): ServerFirst {
  const attributes = parseAttributes(serverFirst, 'first');
  const [first] = attributes;
  if (first?.[0] === 'm') {
    throw new ScramError(
      'AUTH_UNSUPPORTED_EXTENSION',
      'The server demands a mandatory SCRAM extension (m=, RFC 5802 5.1) that this client does not support.',
    );
  }
  if (first?.[0] === 'e') throw serverError(first[1]);

  const expected = [
    ['r', 'nonce (r=)'],
    ['s', 'salt (s=)'],
    ['i', 'iteration count (i=)'],
  ] as const;
  const [nonce, saltText, iterationText] = expected.map(([name, label], index) => {
    const attribute = attributes[index];
    if (attribute?.[0] !== name) {
      throw new ScramError(
        'AUTH_BAD_SERVER_MESSAGE',
        `The server's first SCRAM message lacks the ${label} in position ${index + 1} (RFC 5802 5.1).`,
      );
    }
    return attribute[1];
  }) as [string, string, string];

  if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
    throw new ScramError(
      'AUTH_NONCE_MISMATCH',
      "The server's nonce does not extend the one this client sent (RFC 5802 5.1); the exchange may be replayed or tampered with.",
    );
  }

  const salt = decodeStrictBase64(saltText);
  if (!salt) {
    throw new ScramError('AUTH_BAD_SALT', 'The server sent a salt (s=) that is not valid base64 (RFC 5802 5.1).');
  }

  const { minIterations = MIN_ITERATIONS, maxIterations = MAX_ITERATIONS } = limits;
  const iterations = /^[1-9][0-9]{0,9}$/.test(iterationText) ? Number(iterationText) : Number.NaN;
  if (Number.isNaN(iterations)) {
    throw new ScramError('AUTH_BAD_SERVER_MESSAGE', `The server sent an iteration count (i=) that is not a positive number: "${iterationText.slice(0, 20)}".`);
  }
  if (iterations < minIterations) {
    throw new ScramError(
      'AUTH_WEAK_ITERATIONS',
      `The server stores the password with only ${iterations} PBKDF2 iterations; RFC 5802 5.1 and RFC 7677 4 require at least ${minIterations}. Ask the server's admin to raise the iteration count and reset the password.`,
    );
  }
  if (iterations > maxIterations) {
    throw new ScramError(
      'AUTH_EXCESSIVE_ITERATIONS',
      `The server asks for ${iterations} PBKDF2 iterations, more than this client's limit of ${maxIterations}; ask the server's admin to lower it.`,
    );
  }
  return { nonce, salt, iterations };
}

/** XEP-0474: the mechanisms and channel-binding types of one stream's features, as the client received them. */
export interface OfferedAuthentication {
  mechanisms: readonly string[];
  /** XEP-0440's list; null when the server sent none. */
  channelBindings: readonly string[] | null;
}

/**
 * XEP-0474 3: the hash a server puts in its first SCRAM message (h=) over what it offered: the
 * mechanisms sorted and joined by U+001E, then U+001F and the channel-binding types likewise (only
 * where it lists them), with the mechanism's own hash, in base64.
 */
export function downgradeProtectionHash(hash: ScramHash, offered: OfferedAuthentication): string {
  // Sets, as servers hash them (mod_sasl_ssdp): a name listed twice counts once.
  const join = (names: readonly string[]) => [...new Set(names)].sort().join('\u001e');
  const text = offered.channelBindings ? `${join(offered.mechanisms)}\u001f${join(offered.channelBindings)}` : join(offered.mechanisms);
  return createHash(DIGESTS[hash].node).update(text, 'utf8').digest('base64');
}

/**
 * XEP-0474 3: where the server-first message carries h=, it must be the hash of what this client
 * was offered; anything else means the offer was changed on the way (a downgrade). True when
 * checked, false when the server sent no h= (it does not implement XEP-0474).
 */
export function checkDowngradeProtection(serverFirst: string, hash: ScramHash, offered: OfferedAuthentication): boolean {
  const sent = parseAttributes(serverFirst, 'first').slice(3).find(([name]) => name === 'h')?.[1];
  if (sent === undefined) return false;
  if (sent !== downgradeProtectionHash(hash, offered)) {
    throw new ScramError(
      'AUTH_DOWNGRADE',
      "The server's own list of logins (XEP-0474) differs from the one this client received: something between the two removed or changed options, which is how a login is downgraded. Nothing was sent that could be used, and the client does not continue.",
    );
  }
  return true;
}

export interface ClientFinalInput extends IterationLimits {
  hash: ScramHash;
  password: string;
  clientFirstBare: string;
  serverFirst: string;
  gs2Header: string;
  /** RFC 5802 5.1 cbind-data: the channel's binding data when the header is "p=TYPE,,". */
  channelBindingData?: Buffer | null;
  saltedPasswordCache?: SaltedPasswordCache;
}

export interface ClientFinal {
  /** client-final-message: "c=...,r=...,p=...". */
  message: string;
  /** The ServerSignature a genuine server will send back in v=. */
  serverSignature: Buffer;
}

function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(DIGESTS[hash].node, key).update(data).digest();
}

async function saltedPasswordOf(input: ClientFinalInput, password: string, server: ServerFirst): Promise<Buffer> {
  const key: SaltedPasswordKey = { hash: input.hash, password, salt: server.salt, iterations: server.iterations };
  const cached = input.saltedPasswordCache?.get(key);
  if (cached) return cached;
  const { node, length } = DIGESTS[input.hash];
  const derived = await pbkdf2Async(Buffer.from(password, 'utf8'), server.salt, server.iterations, length, node);
  input.saltedPasswordCache?.set(key, derived);
  return derived;
}

/** RFC 5802 3 and 5.1: the client proof, and the server signature to expect. */
export async function clientFinalMessage(input: ClientFinalInput): Promise<ClientFinal> {
  const server = parseServerFirst(input.serverFirst, clientNonceOf(input.clientFirstBare), input);
  const password = saslprep(input.password, 'password');

  const cbindInput = Buffer.concat([Buffer.from(input.gs2Header, 'utf8'), input.channelBindingData ?? Buffer.alloc(0)]);
  const withoutProof = `c=${cbindInput.toString('base64')},r=${server.nonce}`;
  const authMessage = `${input.clientFirstBare},${input.serverFirst},${withoutProof}`;

  const saltedPassword = await saltedPasswordOf(input, password, server);
  const clientKey = hmac(input.hash, saltedPassword, 'Client Key');
  const storedKey = createHash(DIGESTS[input.hash].node).update(clientKey).digest();
  const clientSignature = hmac(input.hash, storedKey, authMessage);
  const clientProof = Buffer.from(clientKey.map((byte, index) => byte ^ (clientSignature[index] ?? 0)));
  const serverKey = hmac(input.hash, saltedPassword, 'Server Key');
  const serverSignature = hmac(input.hash, serverKey, authMessage);
  saltedPassword.fill(0);

  return { message: `${withoutProof},p=${clientProof.toString('base64')}`, serverSignature };
}

/**
 * RFC 5802 5.1 (server-final-message): the server proves it knows the password by sending the
 * expected ServerSignature in v=. Anything else is a failed authentication: e= is the server's
 * error, a missing or wrong v= means the server (or someone in between) is not the one holding
 * our credentials. Compared in constant time.
 */
export function verifyServerFinal(serverFinal: string, expectedServerSignature: Buffer): void {
  const attributes = serverFinal === '' ? [] : parseAttributes(serverFinal, 'final');
  const [first] = attributes;
  if (first?.[0] === 'e') throw serverError(first[1]);
  const signature = first?.[0] === 'v' ? decodeStrictBase64(first[1]) : null;
  if (!signature) {
    throw new ScramError(
      'AUTH_SERVER_SIGNATURE',
      'The server did not send its SCRAM signature (v=, RFC 5802 5.1), so it has not proven that it knows the password; not continuing.',
    );
  }
  if (signature.length !== expectedServerSignature.length || !timingSafeEqual(signature, expectedServerSignature)) {
    throw new ScramError(
      'AUTH_SERVER_SIGNATURE',
      "The server's SCRAM signature (v=) is wrong, so it has not proven that it knows the password (RFC 5802 9); not continuing.",
    );
  }
}

// --- The xmpp.js 0.14 adapter -----------------------------------------------------------------
//
// How it plugs in (node_modules/@xmpp/sasl/index.js, 0.14.0): the Factory from saslmechanisms
// creates a mechanism with `new Mechanism()` for the chosen name; @xmpp/sasl then awaits
// `mech.response(credentials)` for <auth/>, and for each <challenge/> awaits
// `mech.challenge(decoded)` and then `mech.response(credentials)`. Both are awaited, so PBKDF2
// runs asynchronously inside `response()` between the server-first challenge and our reply.
//
// The seam: on <success/> @xmpp/sasl resolves without showing the mechanism the success data, so
// it never checks the server's v= signature (stock SCRAM ignores it too). Our onAuthenticate
// therefore listens to the entity's 'nonza' events for the duration of the exchange, hands the
// <success/> data to the live mechanism (a server may also send v= in a last <challenge/>), and
// after `authenticate()` returns it throws AUTH_SERVER_SIGNATURE unless the signature was verified.
// Throwing there stops @xmpp/sasl before it restarts the stream, so nothing more is sent; the error
// reaches the entity's 'error' event, which rejects `start()`.

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
/** XEP-0388: SASL2 carries the server-final message in <success><additional-data/></success>. */
export const NS_SASL2 = 'urn:xmpp:sasl:2';

/** In order of preference: channel binding first (RFC 5802 6), then the stronger hash. */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1'] as const;
export type ScramMechanismName = (typeof SCRAM_MECHANISMS)[number];

const HASH_OF: Record<ScramMechanismName, ScramHash> = {
  'SCRAM-SHA-256-PLUS': 'sha-256', 'SCRAM-SHA-1-PLUS': 'sha-1', 'SCRAM-SHA-256': 'sha-256', 'SCRAM-SHA-1': 'sha-1',
};

const isPlus = (name: string): boolean => name.endsWith('-PLUS');

/** What this TLS channel can be bound with (RFC 9266 tls-exporter, RFC 5929): its type and data. */
export interface ChannelBinding {
  type: string;
  data: Buffer;
}

export interface SaslCredentials {
  username: string;
  password: string;
}

/** The mechanism shape saslmechanisms' Factory creates and @xmpp/sasl 0.14 drives. */
export interface SaslMechanism {
  readonly name: string;
  readonly clientFirst: boolean;
  response(credentials: SaslCredentials): Promise<string>;
  challenge(challenge: string): Promise<void>;
}

export interface SaslFactoryLike {
  use(name: string, mechanism: new () => SaslMechanism): unknown;
}

/** The xmpp.js entity (Client), as far as we listen to it. */
export interface NonzaSource {
  on(event: 'nonza', listener: (element: Element) => void): unknown;
  removeListener(event: 'nonza', listener: (element: Element) => void): unknown;
}

export type Authenticate = (credentials: SaslCredentials, mechanism: string) => Promise<void>;
export type OnAuthenticate = (authenticate: Authenticate, mechanisms: string[]) => Promise<void>;

export interface ScramOptions extends IterationLimits {
  entity: NonzaSource;
  /**
   * The binding this connection offers for the types the server lists (XEP-0440), or null when it
   * has none. Absent: the client does not do channel binding at all (tests of the bare mechanism).
   */
  channelBinding?: () => ChannelBinding | null;
  /** What this stream's features offered (XEP-0474 downgrade protection); absent: not checked. */
  offered?: () => OfferedAuthentication;
  /** Asked at each authentication (every connection and reconnection). */
  credentials: SaslCredentials | (() => SaslCredentials | Promise<SaslCredentials>);
  /** Keep one per session to skip PBKDF2 on reconnection. */
  saltedPasswordCache?: SaltedPasswordCache;
  /** For test vectors only. */
  createNonce?: () => string;
}

interface ScramSession {
  options: ScramOptions;
  current: ScramExchange | null;
  /** The GS2 header and binding data of the exchange about to start (chosen with the mechanism). */
  gs2Header: string;
  bindingData: Buffer | null;
}

// @xmpp/sasl moves messages through btoa/atob, which carry bytes as Latin-1 characters.
const toByteString = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const fromByteString = (bytes: string): string => Buffer.from(bytes, 'latin1').toString('utf8');

class ScramExchange implements SaslMechanism {
  readonly name: ScramMechanismName;
  readonly clientFirst = true;
  readonly #session: ScramSession;
  #stage: 'start' | 'sent-first' | 'got-server-first' | 'sent-final' | 'verified' = 'start';
  #first: ClientFirst | null = null;
  #serverFirst = '';
  #serverSignature: Buffer | null = null;
  #failure: ScramError | null = null;
  /** The server's h= matched what this client was offered (XEP-0474). */
  downgradeChecked = false;

  constructor(name: ScramMechanismName, session: ScramSession) {
    this.name = name;
    this.#session = session;
    session.current = this;
  }

  async response(credentials: SaslCredentials): Promise<string> {
    switch (this.#stage) {
      case 'start': {
        const nonce = (this.#session.options.createNonce ?? createClientNonce)();
        this.#first = clientFirstMessage(credentials.username, nonce, this.#session.gs2Header);
        this.#stage = 'sent-first';
        return toByteString(this.#first.message);
      }
      case 'got-server-first': {
        const first = this.#first as ClientFirst;
        const { options } = this.#session;
        // Before the proof leaves: a downgraded offer gets nothing from this client.
        if (options.offered) this.downgradeChecked = checkDowngradeProtection(this.#serverFirst, HASH_OF[this.name], options.offered());
        const final = await clientFinalMessage({
          hash: HASH_OF[this.name],
          password: credentials.password,
          clientFirstBare: first.clientFirstBare,
          serverFirst: this.#serverFirst,
          gs2Header: first.gs2Header,
          channelBindingData: this.#session.bindingData,
          saltedPasswordCache: options.saltedPasswordCache,
          minIterations: options.minIterations,
          maxIterations: options.maxIterations,
        });
        this.#serverSignature = final.serverSignature;
        this.#stage = 'sent-final';
        return toByteString(final.message);
      }
      case 'verified':
        return '';
      default:
        throw this.#outOfOrder();
    }
  }

  async challenge(challenge: string): Promise<void> {
    const text = fromByteString(challenge);
    if (this.#stage === 'sent-first') {
      this.#serverFirst = text;
      this.#stage = 'got-server-first';
    } else if (this.#stage === 'sent-final') {
      this.#verify(text);
    } else {
      throw this.#outOfOrder();
    }
  }

  /** The additional data of <success/> (RFC 6120 6.4.6), base64; null when there is none. */
  success(additionalData: string | null): void {
    if (this.#stage !== 'sent-final') return;
    const decoded = additionalData === null ? null : decodeStrictBase64(additionalData);
    try {
      this.#verify(decoded === null ? '' : decoded.toString('utf8'));
    } catch (error) {
      this.#failure = error as ScramError;
    }
  }

  /** The server proved it knows the password (its v= matched). */
  get verified(): boolean {
    return this.#stage === 'verified' && this.#failure === null;
  }

  assertVerified(): void {
    if (this.#failure) throw this.#failure;
    if (this.#stage !== 'verified') {
      throw new ScramError(
        'AUTH_SERVER_SIGNATURE',
        'The server reported success without its SCRAM signature (v=, RFC 5802 5.1), so it has not proven that it knows the password; not continuing.',
      );
    }
  }

  #verify(serverFinal: string): void {
    verifyServerFinal(serverFinal, this.#serverSignature as Buffer);
    this.#stage = 'verified';
  }

  #outOfOrder(): ScramError {
    return new ScramError('AUTH_BAD_SERVER_MESSAGE', `The server sent a SASL message out of order for ${this.name} (stage ${this.#stage}).`);
  }
}

function successData(element: Element): string | null {
  const text = element.text().trim();
  return text === '' || text === '=' ? null : text;
}

/**
 * Gives what @xmpp/sasl throws a stable code: a <failure/> becomes AUTH_REFUSED, and its
 * "no compatible mechanism" (thrown before onAuthenticate runs, so the session sees it as the
 * rejection of `start()`) becomes AUTH_NO_SCRAM. Anything else, our own errors included, is
 * returned as it is.
 */
export function authenticationError(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'SASLError') return error;
  if (error.message === 'SASL: No compatible mechanism available.') {
    return new ScramError(
      'AUTH_NO_SCRAM',
      'The server offers no SCRAM-SHA-256 or SCRAM-SHA-1 login; ask its admin to enable SCRAM (this client does not send passwords in other forms).',
      { cause: error },
    );
  }
  const { condition, text } = error as Error & { condition?: string; text?: string };
  return new SaslRefusal(condition || null, text || null, { cause: error });
}

/**
 * Registers SCRAM-SHA-256 and SCRAM-SHA-1 (in that order of preference) on the saslmechanisms
 * Factory given to @xmpp/sasl, and returns the onAuthenticate to pass to @xmpp/sasl:
 * `sasl({ streamFeatures, saslFactory }, useScram(saslFactory, { entity, credentials }))`.
 * No other mechanism is ever chosen, so the password never travels in the clear.
 */
/** What useScram gives the session: the exchange to run, and whether the last one's server proved itself. */
export interface ScramLogin {
  authenticate: OnAuthenticate;
  /**
   * The mechanism this client uses among those offered (null: no SCRAM at all). -PLUS whenever the
   * channel can be bound; throws AUTH_CHANNEL_BINDING where the server offers -PLUS and this channel
   * cannot bind, since a login without it could be a man in the middle's downgrade (RFC 5802 6).
   */
  mechanismFor(mechanisms: readonly string[]): { mechanism: ScramMechanismName; binding: ChannelBinding | null } | null;
  /** True once the current exchange's server signature matched; false before and after a failure. */
  serverProven(): boolean;
  /** Drops the last exchange (a new connection starts unproven). */
  forget(): void;
  /** The current exchange's server sent XEP-0474's h= and it matched. */
  downgradeChecked(): boolean;
}

export function useScram(saslFactory: SaslFactoryLike, options: ScramOptions): ScramLogin {
  const session: ScramSession = { options, current: null, gs2Header: 'n,,', bindingData: null };
  for (const name of SCRAM_MECHANISMS) {
    saslFactory.use(
      name,
      class extends ScramExchange {
        constructor() {
          super(name, session);
        }
      },
    );
  }

  const mechanismFor: ScramLogin['mechanismFor'] = (mechanisms) => {
    const offered = SCRAM_MECHANISMS.filter((name) => mechanisms.includes(name));
    if (offered.length === 0) return null;
    const plus = offered.find(isPlus);
    const binding = plus ? (options.channelBinding?.() ?? null) : null;
    if (plus && binding) return { mechanism: plus, binding };
    if (plus) {
      throw new ScramError(
        'AUTH_CHANNEL_BINDING',
        `The server offers ${plus} (a login bound to this TLS channel), but this connection cannot bind to it with a type the server lists; logging in without the binding could be a downgrade by someone in the middle, so the client does not.`,
      );
    }
    return { mechanism: offered[0]!, binding: null };
  };

  const run: OnAuthenticate = async (authenticate, mechanisms) => {
    const chosen = mechanismFor(mechanisms);
    if (!chosen) {
      throw new ScramError(
        'AUTH_NO_SCRAM',
        `The server offers no SCRAM-SHA-256 or SCRAM-SHA-1 login (offered here: ${mechanisms.join(', ') || 'none'}); ask its admin to enable SCRAM.`,
      );
    }
    const { mechanism, binding } = chosen;
    // RFC 5802 6: "y" tells a server that strips -PLUS from what it offers that we could have bound.
    session.gs2Header = binding ? `p=${binding.type},,` : options.channelBinding ? 'y,,' : 'n,,';
    session.bindingData = binding?.data ?? null;
    const { credentials } = options;
    const { username, password } = typeof credentials === 'function' ? await credentials() : credentials;

    const onNonza = (element: Element): void => {
      if (element.is('success', NS_SASL)) session.current?.success(successData(element));
      // Before @xmpp/sasl2 reads the same <success/>: it binds (XEP-0386) and may go online in it,
      // so the proof must already be judged when it does (serverProven).
      if (element.is('success', NS_SASL2)) session.current?.success(element.getChildText('additional-data') || null);
    };
    session.current = null;
    options.entity.on('nonza', onNonza);
    try {
      await authenticate({ username, password }, mechanism);
    } catch (error) {
      throw authenticationError(error);
    } finally {
      options.entity.removeListener('nonza', onNonza);
    }
    const exchange = session.current as ScramExchange | null;
    if (!exchange) throw new ScramError('AUTH_BAD_SERVER_MESSAGE', `The SASL layer did not run ${mechanism}.`);
    exchange.assertVerified();
  };
  return {
    authenticate: run,
    mechanismFor,
    serverProven: () => session.current?.verified ?? false,
    downgradeChecked: () => session.current?.downgradeChecked ?? false,
    forget: () => {
      session.current = null;
    },
  };
}
