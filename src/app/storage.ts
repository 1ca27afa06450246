// What the app core keeps between runs, as interfaces: each shell supplies its own adapters
// (electron-store and safeStorage in Electron, conf files in the browser shell, memory in tests).
import { MemoryStore, type KeyValueStore } from '../lookup/posh-cache.ts';
import type { AccountSettings, AppSettings } from './contract.ts';

export interface AccountRecord {
  id: string;
  jid: string;
  settings: AccountSettings;
  rememberPassword: boolean;
  isDemo: boolean;
  createdAt: string;
  /** This account has logged in with SCRAM or a FAST token: PLAIN is never offered its password again. */
  scramPinned?: boolean;
}

export interface AccountStore {
  list(): AccountRecord[];
  put(record: AccountRecord): void;
  remove(id: string): void;
}

export interface SettingsStore {
  get(): AppSettings;
  set(settings: AppSettings): void;
}

/** Remembered passwords. `available` is false where they cannot be kept encrypted at rest. */
export interface SecretStore {
  readonly available: boolean;
  get(accountId: string): string | null;
  set(accountId: string, secret: string): void;
  delete(accountId: string): void;
}

export interface AppStorage {
  accounts: AccountStore;
  settings: SettingsStore;
  poshCache: KeyValueStore;
  secrets: SecretStore;
}

export const DEFAULT_SETTINGS: AppSettings = { maxPoshLifetimeSeconds: 604_800 };

/** Storage that lives as long as the process: tests, and secrets where no keyring exists. */
export function memoryStorage(options: { secretsAvailable?: boolean } = {}): AppStorage {
  const accounts = new Map<string, AccountRecord>();
  const secrets = new Map<string, string>();
  let settings = { ...DEFAULT_SETTINGS };
  return {
    accounts: {
      list: () => [...accounts.values()].map((record) => structuredClone(record)),
      put: (record) => void accounts.set(record.id, structuredClone(record)),
      remove: (id) => void accounts.delete(id),
    },
    settings: {
      get: () => ({ ...settings }),
      set: (next) => {
        settings = { ...next };
      },
    },
    poshCache: new MemoryStore(),
    secrets: {
      available: options.secretsAvailable ?? true,
      get: (id) => secrets.get(id) ?? null,
      set: (id, secret) => void secrets.set(id, secret),
      delete: (id) => void secrets.delete(id),
    },
  };
}
