// A TCP proxy that adds a round-trip time to a loopback connection, for benchmarks that need a
// network a reader can reproduce without netem. Every chunk is held RTT/2 in each direction, and
// the client's first bytes are held one RTT more: on loopback the kernel completes the TCP
// handshake at once, so that extra RTT stands for the SYN / SYN-ACK exchange a real network costs
// before a client can send anything. For protocols where the client speaks first (TLS, HTTP,
// XMPP) the client sees exactly what a link with that RTT would show.
// It also records the flights of each connection (runs of chunks in one direction), so a
// benchmark can count the round trips a protocol really made.
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { epochMs } from '../../src/lookup/clock.ts';

export interface Endpoint {
  host: string;
  port: number;
}

export interface DelayingTcpOptions {
  listen: Endpoint;
  upstream: Endpoint;
  /** Round-trip time added to the connection, in milliseconds. */
  rttMs: number;
}

export interface Flight {
  /** 'up': client to server; 'down': server to client. */
  direction: 'up' | 'down';
  /** Epoch milliseconds when the first chunk of the flight reached the proxy. */
  at: number;
  bytes: number;
}

export interface ConnectionRecord {
  openedAt: number;
  closedAt: number | null;
  flights: Flight[];
}

export interface DelayingTcp {
  readonly listen: Endpoint;
  /** Applies to connections accepted from now on. */
  setRtt(ms: number): void;
  /** Connections accepted since the start or the last clear(), oldest first (at most MAX_RECORDED). */
  connections(): ConnectionRecord[];
  clear(): void;
  stop(): Promise<void>;
}

const MAX_RECORDED = 10_000;
/** Bytes one direction may hold before the sender is paused: a slow proxy must not buffer without bound. */
const HIGH_WATER = 4 * 1024 * 1024;

function validRtt(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) throw new RangeError(`A round-trip time of ${ms} ms is not usable: give 0 to 10000 milliseconds.`);
  return ms;
}

/** Chunks released in order at their due times; one timer for the head of the queue. */
class DelayLine {
  readonly #queue: Array<{ due: number; chunk: Buffer | null }> = [];
  readonly #deliver: (chunk: Buffer | null) => void;
  readonly #onDrained: () => void;
  #wake: { cancel: () => void } | null = null;
  #held = 0;
  #closed = false;

  constructor(deliver: (chunk: Buffer | null) => void, onDrained: () => void) {
    this.#deliver = deliver;
    this.#onDrained = onDrained;
  }

  get held(): number {
    return this.#held;
  }

  /** Queues a chunk (null: the end of the stream) to leave at `due` (epoch ms). */
  push(chunk: Buffer | null, due: number): void {
    if (this.#closed) return;
    this.#queue.push({ due, chunk });
    this.#held += chunk?.length ?? 0;
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.cancel();
    this.#wake = null;
    this.#queue.length = 0;
  }

  #schedule(): void {
    if (this.#wake || this.#queue.length === 0 || this.#closed) return;
    const again = () => {
      this.#wake = null;
      this.#schedule();
    };
    // Timers fire up to a millisecond late: wake a little early, then wait out the rest turn by turn.
    const wait = this.#queue[0]!.due - epochMs();
    if (wait > 1.5) {
      const timer = setTimeout(again, Math.floor(wait - 1));
      this.#wake = { cancel: () => clearTimeout(timer) };
    } else if (wait > 0.05) {
      const immediate = setImmediate(again);
      this.#wake = { cancel: () => clearImmediate(immediate) };
    } else {
      this.#flush();
    }
  }

  #flush(): void {
    const now = epochMs();
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now + 0.05 && !this.#closed) {
      const { chunk } = this.#queue.shift()!;
      this.#held -= chunk?.length ?? 0;
      this.#deliver(chunk);
    }
    if (this.#held < HIGH_WATER) this.#onDrained();
    this.#schedule();
  }
}

export async function startDelayingTcp(options: DelayingTcpOptions): Promise<DelayingTcp> {
  let rtt = validRtt(options.rttMs);
  let records: ConnectionRecord[] = [];
  const sockets = new Set<Socket>();

  const record = (entry: ConnectionRecord, direction: Flight['direction'], bytes: number): void => {
    const last = entry.flights.at(-1);
    if (last?.direction === direction) last.bytes += bytes;
    else entry.flights.push({ direction, at: epochMs(), bytes });
  };

  const server: Server = createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    const acceptedAt = epochMs();
    const half = rtt / 2;
    const handshakeDone = acceptedAt + rtt;
    const entry: ConnectionRecord = { openedAt: acceptedAt, closedAt: null, flights: [] };
    records.push(entry);
    if (records.length > MAX_RECORDED) records.splice(0, records.length - MAX_RECORDED);
    const upstream = connect({ host: options.upstream.host, port: options.upstream.port, noDelay: true, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);

    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      entry.closedAt = epochMs();
      toServer.close();
      toClient.close();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };

    const toServer = new DelayLine(
      (chunk) => (chunk === null ? upstream.end() : void upstream.write(chunk)),
      () => client.resume(),
    );
    const toClient = new DelayLine(
      (chunk) => (chunk === null ? client.end() : void client.write(chunk)),
      () => upstream.resume(),
    );

    client.on('data', (chunk: Buffer) => {
      record(entry, 'up', chunk.length);
      // The first bytes wait for the handshake a real link would still be doing.
      toServer.push(chunk, Math.max(epochMs(), handshakeDone) + half);
      if (toServer.held >= HIGH_WATER) client.pause();
    });
    upstream.on('data', (chunk: Buffer) => {
      record(entry, 'down', chunk.length);
      toClient.push(chunk, epochMs() + half);
      if (toClient.held >= HIGH_WATER) upstream.pause();
    });
    client.on('end', () => toServer.push(null, Math.max(epochMs(), handshakeDone) + half));
    upstream.on('end', () => toClient.push(null, epochMs() + half));
    let closed = 0;
    for (const socket of [client, upstream]) {
      socket.on('error', finish);
      socket.on('close', (hadError: boolean) => {
        closed += 1;
        // A side that closed cleanly may leave a last chunk (or FIN) in flight to the other side.
        if (hadError || closed === 2) finish();
        else setTimeout(finish, rtt + 100).unref();
      });
    }
    client.resume();
  });
  server.on('error', () => undefined);

  try {
    server.listen(options.listen.port, options.listen.host);
    await once(server, 'listening');
  } catch (error) {
    throw new Error(`The delaying TCP proxy could not listen on ${options.listen.host}:${options.listen.port}: ${(error as Error).message}`, { cause: error });
  }

  return {
    listen: { ...options.listen },
    setRtt: (ms) => {
      rtt = validRtt(ms);
    },
    connections: () => records.map((entry) => ({ ...entry, flights: entry.flights.map((flight) => ({ ...flight })) })),
    clear: () => {
      records = [];
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
    },
  };
}

/**
 * The round trips a client waited for on one connection: the TCP handshake, plus every flight the
 * client sent that the server answered (a flight up followed by a flight down).
 */
export function roundTripsOf(connection: ConnectionRecord): number {
  let answered = 0;
  const { flights } = connection;
  for (let index = 0; index + 1 < flights.length; index += 1) {
    if (flights[index]!.direction === 'up' && flights[index + 1]!.direction === 'down') answered += 1;
  }
  return 1 + answered;
}
