// The benchmark's network: its own dnsmasq (the records of the current size), the latency layer in
// a process of its own (test/bench/network-process.ts), and the HTTPS host that publishes
// example.com's POSH material (with the redirect chain of the current size). Every server is
// stopped by PID in stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDnsmasq, type RunningDns } from '../../src/testbed/dnsmasq.ts';
import type { Testbed } from '../../src/testbed/index.ts';
import { issueWith, type IssuedCertificate } from '../../src/testbed/pki.ts';
import { fingerprintsOf } from '../../src/verify/fingerprints.ts';
import type { ConnectionRecord } from '../support/delay-tcp.ts';
import { startHttpsHosts, type HttpsHosts } from '../support/https-hosts.ts';
import type { NetworkReply, NetworkRequest, NetworkSpec } from './network-process.ts';
import {
  ADDRESSES, benchRecords, DNS_PORT, DNSMASQ_PORT, DOMAIN, hopHost, HOSTING, ORG, poshUrlOf, PROPER, redirectChain, XMPP_PORTS,
  type PipelineSize,
} from './topology.ts';

/** What the latency layer adds. Each number is a round-trip time; see README "Benchmarks". */
export interface Delays {
  /** Per DNS answer (UDP), and per round trip of DNS over TCP. */
  dnsMs: number;
  /** Per round trip to every HTTPS host (TCP handshake, TLS flights, each request). */
  webMs: number;
  /** Per round trip to the XMPP server. */
  xmppMs: number;
}

export interface BenchNetwork {
  /** `IP:PORT` of the delaying resolver. */
  readonly resolver: string;
  readonly web: HttpsHosts;
  /** Publishes the DNS records and the redirect chain of `size`. */
  setSize(size: PipelineSize): Promise<void>;
  /** Every connection each TCP proxy carried since the last clear(). */
  connections(): Promise<Record<string, ConnectionRecord[]>>;
  clear(): Promise<void>;
  stop(): Promise<void>;
}

const NETWORK_PROCESS = join(import.meta.dirname, 'network-process.ts');
const HOPS = 9;

function networkSpec(testbed: Testbed, delays: Delays): NetworkSpec {
  const web = { host: ADDRESSES.webHost, port: 443 };
  const xmpp = testbed.addresses.xmpp;
  return {
    dns: { listen: { host: ADDRESSES.dnsProxy, port: DNS_PORT }, upstream: `${ADDRESSES.dnsmasq}:${DNSMASQ_PORT}`, delayMs: delays.dnsMs },
    tcp: [
      { name: 'dns-tcp', listen: { host: ADDRESSES.dnsProxy, port: DNS_PORT }, upstream: { host: ADDRESSES.dnsmasq, port: DNSMASQ_PORT }, rttMs: delays.dnsMs },
      { name: 'web-example', listen: { host: ADDRESSES.exampleProxy, port: 443 }, upstream: web, rttMs: delays.webMs },
      { name: 'web-hosting', listen: { host: ADDRESSES.hostingProxy, port: 443 }, upstream: web, rttMs: delays.webMs },
      { name: 'web-hops', listen: { host: ADDRESSES.hopProxy, port: 443 }, upstream: web, rttMs: delays.webMs },
      { name: 'xmpp-direct', listen: { host: ADDRESSES.hostingProxy, port: XMPP_PORTS.direct }, upstream: { host: xmpp, port: XMPP_PORTS.direct }, rttMs: delays.xmppMs },
      { name: 'xmpp-starttls', listen: { host: ADDRESSES.hostingProxy, port: XMPP_PORTS.starttls }, upstream: { host: xmpp, port: XMPP_PORTS.starttls }, rttMs: delays.xmppMs },
      { name: 'ejabberd-direct', listen: { host: ADDRESSES.ejabberdProxy, port: XMPP_PORTS.direct }, upstream: { host: testbed.addresses.ejabberd, port: XMPP_PORTS.direct }, rttMs: delays.xmppMs },
    ],
  };
}

type Question = { type: 'connections' } | { type: 'clear' };

