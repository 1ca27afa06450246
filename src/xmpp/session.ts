// The XMPP session of one account: every connection (the first and each reconnection) runs the
// whole DNA pipeline, and xmpp.js only ever opens its stream on the socket that pipeline proved.
// Then SASL (our SCRAM), resource binding or XEP-0198 resumption, and the chat modules. A refusal
// or a failed login stops the session with one clear problem; a lost connection is retried with
// a jittered, capped backoff.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import middleware, { type Middleware } from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import streamFeatures from '@xmpp/stream-features';
import streamManagement, { type StreamManagement } from '@xmpp/stream-management';
import type { Element } from '@xmpp/xml';
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
import { setupAuthentication } from './authentication.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { IqCallee } from './iq-callee.ts';
import { IqCaller } from './iq-caller.ts';
import { domainOf, localOf } from './jid.ts';
import { runOnlineHooks, type OnlineHook, type StagedHook } from './online-hooks.ts';
import { authenticationError, SaltedPasswordCache, ScramError } from './scram.ts';
import { StreamViolation, type StreamLimits } from './stream-parser.ts';
import { VerifiedClient } from './verified-client.ts';

export type SessionState = 'offline' | 'connecting' | 'online' | 'reconnecting' | 'refused' | 'auth-failed' | 'error';

export interface SessionProblem {
  code: string;
  message: string;
}

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
  /** PLAIN when the server offers no SCRAM, inside verified TLS only (default true). */
  allowPlain?: boolean;
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
  state: { state: SessionState; problem: SessionProblem | null; retryInMs: number | null };
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

