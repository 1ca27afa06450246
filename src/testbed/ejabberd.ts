// ejabberd for the testbed: its configuration, its process, and the accounts and rosters it is
// given through its HTTP API once it runs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { spawnServer, stopServer, waitUntilBound, type ServerProcess, type SocketAddress } from './processes.ts';
import { TestbedError } from './programs.ts';
import type { RosterEntry } from './prosody.ts';

/** Client STARTTLS, client direct TLS (XEP-0368), and the HTTP API the testbed registers accounts through. */
/** Client STARTTLS, client direct TLS, direct TLS held to TLS 1.2 (where tls-exporter is not used), the API. */
export const EJABBERD_PORTS = { starttls: 5222, directTls: 5223, directTls12: 5224, api: 5280 } as const;

export interface EjabberdSetup {
  /** Holds the configuration, spool (Mnesia), log and pidfile. */
  dir: string;
  address: string;
  domain: string;
  /** The certificate and key it presents on both client ports. */
  certPath: string;
  keyPath: string;
  /** The testbed CA, against which ejabberd checks its own certificate's chain at start. */
  caPath: string;
}

export const ejabberdPaths = (dir: string) => ({
  config: join(dir, 'ejabberd.yml'),
  spool: join(dir, 'spool'),
  logDir: join(dir, 'log'),
  log: join(dir, 'log', 'ejabberd.log'),
  pidfile: join(dir, 'ejabberd.pid'),
});

export function ejabberdSockets(address: string): SocketAddress[] {
  return Object.values(EJABBERD_PORTS).map((port) => ({ protocol: 'tcp' as const, ip: address, port }));
}

// ---------------------------------------------------------------- configuration

const yaml = (text: string): string => {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new TestbedError('TESTBED_BAD_PATH', `"${text}" has characters the ejabberd configuration cannot hold.`);
  return JSON.stringify(text);
};

/** The commands the testbed calls; nothing else is open on the API. */
export const API_COMMANDS = ['status', 'register', 'add_rosteritem'] as const;
type ApiCommand = (typeof API_COMMANDS)[number];

const TLS_OPTIONS = '[no_sslv2, no_sslv3, no_tlsv1, no_tlsv1_1, cipher_server_preference, no_compression]';
const TLS12_OPTIONS = '[no_sslv2, no_sslv3, no_tlsv1, no_tlsv1_1, no_tlsv1_3, cipher_server_preference, no_compression]';

export function renderEjabberdConfig(setup: EjabberdSetup): string {
  const ip = yaml(setup.address);
  return `# Written by src/testbed at every start; edits are lost.
hosts: [${yaml(setup.domain)}]
# info logs each login's SASL mechanism ("Accepted c2s SCRAM-SHA-256-PLUS authentication for ...");
# debug would log every stanza, passwords included. Hidden: the passwords of API calls (and addresses).
loglevel: info
hide_sensitive_log_data: true
log_rotate_count: 0
certfiles: [${yaml(setup.certPath)}, ${yaml(setup.keyPath)}]
ca_file: ${yaml(setup.caPath)}
acme: {auto: false}
default_db: mnesia
auth_method: internal
# SCRAM-SHA-256 credentials only: the server never holds a password, and offers SCRAM-SHA-256(-PLUS).
auth_password_format: scram
auth_scram_hash: sha256
disable_sasl_mechanisms: [X-OAUTH2]
acl:
  local: {user_regexp: ""}
access_rules:
  local: {allow: local}
# TLS 1.2 and 1.3 (per listener: a host-wide c2s_protocol_options would override the listeners').
listen:
  - {port: ${EJABBERD_PORTS.starttls}, ip: ${ip}, module: ejabberd_c2s, starttls_required: true, protocol_options: ${TLS_OPTIONS}}
  - {port: ${EJABBERD_PORTS.directTls}, ip: ${ip}, module: ejabberd_c2s, tls: true, protocol_options: ${TLS_OPTIONS}}
  # TLS 1.2 only: a -PLUS login here binds with tls-server-end-point (RFC 5929), not tls-exporter.
  - {port: ${EJABBERD_PORTS.directTls12}, ip: ${ip}, module: ejabberd_c2s, tls: true, protocol_options: ${TLS12_OPTIONS}}
  # A TCP port, not a Unix socket: ejabberd 24.12 sleeps 5 s before it renames a Unix listener's socket.
  - {port: ${EJABBERD_PORTS.api}, ip: ${ip}, module: ejabberd_http, request_handlers: {/api: mod_http_api}}
api_permissions:
  testbed:
    from: [mod_http_api]
    # Loopback only (the listener is on a loopback address), and only the commands the testbed calls.
    who: {ip: 127.0.0.0/8}
    what: [${API_COMMANDS.map(yaml).join(', ')}]
modules:
  mod_admin_extra: {}
  mod_auth_fast: {}
  mod_blocking: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_disco: {}
  mod_http_api: {}
  mod_mam: {default: always}
  # XEP-0045 on conference.example.org: any account of example.org creates rooms, archived (XEP-0313) by default.
  mod_muc: {host: "conference.@HOST@", access_create: local, access_persistent: local, default_room_options: {mam: true}}
  mod_offline: {}
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  # pep: each account's own nodes (XEP-0163), where XEP-0402 bookmarks live.
  mod_pubsub: {plugins: [flat, pep], access_createnode: local}
  mod_roster: {versioning: true}
  mod_stream_mgmt: {}
  mod_vcard: {}
`;
}

