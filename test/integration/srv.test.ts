// resolveSrv against real dnsmasq: record sets combined and ordered, `.` targets, fallback, DNS failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMs } from '../../src/lookup/clock.ts';
import { createResolver, type DnsResolver } from '../../src/lookup/resolver.ts';
import { resolveSrv } from '../../src/lookup/srv.ts';
import { startDnsmasq, type RunningDns, type SrvSpec } from '../../src/testbed/dnsmasq.ts';
import type { ConnectCandidate, ServiceName, SrvErrorCode, SrvRecord } from '../../src/verify/types.ts';
import { startDelayingDns, type DelayingDns } from '../support/delay-dns.ts';

const DNS_IP = '127.0.11.53';
const PROXY_IP = '127.0.11.54';
/** Nothing listens here: queries are refused by the kernel, a real DNS failure. */
const DEAD_DNS = '127.0.11.99:53';

const SRV: SrvSpec[] = [
  { name: '_xmpps-client._tcp.both.example', target: 'tls-a.both.example', port: 5223, priority: 0, weight: 0 },
  { name: '_xmpps-client._tcp.both.example', target: 'tls-b.both.example', port: 5223, priority: 10, weight: 0 },
  { name: '_xmpp-client._tcp.both.example', target: 'plain-a.both.example', port: 5222, priority: 0, weight: 0 },
  { name: '_xmpp-client._tcp.both.example', target: 'plain-b.both.example', port: 5222, priority: 5, weight: 0 },
  { name: '_xmpp-client._tcp.starttls-only.example', target: 'xmpp.hosting.example', port: 5222, priority: 0, weight: 0 },
  { name: '_xmpps-client._tcp.direct-only.example', target: 'xmpp.hosting.example', port: 5223, priority: 0, weight: 0 },
  { name: '_xmpps-client._tcp.dot-direct.example' },
  { name: '_xmpp-client._tcp.dot-direct.example', target: 'xmpp.hosting.example', port: 5222, priority: 0, weight: 0 },
  { name: '_xmpp-client._tcp.dot-starttls.example' },
  { name: '_xmpps-client._tcp.dot-starttls.example', target: 'xmpp.hosting.example', port: 5223, priority: 0, weight: 0 },
  { name: '_xmpp-client._tcp.dot-alone.example' },
  { name: '_xmpps-client._tcp.dot-both.example' },
  { name: '_xmpp-client._tcp.dot-both.example' },
  { name: '_xmpps-server._tcp.server.example', target: 's2s-tls.hosting.example', port: 5270, priority: 0, weight: 0 },
  { name: '_xmpp-server._tcp.server.example', target: 's2s.hosting.example', port: 5269, priority: 1, weight: 0 },
  { name: '_xmpp-client._tcp.server.example', target: 'c2s.hosting.example', port: 5222, priority: 0, weight: 0 },
];

const HOSTS: Record<string, string[]> = {
  'tls-a.both.example': ['127.0.11.31', 'fd11::31'],
  'tls-b.both.example': ['127.0.11.32'],
  'plain-a.both.example': ['fd11::33'],
  'plain-b.both.example': ['127.0.11.34', '127.0.11.35'],
};

const srv = (host: string, port: number, tls: 'direct' | 'starttls'): ConnectCandidate => ({ host, port, tls, source: 'srv' });
const fallback = (host: string, port: number): ConnectCandidate => ({ host, port, tls: 'starttls', source: 'fallback' });
const byTarget = (records: SrvRecord[]) => [...records].sort((a, b) => a.target.localeCompare(b.target));

const BOTH_RECORDS: SrvRecord[] = [
  { target: 'plain-a.both.example', port: 5222, priority: 0, weight: 0, tls: 'starttls' },
  { target: 'plain-b.both.example', port: 5222, priority: 5, weight: 0, tls: 'starttls' },
  { target: 'tls-a.both.example', port: 5223, priority: 0, weight: 0, tls: 'direct' },
  { target: 'tls-b.both.example', port: 5223, priority: 10, weight: 0, tls: 'direct' },
];

interface Row {
  name: string;
  domain: string;
  service: ServiceName;
  records: SrvRecord[];
  candidates: ConnectCandidate[];
  error: SrvErrorCode | null;
  message?: RegExp[];
}

const HOSTING_STARTTLS: SrvRecord = { target: 'xmpp.hosting.example', port: 5222, priority: 0, weight: 0, tls: 'starttls' };
const HOSTING_DIRECT: SrvRecord = { target: 'xmpp.hosting.example', port: 5223, priority: 0, weight: 0, tls: 'direct' };

