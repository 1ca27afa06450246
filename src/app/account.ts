// One account while the app runs: its record, its session (created at connect, from the settings of
// that moment), the current attempt and its steps, the last state and problem, its POSH cache and
// trust anchors, and its chat state, so a reloaded UI can rebuild everything from a snapshot.
import { createHash } from 'node:crypto';
import { trustStore, type TrustStore } from '../lookup/anchors.ts';
import type { ResolveDelegation } from '../lookup/delegation.ts';
import { PoshCache, scopedStore } from '../lookup/posh-cache.ts';
import { createResolver, type DnsResolver } from '../lookup/resolver.ts';
import { splitPemCertificates } from '../verify/certificate.ts';
import { normalizeDomain, type Domain } from '../verify/domain.ts';
import type { StepEvent } from '../verify/types.ts';
import type { BackoffPolicy } from '../xmpp/backoff.ts';
import type { ChatOptions } from '../xmpp/chat-client.ts';
import { HT_MECHANISMS, type FastToken, type FastTokenStore } from '../xmpp/fast.ts';
import { domainOf } from '../xmpp/jid.ts';
import { XmppSession, type SessionProblem } from '../xmpp/session.ts';
import { AccountChat } from './account-chat.ts';
import type { Emit } from './events.ts';
import type { AccountSummary, ConnectionAttempt, ConnectionState, LoginFacts } from './model.ts';
import type { AccountRecord, AppStorage } from './storage.ts';
import { CallError } from './wire.ts';

/** Timings a shell or test may change; defaults suit a desktop client. */
export interface SessionTuning {
  backoff?: BackoffPolicy;
  attemptTimeoutMs?: number;
  poshTimeoutMs?: number;
  /** resolveDelegation unless the benchmark puts a baseline in its place. */
  delegation?: ResolveDelegation;
  /** The chat features' timings (the rooms' self-ping). */
  chat?: ChatOptions;
}

export interface AccountDependencies {
  storage: AppStorage;
  emit: Emit;
  maxPoshLifetimeSeconds: () => number;
  sessionTuning: SessionTuning;
}

/** Where the account's FAST token sits in the secret store, beside its password. */
const tokenKey = (accountId: string): string => `${accountId}.fast`;

/** A stored token as it was written (JSON), or null for anything else. */
function parseToken(text: string | null): FastToken | null {
  try {
    const value = JSON.parse(text ?? 'null') as Partial<FastToken> | null;
    const mechanism = HT_MECHANISMS.find((name) => name === value?.mechanism);
    return mechanism && typeof value?.token === 'string' && typeof value.expiry === 'string' ? { mechanism, token: value.token, expiry: value.expiry } : null;
  } catch {
    return null;
  }
}

export class Account {
  record: AccountRecord;
  readonly domain: Domain;
  session: XmppSession | null = null;
  /** The password for this run only (typed at add or connect, or read from the SecretStore). */
  password: string | null = null;
  attempt: ConnectionAttempt | null = null;
  steps: StepEvent[] = [];
  state: ConnectionState = 'offline';
  problem: SessionProblem | null = null;
  /** When the session tries again (epoch ms), while it waits to. */
  retryAt: number | null = null;
  /** How the current attempt logged in, once it has. */
  login: LoginFacts | null = null;
  readonly cache: PoshCache;
  readonly chat: AccountChat;
  readonly #deps: AccountDependencies;
  #token: FastToken | null = null;

