// Prosody for the testbed: its configuration, its account files, and its process.
import { execFile } from 'node:child_process';
import { createHash, createHmac, pbkdf2, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { spawnServer, stopServer, waitUntilBound, type ServerProcess, type SocketAddress } from './processes.ts';
import { TestbedError } from './programs.ts';

/** Where Prosody listens: client STARTTLS, client direct TLS (XEP-0368), server-to-server. */
export interface XmppPorts {
  starttls: number;
  directTls: number;
  s2s: number;
}

/** The standard ports (RFC 6120 14.7, XEP-0368 uses 5223 by custom), the testbed's default. */
export const PROSODY_PORTS: Readonly<XmppPorts> = { starttls: 5222, directTls: 5223, s2s: 5269 };

export interface ProsodyHost {
  domain: string;
  /** The certificate and key it presents, at paths that stay the same when their content is swapped. */
  certPath: string;
  keyPath: string;
  /** Offer only the RFC 6120 login (SASL, then resource binding), so the old path stays proven. */
  legacyLogin?: boolean;
}

/** A multi-user chat service (XEP-0045) with its archive (XEP-0313), a component of Prosody. */
export interface ProsodyMuc {
  domain: string;
  /**
   * What it presents to a server-to-server stream addressed to it. Absent: the certificate of the
   * host its name is a subdomain of (mod_tls looks there).
   */
  tls?: { certPath: string; keyPath: string };
}

export interface ProsodySetup {
  /** Holds the configuration, pidfile, log and data. */
  dir: string;
  address: string;
  ports: XmppPorts;
  scramIterations: number;
  /** storage_archive_item_limit; Prosody's default when absent. */
  archiveItemLimit?: number | undefined;
  hosts: readonly ProsodyHost[];
  mucs?: readonly ProsodyMuc[];
}

export const prosodyPaths = (dir: string) => ({
  config: join(dir, 'prosody.cfg.lua'),
  pidfile: join(dir, 'prosody.pid'),
  log: join(dir, 'prosody.log'),
  data: join(dir, 'data'),
  // Prosody indexes every certificate in this directory by the names inside it, so it stays empty:
  // each host names its files explicitly, and example.com's own certificate is never in reach.
  certificateIndex: join(dir, 'certificates-index'),
});

const MODULES = [
  'roster', 'saslauth', 'tls', 'disco', 'carbons', 'mam', 'smacks', 'ping', 'time', 'version',
  'private', 'blocklist', 'vcard',
  // XEP-0163 PEP, and XEP-0402 bookmarks in it (mod_bookmarks also serves XEP-0048 clients from there).
  'pep', 'bookmarks',
  // The admin socket, through which prosodyctl shell reaches the running server (forgetMucOccupants).
  'admin_shell',
  // offline keeps messages for an account with no session (a client reconnecting after a restart).
  'offline',
  // posix writes the pidfile and turns SIGHUP into a configuration (and certificate) reload.
  'posix',
  // prosody-modules (Prosody 13): XEP-0388 SASL2, XEP-0386 Bind 2, XEP-0198 resumption inside SASL2,
  // XEP-0484 FAST tokens, XEP-0474 SCRAM downgrade protection.
  'sasl2', 'sasl2_bind2', 'sasl2_sm', 'sasl2_fast', 'sasl_ssdp',
];

/** What a legacy-only host leaves out. */
const SASL2_MODULES = ['sasl2', 'sasl2_bind2', 'sasl2_sm', 'sasl2_fast'];

const lua = (text: string): string => {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new TestbedError('TESTBED_BAD_PATH', `"${text}" has characters the Prosody configuration cannot hold.`);
  return JSON.stringify(text);
};

const luaList = (items: readonly (string | number)[]): string =>
  `{ ${items.map((item) => (typeof item === 'number' ? String(item) : lua(item))).join(', ')} }`;

export function renderProsodyConfig(setup: ProsodySetup): string {
  const paths = prosodyPaths(setup.dir);
  const lines = [
    '-- Written by src/testbed at every start; edits are lost.',
    'run_as_root = true',
    `pidfile = ${lua(paths.pidfile)}`,
    `data_path = ${lua(paths.data)}`,
    `certificates = ${lua(paths.certificateIndex)}`,
    // Debug level, so a test can prove from the log that no authentication was attempted.
    `log = { { levels = { min = "debug" }, to = "file", filename = ${lua(paths.log)} } }`,
    `interfaces = ${luaList([setup.address])}`,
    `c2s_ports = ${luaList([setup.ports.starttls])}`,
    `c2s_interfaces = ${luaList([setup.address])}`,
    `c2s_direct_tls_ports = ${luaList([setup.ports.directTls])}`,
    `c2s_direct_tls_interfaces = ${luaList([setup.address])}`,
    `s2s_ports = ${luaList([setup.ports.s2s])}`,
    `s2s_interfaces = ${luaList([setup.address])}`,
    'component_ports = { }',
    'c2s_require_encryption = true',
    'allow_registration = false',
    'authentication = "internal_hashed"',
    'storage = "internal"',
    `default_iteration_count = ${setup.scramIterations}`,
    // A FAST token is replaced at every use after this many seconds (default a day): at once here,
    // so that every token login also proves the rotation (XEP-0484 4.3).
    'sasl2_fast_token_min_ttl = 0',
    ...(setup.archiveItemLimit === undefined ? [] : [`storage_archive_item_limit = ${setup.archiveItemLimit}`]),
    `modules_enabled = ${luaList(MODULES)}`,
    'modules_disabled = { "http" }',
    'archive_expires_after = "1d"',
    'default_archive_policy = true',
    '',
  ];
  for (const host of setup.hosts) {
    const tls = `{ certificate = ${lua(host.certPath)}, key = ${lua(host.keyPath)} }`;
    lines.push(
      `VirtualHost ${lua(host.domain)}`,
      // ssl serves STARTTLS (mod_tls); the direct-TLS port picks its certificate per SNI name from c2s_direct_tls_ssl.
      `  ssl = ${tls}`,
      `  c2s_direct_tls_ssl = ${tls}`,
      ...(host.legacyLogin ? [`  modules_disabled = ${luaList(SASL2_MODULES)}`] : []),
      '',
    );
  }
  for (const muc of setup.mucs ?? []) {
    lines.push(
      `Component ${lua(muc.domain)} "muc"`,
      '  modules_enabled = { "muc_mam" }',
      // Rooms archived unless their owner turns it off (muc#roomconfig_enablearchiving).
      '  muc_log_by_default = true',
      '  muc_room_default_history_length = 20',
      // "local" lets a component's role "prosody:registered" create rooms: by default only the
      // accounts of its parent domain have it, here those of every host of this Prosody.
      '  restrict_room_creation = "local"',
      '  server_user_role = "prosody:registered"',
      ...(muc.tls ? [`  ssl = { certificate = ${lua(muc.tls.certPath)}, key = ${lua(muc.tls.keyPath)} }`] : []),
      '',
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- accounts (mod_auth_internal_hashed)

const pbkdf2Async = promisify(pbkdf2);

/** Prosody's datamanager file-name encoding: every non-alphanumeric byte becomes %xx. */
export const encodePathPart = (text: string): string =>
  [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');

export interface ScramCredentials {
  salt: string;
  iteration_count: number;
  stored_key: string;
  server_key: string;
}

/** SCRAM-SHA-1 credentials as mod_auth_internal_hashed stores them (RFC 5802: hex StoredKey and ServerKey). */
export async function scramCredentials(password: string, iterations: number, salt = randomUUID()): Promise<ScramCredentials> {
  const salted = await pbkdf2Async(password.normalize('NFKC'), salt, iterations, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  return {
    salt,
    iteration_count: iterations,
    stored_key: createHash('sha1').update(clientKey).digest('hex'),
    server_key: createHmac('sha1', salted).update('Server Key').digest('hex'),
  };
}

export function renderAccount(credentials: ScramCredentials): string {
  const fields = Object.entries(credentials).map(([key, value]) => `\t[${lua(key)}] = ${typeof value === 'number' ? value : lua(value)};`);
  return `return {\n${fields.join('\n')}\n};\n`;
}

/**
 * Writes the account file Prosody's internal storage reads on every login, which is what
 * `prosodyctl register` does, without starting Lua for each user (about 170 ms each).
 */
export async function writeAccount(dataDir: string, local: string, domain: string, password: string, iterations: number): Promise<void> {
  const user = local.toLowerCase();
  if (!/^[a-z0-9._-]+$/.test(user)) {
    throw new TestbedError('TESTBED_BAD_USER', `"${local}" is not a usable test user name: use letters, digits, ".", "_" or "-".`);
  }
  const dir = join(dataDir, encodePathPart(domain.toLowerCase()), 'accounts');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${encodePathPart(user)}.dat`), renderAccount(await scramCredentials(password, iterations)));
}

// ---------------------------------------------------------------- rosters (mod_roster, internal storage)

export interface RosterEntry {
  jid: string;
  name: string;
}

/** A roster in which every entry is a mutual subscription (RFC 6121 "both"), as mod_roster stores it. */
export function renderRoster(entries: readonly RosterEntry[]): string {
  const items = entries.map(
    ({ jid, name }) => `\t[${lua(jid)}] = {\n\t\t["subscription"] = "both";\n\t\t["name"] = ${lua(name)};\n\t\t["groups"] = {};\n\t};`,
  );
  return `return {\n\t[false] = {\n\t\t["version"] = 1;\n\t\t["pending"] = {};\n\t};\n${items.join('\n')}\n};\n`;
}

/** Writes the roster of `owner` (a bare JID); Prosody reads it at the owner's first login, so write it before then. */
export async function writeRoster(dataDir: string, owner: string, entries: readonly RosterEntry[]): Promise<void> {
  const [local = '', domain = ''] = owner.toLowerCase().split('@');
  const dir = join(dataDir, encodePathPart(domain), 'roster');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${encodePathPart(local)}.dat`), renderRoster(entries));
}

// ---------------------------------------------------------------- the log

// At debug level Prosody logs the opening tag (never the payload) of every SASL element a client
// sends, and mod_auth_internal_hashed logs each password test.
// Attribute order varies from one line to the next (Lua table order).
const SASL_LINE = /\tReceived\[c2s_unauthed\]: <(auth|authenticate|response)\b[^>]*'urn:(ietf:params:xml:ns:xmpp-sasl|xmpp:sasl:2)'|\tdebug\ttest password for user /;

/** The lines of a Prosody log that show a client attempting authentication. */
export function authenticationAttempts(log: string): string[] {
  return log.split('\n').filter((line) => SASL_LINE.test(line));
}

// ---------------------------------------------------------------- the process

export function prosodySockets(address: string, ports: XmppPorts): SocketAddress[] {
  return [ports.starttls, ports.directTls, ports.s2s].map((port) => ({ protocol: 'tcp' as const, ip: address, port }));
}

export async function writeProsodyConfig(setup: ProsodySetup): Promise<void> {
  const paths = prosodyPaths(setup.dir);
  await mkdir(paths.data, { recursive: true });
  await mkdir(paths.certificateIndex, { recursive: true });
  await writeFile(paths.config, renderProsodyConfig(setup));
}

async function logTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => /\t(error|warn)\t/.test(line)).slice(-5).join('\n');
}

export async function startProsodyProcess(program: string, setup: ProsodySetup): Promise<ServerProcess> {
  const paths = prosodyPaths(setup.dir);
  const server = await spawnServer('prosody', program, ['--config', paths.config, '-F'], setup.dir);
  try {
    await waitUntilBound(prosodySockets(setup.address, setup.ports), 10_000, () => (server.hasExited() ? 'Prosody exited' : null));
    await waitUntilCatching(server, SIGHUP_BIT, 5000);
  } catch (error) {
    await stopServer(server);
    const details = [server.output().trim(), await logTail(paths.log)].filter(Boolean).join('\n');
    throw new TestbedError('TESTBED_START_FAILED', `${(error as Error).message}${details ? `\n${details}` : ''}`, { cause: error });
  }
  return server;
}

// Prosody 0.12's mod_posix installs its signal handlers on a timer after the ports are bound; a SIGHUP
// before that would kill Prosody. The kernel lists caught signals in /proc/PID/status (SigCgt, bit
// N-1 for signal N). Prosody 13 reads its signals from a signalfd instead, which needs them blocked
// (SigBlk): either way a SIGHUP is then safe.
const SIGHUP_BIT = 1n << 0n;

async function waitUntilCatching(server: ServerProcess, bit: bigint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await readFile(`/proc/${server.pid}/status`, 'utf8').catch(() => '');
    const handled = ['SigCgt', 'SigBlk'].map((field) => new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1]);
    if (handled.some((mask) => mask !== undefined && (BigInt(`0x${mask}`) & bit) !== 0n)) return;
    if (server.hasExited() || Date.now() > deadline) {
      throw new TestbedError('TESTBED_START_FAILED', `Prosody did not install its signal handlers (mod_posix) within ${timeoutMs} ms.`);
    }
    await sleep(10);
  }
}

