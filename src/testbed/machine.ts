// The running testbed's state and the operations on it (variants, rotation, users, Prosody's and
// ejabberd's lifecycles), one at a time, and the Testbed object startTestbed hands out.
import { copyFile, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EJABBERD_DOMAIN,
  EXAMPLE_DOMAIN,
  EXAMPLE_MUC_DOMAIN,
  HOSTING_HOST,
  issueHosting,
  PROPER_DOMAIN,
  PROPER_MUC_DOMAIN,
  serializeCertificate,
  type HostingKind,
  type TestbedCertificates,
} from './certificates.ts';
import { dnsSockets } from './dnsmasq.ts';
import {
  addRosterItem,
  EJABBERD_STOP_GRACE_MS,
  ejabberdPaths,
  ejabberdRuntime,
  ejabberdSockets,
  registerAccount,
  startEjabberdProcess,
  writeEjabberdConfig,
  type EjabberdSetup,
} from './ejabberd.ts';
import { nginxSockets, readAccessLog, startNginxProcess, type NginxSetup } from './nginx.ts';
import type { IssuedCertificate } from './pki.ts';
import { formatSocket, stopServer, waitUntilFree, type ServerProcess, type SocketAddress } from './processes.ts';
import { TestbedError } from './programs.ts';
import {
  forgetOccupantsLua,
  PROSODY_PORTS,
  prosodyPaths,
  prosodySockets,
  reloadProsody,
  runProsodyShell,
  startProsodyProcess,
  writeAccount,
  writeProsodyConfig,
  writeRoster,
  type ProsodySetup,
  type RosterEntry,
} from './prosody.ts';
import { DEFAULT_USERS, type ResolvedAddresses, type ServerName, type ServerStatus, type Testbed, type TestbedCertificateSet, type TestbedState } from './types.ts';
import { fingerprintsFiles, PRESENTED_KIND, publicationFor, VARIANTS, type VariantName } from './variants.ts';
import { publish, readableDir, type WebrootLayout } from './webroot.ts';
import { probeXmpp } from './xmpp-probe.ts';

export interface Running {
  dns: ServerProcess | null;
  nginx: ServerProcess | null;
  prosody: ServerProcess | null;
  ejabberd: ServerProcess | null;
  reaper: number | null;
}

export interface MachineSetup {
  runtimeDir: string;
  dirs: Record<'certs' | 'prosody' | 'prosodyTls' | 'ejabberd' | 'nginx' | 'www' | 'dns', string>;
  addresses: ResolvedAddresses;
  certificates: TestbedCertificates;
  scramIterations: number;
  archiveItemLimit?: number | undefined;
  programs: Record<string, string>;
  /** Mutual subscriptions written before Prosody starts, or given to ejabberd once it runs. */
  contacts: ReadonlyArray<readonly [RosterEntry, RosterEntry]>;
  running: Running;
  saveRecord: () => Promise<void>;
  log: (line: string) => void;
}

const KIND_KEY: Record<HostingKind, 'hosting' | 'expired' | 'selfSigned'> = {
  valid: 'hosting',
  expired: 'expired',
  'self-signed': 'selfSigned',
};

type XmppServer = 'prosody' | 'ejabberd';

const domainOf = (jid: string): string => jid.slice(jid.indexOf('@') + 1).toLowerCase();

/**
 * Each user's roster: the other side of every pair they are in. Both of a pair must be testbed users
 * of one server, since the servers have no server-to-server links.
 */
export function contactRosters(
  contacts: MachineSetup['contacts'],
  users: Readonly<Record<string, string>>,
  serverOf: (domain: string) => XmppServer | null,
): Map<string, RosterEntry[]> {
  const rosters = new Map<string, RosterEntry[]>();
  for (const pair of contacts) {
    for (const [owner, contact] of [[pair[0], pair[1]], [pair[1], pair[0]]] as const) {
      if (!(owner.jid in users)) {
        throw new TestbedError('TESTBED_BAD_OPTION', `${owner.jid} is not a testbed user, so it cannot have contacts; users: ${Object.keys(users).join(', ')}.`);
      }
      if (serverOf(domainOf(owner.jid)) !== serverOf(domainOf(contact.jid))) {
        throw new TestbedError('TESTBED_BAD_OPTION', `${owner.jid} and ${contact.jid} are on different servers, which the testbed does not link: pair users of one server.`);
      }
      rosters.set(owner.jid, [...(rosters.get(owner.jid) ?? []), contact]);
    }
  }
  return rosters;
}

