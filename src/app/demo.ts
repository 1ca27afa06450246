// The local demo (issue 5) as the app core sees it: a controller the shell may supply. Without
// one, every demo call answers DEMO_UNAVAILABLE.
import type { AccountSettings, DemoStatus, DemoVariant } from './contract.ts';

/** What the core offers the demo: its own account, logged in through the normal pipeline. */
export interface DemoHost {
  /** Creates (or updates) the demo account and returns its id; the password is kept in memory only. */
  ensureAccount(input: { jid: string; password: string; settings: AccountSettings }): string;
  /** Connects the account (the whole pipeline); resolves when the first attempt has ended. */
  connect(accountId: string): Promise<void>;
  disconnect(accountId: string): Promise<void>;
  /** Forgets cached POSH material of the account, so a switched variant is fetched anew. */
  forgetPosh(accountId: string): void;
  /** Tells every shell the demo's state changed. */
  publish(status: DemoStatus): void;
}

export interface DemoController {
  status(): DemoStatus | Promise<DemoStatus>;
  start(): Promise<DemoStatus>;
  setVariant(variant: DemoVariant): Promise<DemoStatus>;
  stop(): Promise<DemoStatus>;
}

export type DemoFactory = (host: DemoHost) => DemoController;
