// The shells' store files (src/app/file-storage.ts) on real conf files in a scratch directory:
// each store round-trips, a damaged file is set aside and reported without touching the others,
// an I/O failure is not mistaken for damage, and remembered passwords are only ever ciphertext.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encryptedSecrets, fileStorage, NO_SECRETS, type SecretCipher, type StoreRecovery } from '../../src/app/file-storage.ts';
import type { AccountRecord } from '../../src/app/storage.ts';
import { openConfFile } from '../../src/web/conf-file.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'posh-store-unit-'));
  dirs.push(dir);
  return dir;
}

/** AES-256-GCM with a key of this test: a real cipher standing in for the OS keyring. */
function aesCipher(key = randomBytes(32)): SecretCipher {
  return {
    available: true,
    encrypt: (plain) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decrypt: (data) => {
      const bytes = Buffer.from(data);
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

const ALICE: AccountRecord = {
  id: 'acct-0123456789ab',
  jid: 'alice@example.com',
  settings: { resolver: '127.0.0.1:5353', host: null, port: null, directTls: false, extraAnchorsPem: null },
  rememberPassword: true,
  isDemo: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};

function open(dir: string, recovered: StoreRecovery[] = [], cipher: SecretCipher | null = null) {
  return fileStorage({ dir, open: openConfFile, secrets: cipher ? encryptedSecrets(cipher) : NO_SECRETS, onRecovered: (notice) => recovered.push(notice) });
}

describe('each store round-trips through its own file', () => {
  it('accounts, settings and the POSH cache survive a new process (a new open of the same directory)', async () => {
    const dir = await newDir();
    const first = open(dir);
    first.accounts.put(ALICE);
    first.accounts.put({ ...ALICE, id: 'acct-bbbbbbbbbbbb', jid: 'bob@example.com', createdAt: '2026-01-02T00:00:00.000Z' });
    first.accounts.remove('acct-bbbbbbbbbbbb');
    first.settings.set({ maxPoshLifetimeSeconds: 3600 });
    // Cache keys contain dots (domains): they are keys, not paths.
    first.poshCache.set('account:acct-0123456789ab/example.com|xmpp-client', { url: 'https://example.com/x' });

    const second = open(dir);
    expect(second.accounts.list()).toEqual([ALICE]);
    expect(second.settings.get()).toEqual({ maxPoshLifetimeSeconds: 3600 });
    expect(second.poshCache.get('account:acct-0123456789ab/example.com|xmpp-client')).toEqual({ url: 'https://example.com/x' });
    expect((await readdir(dir)).sort()).toEqual(['accounts.json', 'posh-cache.json', 'settings.json']);
  });

  it('XEP-0474 1: an account pinned to SCRAM stays pinned in a new process; a record from before the pin reads as unpinned', async () => {
    const dir = await newDir();
    open(dir).accounts.put({ ...ALICE, scramPinned: true });
    expect(open(dir).accounts.list()).toEqual([{ ...ALICE, scramPinned: true }]);
    open(dir).accounts.put(ALICE);
    expect(open(dir).accounts.list()[0]?.scramPinned).toBeUndefined();
  });

  it('a fresh directory has the default settings and no accounts', async () => {
    const storage = open(await newDir());
    expect(storage.settings.get()).toEqual({ maxPoshLifetimeSeconds: 604_800 });
    expect(storage.accounts.list()).toEqual([]);
  });

  it('a record the schema refuses is not written', async () => {
    const storage = open(await newDir());
    expect(() => storage.accounts.put({ ...ALICE, id: 'Not An Id' })).toThrow(/schema/);
    expect(storage.accounts.list()).toEqual([]);
  });
});

describe('a damaged file is set aside, reported, and replaced; the others are untouched', () => {
  it.each([
    ['accounts.json that is not JSON', 'accounts', '{"accounts":', /accounts could not be read.*not valid JSON/],
    ['accounts.json with a record of the wrong form', 'accounts', '{"accounts":{"x":{"jid":1}}}', /accounts could not be read.*expected form/],
    ['settings.json with a value of the wrong type', 'settings', '{"maxPoshLifetimeSeconds":"soon"}', /settings could not be read.*expected form/],
    ['settings.json with an unknown key', 'settings', '{"maxPoshLifetimeSeconds":60,"telemetry":true}', /settings could not be read/],
    ['posh-cache.json that is not JSON', 'posh-cache', 'garbage', /cached POSH material could not be read/],
    ['posh-cache.json with an entry that is not an object', 'posh-cache', '{"k":"v"}', /cached POSH material could not be read/],
    ['settings.json whose root is null', 'settings', 'null', /settings could not be read.*settings\.json is not a JSON object/],
    ['accounts.json whose root is an array', 'accounts', '[]', /accounts could not be read.*accounts\.json is not a JSON object/],
    ['posh-cache.json whose root is a number', 'posh-cache', '42', /cached POSH material could not be read.*not a JSON object/],
    ['accounts.json with an address that has no "@"', 'accounts', JSON.stringify({ accounts: { [ALICE.id]: { ...ALICE, jid: 'alice.example.com' } } }), /accounts\.json held a record that meant nothing here and was left out \(account alice\.example\.com: "alice\.example\.com" is not an address like alice@example\.com\); the rest is kept\./],
    ['accounts.json with a resolver that is not an address', 'accounts', JSON.stringify({ accounts: { [ALICE.id]: { ...ALICE, settings: { ...ALICE.settings, resolver: 'dns.example' } } } }), /accounts\.json held a record that meant nothing here and was left out \(account alice@example\.com: resolver/],
    ['accounts.json with a domain that is an IP address', 'accounts', JSON.stringify({ accounts: { [ALICE.id]: { ...ALICE, jid: 'alice@127.0.0.1' } } }), /IP address/],
  ])('%s', async (_case, store, damage, message) => {
    const dir = await newDir();
    const first = open(dir);
    first.accounts.put(ALICE);
    first.settings.set({ maxPoshLifetimeSeconds: 3600 });
    first.poshCache.set('key.with.dots', { kept: true });
    const files = ['accounts', 'settings', 'posh-cache'];
    const before = Object.fromEntries(await Promise.all(files.map(async (name) => [name, await readFile(join(dir, `${name}.json`), 'utf8')])));
    await writeFile(join(dir, `${store}.json`), damage);

    const recovered: StoreRecovery[] = [];
    const second = open(dir, recovered);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.store).toBe(store);
    expect(recovered[0]!.message).toMatch(message);
    expect(await readFile(recovered[0]!.backupPath, 'utf8')).toBe(damage);
    for (const name of files.filter((name) => name !== store)) {
      expect(await readFile(join(dir, `${name}.json`), 'utf8')).toBe(before[name]);
    }
    expect(second.accounts.list()).toEqual(store === 'accounts' ? [] : [ALICE]);
    expect(second.settings.get().maxPoshLifetimeSeconds).toBe(store === 'settings' ? 604_800 : 3600);
    expect(second.poshCache.get('key.with.dots')).toEqual(store === 'posh-cache' ? undefined : { kept: true });
  });

  it('records that mean nothing leave accounts.json one by one: the others stay, the file as it was is kept beside it', async () => {
    const dir = await newDir();
    const first = open(dir);
    first.accounts.put(ALICE);
    const damaged = JSON.stringify({ accounts: { [ALICE.id]: ALICE, 'acct-bad': { ...ALICE, id: 'acct-bad', jid: 'nobody' } } });
    await writeFile(join(dir, 'accounts.json'), damaged);
    const recovered: StoreRecovery[] = [];
    const second = open(dir, recovered);
    expect(second.accounts.list()).toEqual([ALICE]);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.message).toMatch(/^accounts\.json held a record that meant nothing here and was left out \(account nobody: /);
    expect(await readFile(recovered[0]!.backupPath, 'utf8')).toBe(damaged);
    // Opened again, nothing more is reported: the file holds only what means something.
    const third: StoreRecovery[] = [];
    expect(open(dir, third).accounts.list()).toEqual([ALICE]);
    expect(third).toEqual([]);
  });

  it('an I/O failure is not damage: a directory where the file should be is an error that names it, and nothing is moved', async () => {
    const dir = await newDir();
    await mkdir(join(dir, 'settings.json'));
    const recovered: StoreRecovery[] = [];
    expect(() => open(dir, recovered)).toThrow(expect.objectContaining({
      code: 'STORE_UNREADABLE',
      message: expect.stringMatching(/settings store .*settings\.json: it is a directory, not a file \(EISDIR\)\. Move it out of the way/),
    }));
    expect(recovered).toEqual([]);
    expect((await readdir(dir)).filter((name) => name.includes('corrupt'))).toEqual([]);
  });
});

describe('remembered passwords', () => {
  it('are kept only as ciphertext in their own file, and read back', async () => {
    const dir = await newDir();
    const cipher = aesCipher();
    const storage = open(dir, [], cipher);
    expect(storage.secrets.available).toBe(true);
    storage.secrets.set(ALICE.id, 'alice-in-wonderland');
    const onDisk = await readFile(join(dir, 'secrets.json'), 'utf8');
    expect(onDisk).not.toContain('alice-in-wonderland');
    expect(onDisk).not.toContain(Buffer.from('alice-in-wonderland').toString('base64'));
    expect(open(dir, [], cipher).secrets.get(ALICE.id)).toBe('alice-in-wonderland');
    storage.secrets.delete(ALICE.id);
    expect(open(dir, [], cipher).secrets.get(ALICE.id)).toBeNull();
  });

  it('a value that no longer decrypts (another key) is dropped: the password is asked for again', async () => {
    const dir = await newDir();
    open(dir, [], aesCipher()).secrets.set(ALICE.id, 'secret');
    const other = open(dir, [], aesCipher());
    expect(other.secrets.get(ALICE.id)).toBeNull();
    expect(JSON.parse(await readFile(join(dir, 'secrets.json'), 'utf8'))).toEqual({});
  });

  it('where nothing can encrypt them they are not kept at all, and no secrets file exists', async () => {
    const dir = await newDir();
    const storage = open(dir, [], { ...aesCipher(), available: false });
    expect(storage.secrets.available).toBe(false);
    storage.secrets.set(ALICE.id, 'secret');
    expect(storage.secrets.get(ALICE.id)).toBeNull();
    expect(await readdir(dir)).not.toContain('secrets.json');
  });
});
