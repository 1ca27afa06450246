// Each account keeps its own POSH cache inside the app's one store: material fetched through one
// account's resolver and trust anchors never proves a server for another account.
import type { KeyValueStore } from '../lookup/posh-cache.ts';

export function prefixedStore(store: KeyValueStore, prefix: string): KeyValueStore {
  const key = (name: string) => `${prefix}/${name}`;
  return {
    get: (name) => store.get(key(name)),
    set: (name, value) => store.set(key(name), value),
    delete: (name) => store.delete(key(name)),
  };
}