/** The problem a failed login reports: a refused password is AUTH_FAILED, in words a person can act on. */
export function loginProblem(failure: unknown, jid: string): { auth: boolean; problem: SessionProblem } {
  if (failure instanceof StreamViolation) return { auth: false, problem: { code: failure.code, message: failure.message } };
  // @xmpp/sasl's own failures (no compatible mechanism, a <failure/>) get their stable codes first.
  const error = authenticationError(failure);
  if (error instanceof ScramError) {
    if (error.code === 'AUTH_REFUSED') {
      return { auth: true, problem: { code: 'AUTH_FAILED', message: `The server refused the login for ${jid}: check the password (${error.message})` } };
    }
    // Every SCRAM failure is about this server and these credentials: retrying would not change it.
    return { auth: true, problem: { code: error.code, message: error.message } };
  }
  const condition = (error as { condition?: string } | null)?.condition;
  const detail = condition ? `${condition}: ${messageOf(error)}` : messageOf(error);
  return { auth: false, problem: { code: 'SESSION_FAILED', message: `The session failed after the server was verified (${detail}).` } };
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
  #firstOutcome: Promise<SessionState> | null = null;
  #lastReport: DelegationReport | null = null;
  #lastError: unknown = null;

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
    // Stream management first: its middleware counts every stanza received (XEP-0198 4), also those
    // the iq caller and callee answer without passing them on; and before resource binding, since
    // its feature handler resumes, or binds first and then enables.
    const sm = streamManagement({ streamFeatures: features, entity, middleware: mw });
    sm.requestAckInterval = options.streamManagement?.requestAckIntervalMs ?? 30_000;
    sm.timeout = options.streamManagement?.timeoutMs ?? 60_000;
    const caller = new IqCaller({ entity, middleware: mw }, { bare: this.jid });
    const callee = new IqCallee({ entity, middleware: mw });
    resourceBinding({ streamFeatures: features, iqCaller: caller }, options.resource ?? `posh-${randomUUID().slice(0, 8)}`);
    const saltedPasswordCache = new SaltedPasswordCache(2);
    setupAuthentication({
      entity,
      streamFeatures: features,
      credentials: () => ({ username: localOf(this.jid), password: options.password() }),
      saltedPasswordCache,
      allowPlain: options.allowPlain ?? true,
      timeStep: async (label, work) => {
        const recorder = this.#recorder;
        if (!recorder) return work();
        await recorder.time('auth', label, work);
        this.#bindStep = recorder.begin('bind', 'Bind a resource or resume the session (XEP-0198)');
      },
    });
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

  /** Sends when online; throws NOT_CONNECTED otherwise (callers that queue do it themselves). */
  async send(stanza: Element): Promise<void> {
    if (this.#phase !== 'online') throw new DnaError('NOT_CONNECTED', `${this.jid} is not connected; try again once it is online.`);
    await this.parts.entity.send(stanza);
  }

  #setState(state: SessionState, problem: SessionProblem | null, retryInMs: number | null): void {
    this.#state = state;
    this.#problem = problem;
    this.events.emit('state', { state, problem, retryInMs });
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
    const lastError = this.#lastError;
    if (lastError instanceof StreamViolation) {
      this.#scheduleRetry({ code: lastError.code, message: `${lastError.message} The stream was closed (<${lastError.condition}/>); reconnecting.` }, true);
      return;
    }
    const condition = (lastError as { condition?: string } | null)?.condition;
    const why = condition ? ` (the server said <${condition}/>)` : '';
    this.#scheduleRetry({ code: 'CONNECTION_LOST', message: `The connection to ${this.domain}'s server was lost${why}; reconnecting.` }, true);
  }

  #scheduleRetry(problem: SessionProblem, lost: boolean): void {
    if (!this.#running) return;
    const delay = backoffDelay(this.#retry++, this.#options.backoff ?? DEFAULT_BACKOFF, this.#options.random);
    this.#setState(lost || this.#state === 'reconnecting' ? 'reconnecting' : 'error', problem, delay);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#attempt(true);
    }, delay);
  }

  async #attempt(reconnecting: boolean): Promise<SessionState> {
    if (!this.#running) return this.#state;
    this.#phase = 'attempting';
    this.#lastError = null;
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
      outcome = { kind: 'retry', problem: { code: 'SESSION_FAILED', message: messageOf(error) } };
    }
    if (this.#attemptId !== attemptId) return this.#state;
    this.#bindStep?.({ ok: outcome.kind === 'online', detail: outcome.kind === 'online' ? (outcome.resumed ? 'resumed' : (this.fullJid ?? '')) : 'not bound' });
    this.#bindStep = null;

    switch (outcome.kind) {
      case 'aborted':
        return this.#state;
      case 'online':
        this.#retry = 0;
        this.#lastError = null;
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
        this.#scheduleRetry(outcome.problem, reconnecting);
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
    const { verdict } = result.report;
    if (result.failure === 'refused') {
      return { kind: 'stop', state: 'refused', problem: { code: verdict.code, message: verdict.reason } };
    }
    if (result.failure === 'no-service') {
      return { kind: 'stop', state: 'error', problem: { code: verdict.code, message: verdict.reason } };
    }
    if (!result.socket) return { kind: 'retry', problem: { code: verdict.code, message: verdict.reason } };

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
      listen(entity, 'online', () => finish({ kind: 'online', resumed: false }));
      listen(sm, 'resumed', () => finish({ kind: 'online', resumed: true }));
      listen(entity, 'error', (error: unknown) => {
        const { auth, problem } = loginProblem(error, this.jid);
        finish(auth ? { kind: 'stop', state: 'auth-failed', problem } : { kind: 'retry', problem });
      });
      listen(entity, 'disconnect', () =>
        finish({ kind: 'retry', problem: { code: 'CONNECTION_LOST', message: `${this.domain}'s server closed the connection during login.` } }),
      );
      const timer = setTimeout(
        () => finish({ kind: 'retry', problem: { code: 'LOGIN_TIMEOUT', message: `The login to ${this.domain} did not complete within ${timeoutMs} ms.` } }),
        timeoutMs,
      );
      cleanups.push(() => clearTimeout(timer));
      const onAbort = () => finish({ kind: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
      entity
        .connect(entity.options.service)
        .then(() => entity.open({ domain: this.domain }))
        .catch((error: unknown) => finish({ kind: 'retry', problem: { code: 'SESSION_FAILED', message: `The stream could not be opened: ${messageOf(error)}` } }));
    });
  }
}
