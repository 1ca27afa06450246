import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryStore, MemoryStore, obtainPoshMaterial, PoshCache, type KeyValueStore } from '../../src/lookup/posh-cache.ts';
import type { DnsResolver } from '../../src/lookup/resolver.ts';
import { scratchDir } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import type { PoshResult } from '../../src/verify/types.ts';

const FETCHED_AT = Date.parse('2030-01-01T00:00:00.000Z');
const S256 = createHash('sha256').update('certificate').digest('base64');
const URL_EXAMPLE = 'https://example.com/.well-known/posh/xmpp-client.json';

function validResult(overrides: Partial<PoshResult> = {}): PoshResult {
  return {
    domain: normalizeDomain('example.com'),
    service: 'xmpp-client',
    url: URL_EXAMPLE,
    status: 'valid',
    error: null,
    steps: [{ url: URL_EXAMPLE, httpStatus: 200, kind: 'fingerprints', expires: 3600, startedAt: FETCHED_AT - 20, endedAt: FETCHED_AT - 5 }],
    fingerprints: [{ 'sha-256': S256 }],
    expires: 3600,
    fetchedAt: new Date(FETCHED_AT).toISOString(),
    expiresAt: new Date(FETCHED_AT + 3600_000).toISOString(),
    fromCache: false,
    ...overrides,
  };
}

/** A clock the test moves. */
function clockAt(start: number): { now: () => number; set: (time: number) => void } {
  let time = start;
  return { now: () => time, set: (next) => (time = next) };
}

// A resolver that must never be asked: any retrieval through it fails the test.
const unusedResolver: DnsResolver = {
  server: null,
  resolveSrv: () => Promise.reject(new Error('no DNS in unit tests')),
  resolveAddresses: () => Promise.reject(new Error('no DNS in unit tests')),
  lookup: () => {
    throw new Error('no DNS in unit tests');
  },
};

describe('PoshCache freshness (RFC 7711 6)', () => {
  it.each([
    { name: 'RFC 7711 6: an entry right after it was fetched is fresh', at: FETCHED_AT, fresh: true },
    { name: 'RFC 7711 6: an entry one millisecond before expiresAt is fresh', at: FETCHED_AT + 3600_000 - 1, fresh: true },
    { name: 'RFC 7711 6: an entry at expiresAt is stale and never used', at: FETCHED_AT + 3600_000, fresh: false },
    { name: 'RFC 7711 6: an entry a day past expiresAt is stale and never used', at: FETCHED_AT + 86_400_000, fresh: false },
    { name: 'RFC 7711 6: an entry "fetched" after now (the clock went back) is not trusted', at: FETCHED_AT - 1, fresh: false },
  ])('$name', ({ at, fresh }) => {
    const store = new MemoryStore();
    const cache = new PoshCache(store, () => at);
    cache.remember(validResult());
    const found = cache.fresh(normalizeDomain('example.com'), 'xmpp-client');
    if (fresh) {
      expect(found).toEqual({ ...validResult(), fromCache: true });
    } else {
      expect(found).toBeNull();
      expect(store.get(PoshCache.keyOf(normalizeDomain('example.com'), 'xmpp-client'))).toBeUndefined();
    }
  });

  it('ARCHITECTURE#the-posh-cache: the key is (domain, service): case and a trailing dot do not matter, the service does', () => {
    const cache = new PoshCache(new MemoryStore(), () => FETCHED_AT);
    cache.remember(validResult({ domain: normalizeDomain('example.com') }));
    expect(cache.fresh(normalizeDomain('EXAMPLE.com.'), 'xmpp-client')?.domain).toBe('example.com');
    expect(cache.fresh(normalizeDomain('example.com'), 'xmpp-server')).toBeNull();
    expect(cache.fresh(normalizeDomain('example.org'), 'xmpp-client')).toBeNull();
  });

  it.each([
    { name: 'absent', result: validResult({ status: 'absent', fingerprints: [], expires: null, expiresAt: null }) },
    {
      name: 'invalid',
      result: validResult({ status: 'invalid', error: { code: 'POSH_EXPIRED', message: 'x.' }, fingerprints: [], expires: null, expiresAt: null }),
    },
    {
      name: 'error',
      result: validResult({ status: 'error', error: { code: 'POSH_NETWORK', message: 'x.' }, fingerprints: [], expires: null, expiresAt: null }),
    },
  ])('ARCHITECTURE#the-posh-cache: only valid results are stored, not an $name one', ({ result }) => {
    const store = new MemoryStore();
    new PoshCache(store, () => FETCHED_AT).remember(result);
    expect(store.get(PoshCache.keyOf(normalizeDomain('example.com'), 'xmpp-client'))).toBeUndefined();
  });

  it('ARCHITECTURE#the-posh-cache: the stored value holds the material, the chain of URLs and the times, and is a copy', () => {
    const store = new MemoryStore();
    const cache = new PoshCache(store, () => FETCHED_AT);
    const result = validResult();
    cache.remember(result);
    result.fingerprints[0]!['sha-256'] = 'changed after remember';
    expect(store.get(PoshCache.keyOf(normalizeDomain('example.com'), 'xmpp-client'))).toEqual({
      url: URL_EXAMPLE,
      fingerprints: [{ 'sha-256': S256 }],
      steps: validResult().steps,
      expires: 3600,
      fetchedAt: '2030-01-01T00:00:00.000Z',
      expiresAt: '2030-01-01T01:00:00.000Z',
    });
  });

  it('ARCHITECTURE#the-posh-cache: forget removes the entry', () => {
    const cache = new PoshCache(new MemoryStore(), () => FETCHED_AT);
    cache.remember(validResult());
    cache.forget(normalizeDomain('Example.com'), 'xmpp-client');
    expect(cache.fresh(normalizeDomain('example.com'), 'xmpp-client')).toBeNull();
  });
});