const ROWS: Row[] = [
  {
    name: 'XEP-0368 3 and RFC 2782: both record sets combined, by priority, direct TLS first on a tie',
    domain: 'both.example',
    service: 'xmpp-client',
    records: BOTH_RECORDS,
    candidates: [srv('tls-a.both.example', 5223, 'direct'), srv('plain-a.both.example', 5222, 'starttls'), srv('plain-b.both.example', 5222, 'starttls'), srv('tls-b.both.example', 5223, 'direct')],
    error: null,
  },
  {
    name: 'RFC 4343: the domain is matched case-insensitively, trailing dot or not',
    domain: 'Both.EXAMPLE.',
    service: 'xmpp-client',
    records: BOTH_RECORDS,
    candidates: [srv('tls-a.both.example', 5223, 'direct'), srv('plain-a.both.example', 5222, 'starttls'), srv('plain-b.both.example', 5222, 'starttls'), srv('tls-b.both.example', 5223, 'direct')],
    error: null,
  },
  {
    name: 'RFC 6120 3.2.1: only STARTTLS records',
    domain: 'starttls-only.example',
    service: 'xmpp-client',
    records: [HOSTING_STARTTLS],
    candidates: [srv('xmpp.hosting.example', 5222, 'starttls')],
    error: null,
  },
  {
    name: 'XEP-0368 3: only direct-TLS records',
    domain: 'direct-only.example',
    service: 'xmpp-client',
    records: [HOSTING_DIRECT],
    candidates: [srv('xmpp.hosting.example', 5223, 'direct')],
    error: null,
  },
  {
    name: 'RFC 2782 and XEP-0368 3: "." for direct TLS, STARTTLS records used',
    domain: 'dot-direct.example',
    service: 'xmpp-client',
    records: [HOSTING_STARTTLS],
    candidates: [srv('xmpp.hosting.example', 5222, 'starttls')],
    error: null,
  },
  {
    name: 'RFC 2782 and XEP-0368 3: "." for STARTTLS, direct-TLS records used',
    domain: 'dot-starttls.example',
    service: 'xmpp-client',
    records: [HOSTING_DIRECT],
    candidates: [srv('xmpp.hosting.example', 5223, 'direct')],
    error: null,
  },
  {
    name: 'RFC 6120 3.2.1 step 3: a lone "." and no other records means no service, no fallback',
    domain: 'dot-alone.example',
    service: 'xmpp-client',
    records: [],
    candidates: [],
    error: 'SRV_NO_SERVICE',
    message: [/^dot-alone\.example publishes "_xmpp-client\._tcp\.dot-alone\.example SRV 0 0 \d+ \.": it does not offer XMPP client service\.$/],
  },
  {
    name: 'RFC 6120 3.2.1 step 3: "." in both sets means no service',
    domain: 'dot-both.example',
    service: 'xmpp-client',
    records: [],
    candidates: [],
    error: 'SRV_NO_SERVICE',
    message: [/"_xmpps-client\._tcp\.dot-both\.example SRV 0 0 \d+ \." and "_xmpp-client\._tcp\.dot-both\.example SRV 0 0 \d+ \."/, /does not offer XMPP client service\.$/],
  },
  {
    name: 'RFC 6120 3.2.2: no records at all falls back to the domain on 5222 with STARTTLS',
    domain: 'none.example',
    service: 'xmpp-client',
    records: [],
    candidates: [fallback('none.example', 5222)],
    error: null,
  },
  {
    name: 'RFC 6120 3.2.2: no server records falls back to the domain on 5269',
    domain: 'none.example',
    service: 'xmpp-server',
    records: [],
    candidates: [fallback('none.example', 5269)],
    error: null,
  },
  {
    name: 'RFC 6120 3.2.1 and XEP-0368 3: xmpp-server uses the _xmpps-server and _xmpp-server records only',
    domain: 'server.example',
    service: 'xmpp-server',
    records: [
      { target: 's2s-tls.hosting.example', port: 5270, priority: 0, weight: 0, tls: 'direct' },
      { target: 's2s.hosting.example', port: 5269, priority: 1, weight: 0, tls: 'starttls' },
    ],
    candidates: [srv('s2s-tls.hosting.example', 5270, 'direct'), srv('s2s.hosting.example', 5269, 'starttls')],
    error: null,
  },
  {
    name: 'RFC 6120 3.2.1: xmpp-client ignores the server records of the same domain',
    domain: 'server.example',
    service: 'xmpp-client',
    records: [{ target: 'c2s.hosting.example', port: 5222, priority: 0, weight: 0, tls: 'starttls' }],
    candidates: [srv('c2s.hosting.example', 5222, 'starttls')],
    error: null,
  },
];

/**
 * Sends the direct-TLS query to a dead server and everything else to dnsmasq: a real failure of one
 * lookup beside a real answer to the other, which one DNS server alone does not produce.
 */
function directLookupFails(working: DnsResolver, failing: DnsResolver): DnsResolver {
  return { ...working, resolveSrv: (name) => (name.startsWith('_xmpps-') ? failing.resolveSrv(name) : working.resolveSrv(name)) };
}

