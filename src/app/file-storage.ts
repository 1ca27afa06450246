// AppStorage on JSON files, one per store (accounts, settings, the POSH cache, and in Electron the
// encrypted passwords), each with a JSON schema. Both shells use it: the browser shell with `conf`,
// Electron with `electron-store` (a subclass of conf). Writes are atomic (a temporary file renamed
// over the old one), so a killed app leaves each file either before or after a change. A file that
// cannot be read (not JSON, not a JSON object, refused by its schema) is set aside, reported by
// name and replaced by an empty one; the other files are untouched. Records that the schema lets
// through but that mean nothing (an address without "@") leave the file, which is copied aside
// first, and are reported; the other records stay. A file that cannot be opened at all stops the
// app with a sentence that names it.
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyValueStore } from '../lookup/posh-cache.ts';
import { DnaError } from '../verify/errors.ts';
import { accountRecordProblem } from './calls.ts';
import type { AppSettings } from './contract.ts';
import { DEFAULT_SETTINGS, type AccountRecord, type AppStorage, type SecretStore } from './storage.ts';

/** The part of a conf (or electron-store) instance this module uses. */
export interface JsonFile {
  readonly path: string;
  readonly store: Record<string, unknown>;
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

export type JsonSchema = Record<string, unknown>;

export interface JsonFileSpec {
  /** File name without `.json`. */
  name: string;
  /** conf's `schema` option: the JSON schema of each top-level key. */
  schema: Record<string, JsonSchema>;
  /** conf's `rootSchema` option (e.g. additionalProperties for maps). */
  rootSchema?: JsonSchema;
  /**
   * The records the schema let through that still mean nothing here, as clauses, and the store
   * without them; the others are kept.
   */
  sift?: (store: Record<string, unknown>) => { kept: Record<string, unknown>; dropped: string[] };
}

/** Opens one file in `dir`: `new Conf({...})` or `new ElectronStore({...})` with these options. */
export type JsonFileFactory = (options: {
  cwd: string;
  configName: string;
  schema: Record<string, JsonSchema>;
  rootSchema?: JsonSchema;
  accessPropertiesByDotNotation: false;
  clearInvalidConfig: false;
  configFileMode: number;
}) => JsonFile;

export interface StoreRecovery {
  /** Which store: accounts, settings, posh-cache or secrets. */
  store: string;
  backupPath: string;
  message: string;
}

const WHAT_IS_LOST: Record<string, string> = {
  accounts: 'The accounts could not be read and start empty; add them again.',
  settings: 'The settings could not be read and are back to their defaults.',
  'posh-cache': 'The cached POSH material could not be read; it will be fetched again.',
  secrets: 'The remembered passwords could not be read; type them at the next sign-in.',
};

/** An I/O failure (permissions, disk) says nothing about the file's content: it is not "recovered". */
const isIoError = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';

/** Damage found by this module rather than by conf: its message is already the clause. */
class StoreDamage extends Error {}

/** What was wrong with a file conf could not read, as a clause. */
function damageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StoreDamage) return message;
  if (/not valid JSON/.test(message)) return 'is not valid JSON';
  const violation = /^Config schema violation: (.*)$/.exec(message);
  if (violation) return `does not have the expected form: ${violation[1]!.replaceAll('`', '')}`;
  return `could not be read: ${message}`;
}

/**
 * Opens a store file; one that cannot be read is renamed to `NAME.corrupt-TIME.json`, reported
 * through `onRecovered`, and replaced by an empty store.
 */
