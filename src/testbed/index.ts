// The testbed: real servers on loopback (dnsmasq, nginx, Prosody, ejabberd) with certificates made at start-up,
// for the integration, UI, demo and benchmark suites (docs/ARCHITECTURE.md#the-testbed).
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createTestbedCertificates, EJABBERD_DOMAIN, EJABBERD_HOST, EXAMPLE_DOMAIN, HOSTING_HOST, PROPER_DOMAIN, PROPER_MUC_DOMAIN } from './certificates.ts';
import { serveControl, type ControlServer } from './control.ts';
import { dnsmasqArguments, dnsSockets, type DnsRecords } from './dnsmasq.ts';
import { EJABBERD_PORTS, EJABBERD_STOP_GRACE_MS, ejabberdPaths, ejabberdSockets } from './ejabberd.ts';
import { facadeOf, TestbedMachine, type Running } from './machine.ts';
import { markerFor, PID_RECORD, readPidRecord, removePidRecord, stopRecorded, writePidRecord, type RecordedProcess } from './pid-record.ts';
import { describeBusy, formatSocket, isRunning, spawnServer, stopServer, waitUntilBound, waitUntilFree } from './processes.ts';
import { requirePrograms, TestbedError } from './programs.ts';
import { PROSODY_PORTS, prosodySockets, type XmppPorts } from './prosody.ts';
import { REAPER_MARKER, startReaper } from './reaper.ts';
import { DEFAULT_ADDRESSES, DEFAULT_RUNTIME_DIR, DEFAULT_SCRAM_ITERATIONS, type ResolvedAddresses, type Testbed, type TestbedAddresses, type TestbedOptions } from './types.ts';
import { readableDir } from './webroot.ts';

export * from './types.ts';
export { VARIANTS, VARIANT_DESCRIPTIONS, isVariant, type VariantName } from './variants.ts';
export { missingPrograms, missingProgramError, INSTALL_HINT, TestbedError } from './programs.ts';
export {
  EJABBERD_DOMAIN,
  EJABBERD_HOST,
  EJABBERD_MUC_DOMAIN,
  EXAMPLE_DOMAIN,
  EXAMPLE_MUC_DOMAIN,
  HOSTING_HOST,
  PROPER_DOMAIN,
  PROPER_MUC_DOMAIN,
  type SerializedCertificate,
} from './certificates.ts';
export { ejabberdAuthentications, EJABBERD_PORTS, type EjabberdAuthentication } from './ejabberd.ts';
export type { WebRequest } from './nginx.ts';
export { authenticationAttempts, PROSODY_PORTS, type XmppPorts } from './prosody.ts';
export { probeXmpp, loginPlain, type ProbeTarget, type ProbeResult } from './xmpp-probe.ts';
export type { IssuedCertificate } from './pki.ts';
export { connectTestbed, type RemoteTestbed } from './control.ts';


/** The IPv4 address after `ip` (127.0.0.3 -> 127.0.0.4), or null when there is none. */
function nextAddress(ip: string): string | null {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255) || octets[3] === 255) return null;
  return [...octets.slice(0, 3), octets[3]! + 1].join('.');
}

function parseAddresses(options: TestbedOptions): ResolvedAddresses {
  const addresses = { ...DEFAULT_ADDRESSES, ...options.addresses };
  const [dnsIp, dnsPort] = addresses.dns.split(':');
  if (!dnsIp || !dnsPort || !/^\d+$/.test(dnsPort)) {
    throw new TestbedError('TESTBED_BAD_OPTION', `The DNS address "${addresses.dns}" is not IP:PORT, e.g. 127.0.0.1:5353.`);
  }
  return { ...addresses, ejabberd: ejabberdAddressOf(addresses) };
}

/** ejabberd's address: the one given, or the address after Prosody's. */
function ejabberdAddressOf(addresses: TestbedAddresses): string {
  const ejabberd = addresses.ejabberd ?? nextAddress(addresses.xmpp);
  if (ejabberd === null) {
    throw new TestbedError('TESTBED_BAD_OPTION', `No address follows the XMPP address "${addresses.xmpp}" for ejabberd: give addresses.ejabberd.`);
  }
  return ejabberd;
}

/** Prosody's ports for these addresses. */
export function xmppPortsOf(addresses: TestbedAddresses): XmppPorts {
  return addresses.xmppPorts ?? PROSODY_PORTS;
}

