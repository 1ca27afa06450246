// The Electron shell's store files: electron-store in the user data directory, one file per store;
// remembered passwords encrypted with safeStorage (never stored where only the "basic_text" backend,
// a fixed key, would protect them).
import { safeStorage } from 'electron';
import ElectronStore from 'electron-store';
import { encryptedSecrets, fileStorage, type JsonFile, type JsonFileFactory, type SecretCipher, type StoreRecovery } from '../app/file-storage.ts';
import type { AppStorage } from '../app/storage.ts';

const openElectronStore: JsonFileFactory = ({ configName, ...options }) =>
  new ElectronStore<Record<string, unknown>>({ ...options, name: configName }) as unknown as JsonFile;

export function safeStorageCipher(): SecretCipher {
  const available =
    safeStorage.isEncryptionAvailable() && (process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text');
  return {
    available,
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (data) => safeStorage.decryptString(Buffer.from(data)),
  };
}

export function electronStorage(dir: string, onRecovered: (notice: StoreRecovery) => void): AppStorage {
  return fileStorage({ dir, open: openElectronStore, secrets: encryptedSecrets(safeStorageCipher()), onRecovered });
}
