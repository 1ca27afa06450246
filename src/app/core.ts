// The application core: accounts, one session per account, conversations, and the event stream,
// behind the one IPC contract. Electron's main process, the browser shell and tests drive it the
// same way; it knows nothing of any of them.
import { randomBytes } from 'node:crypto';
import { DnaError, messageOf } from '../verify/errors.ts';
import { obtainPoshMaterial } from '../lookup/posh-cache.ts';
import type { PoshResult } from '../verify/types.ts';
import { warmTrustStores } from '../lookup/warm.ts';
import { checkDelegation } from '../xmpp/check.ts';
import { AccountRuntime, pemBlocks, type SessionTuning } from './account-runtime.ts';
import { ChatService } from './chat.ts';
import {
  CallError,
  validateCall,
  type AccountSummary,
  type AppCore,
  type AppEvent,
  type AppInfo,
  type AppSettings,
  type CallName,
  type DemoStatus,
  type EventName,
  type EventPayloads,
  type SessionSnapshot,
  type ValidCallArgs,
} from './contract.ts';
import type { DemoController, DemoFactory, DemoHost } from './demo.ts';
import type { AccountRecord, AppStorage } from './storage.ts';

export interface AppCoreDependencies {
  storage: AppStorage;
  /** The local demo (issue 5); without it the demo calls answer DEMO_UNAVAILABLE. */
  demo?: DemoFactory;
  info?: Partial<Omit<AppInfo, 'secureStorage'>>;
  sessionTuning?: SessionTuning;
  /** Budget of a domain check (DESIGN 6: 15 s). */
  domainCheckTimeoutMs?: number;
  /**
   * Build the trust stores of every account while the app waits for the user (default true), so
   * the first connection does not build them on its critical path; `npm run bench` turns it off
   * to measure what it buys.
   */
  warmTrustStores?: boolean;
}

type Handlers = { [N in CallName]: (...args: ValidCallArgs<N>) => Promise<unknown> | unknown };

const newAccountId = (): string => `acct-${randomBytes(6).toString('hex')}`;

/** Any failure as a CallError: coded errors keep their code, anything else is INTERNAL. */
export function toCallError(error: unknown): CallError {
  if (error instanceof CallError) return error;
  if (error instanceof DnaError) return new CallError(error.code, error.message);
  return new CallError('INTERNAL', `Something went wrong inside the app: ${messageOf(error)}`);
}