/** The live testbed's state and the operations on it, one at a time. */
export class TestbedMachine {
  private readonly setup: MachineSetup;
  private readonly prosodySetup: ProsodySetup;
  private readonly ejabberdSetup: EjabberdSetup;
  private readonly rosters: Map<string, RosterEntry[]>;
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
      ports: addresses.xmppPorts ?? PROSODY_PORTS,
      scramIterations: setup.scramIterations,
      archiveItemLimit: setup.archiveItemLimit,
      hosts: [
        { domain: EXAMPLE_DOMAIN, certPath: join(dirs.prosodyTls, `${EXAMPLE_DOMAIN}.pem`), keyPath: join(dirs.prosodyTls, `${EXAMPLE_DOMAIN}.key`) },
        // proper.example keeps the RFC 6120 login only: SASL, a stream restart, resource binding.
        { domain: PROPER_DOMAIN, certPath: certificates.proper.certPath, keyPath: certificates.proper.keyPath, legacyLogin: true },
      ],
      mucs: [
        { domain: EXAMPLE_MUC_DOMAIN },
        // Rooms on a domain that is not the users' own, proven to servers by PKIX (its DNS-ID is in proper.example's certificate).
        { domain: PROPER_MUC_DOMAIN, tls: { certPath: certificates.proper.certPath, keyPath: certificates.proper.keyPath } },
      ],
    };
    this.ejabberdSetup = {
      dir: dirs.ejabberd,
      address: addresses.ejabberd,
      domain: EJABBERD_DOMAIN,
      certPath: certificates.ejabberd.certPath,
      keyPath: certificates.ejabberd.keyPath,
      caPath: certificates.ca.certPath,
    };
    this.webroot = {
      roots: {
        [EXAMPLE_DOMAIN]: join(dirs.www, EXAMPLE_DOMAIN),
        [HOSTING_HOST]: join(dirs.www, HOSTING_HOST),
        [EJABBERD_DOMAIN]: join(dirs.www, EJABBERD_DOMAIN),
      },
      redirectFlag: join(dirs.www, `${EXAMPLE_DOMAIN}.redirect`),
    };
    this.rosters = contactRosters(setup.contacts, DEFAULT_USERS, (domain) => this.serverOf(domain));
  }

  private serverOf(domain: string): XmppServer | null {
    if (this.prosodySetup.hosts.some((host) => host.domain === domain)) return 'prosody';
    return domain === this.ejabberdSetup.domain ? 'ejabberd' : null;
  }

  private defaultUsersOf(server: XmppServer): Array<[string, string]> {
    return Object.entries(DEFAULT_USERS).filter(([jid]) => this.serverOf(domainOf(jid)) === server);
  }

  private rostersOf(server: XmppServer): Array<[string, RosterEntry[]]> {
    return [...this.rosters].filter(([owner]) => this.serverOf(domainOf(owner)) === server);
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
        // Both without POSH: a check finds none (404) over a certificate that names them (PKIX).
        ...[PROPER_DOMAIN, PROPER_MUC_DOMAIN].map((serverName) => ({
          serverName, address: addresses.xmpp,
          certPath: certificates.proper.certPath, keyPath: certificates.proper.keyPath,
        })),
        {
          serverName: EJABBERD_DOMAIN, address: addresses.web,
          certPath: certificates.exampleOrg.certPath, keyPath: certificates.exampleOrg.keyPath,
          webroot: this.webroot.roots[EJABBERD_DOMAIN],
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
    await Promise.all(this.defaultUsersOf('prosody').map(([jid, password]) => this.writeUser(jid, password)));
    const data = prosodyPaths(this.setup.dirs.prosody).data;
    await Promise.all(this.rostersOf('prosody').map(([owner, entries]) => writeRoster(data, owner, entries)));
    await this.launchProsody();
  }

  /** ejabberd on an empty spool: accounts and rosters go through its API once it runs. */
  async startFreshEjabberd(): Promise<void> {
    await writeEjabberdConfig(this.ejabberdSetup);
    await this.launchEjabberd();
    await Promise.all(this.defaultUsersOf('ejabberd').map(([jid, password]) => this.registerOnEjabberd(jid, password)));
    await Promise.all(
      this.rostersOf('ejabberd').flatMap(([owner, entries]) => entries.map((entry) => addRosterItem(this.ejabberdSetup, owner, entry))),
    );
  }

  private async launchEjabberd(): Promise<void> {
    const runtime = await ejabberdRuntime(this.setup.programs.ejabberdctl!);
    const ejabberd = await startEjabberdProcess(runtime, this.ejabberdSetup);
    this.setup.running.ejabberd = ejabberd;
    await this.setup.saveRecord();
    this.setup.log(`ejabberd on ${ejabberdSockets(this.ejabberdSetup.address).map(formatSocket).join(', ')} (PID ${ejabberd.pid})`);
  }

  private async registerOnEjabberd(jid: string, password: string): Promise<void> {
    if (this.setup.running.ejabberd === null) {
      throw new TestbedError('TESTBED_NOT_RUNNING', `ejabberd is stopped, so ${jid} cannot be registered: call startEjabberd() first.`);
    }
    await registerAccount(this.ejabberdSetup, jid.slice(0, jid.indexOf('@')), password);
    this.users[jid] = password;
  }

  private async launchProsody(): Promise<void> {
    const prosody = await startProsodyProcess(this.setup.programs.prosody!, this.prosodySetup);
    this.setup.running.prosody = prosody;
    await this.setup.saveRecord();
    this.setup.log(`prosody on ${prosodySockets(this.prosodySetup.address, this.prosodySetup.ports).map(formatSocket).join(', ')} (PID ${prosody.pid})`);
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
    const publication = publicationFor(variant, presented.der, this.setup.certificates.other.der);
    // Variants are example.com's; example.org always publishes ejabberd's certificate directly.
    publication.files[EJABBERD_DOMAIN] = fingerprintsFiles(this.setup.certificates.ejabberd.der);
    await publish(this.webroot, publication);
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
      port: tls === 'direct' ? this.prosodySetup.ports.directTls : this.prosodySetup.ports.starttls,
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
      const server = this.serverOf(host);
      if (server === null) {
        throw new TestbedError('TESTBED_BAD_OPTION', `${domain} is not served by the testbed; use ${EXAMPLE_DOMAIN} or ${PROPER_DOMAIN} (Prosody) or ${EJABBERD_DOMAIN} (ejabberd).`);
      }
      const jid = `${local.toLowerCase()}@${host}`;
      if (server === 'prosody') await this.writeUser(jid, password);
      else await this.registerOnEjabberd(jid, password);
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
      await waitUntilFree(prosodySockets(this.prosodySetup.address, this.prosodySetup.ports), 5000);
    });
  }

  startProsody(): Promise<void> {
    return this.serialized(async () => {
      if (this.setup.running.prosody === null) await this.launchProsody();
    });
  }

  forgetMucOccupants(roomJid: string): Promise<number> {
    return this.serialized(async () => {
      const room = roomJid.toLowerCase();
      const services = (this.prosodySetup.mucs ?? []).map((muc) => muc.domain);
      if (!room.includes('@') || !services.includes(room.slice(room.indexOf('@') + 1))) {
        throw new TestbedError('TESTBED_BAD_OPTION', `${roomJid} is not a room of Prosody's chat services (${services.join(', ')}).`);
      }
      if (this.setup.running.prosody === null) {
        throw new TestbedError('TESTBED_NOT_RUNNING', `Prosody is stopped, so ${roomJid} has no occupants to forget: call startProsody() first.`);
      }
      const output = await runProsodyShell(this.setup.programs.prosody!, this.prosodySetup, forgetOccupantsLua(room));
      const count = /Result: (\d+)/.exec(output)?.[1];
      if (count === undefined) throw new TestbedError('TESTBED_PROSODY_SHELL', `Prosody's admin shell answered "${output}" for ${roomJid}, not a number of occupants.`);
      this.setup.log(`${room} forgot its ${count} occupant(s)`);
      return Number(count);
    });
  }

  stopEjabberd(): Promise<void> {
    return this.serialized(async () => {
      const ejabberd = this.setup.running.ejabberd;
      if (ejabberd === null) return;
      await stopServer(ejabberd, EJABBERD_STOP_GRACE_MS);
      this.setup.running.ejabberd = null;
      await this.setup.saveRecord();
      await waitUntilFree(ejabberdSockets(this.ejabberdSetup.address), 5000);
    });
  }

  /** Starts ejabberd again on the spool it left: the accounts and rosters are still there. */
  startEjabberd(): Promise<void> {
    return this.serialized(async () => {
      if (this.setup.running.ejabberd === null) await this.launchEjabberd();
    });
  }

  /** Each server's PID and sockets, for the state. */
  serverStatus(): Record<ServerName, ServerStatus> {
    const { running, addresses } = this.setup;
    const status = (server: ServerProcess | null, sockets: SocketAddress[]): ServerStatus => ({ pid: server?.pid ?? null, sockets: sockets.map(formatSocket) });
    return {
      dnsmasq: status(running.dns, dnsSockets(addresses.dns)),
      nginx: status(running.nginx, nginxSockets(this.nginxSetup())),
      prosody: status(running.prosody, prosodySockets(this.prosodySetup.address, this.prosodySetup.ports)),
      ejabberd: status(running.ejabberd, ejabberdSockets(this.ejabberdSetup.address)),
    };
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

export function facadeOf(machine: TestbedMachine, startupMs: number, controlSocket: string, stopAll: () => Promise<void>): Testbed {
  const setup = machine.parts;
  const certificateSet = (): TestbedCertificateSet => ({
    ca: setup.certificates.ca,
    hosting: setup.certificates.hosting,
    example: setup.certificates.example,
    proper: setup.certificates.proper,
    expired: setup.certificates.expired,
    selfSigned: setup.certificates.selfSigned,
    other: setup.certificates.other,
    ejabberd: setup.certificates.ejabberd,
    exampleOrg: setup.certificates.exampleOrg,
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
    forgetMucOccupants: (roomJid) => machine.forgetMucOccupants(roomJid),
    ejabberdLog: () => readFile(ejabberdPaths(setup.dirs.ejabberd).log, 'utf8').catch(() => ''),
    ejabberdPid: async () => setup.running.ejabberd?.pid ?? null,
    stopEjabberd: () => machine.stopEjabberd(),
    startEjabberd: () => machine.startEjabberd(),
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
      servers: machine.serverStatus(),
      startupMs,
    }),
    stop: () => (stopping ??= machine.serialized(stopAll)),
  };
  return testbed;
}