// ---------------------------------------------------------------- the process

/** How Debian's ejabberdctl runs ejabberd: its erl and the library root holding ejabberd's applications. */
export interface EjabberdRuntime {
  erl: string;
  libs: string;
}

/** Reads ERL and ERL_LIBS from the installed ejabberdctl, so the testbed runs the package's own VM and code. */
export async function ejabberdRuntime(ejabberdctl: string): Promise<EjabberdRuntime> {
  const script = await readFile(ejabberdctl, 'utf8');
  const erl = /^ERL=["']?([^"'\s]+)["']?$/m.exec(script)?.[1];
  const libs = /^ERL_LIBS=["']?([^"'\s]+)["']?$/m.exec(script)?.[1];
  if (!erl || !libs) {
    throw new TestbedError('TESTBED_MISSING_PROGRAM', `${ejabberdctl} names no ERL and ERL_LIBS: install Debian's ejabberd 24.12 (apt-get install -t bookworm-backports ejabberd).`);
  }
  return { erl, libs };
}

/**
 * erl itself, not `ejabberdctl foreground`: as root that switches to the ejabberd user (who cannot
 * read the runtime directory), and it always names a node, which starts Erlang distribution and an
 * epmd daemon on every address. Without -name/-sname the VM has no distribution at all.
 */
export function ejabberdCommand(runtime: EjabberdRuntime, setup: EjabberdSetup): { args: string[]; env: NodeJS.ProcessEnv } {
  const paths = ejabberdPaths(setup.dir);
  return {
    args: ['-noinput', '-mnesia', 'dir', yaml(paths.spool), '-s', 'ejabberd'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: setup.dir,
      ERL_LIBS: runtime.libs,
      EJABBERD_CONFIG_PATH: paths.config,
      EJABBERD_LOG_PATH: paths.log,
      EJABBERD_PID_PATH: paths.pidfile,
      ERL_CRASH_DUMP: join(paths.logDir, 'erl_crash.dump'),
      ERL_CRASH_DUMP_BYTES: '0',
    },
  };
}

export async function writeEjabberdConfig(setup: EjabberdSetup): Promise<void> {
  const paths = ejabberdPaths(setup.dir);
  await mkdir(paths.spool, { recursive: true });
  await mkdir(paths.logDir, { recursive: true });
  await writeFile(paths.config, renderEjabberdConfig(setup));
}

async function logTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => /\[(error|critical|warning)\]/.test(line)).slice(-5).join('\n');
}