export function createAppCore(deps: AppCoreDependencies): AppCore {
  const { storage } = deps;
  const listeners = new Set<(event: AppEvent) => void>();
  const emit = <N extends EventName>(event: N, payload: EventPayloads[N]): void => {
    for (const listener of [...listeners]) {
      try {
        listener({ event, payload } as AppEvent);
      } catch (error) {
        console.error(`An event listener failed on ${event}: ${messageOf(error)}`);
      }
    }
  };
  const settings = (): AppSettings => storage.settings.get();
  const runtimes = new Map<string, AccountRuntime>();
  const chat = new ChatService(emit);

  const addRuntime = (record: AccountRecord): AccountRuntime => {
    const runtime = new AccountRuntime(record, {
      storage,
      emit,
      maxPoshLifetimeSeconds: () => settings().maxPoshLifetimeSeconds,
      sessionTuning: deps.sessionTuning ?? {},
    });
    chat.attach(runtime);
    runtimes.set(record.id, runtime);
    return runtime;
  };
  for (const record of storage.accounts.list()) addRuntime(record);
  const warm = (targets: readonly AccountRuntime[], systemRootsAlone = false): void => {
    if (deps.warmTrustStores === false) return;
    const anchorSets = [...(systemRootsAlone ? [[]] : []), ...targets.map((runtime) => runtime.anchorsPem())];
    void warmTrustStores(anchorSets, targets.map((runtime) => () => void runtime.trustAnchors()));
  };
  // The system roots alone serve a domain check without extra anchors.
  warm([...runtimes.values()], true);

  const runtimeOf = (accountId: string): AccountRuntime => {
    const runtime = runtimes.get(accountId);
    if (!runtime) throw new CallError('UNKNOWN_ACCOUNT', `There is no account with the id ${accountId}.`);
    return runtime;
  };

  const rememberSecret = (runtime: AccountRuntime): void => {
    if (runtime.record.rememberPassword && storage.secrets.available && runtime.password) {
      storage.secrets.set(runtime.id, runtime.password);
    }
  };

  const connect = async (runtime: AccountRuntime, password: string | undefined): Promise<void> => {
    if (password !== undefined) {
      runtime.password = password;
      rememberSecret(runtime);
    }
    runtime.password ??= storage.secrets.available ? storage.secrets.get(runtime.id) : null;
    if (!runtime.password) {
      throw new CallError('NEEDS_PASSWORD', `Enter the password for ${runtime.record.jid} to connect.`);
    }
    const session = runtime.ensureSession();
    // A session that stopped (refused, auth-failed) or waits to retry starts over now, on the user's request.
    if (['refused', 'auth-failed', 'error', 'reconnecting'].includes(session.state)) await session.stop();
    await session.start();
  };

  const demoHost: DemoHost = {
    ensureAccount: ({ jid, password, settings: accountSettings }) => {
      const existing = [...runtimes.values()].find((runtime) => runtime.record.jid === jid && runtime.record.isDemo);
      const runtime =
        existing ??
        addRuntime({ id: newAccountId(), jid, settings: accountSettings, rememberPassword: false, isDemo: true, createdAt: new Date().toISOString() });
      runtime.record = { ...runtime.record, settings: structuredClone(accountSettings) };
      storage.accounts.put(runtime.record);
      runtime.password = password;
      emit('account.updated', runtime.summary());
      return runtime.id;
    },
    connect: (accountId) => connect(runtimeOf(accountId), undefined),
    disconnect: async (accountId) => {
      await runtimeOf(accountId).dropSession();
    },
    forgetPosh: (accountId) => {
      const runtime = runtimeOf(accountId);
      runtime.cache.forget(runtime.domain, 'xmpp-client');
    },
    publish: (status) => emit('demo.status', status),
  };
  const demo: DemoController | null = deps.demo ? deps.demo(demoHost) : null;
  const requireDemo = (): DemoController => {
    if (!demo) {
      throw new CallError('DEMO_UNAVAILABLE', 'The local demo is not available in this build; add an account for a real server instead.');
    }
    return demo;
  };

  const snapshot = (runtime: AccountRuntime): SessionSnapshot => ({
    account: runtime.summary(),
    attempt: runtime.attempt ? structuredClone(runtime.attempt) : null,
    steps: structuredClone(runtime.steps),
    roster: chat.roster(runtime.id),
    ownPresence: chat.ownPresence(runtime.id),
    subscriptionRequests: chat.subscriptionRequests(runtime.id),
    problem: runtime.problem,
  });

  const handlers: Handlers = {
    'app.info': (): AppInfo => ({
      version: deps.info?.version ?? '0.1.0',
      shell: deps.info?.shell ?? 'browser',
      platform: deps.info?.platform ?? process.platform,
      secureStorage: storage.secrets.available,
    }),
    'settings.get': () => settings(),
    'settings.set': (next) => {
      storage.settings.set({ ...settings(), ...next });
      return settings();
    },

    'accounts.list': (): AccountSummary[] => [...runtimes.values()].map((runtime) => runtime.summary()),
    'accounts.add': ({ jid, password, rememberPassword, settings: accountSettings }) => {
      if ([...runtimes.values()].some((runtime) => runtime.record.jid === jid)) {
        throw new CallError('ACCOUNT_EXISTS', `${jid} is already an account here.`);
      }
      const runtime = addRuntime({ id: newAccountId(), jid, settings: accountSettings, rememberPassword, isDemo: false, createdAt: new Date().toISOString() });
      storage.accounts.put(runtime.record);
      runtime.password = password;
      rememberSecret(runtime);
      warm([runtime]);
      const summary = runtime.summary();
      emit('account.updated', summary);
      return summary;
    },
    'accounts.update': async ({ accountId, settings: accountSettings, rememberPassword }) => {
      const runtime = runtimeOf(accountId);
      const settingsChanged = accountSettings !== undefined && JSON.stringify(accountSettings) !== JSON.stringify(runtime.record.settings);
      runtime.record = {
        ...runtime.record,
        ...(accountSettings ? { settings: accountSettings } : {}),
        ...(rememberPassword === undefined ? {} : { rememberPassword }),
      };
      storage.accounts.put(runtime.record);
      if (settingsChanged) warm([runtime]);
      if (rememberPassword === false) storage.secrets.delete(accountId);
      else rememberSecret(runtime);
      // New settings take effect with a new session: a connected account reconnects with them.
      if (settingsChanged && runtime.session) {
        const wasActive = runtime.session.state !== 'offline';
        await runtime.dropSession();
        if (wasActive) void connect(runtime, undefined).catch(() => undefined);
      }
      const summary = runtime.summary();
      emit('account.updated', summary);
      return summary;
    },
    'accounts.remove': async ({ accountId }) => {
      const runtime = runtimeOf(accountId);
      await runtime.dropSession();
      runtimes.delete(accountId);
      chat.detach(accountId);
      storage.accounts.remove(accountId);
      storage.secrets.delete(accountId);
      runtime.cache.forget(runtime.domain, 'xmpp-client');
      emit('account.removed', { accountId });
    },

    'session.connect': ({ accountId, password }) => connect(runtimeOf(accountId), password),
    'session.disconnect': async ({ accountId }) => {
      const runtime = runtimeOf(accountId);
      await runtime.session?.stop();
    },
    'session.snapshot': ({ accountId }) => snapshot(runtimeOf(accountId)),
    'posh.refresh': async ({ accountId }): Promise<PoshResult> => {
      const runtime = runtimeOf(accountId);
      return obtainPoshMaterial(runtime.domain, 'xmpp-client', {
        resolver: runtime.resolver(),
        trustAnchors: runtime.anchorsPem(),
        maxLifetimeSeconds: settings().maxPoshLifetimeSeconds,
        cache: runtime.cache,
        refresh: true,
        ...(deps.sessionTuning?.poshTimeoutMs ? { timeoutMs: deps.sessionTuning.poshTimeoutMs } : {}),
      });
    },

    'roster.add': ({ accountId, jid, name }) => chat.addContact(runtimeOf(accountId), jid, name ?? null),
    'roster.rename': ({ accountId, jid, name }) => chat.renameContact(runtimeOf(accountId), jid, name),
    'roster.remove': ({ accountId, jid }) => chat.removeContact(runtimeOf(accountId), jid),
    'subscription.answer': ({ accountId, jid, approve }) => chat.answerSubscription(runtimeOf(accountId), jid, approve),
    'presence.set': ({ accountId, show, status }) => chat.setPresence(runtimeOf(accountId), { show, status }),

    'chat.send': ({ accountId, to, body }) => chat.send(runtimeOf(accountId), to, body),
    'chat.history': ({ accountId, peer, before, max }) => chat.history(runtimeOf(accountId), peer, before, max),
    'chat.markRead': ({ accountId, peer }) => chat.markRead(runtimeOf(accountId), peer),

    'domain.check': ({ checkId, domain, service, resolver, extraAnchorsPem, connect: shouldConnect }) =>
      checkDelegation(domain, {
        service,
        dns: resolver ?? undefined,
        extraAnchorsPem: pemBlocks(extraAnchorsPem),
        connect: shouldConnect,
        timeoutMs: deps.domainCheckTimeoutMs ?? 15_000,
        maxPoshLifetimeSeconds: settings().maxPoshLifetimeSeconds,
        onStep: (event) => emit('domainCheck.step', { checkId, event }),
      }),

    'demo.status': (): Promise<DemoStatus> | DemoStatus => requireDemo().status(),
    'demo.start': () => requireDemo().start(),
    'demo.setVariant': ({ variant }) => requireDemo().setVariant(variant),
    'demo.stop': () => requireDemo().stop(),
  };

  return {
    async call(name: unknown, args: unknown): Promise<unknown> {
      try {
        const valid = validateCall(name, args);
        const handler = handlers[valid.name] as (...args: unknown[]) => unknown;
        return await handler(...(valid.args as unknown[]));
      } catch (error) {
        throw toCallError(error);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async dispose() {
      await Promise.all([...runtimes.values()].map((runtime) => runtime.dropSession().catch(() => undefined)));
      if (demo) await demo.stop().catch(() => undefined);
      listeners.clear();
    },
  };
}
