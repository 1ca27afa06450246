// The testbed's public types and defaults.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EJABBERD_DOMAIN, EXAMPLE_DOMAIN, PROPER_DOMAIN, type SerializedCertificate, type TestbedCertificates } from './certificates.ts';
import type { WebRequest } from './nginx.ts';
import type { IssuedCertificate } from './pki.ts';
import type { RosterEntry, XmppPorts } from './prosody.ts';
import type { VariantName } from './variants.ts';

export interface TestbedAddresses {
  /** dnsmasq, `IP:PORT`. */
  dns: string;
  /** example.com's HTTPS host. */
  web: string;
  /** hosting.example.net and proper.example: Prosody and the hosting HTTPS host. */
  xmpp: string;
  /** Prosody's ports on `xmpp` (default PROSODY_PORTS); the SRV records point at them. */
  xmppPorts?: XmppPorts;
  /**
   * ejabberd.example.net: ejabberd, for example.org (ports EJABBERD_PORTS). Default: the address
   * after `xmpp` (127.0.0.4), so that every address set given without one still gets its own.
   */
  ejabberd?: string;
}

/** The addresses of a started testbed: ejabberd's is always known. */
export type ResolvedAddresses = TestbedAddresses & { ejabberd: string };

export const DEFAULT_ADDRESSES: TestbedAddresses = { dns: '127.0.0.1:5353', web: '127.0.0.2', xmpp: '127.0.0.3' };

export const DEFAULT_RUNTIME_DIR = join(tmpdir(), 'posh-messenger-testbed');

export const DEFAULT_SCRAM_ITERATIONS = 4096;

/** Test accounts every testbed has (fixtures, not secrets). */
export const DEFAULT_USERS: Readonly<Record<string, string>> = {
  [`alice@${EXAMPLE_DOMAIN}`]: 'alice-in-wonderland',
  [`bob@${EXAMPLE_DOMAIN}`]: 'bob-the-builder',
  [`carol@${PROPER_DOMAIN}`]: 'carol-of-the-bells',
  [`dave@${EJABBERD_DOMAIN}`]: 'dave-the-diver',
  [`erin@${EJABBERD_DOMAIN}`]: 'erin-the-engineer',
};

export interface TestbedOptions {
  /** Where configuration, certificates, data, logs and PIDs live (default: DEFAULT_RUNTIME_DIR). */
  runtimeDir?: string;
  /** Prosody's default_iteration_count for the SCRAM credentials of every account (default 4096). */
  scramIterations?: number;
  /**
   * Messages each account's archive (XEP-0313) keeps before Prosody starts pruning it on every new
   * message (storage_archive_item_limit; Prosody's default 10,000). The benchmark's long
   * conversations need more.
   */
  archiveItemLimit?: number;
  /** Progress lines (never passwords). */
  log?: (line: string) => void;
  /** Other loopback addresses, so that a second testbed can run beside the first. */
  addresses?: Partial<TestbedAddresses>;
  /** Start ejabberd for example.org beside Prosody (default true; the demo needs only Prosody). */
  ejabberd?: boolean;
  /** The variant published at start (default `direct`). */
  variant?: VariantName;
  /** PATH-style list of directories to find prosody, dnsmasq, nginx, openssl and ejabberdctl in. */
  programPath?: string;
  /**
   * Pairs of existing users who are each other's contacts (mutual subscription) from their first
   * login; each entry's name is what the other one sees. Both of a pair are on the same server
   * (Prosody's domains or ejabberd's): the testbed has no server-to-server links.
   */
  contacts?: ReadonlyArray<readonly [RosterEntry, RosterEntry]>;
}

/** The testbed's certificates as a controller sees them: the CA as a certificate, and what Prosody presents now. */
export type TestbedCertificateSet = Omit<TestbedCertificates, 'ca'> & {
  ca: IssuedCertificate;
  /** What Prosody presents for example.com now (one of hosting, expired, selfSigned). */
  presented: IssuedCertificate;
};

/** A server process of the testbed and the sockets it listens on (`IP:PORT/tcp`). */
export interface ServerStatus {
  /** null while it is stopped. */
  pid: number | null;
  sockets: string[];
}

export type ServerName = 'dnsmasq' | 'nginx' | 'prosody' | 'ejabberd';

/** What a testbed controller can do; the same in the owning process and over the control socket. */
export interface TestbedControl {
  readonly runtimeDir: string;
  readonly addresses: ResolvedAddresses;
  /** `IP:PORT` of dnsmasq, for createResolver({ server }). */
  readonly dnsServer: string;
  readonly caPem: string;
  readonly caPath: string;
  /** Bare JID to password. */
  readonly users: Readonly<Record<string, string>>;
  readonly certificates: TestbedCertificateSet;
  readonly variant: VariantName;
  setVariant(name: VariantName): Promise<void>;
  /** Issues a fresh certificate of the kind the current variant presents, presents and publishes it. */
  rotateCertificate(): Promise<IssuedCertificate>;
  /** Adds an account; returns its bare JID. */
  addUser(local: string, domain: string, password: string): Promise<string>;
  webRequests(): Promise<WebRequest[]>;
  prosodyLog(): Promise<string>;
  /** null while Prosody is stopped. */
  prosodyPid(): Promise<number | null>;
  restartProsody(): Promise<void>;
  stopProsody(): Promise<void>;
  startProsody(): Promise<void>;
  /**
   * Makes a room of Prosody's (on conference.example.com or conference.proper.example) forget every
   * occupant without telling them: no unavailable presence, their streams stay up, and a self-ping
   * (XEP-0410) answers <not-acceptable/>, as after a MUC service that lost its state. The room and
   * its configuration stay. Resolves with how many occupants it had.
   */
  forgetMucOccupants(roomJid: string): Promise<number>;
  ejabberdLog(): Promise<string>;
  /** null while ejabberd is stopped. */
  ejabberdPid(): Promise<number | null>;
  /** Stops ejabberd; its accounts and archives stay in its spool for the next startEjabberd(). */
  stopEjabberd(): Promise<void>;
  startEjabberd(): Promise<void>;
  /** Everything above as plain JSON, with each server's PID and sockets. */
  state(): TestbedState;
}

/** Everything a test needs to know, as plain JSON (what the vitest global setup provides). */
export interface TestbedState {
  runtimeDir: string;
  controlSocket: string;
  addresses: ResolvedAddresses;
  dnsServer: string;
  caPem: string;
  caPath: string;
  users: Record<string, string>;
  variant: VariantName;
  certificates: Record<keyof TestbedCertificateSet, SerializedCertificate>;
  servers: Record<ServerName, ServerStatus>;
  startupMs: number;
}


export interface Testbed extends TestbedControl {
  /** How long startTestbed took, in milliseconds. */
  readonly startupMs: number;
  readonly controlSocket: string;
  /** Stops every server and waits until they have exited and their sockets are free. */
  stop(): Promise<void>;
}
