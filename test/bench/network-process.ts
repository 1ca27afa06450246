// The benchmark's latency layer as a process of its own: the delaying DNS proxy (UDP) and the
// delaying TCP proxies, so that their timers never wait for CPU work of the client being measured.
// Driven over the IPC channel by test/bench/network.ts; exits when that channel closes.
import { startDelayingDns, type DelayingDns } from '../support/delay-dns.ts';
import { startDelayingTcp, type ConnectionRecord, type DelayingTcp, type Endpoint } from '../support/delay-tcp.ts';

export interface TcpProxySpec {
  name: string;
  listen: Endpoint;
  upstream: Endpoint;
  rttMs: number;
}

export interface NetworkSpec {
  /** UDP: answers held `delayMs` each. */
  dns: { listen: Endpoint; upstream: string; delayMs: number };
  tcp: TcpProxySpec[];
}

export type NetworkRequest =
  | { type: 'start'; spec: NetworkSpec }
  | { type: 'connections'; id: number }
  | { type: 'clear'; id: number };

export type NetworkReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'reply'; id: number; value: Record<string, ConnectionRecord[]> | null };

let dns: DelayingDns | null = null;
const proxies = new Map<string, DelayingTcp>();

const send = (reply: NetworkReply): void => {
  process.send?.(reply);
};

async function start(spec: NetworkSpec): Promise<void> {
  dns = await startDelayingDns(spec.dns.listen.host, spec.dns.listen.port, spec.dns.upstream, spec.dns.delayMs);
  for (const proxy of spec.tcp) {
    proxies.set(proxy.name, await startDelayingTcp({ listen: proxy.listen, upstream: proxy.upstream, rttMs: proxy.rttMs }));
  }
}

async function stopAll(): Promise<void> {
  await Promise.all([dns?.stop(), ...[...proxies.values()].map((proxy) => proxy.stop())]);
  proxies.clear();
  dns = null;
}

process.on('message', (message: NetworkRequest) => {
  switch (message.type) {
    case 'start':
      start(message.spec).then(
        () => send({ type: 'ready' }),
        (error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
      );
      break;
    case 'connections':
      send({ type: 'reply', id: message.id, value: Object.fromEntries([...proxies].map(([name, proxy]) => [name, proxy.connections()])) });
      break;
    case 'clear':
      for (const proxy of proxies.values()) proxy.clear();
      send({ type: 'reply', id: message.id, value: null });
      break;
  }
});

// The parent went away (finished, or crashed): stop listening and leave.
process.once('disconnect', () => {
  void stopAll().finally(() => process.exit(0));
});
