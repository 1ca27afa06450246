// One account while the app runs: its session (created at connect, from the settings of that
// moment), the current attempt and its steps, and the last state and problem, so a reloaded UI
// can rebuild everything from a snapshot.
import type { LookupOrder } from '../lookup/delegation.ts';
import { trustAnchors, type TrustAnchors } from '../verify/pkix.ts';
import { PoshCache } from '../lookup/posh-cache.ts';
import { createResolver, type DnsResolver } from '../lookup/resolver.ts';
import type { StepEvent } from '../verify/types.ts';
import type { BackoffPolicy } from '../xmpp/backoff.ts';
import { XmppSession, type SessionProblem } from '../xmpp/session.ts';
import type { AccountSummary, ConnectionAttempt, ConnectionState, EventPayloads } from './contract.ts';
import { prefixedStore } from './posh-store.ts';
import type { AccountRecord, AppStorage } from './storage.ts';

export interface RuntimeDependencies {
  storage: AppStorage;
  emit: <N extends keyof EventPayloads>(event: N, payload: EventPayloads[N]) => void;
  maxPoshLifetimeSeconds: () => number;
  sessionTuning: SessionTuning;
}

/** Timings a shell or test may change; defaults suit a desktop client. */
export interface SessionTuning {
  backoff?: BackoffPolicy;
  attemptTimeoutMs?: number;
  poshTimeoutMs?: number;
  /** The pipeline's lookup order: only `npm run bench` sets its baselines here. */
  lookups?: LookupOrder;
}

/** Splits the anchors PEM into certificates (each one a PEM block). */
export function pemBlocks(pem: string | null): string[] {
  return pem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export class AccountRuntime {
  record: AccountRecord;
  session: XmppSession | null = null;
  /** The password for this run only (typed at add or connect, or read from the SecretStore). */
  password: string | null = null;
  attempt: ConnectionAttempt | null = null;
  steps: StepEvent[] = [];
  state: ConnectionState = 'offline';
  problem: SessionProblem | null = null;
  readonly #deps: RuntimeDependencies;
  readonly cache: PoshCache;
  #anchors: { key: string; anchors: TrustAnchors } | null = null;
  #sessionFeatures: Array<(session: XmppSession) => void> = [];

  constructor(record: AccountRecord, deps: RuntimeDependencies) {
    this.record = record;
    this.#deps = deps;
    this.cache = new PoshCache(prefixedStore(deps.storage.poshCache, `account:${record.id}`));
  }

  get id(): string {
    return this.record.id;
  }

  get domain(): string {
    return this.record.jid.slice(this.record.jid.indexOf('@') + 1);
  }

  resolver(): DnsResolver {
    return createResolver({ server: this.record.settings.resolver ?? undefined });
  }

  anchorsPem(): string[] {
    return pemBlocks(this.record.settings.extraAnchorsPem);
  }

  /**
   * The account's trust anchors, read once per set of extra anchors: reading a certificate costs
   * milliseconds, so the app warms this before the first connection instead of during it.
   * Throws BAD_TRUST_ANCHOR for extra anchors that are not certificates.
   */
  trustAnchors(): TrustAnchors {
    const pem = this.anchorsPem();
    const key = pem.join('\n');
    if (this.#anchors?.key !== key) this.#anchors = { key, anchors: trustAnchors(pem) };
    return this.#anchors.anchors;
  }

  summary(): AccountSummary {
    const secrets = this.#deps.storage.secrets;
    return {
      id: this.record.id,
      jid: this.record.jid,
      settings: structuredClone(this.record.settings),
      rememberPassword: this.record.rememberPassword,
      hasStoredPassword: secrets.available && secrets.get(this.record.id) !== null,
      state: this.state,
      isDemo: this.record.isDemo,
    };
  }

  /** Registers what every new session of this account gets (chat modules). */
  onSession(setup: (session: XmppSession) => void): void {
    this.#sessionFeatures.push(setup);
  }

  /** The session for the current settings; a new one replaces a stopped one whose settings changed. */
  ensureSession(): XmppSession {
    if (this.session) return this.session;
    const { settings } = this.record;
    const anchorsPem = this.anchorsPem();
    const tuning = this.#deps.sessionTuning;
    const session = new XmppSession({
      jid: this.record.jid,
      password: () => this.password ?? '',
      resolver: this.resolver(),
      extraAnchorsPem: anchorsPem,
      anchors: this.trustAnchors(),
      cache: this.cache,
      maxPoshLifetimeSeconds: this.#deps.maxPoshLifetimeSeconds,
      manual: settings.host ? { host: settings.host, port: settings.port ?? (settings.directTls ? 5223 : 5222), directTls: settings.directTls } : null,
      ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
      ...(tuning.attemptTimeoutMs ? { attemptTimeoutMs: tuning.attemptTimeoutMs } : {}),
      ...(tuning.poshTimeoutMs ? { poshTimeoutMs: tuning.poshTimeoutMs } : {}),
      ...(tuning.lookups ? { lookups: tuning.lookups } : {}),
    });
    this.#wire(session);
    for (const setup of this.#sessionFeatures) setup(session);
    this.session = session;
    return session;
  }

  /** Stops and drops the session (settings changed, account removed, or the app quits). */
  async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.stop();
  }

  #wire(session: XmppSession): void {
    const { emit } = this.#deps;
    const accountId = this.id;
    session.events.on('attempt', ({ attemptId, startedAt, domain }) => {
      this.attempt = { attemptId, accountId, domain, startedAt, report: null };
      this.steps = [];
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
    session.events.on('state', ({ state, problem, retryInMs }) => {
      if (this.session !== session && this.session !== null) return;
      const changed = state !== this.state;
      this.state = state;
      this.problem = problem;
      emit('connection.state', { accountId, state, problem, retryInMs });
      if (changed) emit('account.updated', this.summary());
    });
  }
}
