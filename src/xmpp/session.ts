// The XMPP session of one account: every connection (the first and each reconnection) runs the
// whole DNA pipeline, and xmpp.js only ever opens its stream on the socket that pipeline proved.
// Then SASL (our SCRAM), resource binding or XEP-0198 resumption, and the chat modules. A permanent
// failure (failure.ts: a refusal, a wrong password, a domain that does not exist) stops the session
// with one clear problem; a transient one is retried with a jittered, capped backoff.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import middleware, { type Middleware } from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import type { Sasl2 } from '@xmpp/sasl2';
import streamFeatures from '@xmpp/stream-features';
import streamManagement, { type StreamManagement } from '@xmpp/stream-management';
import { xml, type Element } from '@xmpp/xml';
import type { TrustStore } from '../lookup/anchors.ts';
import type { ResolveDelegation } from '../lookup/delegation.ts';
import type { PoshCache } from '../lookup/posh-cache.ts';
import type { DnsResolver } from '../lookup/resolver.ts';
import { StepRecorder } from '../lookup/steps.ts';
import { normalizeDomain } from '../verify/domain.ts';
import { DnaError, messageOf } from '../verify/errors.ts';
import type { DelegationReport } from '../verify/report.ts';
import type { ConnectCandidate, Domain, StepEvent } from '../verify/types.ts';
import { runDelegationAttempt } from './attempt.ts';
import { setupAuthentication, type Authentication, type LoginAttempt } from './authentication.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
import { channelBindingOf } from './channel-binding.ts';
import { Emitter } from './emitter.ts';
import { failure, type FailureFacts, type FailureKind, type SessionProblem } from './failure.ts';
import { memoryTokenStore, type FastTokenStore } from './fast.ts';
import { IqCallee } from './iq-callee.ts';
import { IqCaller } from './iq-caller.ts';
import { domainOf, localOf } from './jid.ts';
import type { LoginFacts } from './login-facts.ts';
import { NS_CARBONS } from './namespaces.ts';
import { runOnlineHooks, type OnlineHook, type StagedHook } from './online-hooks.ts';
import { authenticationError, SaltedPasswordCache, SaslRefusal, ScramError } from './scram.ts';
import { StreamViolation, type StreamLimits } from './stream-parser.ts';
import { VerifiedClient } from './verified-client.ts';

export type SessionState = 'offline' | 'connecting' | 'online' | 'reconnecting' | 'refused' | 'auth-failed' | 'error';

export type { SessionProblem } from './failure.ts';
export type { LoginFacts } from './login-facts.ts';

export interface ManualServer {
  host: string;
  port: number;
  directTls: boolean;
}

export interface SessionOptions {
  /** Bare JID. */
  jid: string;
  /** Asked at every login; never stored by the session beyond this function. */
  password: () => string;
  resource?: string;
  resolver: DnsResolver;
  /** The system roots and the account's extra anchors (HTTPS and PKIX). */
  trust: TrustStore;
  cache?: PoshCache;
  /** Read at every attempt, so a changed setting applies to the next connection. */
  maxPoshLifetimeSeconds?: () => number;
  poshTimeoutMs?: number;
  /** Replaces the SRV candidates; the certificate is still judged against the JID's domain. */
  manual?: ManualServer | null;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** From the first byte of an attempt to online (pipeline, SASL, bind). */
  attemptTimeoutMs?: number;
  /**
   * PLAIN when the server offers no SCRAM, inside verified TLS only (default true). Asked at each
   * login; the app answers false once the account has proven SCRAM or a token (pinning, XEP-0474 1).
   */
  allowPlain?: boolean | (() => boolean);
  /**
   * false: never bind SASL to the TLS channel, and so refuse a server that offers -PLUS (a test of
   * the downgrade rule). Default: bind whenever the channel allows it.
   */
  bindChannel?: boolean;
  /** XEP-0388 <user-agent id/>: stable per account (default: one per session); FAST tokens are bound to it. */
  userAgentId?: string;
  /**
   * Where the FAST token (XEP-0484) is kept between logins: the account's encrypted store in the
   * app. Default: this session's memory (its reconnections use it); null: no FAST.
   */
  fastTokens?: FastTokenStore | null;
  /** XEP-0198 ack request interval and timeout. */
  streamManagement?: { requestAckIntervalMs?: number; timeoutMs?: number };
  /** resolveDelegation unless a test or the benchmark puts a baseline in its place. */
  delegation?: ResolveDelegation;
  /** Bounds on what the server may send in one stanza (stream-parser.ts; defaults suit any real server). */
  streamLimits?: Partial<StreamLimits>;
}

