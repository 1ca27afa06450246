// The POSH cache (RFC 7711 section 7; docs/ARCHITECTURE.md, "The POSH cache"): valid material per
// (domain, service) until its effective expiry, over any small key-value store: memory, a `conf`
// directory (posh-check --cache-dir), or one account's part of the app's store. A stale or damaged
// entry is never used.
import { isSupportedHash } from '../verify/fingerprints.ts';
import { parseFingerprints } from '../verify/posh-document.ts';
import type { Domain, PoshResult, PoshStep, ServiceName } from '../verify/types.ts';
import { fetchPoshDocument, type PoshFetchOptions } from './posh-fetch.ts';

export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

export class MemoryStore implements KeyValueStore {
  readonly #entries = new Map<string, unknown>();

  get(key: string): unknown {
    return this.#entries.get(key);
  }

  set(key: string, value: unknown): void {
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** A view of `store` whose keys all start with `prefix/`: one account's cache inside the app's one store. */
export function scopedStore(store: KeyValueStore, prefix: string): KeyValueStore {
  const key = (name: string) => `${prefix}/${name}`;
  return {
    get: (name) => store.get(key(name)),
    set: (name, value) => store.set(key(name), value),
    delete: (name) => store.delete(key(name)),
  };
}

/**
 * The cache file in `dir` (posh-check --cache-dir). `conf` and its schema validator are loaded only
 * when a directory is asked for. A damaged file is worth nothing: it starts empty rather than fail.
 */
export async function directoryStore(dir: string): Promise<KeyValueStore> {
  const { default: Conf } = await import('conf');
  const conf = new Conf<Record<string, unknown>>({
    projectName: 'posh-messenger',
    configName: 'posh-cache',
    cwd: dir,
    // Keys hold domain names: their dots are not property paths.
    accessPropertiesByDotNotation: false,
    clearInvalidConfig: true,
  });
  return {
    get: (key) => conf.get(key),
    set: (key, value) => conf.set(key, value),
    delete: (key) => conf.delete(key),
  };
}

/** What is stored: the material and the chain it came through. */
interface CacheEntry {
  url: string;
  fingerprints: PoshResult['fingerprints'];
  steps: PoshStep[];
  expires: number;
  fetchedAt: string;
  expiresAt: string;
}

const STEP_KINDS: ReadonlySet<unknown> = new Set(['redirect', 'reference', 'fingerprints', 'absent', 'error']);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

function isStep(value: unknown): value is PoshStep {
  return (
    isObject(value) &&
    typeof value['url'] === 'string' &&
    (value['httpStatus'] === null || Number.isInteger(value['httpStatus'])) &&
    STEP_KINDS.has(value['kind']) &&
    (value['location'] === undefined || typeof value['location'] === 'string') &&
    (value['expires'] === undefined || Number.isSafeInteger(value['expires'])) &&
    typeof value['startedAt'] === 'number' &&
    typeof value['endedAt'] === 'number'
  );
}

/** The entry if every part of it is what remember() writes, else null. */
function readEntry(value: unknown): CacheEntry | null {
  if (!isObject(value)) return null;
  const { url, fingerprints, steps, expires, fetchedAt, expiresAt } = value;
  if (typeof url !== 'string' || URL.parse(url)?.protocol !== 'https:') return null;
  if (!Array.isArray(steps) || !steps.every(isStep)) return null;
  if (typeof expires !== 'number' || !Number.isSafeInteger(expires) || expires <= 0) return null;
  if (!isTime(fetchedAt) || !isTime(expiresAt)) return null;
  // An entry may not claim a longer life than its own `expires`.
  const lifetime = Date.parse(expiresAt) - Date.parse(fetchedAt);
  if (lifetime <= 0 || lifetime > expires * 1000) return null;
  let descriptors: CacheEntry['fingerprints'];
  try {
    descriptors = parseFingerprints(fingerprints);
  } catch {
    return null;
  }
  if (!descriptors.some((descriptor) => Object.keys(descriptor).some(isSupportedHash))) return null;
  return { url, fingerprints: descriptors, steps, expires, fetchedAt, expiresAt };
}

export class PoshCache {
  readonly #store: KeyValueStore;
  readonly #now: () => number;

  constructor(store: KeyValueStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  static keyOf(domain: Domain, service: ServiceName): string {
    return `posh:${service}:${domain}`;
  }

  /** Fresh valid material for (domain, service), or null; stale and damaged entries are deleted. */
  fresh(domain: Domain, service: ServiceName): PoshResult | null {
    const key = PoshCache.keyOf(domain, service);
    const stored = this.#store.get(key);
    if (stored === undefined) return null;
    const entry = readEntry(stored);
    const now = this.#now();
    // A clock that went back before fetchedAt cannot tell how old the entry is: treat it as stale.
    if (entry === null || now < Date.parse(entry.fetchedAt) || now >= Date.parse(entry.expiresAt)) {
      this.#store.delete(key);
      return null;
    }
    return {
      domain,
      service,
      url: entry.url,
      status: 'valid',
      error: null,
      steps: entry.steps,
      fingerprints: entry.fingerprints,
      expires: entry.expires,
      fetchedAt: entry.fetchedAt,
      expiresAt: entry.expiresAt,
      fromCache: true,
    };
  }

  /** Stores valid material; anything else is not material and is not stored. */
  remember(result: PoshResult): void {
    const { status, url, fingerprints, steps, expires, fetchedAt, expiresAt } = result;
    if (status !== 'valid' || expires === null || fetchedAt === null || expiresAt === null) return;
    const entry: CacheEntry = structuredClone({ url, fingerprints, steps, expires, fetchedAt, expiresAt });
    this.#store.set(PoshCache.keyOf(result.domain, result.service), entry);
  }

  forget(domain: Domain, service: ServiceName): void {
    this.#store.delete(PoshCache.keyOf(domain, service));
  }
}

export interface ObtainOptions extends PoshFetchOptions {
  cache?: PoshCache | undefined;
  /** Skip the cache and fetch (the single refetch after cached material did not match). */
  refresh?: boolean;
}

/**
 * Fresh cached material without any request, else a retrieval. Valid material is remembered; any
 * other outcome forgets what was cached, since the domain no longer publishes it.
 */
export async function obtainPoshMaterial(domain: Domain, service: ServiceName, options: ObtainOptions): Promise<PoshResult> {
  const { cache, refresh = false, ...fetchOptions } = options;
  if (cache && !refresh) {
    const cached = cache.fresh(domain, service);
    if (cached) return cached;
  }
  const result = await fetchPoshDocument(domain, service, fetchOptions);
  if (cache) {
    if (result.status === 'valid') cache.remember(result);
    else cache.forget(domain, service);
  }
  return result;
}