export function openRecovering(dir: string, spec: JsonFileSpec, open: JsonFileFactory, onRecovered: (notice: StoreRecovery) => void): JsonFile {
  const path = join(dir, `${spec.name}.json`);
  const make = (): JsonFile => {
    // conf reads a root that is not an object (null, [], 42) as an empty store and would overwrite it.
    let raw: string | null = null;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (raw !== null && raw.trim() !== '') {
      let root: unknown;
      try {
        root = JSON.parse(raw);
      } catch {
        throw new StoreDamage('is not valid JSON');
      }
      if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new StoreDamage('is not a JSON object');
    }
    const file = open({
      cwd: dir,
      configName: spec.name,
      schema: spec.schema,
      rootSchema: spec.rootSchema,
      accessPropertiesByDotNotation: false,
      clearInvalidConfig: false,
      configFileMode: 0o600,
    });
    return file;
  };
  const backupPathOf = (): string => join(dir, `${spec.name}.corrupt-${new Date().toISOString().replaceAll(':', '-')}.json`);
  /** Records that mean nothing leave the file; the file as it was is kept beside it. */
  const sifted = (file: JsonFile): JsonFile => {
    const { kept, dropped } = spec.sift?.(file.store) ?? { kept: file.store, dropped: [] };
    if (dropped.length === 0) return file;
    const backupPath = backupPathOf();
    copyFileSync(path, backupPath);
    for (const [key, value] of Object.entries(kept)) file.set(key, value);
    onRecovered({
      store: spec.name,
      backupPath,
      message: `${spec.name}.json held ${dropped.length === 1 ? 'a record' : `${dropped.length} records`} that meant nothing here and ${dropped.length === 1 ? 'was' : 'were'} left out (${dropped.join('; ')}); the rest is kept.`,
    });
    return file;
  };
  try {
    return sifted(make());
  } catch (error) {
    if (isIoError(error)) {
      const { code, message } = error as NodeJS.ErrnoException;
      const why = code === 'EISDIR' ? 'it is a directory, not a file' : message.replace(/^\w+: /, '');
      throw new DnaError('STORE_UNREADABLE', `The app cannot open its ${spec.name} store ${path}: ${why} (${code}). Move it out of the way (or fix its permissions) and start the app again.`, { cause: error });
    }
    const backupPath = backupPathOf();
    renameSync(path, backupPath);
    onRecovered({
      store: spec.name,
      backupPath,
      message: `${WHAT_IS_LOST[spec.name] ?? `The ${spec.name} store could not be read.`} (${spec.name}.json ${damageOf(error)}.)`,
    });
    return make();
  }
}

// ---------------------------------------------------------------- schemas

const accountSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['resolver', 'host', 'port', 'directTls', 'extraAnchorsPem'],
  properties: {
    resolver: { type: ['string', 'null'], maxLength: 64 },
    host: { type: ['string', 'null'], maxLength: 253 },
    port: { type: ['integer', 'null'], minimum: 1, maximum: 65_535 },
    directTls: { type: 'boolean' },
    extraAnchorsPem: { type: ['string', 'null'], maxLength: 262_144 },
  },
};

const accountRecordSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'jid', 'settings', 'rememberPassword', 'isDemo', 'createdAt'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9-]{1,64}$' },
    jid: { type: 'string', minLength: 3, maxLength: 3071 },
    settings: accountSettingsSchema,
    rememberPassword: { type: 'boolean' },
    isDemo: { type: 'boolean' },
    createdAt: { type: 'string' },
    scramPinned: { type: 'boolean' },
  },
};

