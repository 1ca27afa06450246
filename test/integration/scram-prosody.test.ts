// Our SCRAM mechanisms through xmpp.js's real @xmpp/sasl against a real Prosody 0.12, over plain
// TCP on loopback (this file's own Prosody on 127.0.12.1, never the shared testbed's addresses).
// Prosody 0.12 offers one SCRAM hash per host for hashed storage (`password_hash`), both for
// plaintext storage; so each host below shows one case.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../../src/testbed/pki.ts';
import { writeAccount } from '../../src/testbed/prosody.ts';
import { SaltedPasswordCache } from '../../src/xmpp/scram.ts';
import { scramLogin } from '../support/scram-client.ts';

const run = promisify(execFile);
const ADDRESS = '127.0.12.1';
const PORT = 5222;

const HOSTS = {
  sha1: 'sha1.scram.test',
  sha256: 'sha256.scram.test',
  both: 'both.scram.test',
  weak: 'weak.scram.test',
} as const;

const ACCOUNTS: Array<{ host: string; username: string; password: string }> = [
  { host: HOSTS.sha1, username: 'alice', password: 'correct horse' },
  { host: HOSTS.sha256, username: 'alice', password: 'pässwörd, mit Komma' },
  { host: HOSTS.sha256, username: 'a=b,c', password: 'escaped' },
  { host: HOSTS.sha256, username: 'prepped', password: 'IX pass' },
  { host: HOSTS.sha256, username: 'tampered', password: 'tampered' },
  { host: HOSTS.both, username: 'alice', password: 'both hashes' },
  { host: HOSTS.weak, username: 'alice', password: 'weak' },
];

function configFor(dir: string): string {
  return `
run_as_root = true
daemonize = false
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
certificates = "${dir}/certs"
log = { { levels = { min = "info" }, to = "file", filename = "${dir}/prosody.log" } }
interfaces = { "${ADDRESS}" }
c2s_ports = { ${PORT} }
c2s_direct_tls_ports = { }
s2s_ports = { }
admin_socket = "${dir}/data/admin.sock"
modules_enabled = { "saslauth", "disco", "roster" }
modules_disabled = { "s2s", "offline" }
-- Plain TCP on loopback for this test only; PLAIN stays off, so only SCRAM is offered.
c2s_require_encryption = false
allow_unencrypted_plain_auth = false
storage = "internal"
authentication = "internal_hashed"
default_iteration_count = 10000

VirtualHost "${HOSTS.sha1}"
  password_hash = "SHA-1"
VirtualHost "${HOSTS.sha256}"
  password_hash = "SHA-256"
VirtualHost "${HOSTS.both}"
  authentication = "internal_plain"
VirtualHost "${HOSTS.weak}"
  password_hash = "SHA-1"
  default_iteration_count = 1000
`;
}

