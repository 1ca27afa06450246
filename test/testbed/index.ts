// The testbed: real servers on loopback (dnsmasq, nginx, Prosody) with certificates made at start-up,
// for the integration, UI, demo and benchmark suites (DESIGN section 7).
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dnsmasqArguments, type DnsRecords } from '../support/dnsmasq.ts';
import type { IssuedCertificate } from '../support/pki.ts';
import {
  createTestbedCertificates,
  EXAMPLE_DOMAIN,
  HOSTING_HOST,
  issueHosting,
  PROPER_DOMAIN,
  serializeCertificate,
  type HostingKind,
  type SerializedCertificate,
  type TestbedCertificates,
} from './certificates.ts';
import { nginxSockets, readAccessLog, startNginxProcess, type NginxSetup, type WebRequest } from './nginx.ts';
import { markerFor, PID_RECORD, readPidRecord, removePidRecord, stopRecorded, writePidRecord, type RecordedProcess } from './pid-record.ts';
import { requirePrograms, TestbedError } from './programs.ts';
import {
  busySockets,
  formatSocket,
  isRunning,
  spawnServer,
  stopServer,
  waitUntilBound,
  waitUntilFree,
  type ServerProcess,
  type SocketAddress,
} from './processes.ts';
import {
  PROSODY_PORTS,
  prosodyPaths,
  prosodySockets,
  reloadProsody,
  startProsodyProcess,
  writeAccount,
  writeProsodyConfig,
  type ProsodySetup,
} from './prosody.ts';
import { PRESENTED_KIND, publicationFor, VARIANTS, type VariantName } from './variants.ts';
import { publish, readableDir, type WebrootLayout } from './webroot.ts';
import { serveControl, type ControlServer } from './control.ts';
import { probeXmpp } from './xmpp-probe.ts';

export { VARIANTS, VARIANT_DESCRIPTIONS, isVariant, type VariantName } from './variants.ts';
export { missingPrograms, missingProgramError, INSTALL_HINT, TestbedError } from './programs.ts';
export { EXAMPLE_DOMAIN, HOSTING_HOST, PROPER_DOMAIN, type SerializedCertificate } from './certificates.ts';
export type { WebRequest } from './nginx.ts';
export { authenticationAttempts } from './prosody.ts';
export { probeXmpp, loginPlain, type ProbeTarget, type ProbeResult } from './xmpp-probe.ts';
export type { IssuedCertificate } from '../support/pki.ts';
export { connectTestbed, type RemoteTestbed } from './control.ts';

export interface TestbedAddresses {
  /** dnsmasq, `IP:PORT`. */
  dns: string;
  /** example.com's HTTPS host. */
  web: string;
  /** hosting.example.net and proper.example: Prosody and the hosting HTTPS host. */
  xmpp: string;
}

export const DEFAULT_ADDRESSES: TestbedAddresses = { dns: '127.0.0.1:5353', web: '127.0.0.2', xmpp: '127.0.0.3' };

export const DEFAULT_RUNTIME_DIR = join(tmpdir(), 'posh-messenger-testbed');

export const DEFAULT_SCRAM_ITERATIONS = 4096;

/** Test accounts every testbed has (fixtures, not secrets). */
export const DEFAULT_USERS: Readonly<Record<string, string>> = {
  [`alice@${EXAMPLE_DOMAIN}`]: 'alice-in-wonderland',
  [`bob@${EXAMPLE_DOMAIN}`]: 'bob-the-builder',
  [`carol@${PROPER_DOMAIN}`]: 'carol-of-the-bells',
};

export interface TestbedOptions {
  /** Where configuration, certificates, data, logs and PIDs live (default: DEFAULT_RUNTIME_DIR). */
  runtimeDir?: string;
  /** Prosody's default_iteration_count for the SCRAM credentials of every account (default 4096). */
  scramIterations?: number;
  /** Progress lines (never passwords). */
  log?: (line: string) => void;
  /** Other loopback addresses, so that a second testbed can run beside the first. */
  addresses?: Partial<TestbedAddresses>;
  /** The variant published at start (default `direct`). */
  variant?: VariantName;
  /** PATH-style list of directories to find prosody, dnsmasq, nginx and openssl in. */
  programPath?: string;
}