/** Starts ejabberd; resolves once its API answers, which ejabberd accepts only when fully started. */
export async function startEjabberdProcess(runtime: EjabberdRuntime, setup: EjabberdSetup): Promise<ServerProcess> {
  const { args, env } = ejabberdCommand(runtime, setup);
  const server = await spawnServer('ejabberd', runtime.erl, args, setup.dir, env);
  try {
    await waitUntilBound(ejabberdSockets(setup.address), 20_000, () => (server.hasExited() ? 'ejabberd exited' : null));
    await callApi(setup, 'status', {}, 20_000);
  } catch (error) {
    await stopServer(server, EJABBERD_STOP_GRACE_MS);
    const details = [server.output().trim(), await logTail(ejabberdPaths(setup.dir).log)].filter(Boolean).join('\n');
    throw new TestbedError('TESTBED_START_FAILED', `ejabberd on ${setup.address}: ${(error as Error).message}${details ? `\n${details}` : ''}`, { cause: error });
  }
  return server;
}

/** SIGTERM stops the VM in order (init:stop, Mnesia closes its tables) in about 2 s. */
export const EJABBERD_STOP_GRACE_MS = 8000;

// ---------------------------------------------------------------- the API (mod_http_api)

/**
 * POSTs one command to ejabberd's API; resolves with its JSON answer or throws TESTBED_EJABBERD_API.
 * The Host header names the XMPP domain, whose mod_http_api options ejabberd then applies.
 */
export function callApi(setup: EjabberdSetup, command: ApiCommand, args: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
  const body = JSON.stringify(args);
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(new TestbedError('TESTBED_EJABBERD_API', `ejabberd's ${command} on ${setup.address}:${EJABBERD_PORTS.api} failed: ${why}.`, { cause }));
    const req = request(
      {
        host: setup.address,
        port: EJABBERD_PORTS.api,
        method: 'POST',
        path: `/api/${command}`,
        headers: { host: setup.domain, 'content-type': 'application/json' },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
          else resolve(JSON.parse(text) as unknown);
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (error) => fail(error.message, error));
    req.end(body);
  });
}

const ACCOUNT_NAME = /^[a-z0-9._-]+$/;

/** Registers `local` on ejabberd's domain (ejabberd derives and stores SCRAM-SHA-256 credentials only). */
export async function registerAccount(setup: EjabberdSetup, local: string, password: string): Promise<void> {
  const user = local.toLowerCase();
  if (!ACCOUNT_NAME.test(user)) {
    throw new TestbedError('TESTBED_BAD_USER', `"${local}" is not a usable test user name: use letters, digits, ".", "_" or "-".`);
  }
  await callApi(setup, 'register', { user, host: setup.domain, password });
}

/** Puts `contact` on the roster of `owner` (a bare JID) as a mutual subscription (RFC 6121 "both"). */
export async function addRosterItem(setup: EjabberdSetup, owner: string, contact: RosterEntry): Promise<void> {
  const [localuser = '', localhost = ''] = owner.toLowerCase().split('@');
  const [user = '', host = ''] = contact.jid.toLowerCase().split('@');
  await callApi(setup, 'add_rosteritem', { localuser, localhost, user, host, nick: contact.name, groups: [], subs: 'both' });
}

// ---------------------------------------------------------------- the log

export interface EjabberdAuthentication {
  outcome: 'accepted' | 'failed';
  /** The SASL mechanism, e.g. SCRAM-SHA-256-PLUS or HT-SHA-256-ENDP (a FAST token). */
  mechanism: string;
  /** The bare JID; empty when a failure came before the client named one. */
  jid: string;
}

// ejabberd_c2s at info level: "(tls|<0.610.0>) Accepted c2s SCRAM-SHA-256 authentication for
// dave@example.org by mnesia backend from 127.0.0.1", "... Failed c2s PLAIN authentication for
// dave@example.org from 127.0.0.1: Invalid username or password". The log does not say whether it
// was SASL or SASL2.
const AUTH_LINE = /\) (Accepted|Failed) c2s (\S+) authentication (?:for (\S+?@\S+?) )?(?:by |from )/;

/** The logins an ejabberd log records, in order. */
export function ejabberdAuthentications(log: string): EjabberdAuthentication[] {
  return log.split('\n').flatMap((line) => {
    const match = AUTH_LINE.exec(line);
    if (!match) return [];
    return [{ outcome: match[1] === 'Accepted' ? 'accepted' : 'failed', mechanism: match[2] ?? '', jid: match[3] ?? '' } as const];
  });
}
