// The delaying TCP proxy in front of a real TCP server: it must add the round-trip time it
// promises (and the handshake's), pass every byte unchanged and in order, end connections the way
// the ends do, and count the round trips a client waited for.
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMs } from '../../src/lookup/clock.ts';
import { roundTripsOf, startDelayingTcp, type DelayingTcp } from '../support/delay-tcp.ts';

const SERVER = { host: '127.0.50.40', port: 7001 };
const PROXY = { host: '127.0.50.41', port: 7001 };
const RTT = 120;

let echo: Server;
let proxy: DelayingTcp;

beforeAll(async () => {
  // Echoes every chunk; ends its side when the client ends.
  echo = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  echo.listen(SERVER.port, SERVER.host);
  await once(echo, 'listening');
  proxy = await startDelayingTcp({ listen: PROXY, upstream: SERVER, rttMs: RTT });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

async function open(): Promise<Socket> {
  const socket = connect({ ...PROXY, noDelay: true, allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

/** Connects and sends `text` at once; resolves with the echo and the time from before the connect. */
async function connectAndExchange(text: string): Promise<{ socket: Socket; reply: string; ms: number }> {
  const startedAt = epochMs();
  const socket = await open();
  const { reply } = await exchange(socket, text);
  return { socket, reply, ms: epochMs() - startedAt };
}

/** Sends `text` and resolves with the echo and how long it took. */
async function exchange(socket: Socket, text: string): Promise<{ reply: string; ms: number }> {
  const sentAt = epochMs();
  let reply = '';
  const done = new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.length >= text.length) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  socket.write(text);
  await done;
  return { reply, ms: epochMs() - sentAt };
}

describe('delaying TCP proxy', () => {
  it.each([
    { rule: 'the first exchange costs the handshake RTT and its own RTT', exchanges: 1, first: 2 * RTT },
    { rule: 'each later exchange costs one RTT', exchanges: 3, first: 2 * RTT },
  ])('$rule', async ({ exchanges, first }) => {
    proxy.clear();
    const opened = await connectAndExchange('ping 0');
    const { socket } = opened;
    try {
      expect(opened.reply).toBe('ping 0');
      const timings: number[] = [opened.ms];
      for (let index = 1; index < exchanges; index += 1) {
        const text = `ping ${index} ${'x'.repeat(index * 1000)}`;
        const { reply, ms } = await exchange(socket, text);
        expect(reply).toBe(text);
        timings.push(ms);
      }
      // Never early; late only by timer granularity and scheduling.
      expect(timings[0]).toBeGreaterThanOrEqual(first);
      expect(timings[0]).toBeLessThan(first + 25);
      for (const later of timings.slice(1)) {
        expect(later).toBeGreaterThanOrEqual(RTT - 0.5);
        expect(later).toBeLessThan(RTT + 25);
      }
      const [record] = proxy.connections();
      expect(record && roundTripsOf(record)).toBe(1 + exchanges);
    } finally {
      socket.destroy();
    }
  });

  it('passes a large stream byte for byte and in order', async () => {
    const socket = await open();
    try {
      const payload = Buffer.alloc(3 * 1024 * 1024, 0);
      for (let index = 0; index < payload.length; index += 1) payload[index] = (index * 31) % 251;
      const received: Buffer[] = [];
      let size = 0;
      const done = new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          received.push(chunk);
          size += chunk.length;
          if (size >= payload.length) resolve();
        }),
      );
      socket.write(payload);
      await done;
      expect(Buffer.concat(received).equals(payload)).toBe(true);
    } finally {
      socket.destroy();
    }
  });

  it('a client that ends its side gets the rest of the reply, then the end', async () => {
    const socket = await open();
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.end('last words');
    await once(socket, 'end');
    expect(reply).toBe('last words');
    socket.destroy();
  });

  it.each([
    { rule: 'a negative RTT is refused', rtt: -1 },
    { rule: 'an RTT above 10 s is refused', rtt: 10_001 },
    { rule: 'a non-number RTT is refused', rtt: Number.NaN },
  ])('$rule', ({ rtt }) => {
    expect(() => proxy.setRtt(rtt)).toThrow(/round-trip time/);
  });
});