describe('resolveSrv against dnsmasq', () => {
  let dns: RunningDns;
  let resolver: DnsResolver;
  const dead = createResolver({ server: DEAD_DNS, timeoutMs: 300 });

  beforeAll(async () => {
    dns = await startDnsmasq(DNS_IP, 53, { srv: SRV, hosts: HOSTS });
    resolver = createResolver({ server: dns.address, timeoutMs: 1000 });
  });

  afterAll(async () => {
    await dns?.stop();
  });

  it.each(ROWS)('$name', async ({ domain, service, records, candidates, error, message }) => {
    const result = await resolveSrv(domain, service, resolver);
    expect(byTarget(result.records)).toEqual(byTarget(records));
    expect(result.candidates).toEqual(candidates);
    expect(result.error?.code ?? null).toBe(error);
    for (const pattern of message ?? []) expect(result.error?.message).toMatch(pattern);
  });

  it('RFC 6120 3.2.1 step 9: a DNS server that does not answer gives DNS_FAILED, quickly, with the fallback', async () => {
    const started = epochMs();
    const result = await resolveSrv('both.example', 'xmpp-client', dead);
    expect(epochMs() - started).toBeLessThan(1500);
    expect(result.records).toEqual([]);
    expect(result.candidates).toEqual([fallback('both.example', 5222)]);
    expect(result.error?.code).toBe('DNS_FAILED');
    expect(result.error?.message).toMatch(/_xmpp-client\._tcp\.both\.example.* falls back to both\.example port 5222 with STARTTLS/);
  });

  it.each([
    {
      name: 'RFC 6120 3.2.1: one lookup failed, the other has records: use them, report DNS_FAILED',
      domain: 'both.example',
      candidates: [srv('plain-a.both.example', 5222, 'starttls'), srv('plain-b.both.example', 5222, 'starttls')],
      error: 'DNS_FAILED',
      message: /_xmpps-client\._tcp\.both\.example.*Only the STARTTLS servers of both\.example are tried/,
    },
    {
      name: 'RFC 6120 3.2.1 step 3: one lookup failed, the other says ".": SRV_NO_SERVICE, no fallback',
      domain: 'dot-alone.example',
      candidates: [],
      error: 'SRV_NO_SERVICE',
      message: /does not offer XMPP client service over STARTTLS\. DNS lookup of _xmpps-client\._tcp\.dot-alone\.example failed/,
    },
    {
      name: 'RFC 6120 3.2.1 step 9: one lookup failed, the other has no records: DNS_FAILED with the fallback',
      domain: 'none.example',
      candidates: [fallback('none.example', 5222)],
      error: 'DNS_FAILED',
      message: /_xmpps-client\._tcp\.none\.example.* falls back to none\.example port 5222/,
    },
  ])('$name', async ({ domain, candidates, error, message }) => {
    const result = await resolveSrv(domain, 'xmpp-client', directLookupFails(resolver, dead));
    expect(result.candidates).toEqual(candidates);
    expect(result.error?.code).toBe(error);
    expect(result.error?.message).toMatch(message);
  });

  it("ARCHITECTURE#the-connection-pipeline step 3: each candidate's A and AAAA resolve through the same resolver, IPv6 first", async () => {
    const { candidates } = await resolveSrv('both.example', 'xmpp-client', resolver);
    const resolved = await Promise.all(candidates.map(async ({ host }) => [host, await resolver.resolveAddresses(host)] as const));
    expect(Object.fromEntries(resolved)).toEqual({
      'tls-a.both.example': [{ address: 'fd11::31', family: 6 }, { address: '127.0.11.31', family: 4 }],
      'plain-a.both.example': [{ address: 'fd11::33', family: 6 }],
      'plain-b.both.example': expect.arrayContaining([{ address: '127.0.11.34', family: 4 }, { address: '127.0.11.35', family: 4 }]),
      'tls-b.both.example': [{ address: '127.0.11.32', family: 4 }],
    });
    expect(resolved.find(([host]) => host === 'plain-b.both.example')?.[1]).toHaveLength(2);
  });

  describe('through a proxy that holds every answer 300 ms', () => {
    let proxy: DelayingDns;

    beforeAll(async () => {
      proxy = await startDelayingDns(PROXY_IP, 53, dns.address, 300);
    });

    afterAll(async () => {
      await proxy?.stop();
    });

    it('ARCHITECTURE#the-connection-pipeline step 1: both owner names are queried together, not one after the other', async () => {
      const started = epochMs();
      const result = await resolveSrv('both.example', 'xmpp-client', createResolver({ server: proxy.address, timeoutMs: 2000 }));
      const elapsed = epochMs() - started;
      expect(result.candidates).toHaveLength(4);
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(550);
      const queries = proxy.queries.filter((query) => query.type === 'SRV');
      expect(queries.map((query) => query.name).sort()).toEqual(['_xmpp-client._tcp.both.example', '_xmpps-client._tcp.both.example']);
      const firstAnswer = Math.min(...queries.map((query) => query.answeredAt ?? Infinity));
      expect(queries.every((query) => query.receivedAt < firstAnswer)).toBe(true);
    });
  });
});