export interface TestbedCertificateSet {
  ca: IssuedCertificate;
  hosting: IssuedCertificate;
  example: IssuedCertificate;
  proper: IssuedCertificate;
  expired: IssuedCertificate;
  selfSigned: IssuedCertificate;
  other: IssuedCertificate;
  /** What Prosody presents for example.com now (one of hosting, expired, selfSigned). */
  presented: IssuedCertificate;
}

/** What a testbed controller can do; the same in the owning process and over the control socket. */
export interface TestbedControl {
  readonly runtimeDir: string;
  readonly addresses: TestbedAddresses;
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
}

/** Everything a test needs to know, as plain JSON (what the vitest global setup provides). */
export interface TestbedState {
  runtimeDir: string;
  controlSocket: string;
  addresses: TestbedAddresses;
  dnsServer: string;
  caPem: string;
  caPath: string;
  users: Record<string, string>;
  variant: VariantName;
  certificates: Record<keyof TestbedCertificateSet, SerializedCertificate>;
  startupMs: number;
}


export interface Testbed extends TestbedControl {
  /** How long startTestbed took, in milliseconds. */
  readonly startupMs: number;
  readonly controlSocket: string;
  state(): TestbedState;
  /** Stops every server and waits until they have exited and their sockets are free. */
  stop(): Promise<void>;
}

const REAPER = join(dirname(fileURLToPath(import.meta.url)), 'reaper.ts');

function parseAddresses(options: TestbedOptions): TestbedAddresses {
  const addresses = { ...DEFAULT_ADDRESSES, ...options.addresses };
  const [dnsIp, dnsPort] = addresses.dns.split(':');
  if (!dnsIp || !dnsPort || !/^\d+$/.test(dnsPort)) {
    throw new TestbedError('TESTBED_BAD_OPTION', `The DNS address "${addresses.dns}" is not IP:PORT, e.g. 127.0.0.1:5353.`);
  }
  return addresses;
}

function dnsSockets(dns: string): SocketAddress[] {
  const [ip = '', port = ''] = dns.split(':');
  return [
    { protocol: 'udp', ip, port: Number(port) },
    { protocol: 'tcp', ip, port: Number(port) },
  ];
}

export function dnsRecords(addresses: TestbedAddresses): DnsRecords {
  const srv = (name: string, target: string, port: number) => ({ name, target, port, priority: 0, weight: 0 });
  return {
    srv: [
      // One priority for both, so a client puts direct TLS first (XEP-0368).
      srv(`_xmpp-client._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, PROSODY_PORTS.starttls),
      srv(`_xmpps-client._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, PROSODY_PORTS.directTls),
      srv(`_xmpp-server._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, PROSODY_PORTS.s2s),
      srv(`_xmpp-client._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, PROSODY_PORTS.starttls),
      srv(`_xmpps-client._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, PROSODY_PORTS.directTls),
      srv(`_xmpp-server._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, PROSODY_PORTS.s2s),
    ],
    hosts: {
      [EXAMPLE_DOMAIN]: [addresses.web],
      [HOSTING_HOST]: [addresses.xmpp],
      [PROPER_DOMAIN]: [addresses.xmpp],
    },
  };
}

async function checkPrivileges(): Promise<void> {
  if (process.getuid?.() === 0) return;
  const start = Number(await readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').catch(() => '1024'));
  if (start > 443) {
    throw new TestbedError('TESTBED_NEEDS_ROOT', 'The testbed binds port 443 and runs nginx workers as nobody: run it as root.');
  }
}

/** nginx's workers (user nobody) must reach the webroots: every directory above them needs o+x. */
async function checkTraversable(dir: string): Promise<void> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) {
      throw new TestbedError(
        'TESTBED_BAD_OPTION',
        `The runtime directory ${dir} is inside ${current}, which user nobody cannot enter (nginx's workers read the POSH files as nobody): choose a directory under /tmp.`,
      );
    }
    if (current === dirname(current)) return;
  }
}

/** Stops what a crashed run left behind in `runtimeDir`; refuses when its owner still runs. */
async function clearStaleRun(recordPath: string, log: (line: string) => void): Promise<void> {
  const record = await readPidRecord(recordPath);
  if (record === null) return;
  if (record.owner === process.pid || (await isRunning(record.owner))) {
    throw new TestbedError(
      'TESTBED_ALREADY_RUNNING',
      `A testbed started by process ${record.owner} is still running from ${dirname(recordPath)}: stop it first (Ctrl-C in its terminal, or kill ${record.owner}).`,
    );
  }
  const stopped = await stopRecorded(record.processes);
  if (stopped.length > 0) log(`stopped what a crashed testbed left running: ${stopped.join(', ')}`);
  await removePidRecord(recordPath);
}

