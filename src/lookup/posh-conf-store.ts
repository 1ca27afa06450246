// The POSH cache on disk for the CLI and tests: `conf` in a directory of the caller's choosing.
import Conf from 'conf';
import type { KeyValueStore } from './posh-cache.ts';

export function createConfStore(cwd: string): KeyValueStore {
  const conf = new Conf<Record<string, unknown>>({
    projectName: 'posh-messenger',
    configName: 'posh-cache',
    cwd,
    // Keys hold domain names: their dots are not property paths.
    accessPropertiesByDotNotation: false,
    // A damaged cache file is worth nothing; start empty rather than fail the check.
    clearInvalidConfig: true,
  });
  return {
    get: (key) => conf.get(key),
    set: (key, value) => conf.set(key, value),
    delete: (key) => conf.delete(key),
  };
}
