// A real DNS server on loopback: dnsmasq answering only from the records given, NXDOMAIN for the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import type { SocketAddress } from './processes.ts';

export interface SrvSpec {
  /** Full owner name, e.g. `_xmpp-client._tcp.example.com`. */
  name: string;
  /** Omit (or `.`) to publish "service not offered" (RFC 2782). */
  target?: string;
  port?: number;
  priority?: number;
  weight?: number;
}

export interface DnsRecords {
  srv?: SrvSpec[];
  /** host name to addresses (IPv4 and IPv6 mixed). */
  hosts?: Record<string, string[]>;
}

export interface RunningDns {
  /** `IP:PORT`, as the resolver option takes it. */
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/** What dnsmasq binds for `IP:PORT`: UDP and TCP. */
export function dnsSockets(dns: string): SocketAddress[] {
  const [ip = '', port = ''] = dns.split(':');
  return [
    { protocol: 'udp', ip, port: Number(port) },
    { protocol: 'tcp', ip, port: Number(port) },
  ];
}

export function dnsmasqArguments(listen: string, port: number, records: DnsRecords): string[] {
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--bind-interfaces',
    `--listen-address=${listen}`,
    `--port=${port}`,
    '--user=root',
    '--group=root',
    // Every name is local: unknown names get NXDOMAIN, never a forward.
    '--local=/#/',
    '--log-facility=-',
  ];
  for (const srv of records.srv ?? []) {
    const target = srv.target && srv.target !== '.' ? srv.target : undefined;
    args.push(
      target === undefined
        ? `--srv-host=${srv.name}`
        : `--srv-host=${srv.name},${target},${srv.port ?? 5222},${srv.priority ?? 0},${srv.weight ?? 0}`,
    );
  }
  // One --host-record per address: within one option dnsmasq keeps a single address per family.
  for (const [host, addresses] of Object.entries(records.hosts ?? {})) {
    for (const address of addresses) args.push(`--host-record=${host},${address}`);
  }
  return args;
}

async function waitUntilAnswering(address: string, child: ChildProcess): Promise<void> {
  const probe = new Resolver({ timeout: 100, tries: 1 });
  probe.setServers([address]);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}`);
    try {
      await probe.resolve4('readiness.invalid');
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`dnsmasq on ${address} did not answer within 5 s`);
}

/** Starts dnsmasq on `listen:port` with exactly `records`; stop() kills it by PID. */
export async function startDnsmasq(listen: string, port: number, records: DnsRecords): Promise<RunningDns> {
  const child = spawn('dnsmasq', dnsmasqArguments(listen, port, records), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(new Error(`dnsmasq could not start (is the dnsmasq-base package installed?): ${error.message}`)),
    );
  });
  const address = `${listen}:${port}`;
  try {
    await waitUntilAnswering(address, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`, { cause: error });
  }
  return {
    address,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