/**
 * Like Promise.all, but waits for every start to settle before rejecting, so nothing is still
 * spawning when the failure path stops what did start.
 */
async function settleAll<T extends readonly unknown[]>(work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

interface Running {
  dns: ServerProcess | null;
  nginx: ServerProcess | null;
  prosody: ServerProcess | null;
  reaper: number | null;
}

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const addresses = parseAddresses(options);
  const scramIterations = options.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
  if (!Number.isInteger(scramIterations) || scramIterations < 4096) {
    throw new TestbedError('TESTBED_BAD_OPTION', `scramIterations must be an integer of at least 4096 (RFC 5802 minimum), not ${scramIterations}.`);
  }
  const programs = await requirePrograms(options.programPath);
  await checkPrivileges();

  const runtimeDir = resolve(options.runtimeDir ?? DEFAULT_RUNTIME_DIR);
  await readableDir(runtimeDir);
  await checkTraversable(runtimeDir);
  const recordPath = join(runtimeDir, PID_RECORD);
  await clearStaleRun(recordPath, log);

  const sockets = [...dnsSockets(addresses.dns), { protocol: 'tcp' as const, ip: addresses.web, port: 443 }, { protocol: 'tcp' as const, ip: addresses.xmpp, port: 443 }, ...prosodySockets(addresses.xmpp)];
  const busy = await busySockets(sockets);
  if (busy.length > 0) {
    throw new TestbedError(
      'TESTBED_PORT_BUSY',
      `Something else already listens on ${busy.map(formatSocket).join(', ')}: stop it (another testbed? \`ss -ltnup\` names the process) and start again.`,
    );
  }

  const dirs = {
    certs: join(runtimeDir, 'certs'),
    prosody: join(runtimeDir, 'prosody'),
    prosodyTls: join(runtimeDir, 'prosody', 'tls'),
    nginx: join(runtimeDir, 'nginx'),
    www: join(runtimeDir, 'www'),
    dns: join(runtimeDir, 'dns'),
  };
  await Promise.all(Object.values(dirs).map((dir) => rm(dir, { recursive: true, force: true })));
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
  const controlSocket = join(runtimeDir, 'control.sock');

  const running: Running = { dns: null, nginx: null, prosody: null, reaper: null };
  const recorded = (): RecordedProcess[] => {
    const entries: RecordedProcess[] = [];
    if (running.reaper !== null) entries.push({ name: 'reaper', pid: running.reaper, marker: 'reaper.ts', group: true });
    for (const [server, program] of [[running.dns, programs.dnsmasq], [running.nginx, programs.nginx], [running.prosody, programs.prosody]] as const) {
      if (server) entries.push({ name: server.name, pid: server.pid, marker: markerFor(program!), group: true });
    }
    return entries;
  };
  const saveRecord = () => writePidRecord(recordPath, { owner: process.pid, processes: recorded() });

  // The watchdog comes first, so that a crash at any later point leaves nothing running.
  const reaper = spawn(process.execPath, [REAPER, String(process.pid), recordPath], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  reaper.unref();
  running.reaper = reaper.pid ?? null;
  await saveRecord();

  const stopAll = async (): Promise<void> => {
    // The watchdog goes first: it must not race the orderly stop below.
    if (running.reaper !== null) {
      try {
        process.kill(running.reaper, 'SIGTERM');
      } catch {
        // already gone
      }
      running.reaper = null;
    }
    await Promise.all([running.prosody, running.nginx, running.dns].filter((server) => server !== null).map((server) => stopServer(server)));
    running.prosody = running.nginx = running.dns = null;
    await removePidRecord(recordPath);
    const left = await waitUntilFree(sockets, 5000);
    if (left.length > 0) {
      throw new TestbedError('TESTBED_STOP_FAILED', `${left.map(formatSocket).join(', ')} still bound 5 s after the testbed stopped.`);
    }
  };

  try {
    const dnsStarted = (async () => {
      const [ip = '', port = ''] = addresses.dns.split(':');
      running.dns = await spawnServer('dnsmasq', programs.dnsmasq!, dnsmasqArguments(ip, Number(port), dnsRecords(addresses)), dirs.dns);
      await saveRecord();
      const dns = running.dns;
      await waitUntilBound(dnsSockets(addresses.dns), 10_000, () => (dns.hasExited() ? `dnsmasq exited: ${dns.output().trim()}` : null));
      log(`dnsmasq on ${addresses.dns} (PID ${dns.pid})`);
    })();

    const serversStarted = (async () => {
      const certificates = await createTestbedCertificates(dirs.certs);
      log(`certificates in ${dirs.certs}`);
      const machine = new TestbedMachine({ runtimeDir, dirs, addresses, certificates, scramIterations, programs, running, saveRecord, log }, options.variant ?? 'direct');
      await settleAll([machine.startWeb(), machine.startXmpp()]);
      return machine;
    })();
    const [, state] = await settleAll([dnsStarted, serversStarted] as const);
    const startupMs = Math.round(performance.now() - started);
    let control: ControlServer | null = null;
    const testbed = facadeOf(state, startupMs, controlSocket, async () => {
      await control?.close();
      await stopAll();
    });
    control = await serveControl(testbed, controlSocket);
    log(`testbed ready in ${startupMs} ms; control socket ${controlSocket}`);
    return testbed;
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

interface MachineSetup {
  runtimeDir: string;
  dirs: Record<'certs' | 'prosody' | 'prosodyTls' | 'nginx' | 'www' | 'dns', string>;
  addresses: TestbedAddresses;
  certificates: TestbedCertificates;
  scramIterations: number;
  programs: Record<string, string>;
  running: Running;
  saveRecord: () => Promise<void>;
  log: (line: string) => void;
}

const KIND_KEY: Record<HostingKind, 'hosting' | 'expired' | 'selfSigned'> = {
  valid: 'hosting',
  expired: 'expired',
  'self-signed': 'selfSigned',
};

/** The live testbed's state and the operations on it, one at a time. */
class TestbedMachine {
  private readonly setup: MachineSetup;
  private readonly prosodySetup: ProsodySetup;
  private readonly webroot: WebrootLayout;
  private readonly users: Record<string, string> = {};
  private variant: VariantName;
  private presented: IssuedCertificate;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(setup: MachineSetup, variant: VariantName) {
    this.setup = setup;
    const { dirs, addresses, certificates } = setup;
    this.variant = variant;
    this.presented = certificates[KIND_KEY[PRESENTED_KIND[variant]]];
    this.prosodySetup = {
      dir: dirs.prosody,
      address: addresses.xmpp,
      scramIterations: setup.scramIterations,
      hosts: [
        { domain: EXAMPLE_DOMAIN, certPath: join(dirs.prosodyTls, `${EXAMPLE_DOMAIN}.pem`), keyPath: join(dirs.prosodyTls, `${EXAMPLE_DOMAIN}.key`) },
        { domain: PROPER_DOMAIN, certPath: certificates.proper.certPath, keyPath: certificates.proper.keyPath },
      ],
    };
    this.webroot = {
      roots: { [EXAMPLE_DOMAIN]: join(dirs.www, EXAMPLE_DOMAIN), [HOSTING_HOST]: join(dirs.www, HOSTING_HOST) },
      redirectFlag: join(dirs.www, `${EXAMPLE_DOMAIN}.redirect`),
    };
  }

  /** Runs `work` after every earlier operation has settled. */
  serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private nginxSetup(): NginxSetup {
    const { dirs, addresses, certificates } = this.setup;
    return {
      dir: dirs.nginx,
      sites: [
        {
          serverName: EXAMPLE_DOMAIN, address: addresses.web, isDefault: true,
          certPath: certificates.example.certPath, keyPath: certificates.example.keyPath,
          webroot: this.webroot.roots[EXAMPLE_DOMAIN], redirectFlag: this.webroot.redirectFlag, redirectTo: HOSTING_HOST,
        },
        {
          serverName: HOSTING_HOST, address: addresses.xmpp, isDefault: true,
          certPath: certificates.hosting.certPath, keyPath: certificates.hosting.keyPath,
          webroot: this.webroot.roots[HOSTING_HOST],
        },
        {
          serverName: PROPER_DOMAIN, address: addresses.xmpp,
          certPath: certificates.proper.certPath, keyPath: certificates.proper.keyPath,
        },
      ],
    };
  }

  async startWeb(): Promise<void> {
    const variant = this.variant;
    await readableDir(this.setup.dirs.www);
    await this.publish(variant);
    const nginx = await startNginxProcess(this.setup.programs.nginx!, this.nginxSetup());
    this.setup.running.nginx = nginx;
    await this.setup.saveRecord();
    this.setup.log(`nginx on ${nginxSockets(this.nginxSetup()).map(formatSocket).join(', ')} (PID ${nginx.pid}), variant ${variant}`);
  }

  async startXmpp(): Promise<void> {
    await this.installPresented(this.presented);
    await writeProsodyConfig(this.prosodySetup);
    // Accounts are files Prosody reads at login, so they can be written before it starts.
    await Promise.all(Object.entries(DEFAULT_USERS).map(([jid, password]) => this.writeUser(jid, password)));
    await this.launchProsody();
  }

  private async launchProsody(): Promise<void> {
    const prosody = await startProsodyProcess(this.setup.programs.prosody!, this.prosodySetup);
    this.setup.running.prosody = prosody;
    await this.setup.saveRecord();
    this.setup.log(`prosody on ${prosodySockets(this.setup.addresses.xmpp).map(formatSocket).join(', ')} (PID ${prosody.pid})`);
  }

  private async writeUser(jid: string, password: string): Promise<void> {
    const [local = '', domain = ''] = jid.split('@');
    this.users[jid] = password;
    try {
      await writeAccount(prosodyPaths(this.setup.dirs.prosody).data, local, domain, password, this.setup.scramIterations);
    } catch (error) {
      delete this.users[jid];
      throw error;
    }
  }

  private async publish(variant: VariantName): Promise<void> {
    const presented = this.setup.certificates[KIND_KEY[PRESENTED_KIND[variant]]];
    await publish(this.webroot, publicationFor(variant, presented.der, this.setup.certificates.other.der));
    this.variant = variant;
  }

  /** Copies `certificate` to the paths Prosody reads for example.com (cert and key both whole). */
  private async installPresented(certificate: IssuedCertificate): Promise<void> {
    const host = this.prosodySetup.hosts[0]!;
    await copyFile(certificate.certPath, `${host.certPath}.tmp`);
    await copyFile(certificate.keyPath, `${host.keyPath}.tmp`);
    await rename(`${host.keyPath}.tmp`, host.keyPath);
    await rename(`${host.certPath}.tmp`, host.certPath);
    this.presented = certificate;
  }

  /** Makes Prosody present `certificate` for example.com without restarting it: SIGHUP, then probes until it shows. */
  private async present(certificate: IssuedCertificate): Promise<void> {
    if (this.presented === certificate) return;
    await this.installPresented(certificate);
    const prosody = this.setup.running.prosody;
    if (prosody === null) return;
    reloadProsody(prosody);
    const targets = (['direct', 'starttls'] as const).map((tls) => ({
      address: this.setup.addresses.xmpp,
      port: tls === 'direct' ? PROSODY_PORTS.directTls : PROSODY_PORTS.starttls,
      tls,
      domain: EXAMPLE_DOMAIN,
      timeoutMs: 2000,
    }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const shown = await Promise.all(targets.map((target) => probeXmpp(target).then((r) => r.der, () => null)));
      if (shown.every((der) => der?.equals(certificate.der))) return;
      if (Date.now() > deadline || prosody.hasExited()) {
        throw new TestbedError('TESTBED_RELOAD_FAILED', `Prosody did not present ${certificate.name} within 10 s of SIGHUP; see ${prosodyPaths(this.setup.dirs.prosody).log}.`);
      }
      await sleep(25);
    }
  }

  private async applyVariant(name: VariantName): Promise<void> {
    await this.present(this.setup.certificates[KIND_KEY[PRESENTED_KIND[name]]]);
    await this.publish(name);
  }

  setVariant(name: VariantName): Promise<void> {
    if (!(VARIANTS as readonly string[]).includes(name)) {
      return Promise.reject(new TestbedError('TESTBED_BAD_OPTION', `"${String(name)}" is not a variant; choose one of ${VARIANTS.join(', ')}.`));
    }
    return this.serialized(async () => {
      await this.applyVariant(name);
      this.setup.log(`variant ${name}`);
    });
  }

  rotateCertificate(): Promise<IssuedCertificate> {
    return this.serialized(async () => {
      const kind = PRESENTED_KIND[this.variant];
      const fresh = await issueHosting(this.setup.certificates.ca, this.setup.dirs.certs, kind);
      this.setup.certificates[KIND_KEY[kind]] = fresh;
      await this.applyVariant(this.variant);
      this.setup.log(`rotated the ${kind} hosting certificate to ${fresh.name}`);
      return fresh;
    });
  }

  addUser(local: string, domain: string, password: string): Promise<string> {
    return this.serialized(async () => {
      const host = domain.toLowerCase();
      if (!this.prosodySetup.hosts.some((h) => h.domain === host)) {
        throw new TestbedError('TESTBED_BAD_OPTION', `${domain} is not served by the testbed's Prosody; use ${EXAMPLE_DOMAIN} or ${PROPER_DOMAIN}.`);
      }
      const jid = `${local.toLowerCase()}@${host}`;
      await this.writeUser(jid, password);
      return jid;
    });
  }

  stopProsody(): Promise<void> {
    return this.serialized(async () => {
      const prosody = this.setup.running.prosody;
      if (prosody === null) return;
      await stopServer(prosody);
      this.setup.running.prosody = null;
      await this.setup.saveRecord();
      await waitUntilFree(prosodySockets(this.setup.addresses.xmpp), 5000);
    });
  }

  startProsody(): Promise<void> {
    return this.serialized(async () => {
      if (this.setup.running.prosody === null) await this.launchProsody();
    });
  }

  get currentVariant(): VariantName {
    return this.variant;
  }

  get currentPresented(): IssuedCertificate {
    return this.presented;
  }

  get currentUsers(): Record<string, string> {
    return { ...this.users };
  }

  get parts(): MachineSetup {
    return this.setup;
  }
}

function facadeOf(machine: TestbedMachine, startupMs: number, controlSocket: string, stopAll: () => Promise<void>): Testbed {
  const setup = machine.parts;
  const certificateSet = (): TestbedCertificateSet => ({
    ca: setup.certificates.ca,
    hosting: setup.certificates.hosting,
    example: setup.certificates.example,
    proper: setup.certificates.proper,
    expired: setup.certificates.expired,
    selfSigned: setup.certificates.selfSigned,
    other: setup.certificates.other,
    presented: machine.currentPresented,
  });
  let stopping: Promise<void> | null = null;
  const testbed: Testbed = {
    runtimeDir: setup.runtimeDir,
    addresses: setup.addresses,
    dnsServer: setup.addresses.dns,
    caPem: setup.certificates.ca.certPem,
    caPath: setup.certificates.ca.certPath,
    startupMs,
    controlSocket,
    get users() {
      return machine.currentUsers;
    },
    get certificates() {
      return certificateSet();
    },
    get variant() {
      return machine.currentVariant;
    },
    setVariant: (name) => machine.setVariant(name),
    rotateCertificate: () => machine.rotateCertificate(),
    addUser: (local, domain, password) => machine.addUser(local, domain, password),
    webRequests: () => readAccessLog(setup.dirs.nginx),
    prosodyLog: () => readFile(prosodyPaths(setup.dirs.prosody).log, 'utf8').catch(() => ''),
    prosodyPid: async () => setup.running.prosody?.pid ?? null,
    stopProsody: () => machine.stopProsody(),
    startProsody: () => machine.startProsody(),
    restartProsody: async () => {
      await machine.stopProsody();
      await machine.startProsody();
    },
    state: () => ({
      runtimeDir: setup.runtimeDir,
      controlSocket,
      addresses: setup.addresses,
      dnsServer: setup.addresses.dns,
      caPem: setup.certificates.ca.certPem,
      caPath: setup.certificates.ca.certPath,
      users: machine.currentUsers,
      variant: machine.currentVariant,
      certificates: Object.fromEntries(
        Object.entries(certificateSet()).map(([key, certificate]) => [key, serializeCertificate(certificate)]),
      ) as TestbedState['certificates'],
      startupMs,
    }),
    stop: () => (stopping ??= machine.serialized(stopAll)),
  };
  return testbed;
}
