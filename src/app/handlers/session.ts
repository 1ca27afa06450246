// session.* and posh.refresh: connecting an account through the whole pipeline, and its snapshot.
import { obtainPoshMaterial } from '../../lookup/posh-cache.ts';
import type { PoshResult } from '../../verify/types.ts';
import type { SessionSnapshot } from '../model.ts';
import type { CallHandlers, CoreContext } from './context.ts';

export function sessionHandlers(ctx: CoreContext): CallHandlers<'session.connect' | 'session.disconnect' | 'session.snapshot' | 'posh.refresh'> {
  const { accounts } = ctx;
  return {
    'session.connect': ({ accountId, password }) => accounts.get(accountId).connect(password),
    // Signing out: the session ends and its FAST token is dropped (the next sign-in proves the password).
    'session.disconnect': async ({ accountId }) => {
      const account = accounts.get(accountId);
      await account.session?.stop();
      account.forgetToken();
    },
    'session.snapshot': ({ accountId }): SessionSnapshot => {
      const account = accounts.get(accountId);
      return {
        account: account.summary(),
        attempt: account.attempt ? structuredClone(account.attempt) : null,
        steps: structuredClone(account.steps),
        roster: account.chat.contacts(),
        ownPresence: account.chat.ownPresence,
        subscriptionRequests: account.chat.subscriptionRequests,
        problem: account.problem,
        retryAt: account.retryAt,
        login: account.login,
        rooms: account.chat.rooms.summaries(),
        invitations: account.chat.rooms.invitations(),
      };
    },
    'posh.refresh': ({ accountId }): Promise<PoshResult> => {
      const account = accounts.get(accountId);
      return obtainPoshMaterial(account.domain, 'xmpp-client', {
        resolver: account.resolver(),
        trust: account.trustStore(),
        maxLifetimeSeconds: ctx.settings().maxPoshLifetimeSeconds,
        cache: account.cache,
        refresh: true,
        timeoutMs: ctx.poshTimeoutMs,
      });
    },
  };
}