/** Asks Prosody to re-read its configuration and certificates (mod_posix: SIGHUP). */
export function reloadProsody(server: ServerProcess): void {
  server.child.kill('SIGHUP');
}

// ---------------------------------------------------------------- the admin shell (mod_admin_shell)

const execFileAsync = promisify(execFile);

/**
 * Runs one line in the running Prosody's admin shell (`prosodyctl shell LINE`, over the admin socket
 * in its data directory; a line that starts with ">" is Lua in Prosody's own global environment) and
 * resolves with what the shell printed. The shell exits with the number of errors. `prosody` is the
 * server's program: the package installs prosodyctl beside it.
 */
export async function runProsodyShell(prosody: string, setup: ProsodySetup, line: string): Promise<string> {
  const prosodyctl = join(dirname(prosody), 'prosodyctl');
  try {
    const { stdout } = await execFileAsync(prosodyctl, ['--config', prosodyPaths(setup.dir).config, 'shell', line], { cwd: setup.dir, timeout: 10_000 });
    return stdout.trim();
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    // The shell writes its errors to stderr; stdout also holds prosodyctl's start-up notices.
    const why = stderr.trim() || stdout.trim() || (error as Error).message;
    throw new TestbedError('TESTBED_PROSODY_SHELL', `Prosody's admin shell failed: ${why}`, { cause: error });
  }
}

/**
 * Shell Lua that empties a room's occupant tables (mod_muc keeps them in room._occupants and
 * room._jid_nick) and returns how many occupants there were. The room, its configuration and its
 * affiliations stay; nobody is sent unavailable presence, so every occupant still believes it is
 * joined until it asks the room (XEP-0410: a self-ping then answers <not-acceptable/>).
 */
export function forgetOccupantsLua(roomJid: string): string {
  const host = lua(roomJid.slice(roomJid.indexOf('@') + 1));
  return [
    `>local muc = prosody.hosts[${host}] and prosody.hosts[${host}].modules.muc`,
    `local room = muc and muc.get_room_from_jid(${lua(roomJid)})`,
    `if not room then error(${lua(`${roomJid} is not a room`)}) end`,
    'local count = 0 for _ in pairs(room._occupants) do count = count + 1 end',
    'room._occupants, room._jid_nick = {}, {}',
    'return count',
  ].join(' ');
}
