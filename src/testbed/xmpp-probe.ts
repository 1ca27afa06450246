// A hand-made XMPP client, just enough to see what a server presents: the stream header, STARTTLS
// or direct TLS with SNI, and optionally a SASL PLAIN login. The testbed uses it to know when a
// certificate swap has taken effect; tests use it to check the testbed.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { TestbedError } from './programs.ts';

export interface ProbeTarget {
  address: string;
  port: number;
  tls: 'starttls' | 'direct';
  /** The stream's `to` and the SNI name. */
  domain: string;
  timeoutMs?: number;
}

export interface ProbeResult {
  /** DER of the certificate the server presented. */
  der: Buffer;
  protocol: string | null;
  /** The stream features the server offered after TLS (e.g. the SASL mechanisms). */
  features: string;
}

const streamHeader = (domain: string): string =>
  `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;

/** Reads from `socket` until `pattern` matches what arrived since the last call. */
class Reader {
  private buffer = '';
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.waiter?.();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.failure ??= new Error('the server closed the connection');
      this.waiter?.();
    });
  }

  async until(pattern: RegExp, what: string): Promise<string> {
    for (;;) {
      const match = pattern.exec(this.buffer);
      if (match) {
        const upTo = match.index + match[0].length;
        const seen = this.buffer.slice(0, upTo);
        this.buffer = this.buffer.slice(upTo);
        return seen;
      }
      if (this.failure) throw new Error(`waiting for ${what}: ${this.failure.message}; received: ${this.buffer.slice(0, 300)}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }

  detach(): void {
    this.socket.removeAllListeners('data');
  }
}

async function withDeadline<T>(target: ProbeTarget, work: (track: (s: Socket) => void) => Promise<T>): Promise<T> {
  const sockets: Socket[] = [];
  const timeoutMs = target.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work((s) => sockets.push(s)), deadline]);
  } catch (error) {
    throw new TestbedError(
      'TESTBED_PROBE_FAILED',
      `XMPP probe of ${target.address}:${target.port} (${target.tls}, ${target.domain}) failed: ${(error as Error).message}.`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
  }
}

async function startTls(target: ProbeTarget, track: (s: Socket) => void): Promise<Socket> {
  const tcp = netConnect({ host: target.address, port: target.port });
  track(tcp);
  await new Promise<void>((resolve, reject) => tcp.once('connect', resolve).once('error', reject));
  const reader = new Reader(tcp);
  tcp.write(streamHeader(target.domain));
  const features = await reader.until(/<\/stream:features>/, 'stream features');
  if (!features.includes('urn:ietf:params:xml:ns:xmpp-tls')) throw new Error('the server offers no STARTTLS');
  tcp.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  await reader.until(/<proceed[^>]*\/>|<proceed[^>]*>\s*<\/proceed>/, '<proceed/>');
  reader.detach();
  return tcp;
}

async function openTls(target: ProbeTarget, track: (s: Socket) => void): Promise<TLSSocket> {
  const socket = target.tls === 'starttls' ? await startTls(target, track) : undefined;
  // The verdict is not the probe's business: accept whatever is presented and report it.
  const tls = tlsConnect({
    ...(socket ? { socket } : { host: target.address, port: target.port }),
    servername: target.domain,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  });
  track(tls);
  await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
  return tls;
}

/** Connects, negotiates TLS with SNI `domain`, and reports the certificate and the post-TLS features. */
export async function probeXmpp(target: ProbeTarget): Promise<ProbeResult> {
  return withDeadline(target, async (track) => {
    const tls = await openTls(target, track);
    const der = tls.getPeerCertificate(false).raw;
    const reader = new Reader(tls);
    tls.write(streamHeader(target.domain));
    const features = await reader.until(/<\/stream:features>/, 'stream features after TLS');
    tls.end(`</stream:stream>`);
    return { der, protocol: tls.getProtocol(), features };
  });
}

/** A SASL PLAIN login after TLS: resolves true on <success/>, false on <failure/>. */
export async function loginPlain(target: ProbeTarget, local: string, password: string): Promise<boolean> {
  return withDeadline(target, async (track) => {
    const tls = await openTls(target, track);
    const reader = new Reader(tls);
    tls.write(streamHeader(target.domain));
    const features = await reader.until(/<\/stream:features>/, 'stream features after TLS');
    if (!features.includes('<mechanism>PLAIN</mechanism>')) throw new Error('the server does not offer SASL PLAIN');
    const response = Buffer.from(`\0${local}\0${password}`, 'utf8').toString('base64');
    tls.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${response}</auth>`);
    const outcome = await reader.until(/<success[^>]*(\/>|>[^<]*<\/success>)|<failure[\s\S]*?<\/failure>/, 'the SASL outcome');
    return outcome.includes('<success');
  });
}