  /**
   * The FAST token (XEP-0484), kept like the password: encrypted in the secret store when the
   * account remembers its password and the store can encrypt, in this run's memory otherwise.
   */
  readonly fastTokens: FastTokenStore = {
    get: () => (this.#token ??= this.#canKeepSecrets() ? parseToken(this.#deps.storage.secrets.get(tokenKey(this.id))) : null),
    set: (token) => {
      this.#token = token;
      const { secrets } = this.#deps.storage;
      if (token && this.#canKeepSecrets()) secrets.set(tokenKey(this.id), JSON.stringify(token));
      else if (secrets.available) secrets.delete(tokenKey(this.id));
    },
  };

  constructor(record: AccountRecord, deps: AccountDependencies) {
    this.record = record;
    this.domain = normalizeDomain(domainOf(record.jid));
    this.#deps = deps;
    this.cache = new PoshCache(scopedStore(deps.storage.poshCache, `account:${record.id}`));
    this.chat = new AccountChat(this, deps.emit);
  }

  get id(): string {
    return this.record.id;
  }

  get jid(): string {
    return this.record.jid;
  }

  resolver(): DnsResolver {
    return createResolver({ server: this.record.settings.resolver ?? undefined });
  }

  get chatOptions(): ChatOptions | undefined {
    return this.#deps.sessionTuning.chat;
  }

  /** What a room server's check uses of this account: its resolver and anchors, the app's POSH cap. */
  checkOptions(): { dns: string | undefined; extraAnchorsPem: string[]; maxPoshLifetimeSeconds: number } {
    return { dns: this.record.settings.resolver ?? undefined, extraAnchorsPem: this.anchorsPem(), maxPoshLifetimeSeconds: this.#deps.maxPoshLifetimeSeconds() };
  }

  anchorsPem(): string[] {
    return splitPemCertificates(this.record.settings.extraAnchorsPem ?? '');
  }

  /**
   * The system roots and the account's extra anchors, built once per set of extras (it costs tens
   * of milliseconds, so the app warms it before the first connection instead of during it).
   * Throws BAD_TRUST_ANCHOR for extra anchors that are not certificates.
   */
  trustStore(): TrustStore {
    return trustStore(this.anchorsPem());
  }

  summary(): AccountSummary {
    const secrets = this.#deps.storage.secrets;
    return {
      id: this.record.id,
      jid: this.record.jid,
      settings: structuredClone(this.record.settings),
      rememberPassword: this.record.rememberPassword,
      hasStoredPassword: secrets.available && secrets.get(this.record.id) !== null,
      hasPasswordThisRun: this.password !== null,
      state: this.state,
      isDemo: this.record.isDemo,
    };
  }

  #canKeepSecrets(): boolean {
    return this.record.rememberPassword && this.#deps.storage.secrets.available;
  }

  /**
   * XEP-0388 <user-agent id/>: the same for this account at every start (FAST tokens are bound to
   * it), and telling nothing beyond this installation's own account.
   */
  get userAgentId(): string {
    const bytes = createHash('sha256').update(`posh-messenger user-agent ${this.id}`).digest().subarray(0, 16);
    // A version 4, RFC 4122 variant UUID, as XEP-0388 asks, whose random bits are the hash's.
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  /** Signing out or forgetting the password drops the token too: the next login proves the password. */
  forgetToken(): void {
    this.fastTokens.set(null);
  }

  /** Keeps the password in the encrypted store when the account asks for it and one exists. */
  rememberSecret(): void {
    const { secrets } = this.#deps.storage;
    if (this.record.rememberPassword && secrets.available && this.password) secrets.set(this.id, this.password);
  }

  /**
   * Connects with `password` (or the one typed earlier, or the remembered one); a session that
   * stopped (refused, auth-failed) or waits to retry starts over now, on the user's request.
   */
  async connect(password: string | undefined): Promise<void> {
    if (password !== undefined) {
      this.password = password;
      this.rememberSecret();
    }
    const { secrets } = this.#deps.storage;
    this.password ??= secrets.available ? secrets.get(this.id) : null;
    // A kept FAST token logs in by itself; if the server refuses it, the session asks for the password.
    if (!this.password && !this.fastTokens.get()) throw new CallError('NEEDS_PASSWORD', `Enter the password for ${this.record.jid} to connect.`);
    const session = this.ensureSession();
    if (['refused', 'auth-failed', 'error', 'reconnecting'].includes(session.state)) await session.stop();
    await session.start();
  }

  /** The session for the current settings; a new one replaces a dropped one. */
  ensureSession(): XmppSession {
    if (this.session) return this.session;
    const { settings } = this.record;
    const tuning = this.#deps.sessionTuning;
    const session = new XmppSession({
      jid: this.record.jid,
      password: () => this.password ?? '',
      resolver: this.resolver(),
      trust: this.trustStore(),
      cache: this.cache,
      maxPoshLifetimeSeconds: this.#deps.maxPoshLifetimeSeconds,
      manual: settings.host ? { host: settings.host, port: settings.port ?? (settings.directTls ? 5223 : 5222), directTls: settings.directTls } : null,
      backoff: tuning.backoff,
      attemptTimeoutMs: tuning.attemptTimeoutMs,
      poshTimeoutMs: tuning.poshTimeoutMs,
      delegation: tuning.delegation,
      userAgentId: this.userAgentId,
      fastTokens: this.fastTokens,
      // A kept token also proves SCRAM worked once (accounts from before the pin was recorded).
      allowPlain: () => this.record.scramPinned !== true && this.fastTokens.get() === null,
    });
    this.#follow(session);
    this.chat.attach(session);
    this.session = session;
    return session;
  }

  /** Stops and drops the session (settings changed, account removed, or the app quits). */
  async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.stop();
  }

  /** Turns the session's events into the contract's connection events for this account. */
  #follow(session: XmppSession): void {
    const { emit } = this.#deps;
    const accountId = this.id;
    session.events.on('attempt', ({ attemptId, startedAt, domain }) => {
      this.attempt = { attemptId, accountId, domain, startedAt, report: null };
      this.steps = [];
      this.login = null;
      emit('connection.attempt', structuredClone(this.attempt));
    });
    session.events.on('step', ({ attemptId, event }) => {
      if (this.attempt?.attemptId !== attemptId) return;
      this.steps.push(event);
      emit('connection.step', { accountId, attemptId, event });
    });
    session.events.on('report', ({ attemptId, report }) => {
      if (this.attempt?.attemptId === attemptId) this.attempt.report = report;
      emit('connection.report', { accountId, attemptId, report });
    });
    session.events.on('online', () => {
      const { login } = session;
      const attemptId = this.attempt?.attemptId;
      if (!login || !attemptId) return;
      this.login = login;
      // Pinning (XEP-0474 1): once SCRAM or a token worked, a server offering only PLAIN is refused.
      if (/^(SCRAM|HT)-/.test(login.mechanism) && !this.record.scramPinned) {
        this.record = { ...this.record, scramPinned: true };
        this.#deps.storage.accounts.put(this.record);
      }
      emit('connection.login', { accountId, attemptId, login });
    });
    session.events.on('state', ({ state, problem, retryInMs, retryAt }) => {
      if (this.session !== session && this.session !== null) return;
      const changed = state !== this.state;
      this.state = state;
      this.problem = problem;
      this.retryAt = retryAt;
      // A refused password is not kept for the next try: it would only be refused again.
      if (problem?.kind === 'wrong-password') this.password = null;
      emit('connection.state', { accountId, state, problem, retryInMs, retryAt });
      if (changed) emit('account.updated', this.summary());
    });
  }
}