export const STORE_SPECS = {
  accounts: {
    name: 'accounts',
    schema: { accounts: { type: 'object', additionalProperties: accountRecordSchema, default: {} } },
    rootSchema: { additionalProperties: false },
    sift: (store: Record<string, unknown>) => {
      const accounts: Record<string, AccountRecord> = {};
      const dropped: string[] = [];
      const jids = new Set<string>();
      for (const [key, record] of Object.entries((store['accounts'] ?? {}) as Record<string, AccountRecord>)) {
        const problem = record.id !== key
          ? `its account ${key} holds the record of ${record.id}`
          : (accountRecordProblem(record) ?? (jids.has(record.jid) ? 'another account has the same address' : null));
        jids.add(record.jid);
        if (problem === null) accounts[key] = record;
        else dropped.push(`account ${record.jid.slice(0, 80)}: ${problem.replace(/\.$/, "")}`);
      }
      return { kept: { ...store, accounts }, dropped };
    },
  },
  settings: {
    name: 'settings',
    schema: { maxPoshLifetimeSeconds: { type: 'integer', minimum: 0, maximum: 2_592_000, default: DEFAULT_SETTINGS.maxPoshLifetimeSeconds } },
    rootSchema: { additionalProperties: false },
  },
  // The cache's own reader validates each entry in full (src/lookup/posh-cache.ts); the schema only
  // keeps the file a map of objects.
  poshCache: { name: 'posh-cache', schema: {}, rootSchema: { additionalProperties: { type: 'object' } } },
  secrets: { name: 'secrets', schema: {}, rootSchema: { additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/=]*$' } } },
} satisfies Record<string, JsonFileSpec>;

// ---------------------------------------------------------------- stores over files

function accountStore(file: JsonFile): AppStorage['accounts'] {
  const all = (): Record<string, AccountRecord> => structuredClone((file.get('accounts') ?? {}) as Record<string, AccountRecord>);
  return {
    list: () => Object.values(all()).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0)),
    put: (record) => file.set('accounts', { ...all(), [record.id]: structuredClone(record) }),
    remove: (id) => {
      const rest = all();
      delete rest[id];
      file.set('accounts', rest);
    },
  };
}

function settingsStore(file: JsonFile): AppStorage['settings'] {
  return {
    get: (): AppSettings => ({ ...DEFAULT_SETTINGS, maxPoshLifetimeSeconds: file.get('maxPoshLifetimeSeconds') as number }),
    set: (settings) => file.set('maxPoshLifetimeSeconds', settings.maxPoshLifetimeSeconds),
  };
}

function keyValueStore(file: JsonFile): KeyValueStore {
  return {
    get: (key) => file.get(key),
    set: (key, value) => file.set(key, value),
    delete: (key) => file.delete(key),
  };
}

/** Where no keyring can encrypt them, passwords are not kept at all (never as plain text). */
export const NO_SECRETS: SecretStore = {
  available: false,
  get: () => null,
  set: () => undefined,
  delete: () => undefined,
};

export interface FileStorageOptions {
  dir: string;
  open: JsonFileFactory;
  onRecovered: (notice: StoreRecovery) => void;
  /** Builds the secret store on its own file (Electron), or NO_SECRETS. */
  secrets: ((file: () => JsonFile) => SecretStore) | SecretStore;
}

export function fileStorage(options: FileStorageOptions): AppStorage {
  const { dir, open, onRecovered } = options;
  const openFile = (spec: JsonFileSpec): JsonFile => openRecovering(dir, spec, open, onRecovered);
  return {
    accounts: accountStore(openFile(STORE_SPECS.accounts)),
    settings: settingsStore(openFile(STORE_SPECS.settings)),
    poshCache: keyValueStore(openFile(STORE_SPECS.poshCache)),
    secrets: typeof options.secrets === 'function' ? options.secrets(() => openFile(STORE_SPECS.secrets)) : options.secrets,
  };
}

/** What encrypts a remembered password: Electron's safeStorage in the app, any real cipher in tests. */
export interface SecretCipher {
  readonly available: boolean;
  encrypt(plain: string): Uint8Array;
  decrypt(data: Uint8Array): string;
}

/**
 * Remembered passwords, encrypted one by one into their own file (base64 of the ciphertext). A
 * value that no longer decrypts (a new keyring) is dropped: the password is asked for again.
 */
export function encryptedSecrets(cipher: SecretCipher): (file: () => JsonFile) => SecretStore {
  return (openFile) => {
    if (!cipher.available) return NO_SECRETS;
    const file = openFile();
    return {
      available: true,
      get: (accountId) => {
        const stored = file.get(accountId);
        if (typeof stored !== 'string') return null;
        try {
          return cipher.decrypt(Buffer.from(stored, 'base64'));
        } catch {
          file.delete(accountId);
          return null;
        }
      },
      set: (accountId, secret) => file.set(accountId, Buffer.from(cipher.encrypt(secret)).toString('base64')),
      delete: (accountId) => file.delete(accountId),
    };
  };
}
