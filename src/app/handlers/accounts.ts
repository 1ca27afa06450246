// accounts.*: adding, changing and removing accounts, each kept in the account store at once.
import { newAccountId } from '../accounts.ts';
import type { AccountSummary } from '../model.ts';
import { CallError } from '../wire.ts';
import type { CallHandlers, CoreContext } from './context.ts';

export function accountHandlers(ctx: CoreContext): CallHandlers<'accounts.list' | 'accounts.add' | 'accounts.update' | 'accounts.remove'> {
  const { accounts, storage, emit } = ctx;
  return {
    'accounts.list': (): AccountSummary[] => accounts.list().map((account) => account.summary()),
    'accounts.add': ({ jid, password, rememberPassword, settings }) => {
      if (accounts.find((account) => account.jid === jid)) throw new CallError('ACCOUNT_EXISTS', `${jid} is already an account here.`);
      const account = accounts.create({ id: newAccountId(), jid, settings, rememberPassword, isDemo: false, createdAt: new Date().toISOString() });
      storage.accounts.put(account.record);
      account.password = password;
      account.rememberSecret();
      ctx.warm([account]);
      const summary = account.summary();
      emit('account.updated', summary);
      return summary;
    },
    'accounts.update': async ({ accountId, settings, rememberPassword }) => {
      const account = accounts.get(accountId);
      const forgetsPassword = rememberPassword === false && account.record.rememberPassword;
      const settingsChanged = settings !== undefined && JSON.stringify(settings) !== JSON.stringify(account.record.settings);
      account.record = {
        ...account.record,
        settings: settings ?? account.record.settings,
        rememberPassword: rememberPassword ?? account.record.rememberPassword,
      };
      storage.accounts.put(account.record);
      if (settingsChanged) ctx.warm([account]);
      if (rememberPassword === false) storage.secrets.delete(accountId);
      else account.rememberSecret();
      // Turning "remember" off forgets the password, and the token that stands for it (XEP-0484).
      if (forgetsPassword) account.forgetToken();
      // New settings take effect with a new session: a connected account reconnects with them.
      if (settingsChanged && account.session) {
        const wasActive = account.session.state !== 'offline';
        await account.dropSession();
        if (wasActive) void account.connect(undefined).catch(() => undefined);
      }
      const summary = account.summary();
      emit('account.updated', summary);
      return summary;
    },
    'accounts.remove': async ({ accountId }) => {
      const account = accounts.get(accountId);
      await account.dropSession();
      account.chat.close();
      account.forgetToken();
      accounts.delete(accountId);
      storage.accounts.remove(accountId);
      storage.secrets.delete(accountId);
      account.cache.forget(account.domain, 'xmpp-client');
      emit('account.removed', { accountId });
    },
  };
}