/** The latency layer as a child process; resolves once every listener is bound. */
async function startNetworkProcess(spec: NetworkSpec): Promise<{ child: ChildProcess; ask: (question: Question) => Promise<NetworkReply> }> {
  const child = spawn(process.execPath, [NETWORK_PROCESS], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, (reply: NetworkReply) => void>();
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('The latency layer did not start within 10 s.')), 10_000);
    child.on('message', (reply: NetworkReply) => {
      if (reply.type === 'reply') {
        waiting.get(reply.id)?.(reply);
        waiting.delete(reply.id);
      } else if (reply.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else {
        clearTimeout(timer);
        reject(new Error(`The latency layer could not start: ${reply.message}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The latency layer exited (${code}) before it was ready.`));
    });
  });
  try {
    await once(child, 'spawn');
    child.send({ type: 'start', spec } satisfies NetworkRequest);
    await ready;
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  const ask = (question: Question): Promise<NetworkReply> =>
    new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      child.send({ ...question, id } satisfies NetworkRequest);
    });
  return { child, ask };
}

/** Ends a child by PID: the IPC channel first (it leaves by itself), SIGKILL after 3 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), sleep(3000, false)]);
  if (!gone && child.pid !== undefined) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
}

function fingerprintsDocument(der: Uint8Array): string {
  return `${JSON.stringify({ fingerprints: [fingerprintsOf(der)], expires: 86_400 })}\n`;
}

export interface NetworkOptions {
  testbed: Testbed;
  delays: Delays;
  /** Scratch directory for the hop certificates. */
  dir: string;
}

export async function startBenchNetwork({ testbed, delays, dir }: NetworkOptions): Promise<BenchNetwork> {
  const { certificates } = testbed;
  const hops: IssuedCertificate[] = [];
  for (let index = 1; index <= HOPS; index += 1) {
    hops.push(await issueWith(dir, certificates.ca, { name: hopHost(index), commonName: hopHost(index), dnsNames: [hopHost(index)] }));
  }
  const started: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    started.length = 0;
  };
  try {
    const web = await startHttpsHosts([
      {
        address: ADDRESSES.webHost,
        certificates: {
          [DOMAIN]: certificates.example,
          [HOSTING]: certificates.hosting,
          [PROPER]: certificates.proper,
          [ORG]: certificates.exampleOrg,
          ...Object.fromEntries(hops.map((hop, index) => [hopHost(index + 1), hop])),
        },
      },
    ]);
    started.push(() => web.stop());
    const network = await startNetworkProcess(networkSpec(testbed, delays));
    started.push(() => stopChild(network.child));
    let dns: RunningDns | null = null;
    started.push(async () => {
      await dns?.stop();
    });

    const document = fingerprintsDocument(certificates.presented.der);
    const orgDocument = fingerprintsDocument(certificates.ejabberd.der);
    const setSize = async (size: PipelineSize): Promise<void> => {
      await dns?.stop();
      dns = null;
      dns = await startDnsmasq(ADDRESSES.dnsmasq, DNSMASQ_PORT, benchRecords(size));
      web.routes.clear();
      const chain = redirectChain(size.redirects);
      for (const [index, host] of chain.entries()) {
        const next = chain[index + 1];
        web.routes.set(poshUrlOf(host), (_request, response) => {
          if (next) {
            response.writeHead(302, { location: poshUrlOf(next), 'content-length': '0' });
            response.end();
          } else {
            response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(document)) });
            response.end(document);
          }
        });
      }
      web.routes.set(poshUrlOf(ORG), (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(orgDocument)) });
        response.end(orgDocument);
      });
    };
    await setSize({ name: 'S', srvRecords: 2, redirects: 0 });

    return {
      resolver: `${ADDRESSES.dnsProxy}:${DNS_PORT}`,
      web,
      setSize,
      connections: async () => {
        const reply = await network.ask({ type: 'connections' });
        return reply.type === 'reply' && reply.value ? reply.value : {};
      },
      clear: async () => {
        web.requests.length = 0;
        await network.ask({ type: 'clear' });
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