export function dnsRecords(addresses: TestbedAddresses): DnsRecords {
  const ports = xmppPortsOf(addresses);
  const srv = (name: string, target: string, port: number) => ({ name, target, port, priority: 0, weight: 0 });
  return {
    srv: [
      // One priority for both, so a client puts direct TLS first (XEP-0368).
      srv(`_xmpp-client._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, ports.starttls),
      srv(`_xmpps-client._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, ports.directTls),
      srv(`_xmpp-server._tcp.${EXAMPLE_DOMAIN}`, HOSTING_HOST, ports.s2s),
      srv(`_xmpp-client._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, ports.starttls),
      srv(`_xmpps-client._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, ports.directTls),
      srv(`_xmpp-server._tcp.${PROPER_DOMAIN}`, PROPER_DOMAIN, ports.s2s),
      // A chat service is reached by servers only: proper.example's s2s port serves it too.
      srv(`_xmpp-server._tcp.${PROPER_MUC_DOMAIN}`, PROPER_DOMAIN, ports.s2s),
      srv(`_xmpp-client._tcp.${EJABBERD_DOMAIN}`, EJABBERD_HOST, EJABBERD_PORTS.starttls),
      srv(`_xmpps-client._tcp.${EJABBERD_DOMAIN}`, EJABBERD_HOST, EJABBERD_PORTS.directTls),
    ],
    hosts: {
      [EXAMPLE_DOMAIN]: [addresses.web],
      [HOSTING_HOST]: [addresses.xmpp],
      [PROPER_DOMAIN]: [addresses.xmpp],
      [PROPER_MUC_DOMAIN]: [addresses.xmpp],
      // example.org's POSH host shares example.com's address (nginx picks the site by SNI).
      [EJABBERD_DOMAIN]: [addresses.web],
      [EJABBERD_HOST]: [ejabberdAddressOf(addresses)],
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

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const addresses = parseAddresses(options);
  const scramIterations = options.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
  if (!Number.isInteger(scramIterations) || scramIterations < 4096) {
    throw new TestbedError('TESTBED_BAD_OPTION', `scramIterations must be an integer of at least 4096 (RFC 5802 minimum), not ${scramIterations}.`);
  }
  if (options.archiveItemLimit !== undefined && (!Number.isInteger(options.archiveItemLimit) || options.archiveItemLimit < 1)) {
    throw new TestbedError('TESTBED_BAD_OPTION', `archiveItemLimit must be a positive integer, not ${options.archiveItemLimit}.`);
  }
  const withEjabberd = options.ejabberd ?? true;
  const programs = await requirePrograms(options.programPath, withEjabberd);
  await checkPrivileges();

  const runtimeDir = resolve(options.runtimeDir ?? DEFAULT_RUNTIME_DIR);
  await readableDir(runtimeDir);
  await checkTraversable(runtimeDir);
  const recordPath = join(runtimeDir, PID_RECORD);
  await clearStaleRun(recordPath, log);

  const sockets = [
    ...dnsSockets(addresses.dns),
    { protocol: 'tcp' as const, ip: addresses.web, port: 443 },
    { protocol: 'tcp' as const, ip: addresses.xmpp, port: 443 },
    ...prosodySockets(addresses.xmpp, xmppPortsOf(addresses)),
    ...(withEjabberd ? ejabberdSockets(addresses.ejabberd) : []),
  ];
  const busy = await describeBusy(sockets);
  if (busy.length > 0) {
    throw new TestbedError(
      'TESTBED_PORT_BUSY',
      `${busy.length === 1 ? 'A socket the testbed needs is' : 'Sockets the testbed needs are'} taken: ${busy.join(', ')}. Stop what holds ${busy.length === 1 ? 'it' : 'them'}, or choose other loopback addresses, and start again.`,
    );
  }

  const dirs = {
    certs: join(runtimeDir, 'certs'),
    prosody: join(runtimeDir, 'prosody'),
    prosodyTls: join(runtimeDir, 'prosody', 'tls'),
    ejabberd: join(runtimeDir, 'ejabberd'),
    nginx: join(runtimeDir, 'nginx'),
    www: join(runtimeDir, 'www'),
    dns: join(runtimeDir, 'dns'),
  };
  await Promise.all(Object.values(dirs).map((dir) => rm(dir, { recursive: true, force: true })));
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
  const controlSocket = join(runtimeDir, 'control.sock');

  const running: Running = { dns: null, nginx: null, prosody: null, ejabberd: null, reaper: null };
  const recorded = (): RecordedProcess[] => {
    const entries: RecordedProcess[] = [];
    if (running.reaper !== null) entries.push({ name: 'reaper', pid: running.reaper, marker: REAPER_MARKER, group: true });
    for (const [server, program] of [[running.dns, programs.dnsmasq], [running.nginx, programs.nginx], [running.prosody, programs.prosody]] as const) {
      if (server) entries.push({ name: server.name, pid: server.pid, marker: markerFor(program!), group: true });
    }
    // ejabberd runs as beam.smp, so its spool directory (on its command line) is what names it.
    if (running.ejabberd) entries.push({ name: 'ejabberd', pid: running.ejabberd.pid, marker: ejabberdPaths(dirs.ejabberd).spool, group: true });
    return entries;
  };
  const saveRecord = () => writePidRecord(recordPath, { owner: process.pid, processes: recorded() });

  // The watchdog comes first, so that a crash at any later point leaves nothing running.
  running.reaper = startReaper(process.pid, recordPath);
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
    await Promise.all([
      ...[running.prosody, running.nginx, running.dns].filter((server) => server !== null).map((server) => stopServer(server)),
      ...(running.ejabberd ? [stopServer(running.ejabberd, EJABBERD_STOP_GRACE_MS)] : []),
    ]);
    running.prosody = running.nginx = running.dns = running.ejabberd = null;
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
      const machine = new TestbedMachine({ runtimeDir, dirs, addresses, certificates, scramIterations, archiveItemLimit: options.archiveItemLimit, programs, contacts: options.contacts ?? [], running, saveRecord, log }, options.variant ?? 'direct');
      await settleAll([machine.startWeb(), machine.startXmpp(), ...(withEjabberd ? [machine.startFreshEjabberd()] : [])]);
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