/** Flips the stored ServerKey, so Prosody accepts our proof but signs with the wrong key. */
async function tamperServerKey(dataDir: string, username: string): Promise<void> {
  const hostDir = (await readdir(dataDir)).find((name) => name.startsWith('sha256'));
  const file = join(dataDir, hostDir ?? '', 'accounts', `${username}.dat`);
  const text = await readFile(file, 'utf8');
  const tampered = text.replace(/(\["server_key"\] = ")([0-9a-f])/, (_, prefix: string, digit: string) => prefix + (digit === '0' ? '1' : '0'));
  expect(tampered).not.toBe(text);
  await writeFile(file, tampered);
}

async function waitUntilListening(child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`Prosody exited with ${child.exitCode}`);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(PORT, ADDRESS, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (listening) return;
    await sleep(100);
  }
  throw new Error(`Prosody did not listen on ${ADDRESS}:${PORT} within 10 s`);
}

async function login(domain: string, username: string, password: string, saltedPasswordCache?: SaltedPasswordCache) {
  return scramLogin({ service: `xmpp://${ADDRESS}:${PORT}`, domain, username, password, saltedPasswordCache });
}

describe('SCRAM through @xmpp/sasl against Prosody', () => {
  let prosody: ChildProcess | undefined;
  let scratch: { dir: string; remove: () => Promise<void> } | undefined;

  beforeAll(async () => {
    scratch = await scratchDir('scram-prosody');
    const config = join(scratch.dir, 'prosody.cfg.lua');
    await writeFile(config, configFor(scratch.dir));
    for (const { host, username, password } of ACCOUNTS) {
      await run('prosodyctl', ['--config', config, 'register', username, host, password]);
    }
    await tamperServerKey(join(scratch.dir, 'data'), 'tampered');
    // Prosody 13 registers no fewer than 4096 iterations whatever the host says: the weak account is
    // written as an older server left it, with 1000 (SCRAM-SHA-1, the host's default hash).
    await writeAccount(join(scratch.dir, 'data'), 'alice', HOSTS.weak, 'weak', 1000);
    prosody = spawn('prosody', ['--config', config, '-F'], { stdio: 'ignore' });
    await waitUntilListening(prosody);
  });

  afterAll(async () => {
    if (prosody?.pid !== undefined && prosody.exitCode === null) {
      const exited = once(prosody, 'exit');
      process.kill(prosody.pid, 'SIGTERM');
      await exited;
    }
    await scratch?.remove();
  });

  const successes = [
    { rule: 'RFC 5802 5: SCRAM-SHA-1 login succeeds', host: HOSTS.sha1, username: 'alice', password: 'correct horse', mechanism: 'SCRAM-SHA-1' },
    { rule: 'RFC 7677 3: SCRAM-SHA-256 login succeeds (UTF-8 password with a comma)', host: HOSTS.sha256, username: 'alice', password: 'pässwörd, mit Komma', mechanism: 'SCRAM-SHA-256' },
    { rule: 'RFC 7677 4: SCRAM-SHA-256 is chosen over SCRAM-SHA-1 when both are offered', host: HOSTS.both, username: 'alice', password: 'both hashes', mechanism: 'SCRAM-SHA-256' },
    { rule: 'RFC 5802 5.1: a user name with "=" and "," is escaped and accepted', host: HOSTS.sha256, username: 'a=b,c', password: 'escaped', mechanism: 'SCRAM-SHA-256' },
    { rule: 'RFC 4013 2: the password is SASLprepared (ROMAN NUMERAL NINE, NO-BREAK SPACE)', host: HOSTS.sha256, username: 'prepped', password: '\u2168\u00A0pass', mechanism: 'SCRAM-SHA-256' },
  ];

  it.each(successes)('$rule', async ({ host, username, password, mechanism }) => {
    const result = await login(host, username, password);
    expect(result.error).toBeNull();
    expect(result).toMatchObject({ ok: true, mechanism, jid: `${username}@${host}/scram-test` });
  });

  const failures = [
    { rule: 'RFC 5802 9: a wrong password is refused (SCRAM-SHA-1)', host: HOSTS.sha1, username: 'alice', password: 'wrong', code: 'AUTH_REFUSED' },
    { rule: 'RFC 7677 3: a wrong password is refused (SCRAM-SHA-256)', host: HOSTS.sha256, username: 'alice', password: 'wrong', code: 'AUTH_REFUSED' },
    { rule: 'RFC 5802 9: a server signing with the wrong ServerKey fails authentication', host: HOSTS.sha256, username: 'tampered', password: 'tampered', code: 'AUTH_SERVER_SIGNATURE' },
    { rule: 'RFC 5802 5.1: a server storing 1000 iterations is refused before PBKDF2', host: HOSTS.weak, username: 'alice', password: 'weak', code: 'AUTH_WEAK_ITERATIONS' },
  ];

  it.each(failures)('$rule', async ({ host, username, password, code }) => {
    const result = await login(host, username, password);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ code, message: expect.stringMatching(/\S/) });
    // Nothing after SASL: no stream restart's resource binding, no stanza.
    expect(result.sent).not.toContain('iq');
  });

  it('RFC 5802 5.1: a reconnection reuses the SaltedPassword from the session cache', async () => {
    const cache = new SaltedPasswordCache();
    const first = await login(HOSTS.sha256, 'alice', 'pässwörd, mit Komma', cache);
    expect(first.ok).toBe(true);
    expect(cache.size).toBe(1);
    const second = await login(HOSTS.sha256, 'alice', 'pässwörd, mit Komma', cache);
    expect(second.ok).toBe(true);
    expect(cache.size).toBe(1);
    const wrong = await login(HOSTS.sha256, 'alice', 'wrong', cache);
    expect(wrong.error).toMatchObject({ code: 'AUTH_REFUSED' });
  });
});