export interface SessionEvents {
  attempt: { attemptId: string; startedAt: string; domain: string };
  step: { attemptId: string; event: StepEvent };
  report: { attemptId: string; report: DelegationReport };
  /** retryAt: when the next attempt starts (epoch ms), while one is scheduled. */
  state: { state: SessionState; problem: SessionProblem | null; retryInMs: number | null; retryAt: number | null };
  /** Online after binding (resumed: false) or after XEP-0198 resumption (resumed: true). */
  online: { jid: string; resumed: boolean };
  /** Every stanza received while online (after the session's own handlers). */
  stanza: Element;
  /** A stanza we sent was acknowledged by the server (XEP-0198). */
  acked: Element;
  /** A stanza we sent was not acknowledged before the session was lost for good. */
  unacked: Element;
}

/** What the feature modules (roster, presence, messages...) are built from. */
export interface SessionParts {
  entity: VerifiedClient;
  middleware: Middleware;
  iqCaller: IqCaller;
  iqCallee: IqCallee;
  streamManagement: StreamManagement;
}

type AttemptOutcome =
  | { kind: 'online'; resumed: boolean }
  | { kind: 'stop'; state: 'refused' | 'auth-failed' | 'error'; problem: SessionProblem }
  | { kind: 'retry'; problem: SessionProblem }
  | { kind: 'aborted' };

/** RFC 6120 6.5: which SASL failure conditions mean what for the user. */
const SASL_CONDITION_KIND: Readonly<Record<string, FailureKind>> = {
  'not-authorized': 'wrong-password',
  'credentials-expired': 'wrong-password',
  'account-disabled': 'account-disabled',
  'temporary-auth-failure': 'auth-temporary',
};

/** XEP-0198 4: h counts stanzas the server received; it cannot exceed what this client sent. */
function plausibleAck(h: unknown, sm: StreamManagement): boolean {
  const acked = typeof h === 'string' && /^\d{1,10}$/.test(h) ? Number(h) - sm.outbound : Number.NaN;
  return acked >= 0 && acked <= sm.outbound_q.length;
}

/** RFC 6120 4.9.3: which stream errors from the server mean what for the user. */
const STREAM_CONDITION_KIND: Readonly<Record<string, FailureKind>> = {
  'system-shutdown': 'server-restarting',
  'host-unknown': 'host-unknown',
  'host-gone': 'host-unknown',
};

/** The problem a failed login reports, in words a person can act on (failure.ts). */
export function loginProblem(error: unknown, facts: FailureFacts): SessionProblem {
  if (error instanceof StreamViolation) return failure('stream-violation', { ...facts, detail: error.message }, error.code);
  // @xmpp/sasl's own failures (no compatible mechanism, a <failure/>) get their stable codes first.
  const known = authenticationError(error);
  if (known instanceof SaslRefusal) {
    const kind = SASL_CONDITION_KIND[known.condition ?? 'not-authorized'] ?? 'login-impossible';
    const quote = known.serverText ?? (known.condition ? `<${known.condition}/>` : null);
    return failure(kind, { ...facts, quote, detail: `the server answered <${known.condition ?? 'failure'}/>.` });
  }
  if (known instanceof ScramError && known.code === 'AUTH_NEEDS_PASSWORD') return failure('password-needed', { ...facts, detail: known.message });
  // Every other SCRAM failure is about this server and these credentials: retrying would not change it.
  if (known instanceof ScramError) return failure('login-impossible', { ...facts, detail: known.message }, known.code);
  const { name, condition, text } = (known ?? {}) as { name?: string; condition?: string; text?: string };
  if (name === 'StreamError' && condition) {
    // RFC 6120 4.9.3: the server's stream error, in its own words, beside ours.
    const quote = `<${condition}/>${text ? ` ${text}` : ''}`;
    const kind = STREAM_CONDITION_KIND[condition] ?? 'connection-lost';
    return failure(kind, { ...facts, quote });
  }
  return failure('session-failed', { ...facts, detail: messageOf(known), quote: condition ? `<${condition}/>` : null });
}

