// What every family of call handlers works with: the stores, the event bus, the accounts, the
// settings, and the warm-up of trust stores for accounts whose anchors are new.
import type { Account } from '../account.ts';
import type { Accounts } from '../accounts.ts';
import type { CallName, ValidCallArgs } from '../calls.ts';
import type { Emit } from '../events.ts';
import type { AppInfo, AppSettings } from '../model.ts';
import type { AppStorage } from '../storage.ts';

export interface CoreContext {
  storage: AppStorage;
  emit: Emit;
  accounts: Accounts;
  settings(): AppSettings;
  info: Partial<Omit<AppInfo, 'secureStorage'>>;
  /** Budget of a domain check (posh-check's default, 15 s). */
  domainCheckTimeoutMs: number;
  poshTimeoutMs: number | undefined;
  /** Builds these accounts' trust stores while the app waits for the user. */
  warm(accounts: readonly Account[]): void;
}

/** The handlers of the calls named in `N`, each taking its validated arguments. */
export type CallHandlers<N extends CallName> = { [K in N]: (...args: ValidCallArgs<K>) => Promise<unknown> | unknown };
