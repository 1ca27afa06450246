// A UDP DNS proxy that holds every answer for a set time, so tests and benchmarks can see what runs
// while a lookup is outstanding. It records when each query arrived and when its answer left.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { epochMs } from '../../src/lookup/clock.ts';
import { parseResolverAddress } from '../../src/lookup/resolver.ts';

export interface ProxiedQuery {
  name: string;
  type: string;
  /** Epoch milliseconds (src/lookup/clock.ts). */
  receivedAt: number;
  /** null until the answer is sent; stays null when the upstream never answered. */
  answeredAt: number | null;
}

export interface DelayingDns {
  /** `IP:PORT`, as the resolver option takes it. */
  address: string;
  /** Applies to queries received from now on; above MAX_HOLD_MS (10 s) answers are dropped, like a server that never answers. */
  setDelay(ms: number): void;
  /** Oldest first; at most MAX_LOGGED entries. */
  queries: ProxiedQuery[];
  stop(): Promise<void>;
}

/** An upstream that has not answered by then never will; its socket is closed. */
const UPSTREAM_TIMEOUT_MS = 5000;
/** Answers due later than this after their query are dropped: no client waits that long. */
const MAX_HOLD_MS = 10_000;
const MAX_LOGGED = 10_000;
const MAX_IN_FLIGHT = 1000;

const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY' };

/** Name and type of the first question; null for anything that is not a plausible DNS query. */
export function parseQuestion(message: Buffer): { name: string; type: string } | null {
  if (message.length < 12 || message.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = message[offset];
    // Compression pointers (0xc0) do not occur in the question of a query; refuse them.
    if (length === undefined || length > 63) return null;
    offset += 1;
    if (length === 0) break;
    if (offset + length > message.length) return null;
    labels.push(message.toString('latin1', offset, offset + length));
    offset += length;
  }
  if (offset + 4 > message.length) return null;
  const type = message.readUInt16BE(offset);
  return { name: labels.join('.'), type: TYPE_NAMES[type] ?? `TYPE${type}` };
}

function validDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`A delay of ${ms} ms is not usable: give a finite number of milliseconds, 0 or more.`);
  return ms;
}

/** Waits the proxy cancels on stop: they resolve at once (with false), so no relay waits forever. */
class Sleeper {
  readonly #waiting = new Map<NodeJS.Timeout, (finished: boolean) => void>();

  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(timer);
        resolve(true);
      }, ms);
      this.#waiting.set(timer, resolve);
    });
  }

  /** Sleeps until `due` (epoch ms): timers may fire a fraction of a millisecond early. */
  async until(due: number): Promise<boolean> {
    for (let remaining = due - epochMs(); remaining > 0; remaining = due - epochMs()) {
      if (!(await this.sleep(Math.ceil(remaining)))) return false;
    }
    return true;
  }

  cancelAll(): void {
    for (const [timer, resolve] of this.#waiting) {
      clearTimeout(timer);
      resolve(false);
    }
    this.#waiting.clear();
  }
}

export async function startDelayingDns(listenIp: string, port: number, upstream: string, delayMs: number): Promise<DelayingDns> {
  const target = parseResolverAddress(upstream);
  const family = listenIp.includes(':') ? 'udp6' : 'udp4';
  const upstreamFamily = target.host.includes(':') ? 'udp6' : 'udp4';
  let delay = validDelay(delayMs);
  let stopped = false;
  let inFlight = 0;
  const queries: ProxiedQuery[] = [];
  const sleeper = new Sleeper();

  const listener = createSocket({ type: family });
  listener.on('error', () => {
    // A send to a client that went away: that query is simply not answered.
  });

  const upstreamSockets = new Set<Socket>();

  /** Asks the upstream from a fresh socket (so concurrent queries never mix); null when it does not answer in time. */
  const askUpstream = async (message: Buffer): Promise<Buffer | null> => {
    const socket = createSocket({ type: upstreamFamily });
    upstreamSockets.add(socket);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<Buffer | null>((resolve) => {
        socket.once('message', resolve);
        socket.once('error', () => resolve(null));
        socket.once('close', () => resolve(null));
        timer = setTimeout(() => resolve(null), UPSTREAM_TIMEOUT_MS);
        socket.send(message, target.port, target.host);
      });
    } finally {
      clearTimeout(timer);
      if (upstreamSockets.delete(socket)) socket.close();
    }
  };

  const relay = async (message: Buffer, client: RemoteInfo, entry: ProxiedQuery, due: number) => {
    const reply = await askUpstream(message);
    if (reply === null || stopped || due - entry.receivedAt > MAX_HOLD_MS) return;
    if (!(await sleeper.until(due)) || stopped) return;
    entry.answeredAt = epochMs();
    listener.send(reply, client.port, client.address);
  };

  listener.on('message', (message: Buffer, client: RemoteInfo) => {
    const receivedAt = epochMs();
    const question = parseQuestion(message);
    if (question === null || inFlight >= MAX_IN_FLIGHT) return;
    const entry: ProxiedQuery = { ...question, receivedAt, answeredAt: null };
    queries.push(entry);
    if (queries.length > MAX_LOGGED) queries.splice(0, queries.length - MAX_LOGGED);
    inFlight += 1;
    void relay(message, client, entry, receivedAt + delay)
      .catch(() => undefined)
      .finally(() => {
        inFlight -= 1;
      });
  });

  try {
    listener.bind(port, listenIp);
    await once(listener, 'listening');
  } catch (error) {
    listener.close();
    throw new Error(`The delaying DNS proxy could not listen on ${listenIp}:${port}: ${(error as Error).message}`, { cause: error });
  }
  const bound = listener.address();

  return {
    address: family === 'udp6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`,
    setDelay: (ms: number) => {
      delay = validDelay(ms);
    },
    queries,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      sleeper.cancelAll();
      for (const socket of [...upstreamSockets]) {
        upstreamSockets.delete(socket);
        socket.close();
      }
      const closed = once(listener, 'close');
      listener.close();
      await closed;
    },
  };
}
