// Work the first connection would otherwise do on its critical path, done while the app waits for
// the user instead: reading and indexing the system roots, building the trust store of each anchor
// set (tens of milliseconds each; OpenSSL verifies the XMPP and HTTPS chains against it), and one
// rehearsal each of a POSH retrieval and of the verdict, whose code runs slowly the first time
// (measured by `npm run bench`, scenario a).
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Agent } from 'undici';
import { normalizeDomain } from '../verify/domain.ts';
import { fingerprintsOf } from '../verify/fingerprints.ts';
import { decideVerdict } from '../verify/verdict.ts';
import { systemRootsPem, trustStore, warmSystemAnchors } from './anchors.ts';
import { POSH_DEFAULTS, poshUrl, retrieve } from './posh-fetch.ts';

const REHEARSAL_DOMAIN = normalizeDomain('warm-up.invalid');

// What the rehearsal's in-memory server answers: a fingerprints document of a reserved name.
const REHEARSAL_RESPONSE = (() => {
  const body = JSON.stringify({ fingerprints: [{ 'sha-256': Buffer.alloc(32).toString('base64') }], expires: 60 });
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
})();

/**
 * A socket whose peer answers the first request head with REHEARSAL_RESPONSE, in memory. undici
 * only reads, writes and tunes it, so a stream with no-op tuning stands in for the net.Socket.
 */
function rehearsalSocket(): Socket {
  let head = '';
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      head += chunk.toString('latin1');
      // Answered on a later turn, as a real peer would: undici counts the request as running only
      // after the write returns.
      if (head.includes('\r\n\r\n')) {
        setImmediate(() => {
          socket.push(REHEARSAL_RESPONSE);
          socket.push(null);
        });
      }
      callback();
    },
  });
  return Object.assign(socket, { setNoDelay: () => socket, setKeepAlive: () => socket, setTimeout: () => socket }) as unknown as Socket;
}

/**
 * One retrieval over an in-memory socket: undici compiles its HTTP parser on the first connection
 * of the process (about 15 ms), which would otherwise fall on the first login's critical path.
 * Nothing leaves the process.
 */
export async function rehearseRetrieval(): Promise<void> {
  const agent = new Agent({
    connect: (_options, callback) => {
      const socket = rehearsalSocket();
      queueMicrotask(() => callback(null, socket));
    },
  });
  const url = poshUrl(REHEARSAL_DOMAIN, 'xmpp-client');
  try {
    await retrieve(url, { agent, signal: AbortSignal.timeout(POSH_DEFAULTS.timeoutMs), steps: [], maxBytes: POSH_DEFAULTS.maxBytes, maxRedirects: 0, current: url });
  } finally {
    await agent.destroy();
  }
}

/**
 * Decides a verdict on a certificate nobody presented (a system root, published as POSH material
 * of a reserved name), so that the first real verdict runs on compiled code. Nothing leaves the process.
 */
export function rehearseVerdict(): void {
  const [pem] = systemRootsPem();
  if (pem === undefined) return;
  const der = new X509Certificate(pem).raw;
  decideVerdict({
    domain: REHEARSAL_DOMAIN,
    service: 'xmpp-client',
    chain: [der],
    posh: {
      domain: REHEARSAL_DOMAIN, service: 'xmpp-client', url: `https://${REHEARSAL_DOMAIN}/.well-known/posh/xmpp-client.json`,
      status: 'valid', error: null, steps: [], fingerprints: [fingerprintsOf(der)], expires: 60,
      fetchedAt: null, expiresAt: null, fromCache: false,
    },
    pkix: { trusted: false, error: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', reason: 'self-signed certificate' }, anchor: null, nameConstrained: false, permittedDns: [], excludedDns: [] },
    now: new Date(),
  });
}

/**
 * Warms the trust stores for each set of extra anchors (the empty set: the system roots alone),
 * then runs `more` (e.g. each account's own anchors), one piece per event-loop turn so nothing
 * else waits long. Never throws: an anchor that cannot be read is reported when a connection uses it.
 */
export async function warmTrustStores(anchorSets: readonly (readonly string[])[], more: ReadonlyArray<() => void> = []): Promise<void> {
  const seen = new Set<string>();
  const pieces: Array<() => void | Promise<void>> = [warmSystemAnchors, rehearseVerdict, rehearseRetrieval, ...more];
  for (const anchors of anchorSets) {
    const key = anchors.join('\n');
    if (seen.has(key)) continue;
    seen.add(key);
    pieces.push(() => void trustStore(anchors));
  }
  for (const piece of pieces) {
    await nextTurn();
    try {
      await piece();
    } catch {
      // reported by the connection that uses these anchors
    }
  }
}
