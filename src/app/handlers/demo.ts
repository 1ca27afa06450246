// demo.*: the local demo, when the shell supplies one, driving its own account through the core.
import { newAccountId } from '../accounts.ts';
import type { DemoController, DemoFactory, DemoHost } from '../demo.ts';
import type { DemoStatus } from '../model.ts';
import { CallError } from '../wire.ts';
import type { CallHandlers, CoreContext } from './context.ts';

type DemoCalls = 'demo.status' | 'demo.start' | 'demo.setVariant' | 'demo.stop';

/** What the core offers the demo: its own account, logged in through the normal pipeline. */
function demoHost(ctx: CoreContext): DemoHost {
  const { accounts, storage, emit } = ctx;
  return {
    ensureAccount: ({ jid, password, settings }) => {
      const account =
        accounts.find((candidate) => candidate.jid === jid && candidate.record.isDemo) ??
        accounts.create({ id: newAccountId(), jid, settings, rememberPassword: false, isDemo: true, createdAt: new Date().toISOString() });
      account.record = { ...account.record, settings: structuredClone(settings) };
      storage.accounts.put(account.record);
      account.password = password;
      emit('account.updated', account.summary());
      return account.id;
    },
    connect: (accountId) => accounts.get(accountId).connect(undefined),
    disconnect: (accountId) => accounts.get(accountId).dropSession(),
    forgetPosh: (accountId) => {
      const account = accounts.get(accountId);
      account.cache.forget(account.domain, 'xmpp-client');
    },
    publish: (status) => emit('demo.status', status),
  };
}

export function demoHandlers(ctx: CoreContext, factory: DemoFactory | undefined): { handlers: CallHandlers<DemoCalls>; controller: DemoController | null } {
  const controller = factory ? factory(demoHost(ctx)) : null;
  const demo = (): DemoController => {
    if (!controller) {
      throw new CallError('DEMO_UNAVAILABLE', 'The local demo is not available in this build; add an account for a real server instead.');
    }
    return controller;
  };
  return {
    controller,
    handlers: {
      'demo.status': (): Promise<DemoStatus> | DemoStatus => demo().status(),
      'demo.start': () => demo().start(),
      'demo.setVariant': ({ variant }) => demo().setVariant(variant),
      'demo.stop': () => demo().stop(),
    },
  };
}