export class XmppSession {
  readonly jid: string;
  readonly domain: Domain;
  readonly events: Emitter<SessionEvents>;
  readonly parts: SessionParts;
  readonly #options: SessionOptions;
  readonly #recorderSteps: StepEvent[] = [];
  readonly #onlineHooks: StagedHook[] = [];
  #state: SessionState = 'offline';
  #problem: SessionProblem | null = null;
  #running = false;
  #phase: 'idle' | 'attempting' | 'online' | 'stopping' = 'idle';
  #retry = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #abort = new AbortController();
  #recorder: StepRecorder | null = null;
  #attemptId: string | null = null;
  #socket: TLSSocket | null = null;
  #bindStep: ((outcome: { ok: boolean; detail?: string }) => unknown) | null = null;
  /** From the stream header on the proven socket to the first SASL message: the server's features. */
  #streamStep: ((outcome: { ok: boolean; detail?: string }) => unknown) | null = null;
  #firstOutcome: Promise<SessionState> | null = null;
  /** Online at least once since start(): a later failure is a lost connection, not a failed first one. */
  #wasOnline = false;
  #lastReport: DelegationReport | null = null;
  #lastError: unknown = null;
  #auth: Authentication | null = null;
  /** The current login's Bind 2 answer enabled carbons. */
  #carbonsInline = false;
  /** The current connection resumed its stream (XEP-0198) instead of binding. */
  #resumed = false;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.jid = options.jid;
    this.domain = normalizeDomain(domainOf(options.jid));
    this.events = new Emitter<SessionEvents>();
    const entity = new VerifiedClient({ account: this.jid, domain: this.domain, timeout: 3000, streamLimits: options.streamLimits }, () => this.#takeSocket());
    // xmpp.js reports every failure as an 'error' event; the attempt in progress decides what it
    // means, and a lost connection names the last one (e.g. the stream error <system-shutdown/>).
    entity.on('error', (error: unknown) => {
      // The stream error this client ended the connection with is why it was lost, whatever fails after it.
      if (this.#lastError instanceof StreamViolation) return;
      this.#lastError = error;
    });
    const mw = middleware({ entity });
    const features = streamFeatures({ middleware: mw });
    // The login first: stream management and carbons ride inside its SASL2 and Bind 2 requests.
    const saltedPasswordCache = new SaltedPasswordCache(2);
    const auth = setupAuthentication({
      entity,
      streamFeatures: features,
      credentials: () => ({ username: localOf(this.jid), password: options.password() }),
      saltedPasswordCache,
      allowPlain: typeof options.allowPlain === 'function' ? options.allowPlain : () => options.allowPlain !== false,
      resourceTag: options.resource ?? 'posh',
      channelBinding: (listed) => (options.bindChannel === false ? null : channelBindingOf(entity.socket as TLSSocket | null, listed)),
      userAgentId: options.userAgentId ?? randomUUID(),
      fastTokens: options.fastTokens === null ? undefined : (options.fastTokens ?? memoryTokenStore()),
      timeStep: async (label, work) => {
        const recorder = this.#recorder;
        if (!recorder) return work();
        this.#streamStep?.({ ok: true, detail: 'features received' });
        this.#streamStep = null;
        await recorder.time('auth', label, work);
        if (entity.status === 'online') {
          // XEP-0386: bound inside SASL2's <success/>, in the same round trip.
          recorder.begin('bind', 'Bind 2, inline in the login (XEP-0386)')({ ok: true, detail: this.fullJid ?? '' });
        } else {
          this.#bindStep = recorder.begin('bind', 'Bind a resource or resume the session (XEP-0198)');
        }
      },
    });
    this.#auth = auth;
    // Carbons (XEP-0280) asked for inside Bind 2 where the server offers it; believed enabled only
    // when its <bound/> says so (ejabberd 24.12 does not), else carbons.ts sends its iq as before.
    auth.bind2.use(NS_CARBONS, () => xml('enable', { xmlns: NS_CARBONS }), (answer) => {
      if (answer.is('enabled', NS_CARBONS)) this.#carbonsInline = true;
    });
    // Stream management before the iq caller and callee: its middleware counts every stanza received
    // (XEP-0198 4), also those they answer without passing them on; and before resource binding,
    // since its feature handler resumes, or binds first and then enables.
    // XEP-0198 inside SASL2: a <resumed/> counts only when this login asked to resume, and only with
    // an h this client can have sent (a larger one would make stream management read past its queue).
    let resumeAsked = false;
    /** This stream's login already settled XEP-0198 inline (enabled, resumed or failed). */
    let smSettledInline = false;
    entity.on('status', (status: string) => {
      if (status !== 'connect') return;
      resumeAsked = false;
      smSettledInline = false;
    });
    const smSasl2: Sasl2 = {
      use: (ns, request, response) =>
        auth.sasl2.use(
          ns,
          async (offered) => {
            const asked = await request(offered);
            resumeAsked = asked !== undefined;
            return asked;
          },
          (answer) => {
            smSettledInline = true;
            if (answer.is('resumed') && !(resumeAsked && plausibleAck(answer.attrs['h'], sm))) {
              entity.emit('error', new StreamViolation('undefined-condition', 'The server resumed a stream this client did not ask to resume, or acknowledged more stanzas than were sent (XEP-0198 4).'));
              return;
            }
            return response(answer);
          },
        ),
      setup: (setup) => auth.sasl2.setup(setup),
    };
    const smBind2: typeof auth.bind2 = {
      use: (ns, request, response) =>
        auth.bind2.use(ns, request, (answer) => {
          smSettledInline = true;
          return response(answer);
        }),
    };
    // XEP-0198 once per stream: ejabberd lists <sm/> again in the features after a SASL2 success
    // that already settled it inline, and asking twice fails stream management altogether.
    const smFeatures = {
      use: (name: string, ns: string, handler: Parameters<typeof features.use>[2]) =>
        features.use(name, ns, (context, next, element) => (smSettledInline || sm.enabled || sm.enableSent ? next() : handler(context, next, element))),
    };
    const sm = streamManagement({ streamFeatures: smFeatures, entity, middleware: mw, sasl2: smSasl2, bind2: smBind2 });
    sm.requestAckInterval = options.streamManagement?.requestAckIntervalMs ?? 30_000;
    sm.timeout = options.streamManagement?.timeoutMs ?? 60_000;
    const caller = new IqCaller({ entity, middleware: mw }, { bare: this.jid });
    const callee = new IqCallee({ entity, middleware: mw });
    resourceBinding({ streamFeatures: features, iqCaller: caller }, options.resource ?? `posh-${randomUUID().slice(0, 8)}`);
    sm.on('ack', (stanza: Element) => this.events.emit('acked', stanza));
    sm.on('fail', (stanza: Element) => this.events.emit('unacked', stanza));
    mw.use(async (context, next) => {
      if (this.#phase === 'online' && ['message', 'presence', 'iq'].includes(context.stanza.name)) this.events.emit('stanza', context.stanza);
      return next();
    });
    entity.on('disconnect', () => this.#onDisconnect());
    this.parts = { entity, middleware: mw, iqCaller: caller, iqCallee: callee, streamManagement: sm };
  }

  get state(): SessionState {
    return this.#state;
  }

  get problem(): SessionProblem | null {
    return this.#problem;
  }

  get attemptId(): string | null {
    return this.#attemptId;
  }

  /** Steps of the current attempt so far, as StepEvents in order. */
  get steps(): readonly StepEvent[] {
    return this.#recorderSteps;
  }

  get lastReport(): DelegationReport | null {
    return this.#lastReport;
  }

  /** The bound full JID while online. */
  get fullJid(): string | null {
    return this.parts.entity.jid?.toString() ?? null;
  }

  /** This session's carbons were enabled inside Bind 2 (XEP-0386), so no iq is needed. */
  get carbonsEnabledInline(): boolean {
    return this.#carbonsInline && this.#auth?.attempt?.profile === 'sasl2' && this.#phase === 'online';
  }

  /** The login of the current attempt as far as it went, also one that failed (null before a mechanism was chosen). */
  get loginAttempt(): LoginAttempt | null {
    return this.#auth?.attempt ?? null;
  }

  /** How the current connection logged in, while online. */
  get login(): LoginFacts | null {
    const attempt = this.#auth?.attempt;
    return this.#phase === 'online' && attempt ? { ...attempt, resumed: this.#resumed } : null;
  }

  get isOnline(): boolean {
    return this.#phase === 'online';
  }

  /**
   * Runs after every bind (resumed: false) or resumption (resumed: true), before `online` is emitted,
   * in stages (online-hooks.ts): hooks of one stage together, a stage after those below it.
   */
  onOnline(hook: OnlineHook, stage = 0): void {
    this.#onlineHooks.push({ hook, stage });
  }

  /**
   * Starts connecting (no-op when already running). Resolves with the state the first attempt
   * ended in: online, refused, auth-failed, error, or reconnecting/connecting when a retry is
   * scheduled. Never rejects.
   */
  start(): Promise<SessionState> {
    if (this.#running && this.#firstOutcome) return this.#firstOutcome;
    this.#running = true;
    this.#retry = 0;
    this.#wasOnline = false;
    this.#abort = new AbortController();
    this.#firstOutcome = this.#attempt(false);
    return this.#firstOutcome;
  }

  /** Closes the stream and stops retrying. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#firstOutcome = null;
    this.#abort.abort(new Error('The session was stopped.'));
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const wasActive = this.#phase !== 'idle';
    this.#phase = 'stopping';
    const { entity } = this.parts;
    // Held before stopping: xmpp.js lets go of a socket that did not close in time.
    const socket = entity.socket as TLSSocket | null;
    if (wasActive || entity.status !== 'offline') {
      await entity.stop().catch(() => undefined);
    }
    // A server that never closes its side keeps no socket of ours open.
    socket?.destroy();
    this.#socket?.destroy();
    this.#socket = null;
    this.#phase = 'idle';
    this.#setState('offline', null, null);
  }

  /** What every failure sentence may name about this account. */
  #facts(extra: Partial<FailureFacts> = {}): FailureFacts {
    return { jid: this.jid, domain: this.domain, dnsServer: this.#options.resolver.server, ...extra };
  }

  /** Sends when online; throws NOT_CONNECTED otherwise (callers that queue do it themselves). */
  async send(stanza: Element): Promise<void> {
    if (this.#phase !== 'online') throw new DnaError('NOT_CONNECTED', `${this.jid} is not connected; try again once it is online.`);
    await this.parts.entity.send(stanza);
  }

  #setState(state: SessionState, problem: SessionProblem | null, retryInMs: number | null): void {
    this.#state = state;
    this.#problem = problem;
    this.events.emit('state', { state, problem, retryInMs, retryAt: retryInMs === null ? null : Date.now() + retryInMs });
  }

  async #takeSocket(): Promise<TLSSocket> {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket || socket.destroyed) throw new Error('No verified socket is available for this connection.');
    return socket;
  }

  #onDisconnect(): void {
    if (this.#phase !== 'online' || !this.#running) return;
    this.#phase = 'idle';
    this.#scheduleRetry(this.#lostProblem());
  }

  /** Why an online (or logging-in) connection ended: our stream error, the server's, or none. */
  #lostProblem(): SessionProblem {
    const lastError = this.#lastError;
    if (lastError instanceof StreamViolation) {
      return failure('stream-violation', this.#facts({ detail: `${lastError.message} The stream was closed with <${lastError.condition}/>.` }), lastError.code);
    }
    const condition = (lastError as { condition?: string } | null)?.condition;
    const text = (lastError as { text?: string } | null)?.text;
    const quote = condition ? `<${condition}/>${text ? ` ${text}` : ''}` : null;
    return failure(STREAM_CONDITION_KIND[condition ?? ''] ?? 'connection-lost', this.#facts({ quote }));
  }

  /** Waits a backoff, then tries again; "reconnecting" only for a session that was online. */
  #scheduleRetry(problem: SessionProblem): void {
    if (!this.#running) return;
    const delay = backoffDelay(this.#retry++, this.#options.backoff ?? DEFAULT_BACKOFF, this.#options.random);
    this.#setState(this.#wasOnline ? 'reconnecting' : 'error', problem, delay);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#attempt(this.#wasOnline);
    }, delay);
  }

  async #attempt(reconnecting: boolean): Promise<SessionState> {
    if (!this.#running) return this.#state;
    this.#phase = 'attempting';
    this.#lastError = null;
    this.#carbonsInline = false;
    const attemptId = randomUUID();
    this.#attemptId = attemptId;
    this.#recorderSteps.length = 0;
    const startedAt = new Date().toISOString();
    this.#recorder = new StepRecorder((event) => {
      this.#recorderSteps.push(event);
      this.events.emit('step', { attemptId, event });
    });
    this.events.emit('attempt', { attemptId, startedAt, domain: this.domain });
    this.#setState(reconnecting ? 'reconnecting' : 'connecting', null, null);

    let outcome: AttemptOutcome;
    try {
      outcome = await this.#connectOnce(attemptId);
    } catch (error) {
      outcome = { kind: 'retry', problem: failure('session-failed', this.#facts({ detail: messageOf(error) })) };
    }
    if (this.#attemptId !== attemptId) return this.#state;
    this.#streamStep?.({ ok: false, detail: 'no features' });
    this.#streamStep = null;
    // A SASL exchange the server never answered leaves its step open; the attempt is over all the same.
    if (outcome.kind !== 'online') this.#recorder?.abandonOpen(outcome.kind === 'aborted' ? 'stopped' : outcome.problem.message);
    this.#bindStep?.({ ok: outcome.kind === 'online', detail: outcome.kind === 'online' ? (outcome.resumed ? 'resumed' : (this.fullJid ?? '')) : 'not bound' });
    this.#bindStep = null;

    switch (outcome.kind) {
      case 'aborted':
        return this.#state;
      case 'online':
        this.#resumed = outcome.resumed;
        this.#retry = 0;
        this.#lastError = null;
        this.#wasOnline = true;
        this.#phase = 'online';
        await this.#runOnlineHooks(outcome.resumed);
        // A hook may have seen the connection drop already.
        if (this.#phase !== 'online') return this.#state;
        this.#setState('online', null, null);
        this.events.emit('online', { jid: this.fullJid ?? this.jid, resumed: outcome.resumed });
        return 'online';
      case 'stop':
        this.#running = false;
        this.#phase = 'idle';
        await this.#closeQuietly();
        this.#setState(outcome.state, outcome.problem, null);
        return outcome.state;
      case 'retry':
        this.#phase = 'idle';
        await this.#closeQuietly();
        this.#scheduleRetry(outcome.problem);
        return this.#state;
    }
  }

  #runOnlineHooks(resumed: boolean): Promise<void> {
    return runOnlineHooks(this.#onlineHooks, resumed, (error) => console.error(`An online hook of ${this.jid} failed: ${messageOf(error)}`));
  }

  async #closeQuietly(): Promise<void> {
    const { entity } = this.parts;
    const socket = entity.socket as TLSSocket | null;
    if (socket) await entity.disconnect().catch(() => undefined);
    socket?.destroy();
    this.#socket?.destroy();
    this.#socket = null;
  }

  async #connectOnce(attemptId: string): Promise<AttemptOutcome> {
    const options = this.#options;
    const recorder = this.#recorder as StepRecorder;
    const signal = this.#abort.signal;
    const manual = options.manual;
    const manualCandidates: ConnectCandidate[] | undefined = manual
      ? [{ host: manual.host, port: manual.port, tls: manual.directTls ? 'direct' : 'starttls', source: 'manual' }]
      : undefined;
    const result = await runDelegationAttempt({
      domain: this.domain,
      service: 'xmpp-client',
      connect: true,
      keepSocket: true,
      resolver: options.resolver,
      trust: options.trust,
      cache: options.cache,
      poshTimeoutMs: options.poshTimeoutMs,
      maxPoshLifetimeSeconds: options.maxPoshLifetimeSeconds?.(),
      recorder,
      signal: AbortSignal.any([signal, AbortSignal.timeout(options.attemptTimeoutMs ?? 30_000)]),
      manualCandidates,
      delegation: options.delegation,
    }).catch((error: unknown) => {
      if (signal.aborted) return null;
      throw error;
    });
    if (!result || signal.aborted || this.#attemptId !== attemptId) {
      result?.socket?.destroy();
      return { kind: 'aborted' };
    }
    this.#lastReport = result.report;
    this.events.emit('report', { attemptId, report: result.report });
    const { verdict, connection } = result.report;
    if (result.failure === 'refused') {
      return { kind: 'stop', state: 'refused', problem: failure('refused-proof', this.#facts({ detail: verdict.reason }), verdict.code) };
    }
    if (result.failure === 'no-service') {
      return { kind: 'stop', state: 'error', problem: failure('no-service', this.#facts({ detail: result.report.srv.error?.message }), verdict.code) };
    }
    if (!result.socket) {
      const candidate = result.report.srv.candidates.at(-1);
      const facts = this.#facts({ host: connection?.address ?? connection?.host ?? candidate?.host, port: connection?.port ?? candidate?.port, detail: verdict.reason });
      const problem = failure(result.cause ?? 'connect-failed', facts);
      // A domain that was reachable an hour ago does not stop existing: after online, a DNS answer
      // like that is a network change, retried like any other.
      if (problem.permanent && this.#wasOnline) return { kind: 'retry', problem: { ...problem, permanent: false } };
      return problem.permanent ? { kind: 'stop', state: 'error', problem } : { kind: 'retry', problem };
    }

    this.#socket = result.socket;
    return this.#login(signal);
  }

  /** SASL, then bind or resume, on the verified socket; resolves with how it ended. */
  #login(signal: AbortSignal): Promise<AttemptOutcome> {
    const { entity, streamManagement: sm } = this.parts;
    const timeoutMs = this.#options.attemptTimeoutMs ?? 30_000;
    return new Promise<AttemptOutcome>((resolve) => {
      const cleanups: Array<() => void> = [];
      const finish = (outcome: AttemptOutcome) => {
        for (const cleanup of cleanups) cleanup();
        resolve(outcome);
      };
      const listen = (target: EventEmitter, event: string, listener: (...args: unknown[]) => void) => {
        target.on(event, listener);
        cleanups.push(() => target.off(event, listener));
      };
      // Bind 2 and SASL2 resumption go online inside the server's <success/>: believed only once the
      // server has proven it knows the password (its SCRAM signature), never before.
      const online = (resumed: boolean) => () => {
        if (this.#auth?.serverProven()) {
          finish({ kind: 'online', resumed });
          return;
        }
        const detail = 'the server did not prove that it knows the password (no valid SCRAM signature, RFC 5802 5.1), so nothing was sent.';
        finish({ kind: 'stop', state: 'auth-failed', problem: failure('login-impossible', this.#facts({ detail }), 'AUTH_SERVER_SIGNATURE') });
      };
      listen(entity, 'online', online(false));
      listen(sm, 'resumed', online(true));
      listen(entity, 'error', (error: unknown) => {
        const problem = loginProblem(error, this.#facts());
        // Every permanent SASL outcome is an authentication failure; the kind says which (state-words).
        const auth = (['wrong-password', 'password-needed', 'account-disabled', 'login-impossible'] as const).some((kind) => kind === problem.kind);
        finish(problem.permanent ? { kind: 'stop', state: auth ? 'auth-failed' : 'error', problem } : { kind: 'retry', problem });
      });
      listen(entity, 'disconnect', () => finish({ kind: 'retry', problem: this.#lostProblem() }));
      const timer = setTimeout(
        () => finish({ kind: 'retry', problem: failure('login-timeout', this.#facts({ seconds: Math.round(timeoutMs / 1000) })) }),
        timeoutMs,
      );
      cleanups.push(() => clearTimeout(timer));
      const onAbort = () => finish({ kind: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
      this.#streamStep = this.#recorder?.begin('stream', 'Open the XMPP stream, wait for its features') ?? null;
      entity
        .connect(entity.options.service)
        .then(() => entity.open({ domain: this.domain }))
        .catch((error: unknown) => finish({ kind: 'retry', problem: failure('session-failed', this.#facts({ detail: `the stream could not be opened (${messageOf(error)})` })) }));
    });
  }
}