describe('PoshCache ignores and deletes damaged entries', () => {
  const good = {
    url: URL_EXAMPLE,
    fingerprints: [{ 'sha-256': S256 }],
    steps: validResult().steps,
    expires: 3600,
    fetchedAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-01T01:00:00.000Z',
  };
  it.each([
    { name: 'a string instead of an entry', stored: 'hello' },
    { name: 'an array', stored: [good] },
    { name: 'null', stored: null },
    { name: 'a number', stored: 42 },
    { name: 'no url', stored: { ...good, url: undefined } },
    { name: 'an http: url', stored: { ...good, url: 'http://example.com/.well-known/posh/xmpp-client.json' } },
    { name: 'steps that are not an array', stored: { ...good, steps: 'none' } },
    { name: 'a step of an unknown kind', stored: { ...good, steps: [{ ...good.steps[0], kind: 'teleport' }] } },
    { name: 'a step without times', stored: { ...good, steps: [{ url: URL_EXAMPLE, httpStatus: 200, kind: 'fingerprints' }] } },
    { name: 'expires 0', stored: { ...good, expires: 0 } },
    { name: 'expires as a string', stored: { ...good, expires: '3600' } },
    { name: 'a fetchedAt that is not a time', stored: { ...good, fetchedAt: 'yesterday' } },
    { name: 'no expiresAt', stored: { ...good, expiresAt: undefined } },
    { name: 'an expiresAt before fetchedAt', stored: { ...good, expiresAt: '2029-12-31T00:00:00.000Z' } },
    { name: 'an expiresAt beyond fetchedAt + expires (a longer life than published)', stored: { ...good, expiresAt: '2031-01-01T00:00:00.000Z' } },
    { name: 'no fingerprints', stored: { ...good, fingerprints: undefined } },
    { name: 'an empty fingerprints array', stored: { ...good, fingerprints: [] } },
    { name: 'a hash that is not base64', stored: { ...good, fingerprints: [{ 'sha-256': 'not base64!' }] } },
    { name: 'a hash of the wrong length', stored: { ...good, fingerprints: [{ 'sha-256': 'AAAA' }] } },
    { name: 'only weak hashes', stored: { ...good, fingerprints: [{ 'sha-1': 'AAAA' }] } },
  ])('ARCHITECTURE#the-posh-cache: $name is treated as no entry, deleted, never thrown', ({ stored }) => {
    const store = new MemoryStore();
    const key = PoshCache.keyOf(normalizeDomain('example.com'), 'xmpp-client');
    store.set(key, stored);
    const cache = new PoshCache(store, () => FETCHED_AT + 1000);
    expect(cache.fresh(normalizeDomain('example.com'), 'xmpp-client')).toBeNull();
    expect(store.get(key)).toBeUndefined();
  });

  it('ARCHITECTURE#the-posh-cache: the intact entry these rows damage is itself fresh (the rows above fail for their damage alone)', () => {
    const store = new MemoryStore();
    store.set(PoshCache.keyOf(normalizeDomain('example.com'), 'xmpp-client'), good);
    expect(new PoshCache(store, () => FETCHED_AT + 1000).fresh(normalizeDomain('example.com'), 'xmpp-client')?.fromCache).toBe(true);
  });
});

describe('obtainPoshMaterial without the network', () => {
  it('ARCHITECTURE#the-connection-pipeline: fresh cached material is returned without any lookup or request', async () => {
    const clock = clockAt(Date.now());
    const cache = new PoshCache(new MemoryStore(), clock.now);
    const fetchedAt = clock.now();
    cache.remember(validResult({ fetchedAt: new Date(fetchedAt).toISOString(), expiresAt: new Date(fetchedAt + 3600_000).toISOString() }));
    const result = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { resolver: unusedResolver, cache });
    expect(result.fromCache).toBe(true);
    expect(result.status).toBe('valid');
  });
});

describe('directoryStore (the CLI cache on disk)', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await scratchDir('posh-conf'));
  });
  afterEach(async () => {
    await remove();
  });

  it('ARCHITECTURE#the-posh-cache: an entry written by one store is fresh in a new store over the same directory', async () => {
    const now = () => FETCHED_AT + 1000;
    new PoshCache(await directoryStore(dir), now).remember(validResult());
    const again = new PoshCache(await directoryStore(dir), now).fresh(normalizeDomain('example.com'), 'xmpp-client');
    expect(again).toEqual({ ...validResult(), fromCache: true });
    expect(await readdir(dir)).toEqual(['posh-cache.json']);
  });

  it('ARCHITECTURE#the-posh-cache: domain names with dots are keys, not property paths', async () => {
    const store: KeyValueStore = await directoryStore(dir);
    store.set('posh:xmpp-client:a.example.com', { v: 1 });
    store.set('posh:xmpp-client:example.com', { v: 2 });
    expect(store.get('posh:xmpp-client:a.example.com')).toEqual({ v: 1 });
    store.delete('posh:xmpp-client:a.example.com');
    expect(store.get('posh:xmpp-client:a.example.com')).toBeUndefined();
    expect(store.get('posh:xmpp-client:example.com')).toEqual({ v: 2 });
  });

  it('ARCHITECTURE#the-posh-cache: a damaged cache file reads as empty instead of failing', async () => {
    new PoshCache(await directoryStore(dir), () => FETCHED_AT).remember(validResult());
    await writeFile(join(dir, 'posh-cache.json'), '{"posh:xmpp-client:example.com": {"url": ');
    expect(new PoshCache(await directoryStore(dir), () => FETCHED_AT + 1000).fresh(normalizeDomain('example.com'), 'xmpp-client')).toBeNull();
  });
});
