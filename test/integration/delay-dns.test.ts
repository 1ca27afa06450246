// The delaying proxy in front of real dnsmasq: it must really hold answers and must not alter them.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMs } from '../../src/lookup/clock.ts';
import { createResolver, parseResolverAddress } from '../../src/lookup/resolver.ts';
import { startDnsmasq, type RunningDns } from '../../src/testbed/dnsmasq.ts';
import { startDelayingDns, type DelayingDns } from '../support/delay-dns.ts';

const DNS_IP = '127.0.11.53';
const PROXY_IP = '127.0.11.54';

const TYPES = { A: 1, AAAA: 28, SRV: 33 } as const;

function encodeQuery(id: number, name: string, type: keyof typeof TYPES): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')]));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(TYPES[type], 1);
  tail.writeUInt16BE(1, 3); // class IN
  return Buffer.concat([header, ...labels, tail]);
}

/** Sends one raw query and waits (at most 5 s) for its answer. */
async function ask(server: string, query: Buffer): Promise<{ answer: Buffer; sentAt: number; arrivedAt: number }> {
  const { host, port } = parseResolverAddress(server);
  const socket = createSocket('udp4');
  try {
    const arrival = once(socket, 'message', { signal: AbortSignal.timeout(5000) });
    const sentAt = epochMs();
    socket.send(query, port, host);
    const [answer] = (await arrival) as [Buffer];
    return { answer, sentAt, arrivedAt: epochMs() };
  } finally {
    socket.close();
  }
}

describe('delaying DNS proxy in front of dnsmasq', () => {
  let dns: RunningDns;
  let proxy: DelayingDns;

  beforeAll(async () => {
    dns = await startDnsmasq(DNS_IP, 53, {
      srv: [
        { name: '_xmpp-client._tcp.delayed.example', target: 'xmpp.delayed.example', port: 5222, priority: 5, weight: 10 },
        { name: '_xmpp-client._tcp.single.example', target: 'xmpp.single.example', port: 5222, priority: 5, weight: 10 },
      ],
      // dnsmasq rotates the additional section when a target has several addresses, so the
      // byte-for-byte rows ask only about names whose answers cannot vary.
      hosts: { 'xmpp.delayed.example': ['127.0.11.20', 'fd11::20'], 'xmpp.single.example': ['127.0.11.21'] },
    });
    proxy = await startDelayingDns(PROXY_IP, 53, dns.address, 300);
  });

  afterAll(async () => {
    await proxy?.stop();
    await dns?.stop();
  });

  it.each([
    { name: 'an SRV answer is held for the delay', qname: '_xmpp-client._tcp.delayed.example', type: 'SRV', delay: 300 },
    { name: 'an A answer is held for the delay', qname: 'xmpp.delayed.example', type: 'A', delay: 250 },
    { name: 'an AAAA answer is held for the delay', qname: 'xmpp.delayed.example', type: 'AAAA', delay: 200 },
  ] as const)('$name, logged with its receive and answer times', async ({ qname, type, delay }) => {
    proxy.setDelay(delay);
    const logged = proxy.queries.length;
    const { sentAt, arrivedAt } = await ask(proxy.address, encodeQuery(0x1234, qname, type));
    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(delay);
    const entry = proxy.queries[logged];
    expect(entry).toMatchObject({ name: qname, type });
    expect(entry!.receivedAt).toBeGreaterThanOrEqual(sentAt);
    expect(entry!.answeredAt! - entry!.receivedAt).toBeGreaterThanOrEqual(delay);
    expect(entry!.answeredAt!).toBeLessThanOrEqual(arrivedAt);
  });

  it.each([
    { name: 'SRV', qname: '_xmpp-client._tcp.single.example', type: 'SRV' },
    { name: 'A', qname: 'xmpp.delayed.example', type: 'A' },
    { name: 'AAAA', qname: 'xmpp.delayed.example', type: 'AAAA' },
    { name: 'NXDOMAIN', qname: 'missing.delayed.example', type: 'A' },
  ] as const)('passes the $name answer through byte for byte', async ({ qname, type }) => {
    proxy.setDelay(20);
    const query = encodeQuery(0xbeef, qname, type);
    const direct = await ask(dns.address, query);
    const proxied = await ask(proxy.address, query);
    expect(proxied.answer.readUInt16BE(0)).toBe(0xbeef);
    expect(proxied.answer.equals(direct.answer)).toBe(true);
  });

  it('gives a resolver the same records as dnsmasq itself', async () => {
    proxy.setDelay(20);
    const viaProxy = createResolver({ server: proxy.address });
    const direct = createResolver({ server: dns.address });
    expect(await viaProxy.resolveSrv('_xmpp-client._tcp.delayed.example')).toEqual([{ name: 'xmpp.delayed.example', port: 5222, priority: 5, weight: 10 }]);
    expect(await viaProxy.resolveAddresses('xmpp.delayed.example')).toEqual(await direct.resolveAddresses('xmpp.delayed.example'));
  });

  it('setDelay changes the delay of later queries, shorter and longer', async () => {
    const query = encodeQuery(7, '_xmpp-client._tcp.delayed.example', 'SRV');
    proxy.setDelay(30);
    const short = await ask(proxy.address, query);
    proxy.setDelay(600);
    const long = await ask(proxy.address, query);
    expect(short.arrivedAt - short.sentAt).toBeGreaterThanOrEqual(30);
    expect(short.arrivedAt - short.sentAt).toBeLessThan(300);
    expect(long.arrivedAt - long.sentAt).toBeGreaterThanOrEqual(600);
  });

  it('refuses a delay that is not a number of milliseconds', () => {
    expect(() => proxy.setDelay(-1)).toThrow(/0 or more/);
    expect(() => proxy.setDelay(Number.NaN)).toThrow(/0 or more/);
  });
});
