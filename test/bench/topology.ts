// Where everything of the benchmark listens (127.0.50.0/24 only), the DNS records and POSH
// redirect chains of each size of scenario (a), and what DNS answers each name with: every name a
// client looks up points at a delaying proxy, never at a server directly. Pure.
import type { DnsRecords, SrvSpec } from '../../src/testbed/dnsmasq.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';

export const ADDRESSES = {
  /** The testbed (Prosody, its dnsmasq and nginx) the bench starts for itself. */
  testbed: { dns: '127.0.50.1:5353', web: '127.0.50.2', xmpp: '127.0.50.3', ejabberd: '127.0.50.7' },
  /** A second testbed with 10,000 SCRAM iterations, for scenario (c) only. */
  testbedManyIterations: { dns: '127.0.50.4:5353', web: '127.0.50.5', xmpp: '127.0.50.6' },
  /** The bench's own dnsmasq (port 5353), with the records of the current size. */
  dnsmasq: '127.0.50.10',
  /** The delaying DNS proxy clients ask (port 53, UDP and TCP). */
  dnsProxy: '127.0.50.11',
  /** example.com's HTTPS, delayed. */
  exampleProxy: '127.0.50.12',
  /** hosting.example.net and proper.example: HTTPS (443) and XMPP (5222, 5223), delayed. */
  hostingProxy: '127.0.50.13',
  /** The redirect hops' HTTPS, delayed. */
  hopProxy: '127.0.50.14',
  /** ejabberd.example.net (example.org's XMPP server, the second implementation): XMPP, delayed. */
  ejabberdProxy: '127.0.50.15',
  /** The bench's HTTPS host behind the web proxies (every POSH URL of the bench). */
  webHost: '127.0.50.20',
} as const;

export const DOMAIN = normalizeDomain('example.com');
export const HOSTING = 'hosting.example.net';
export const PROPER = 'proper.example';
/** The testbed's second server: example.org on ejabberd, delegated to ejabberd.example.net by POSH. */
export const ORG = 'example.org';
export const EJABBERD = 'ejabberd.example.net';
export const DNS_PORT = 53;
export const DNSMASQ_PORT = 5353;
export const XMPP_PORTS = { starttls: 5222, direct: 5223 } as const;

/** One size of scenario (a): how many SRV records example.com publishes and how many redirects its POSH URL takes. */
export interface PipelineSize {
  name: string;
  srvRecords: number;
  redirects: number;
}

export const PIPELINE_SIZES: readonly PipelineSize[] = [
  { name: 'S', srvRecords: 2, redirects: 0 },
  { name: 'M', srvRecords: 8, redirects: 1 },
  { name: 'L', srvRecords: 32, redirects: 3 },
];

export const hopHost = (index: number): string => `hop${index}.example.org`;
export const poshPath = '/.well-known/posh/xmpp-client.json';
export const poshUrlOf = (host: string): string => `https://${host}${poshPath}`;

/** The hosts a POSH retrieval visits, in order: example.com, the hops, and hosting.example.net when it redirects. */
export function redirectChain(redirects: number): string[] {
  if (!Number.isInteger(redirects) || redirects < 0 || redirects > 9) throw new RangeError(`redirects must be 0 to 9, not ${redirects}`);
  if (redirects === 0) return [DOMAIN];
  return [DOMAIN, ...Array.from({ length: redirects - 1 }, (_, index) => hopHost(index + 1)), HOSTING];
}

/** SRV targets of a size: hosting.example.net first, then aliases of the same server. */
export function srvTargets(count: number): string[] {
  return Array.from({ length: Math.max(1, count / 2) }, (_, index) => (index === 0 ? HOSTING : `xmpp${index}.${HOSTING}`));
}

/**
 * The records of one size. Half the SRV records are direct TLS, half STARTTLS, all at priority 0
 * with positive weights: a client puts direct TLS first (XEP-0368) and picks among the targets by
 * weight; every target is the same Prosody behind the same proxy, so any choice works.
 */
export function benchRecords(size: PipelineSize): DnsRecords {
  if (!Number.isInteger(size.srvRecords) || size.srvRecords < 2 || size.srvRecords % 2 !== 0) {
    throw new RangeError(`srvRecords must be an even number of at least 2, not ${size.srvRecords}`);
  }
  const targets = srvTargets(size.srvRecords);
  const srv: SrvSpec[] = [];
  for (const [index, target] of targets.entries()) {
    srv.push({ name: `_xmpps-client._tcp.${DOMAIN}`, target, port: XMPP_PORTS.direct, priority: 0, weight: 10 + index });
    srv.push({ name: `_xmpp-client._tcp.${DOMAIN}`, target, port: XMPP_PORTS.starttls, priority: 0, weight: 10 + index });
  }
  srv.push(
    { name: `_xmpps-client._tcp.${PROPER}`, target: PROPER, port: XMPP_PORTS.direct, priority: 0, weight: 10 },
    { name: `_xmpp-client._tcp.${PROPER}`, target: PROPER, port: XMPP_PORTS.starttls, priority: 0, weight: 10 },
    { name: `_xmpps-client._tcp.${ORG}`, target: EJABBERD, port: XMPP_PORTS.direct, priority: 0, weight: 10 },
  );
  const hosts: Record<string, string[]> = {
    [DOMAIN]: [ADDRESSES.exampleProxy],
    [PROPER]: [ADDRESSES.hostingProxy],
    [ORG]: [ADDRESSES.exampleProxy],
    [EJABBERD]: [ADDRESSES.ejabberdProxy],
  };
  for (const target of targets) hosts[target] = [ADDRESSES.hostingProxy];
  for (let index = 1; index < 10; index += 1) hosts[hopHost(index)] = [ADDRESSES.hopProxy];
  return { srv, hosts };
}
