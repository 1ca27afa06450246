// The application core: accounts, one session per account, conversations, and the event stream,
// behind the one contract. Electron's main process, the browser shell and tests drive it the same
// way; it knows nothing of any of them. Each family of calls has its module in handlers/; this
// file composes them over one context.
import { warmTrustStores } from '../lookup/warm.ts';
import type { Account, SessionTuning } from './account.ts';
import { Accounts } from './accounts.ts';
import { validateCall, type CallName } from './calls.ts';
import type { AppCore } from './contract.ts';
import type { DemoFactory } from './demo.ts';
import { EventBus } from './events.ts';
import { accountHandlers } from './handlers/accounts.ts';
import { appHandlers } from './handlers/app.ts';
import { chatHandlers } from './handlers/chat.ts';
import type { CallHandlers, CoreContext } from './handlers/context.ts';
import { demoHandlers } from './handlers/demo.ts';
import { domainCheckHandlers } from './handlers/domain-check.ts';
import { roomHandlers } from './handlers/rooms.ts';
import { sessionHandlers } from './handlers/session.ts';
import type { AppInfo } from './model.ts';
import type { AppStorage } from './storage.ts';
import { CallError, failureOf } from './wire.ts';

export type { SessionTuning };

export interface AppCoreDependencies {
  storage: AppStorage;
  /** The local demo; without it the demo calls answer DEMO_UNAVAILABLE. */
  demo?: DemoFactory;
  info?: Partial<Omit<AppInfo, 'secureStorage'>>;
  sessionTuning?: SessionTuning;
  /** Budget of a domain check (posh-check's default: 15 s). */
  domainCheckTimeoutMs?: number;
  /**
   * Build the trust stores of every account while the app waits for the user (default true), so
   * the first connection does not build them on its critical path; `npm run bench` turns it off
   * to measure what it buys.
   */
  warmTrustStores?: boolean;
}

export function createAppCore(deps: AppCoreDependencies): AppCore {
  const { storage } = deps;
  const bus = new EventBus();
  const settings = () => storage.settings.get();
  const sessionTuning = deps.sessionTuning ?? {};
  const accounts = new Accounts({ storage, emit: bus.emit, maxPoshLifetimeSeconds: () => settings().maxPoshLifetimeSeconds, sessionTuning });
  const warm = (targets: readonly Account[], systemRootsAlone = false): void => {
    if (deps.warmTrustStores === false) return;
    void warmTrustStores([...(systemRootsAlone ? [[]] : []), ...targets.map((account) => account.anchorsPem())]);
  };
  const ctx: CoreContext = {
    storage,
    emit: bus.emit,
    accounts,
    settings,
    info: deps.info ?? {},
    domainCheckTimeoutMs: deps.domainCheckTimeoutMs ?? 15_000,
    poshTimeoutMs: sessionTuning.poshTimeoutMs,
    warm: (targets) => warm(targets),
  };

  for (const record of storage.accounts.list()) accounts.create(record);
  // The system roots alone serve a domain check without extra anchors.
  warm(accounts.list(), true);

  const demo = demoHandlers(ctx, deps.demo);
  const handlers: CallHandlers<CallName> = {
    ...appHandlers(ctx),
    ...accountHandlers(ctx),
    ...sessionHandlers(ctx),
    ...chatHandlers(ctx),
    ...roomHandlers(ctx),
    ...domainCheckHandlers(ctx),
    ...demo.handlers,
  };

  return {
    async call(name: unknown, args: unknown): Promise<unknown> {
      try {
        const valid = validateCall(name, args);
        const handler = handlers[valid.name] as (...args: unknown[]) => unknown;
        return await handler(...(valid.args as unknown[]));
      } catch (error) {
        if (error instanceof CallError) throw error;
        const { code, message } = failureOf(error);
        throw new CallError(code, message);
      }
    },
    subscribe: (listener) => bus.subscribe(listener),
    async dispose() {
      await Promise.all(accounts.list().map((account) => account.dropSession().catch(() => undefined)));
      for (const account of accounts.list()) account.chat.close();
      if (demo.controller) await demo.controller.stop().catch(() => undefined);
      bus.clear();
    },
  };
}
