// Every account of this run, by id, in the order they were added.
import { randomBytes } from 'node:crypto';
import { Account, type AccountDependencies } from './account.ts';
import type { AccountRecord } from './storage.ts';
import { CallError } from './wire.ts';

/** A fresh account id: random, so ids never repeat across runs. */
export const newAccountId = (): string => `acct-${randomBytes(6).toString('hex')}`;

export class Accounts {
  readonly #byId = new Map<string, Account>();
  readonly #deps: AccountDependencies;

  constructor(deps: AccountDependencies) {
    this.#deps = deps;
  }

  create(record: AccountRecord): Account {
    const account = new Account(record, this.#deps);
    this.#byId.set(record.id, account);
    return account;
  }

  /** The account with this id; throws UNKNOWN_ACCOUNT. */
  get(accountId: string): Account {
    const account = this.#byId.get(accountId);
    if (!account) throw new CallError('UNKNOWN_ACCOUNT', `There is no account with the id ${accountId}.`);
    return account;
  }

  list(): Account[] {
    return [...this.#byId.values()];
  }

  find(test: (account: Account) => boolean): Account | undefined {
    return this.list().find(test);
  }

  delete(accountId: string): void {
    this.#byId.delete(accountId);
  }
}
