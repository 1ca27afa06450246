// The verifying TLS layer: reach TLS with a candidate (STARTTLS or direct TLS, SNI = the user's
// domain), hand the presented chain to the judge, and give the socket back only when it is proven.
// Nothing but the stream header and <starttls/> is ever written before the verdict.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Element } from '@xmpp/xml';
import type { TrustStore } from '../lookup/anchors.ts';
import { lookUpAddresses } from '../lookup/delegation.ts';
import { DnsError, type DnsResolver } from '../lookup/resolver.ts';
import type { StepRecorder } from '../lookup/steps.ts';
import { DnaError, messageOf } from '../verify/errors.ts';
import type { ChainVerification, ConnectCandidate, ConnectionFacts, Domain, ServiceName, Verdict } from '../verify/types.ts';
import { chainVerificationOf, presentedCertificates } from './peer-chain.ts';
import { BEFORE_TLS_LIMITS, XmppStreamParser } from './stream-parser.ts';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams';

export type { ConnectionFacts };

export interface Judged {
  verdict: Verdict;
}

export interface SecureConnectOptions<J extends Judged> {
  domain: Domain;
  service: ServiceName;
  candidates: readonly ConnectCandidate[];
  resolver: DnsResolver;
  recorder: StepRecorder;
  /** The roots OpenSSL verifies the server's chain against in the handshake. */
  trust: TrustStore;
  /** Decides on the presented chain (in the order sent, leaf first) and OpenSSL's verification of it. */
  judge: (chain: Buffer[], pkix: ChainVerification, connection: ConnectionFacts) => Promise<J>;
  /** Budget for one address: TCP, STARTTLS and the handshake. */
  attemptTimeoutMs?: number;
  /** Address lookups the pipeline already started, by host; each is used once, instead of a new lookup. */
  prefetched?: Map<string, Promise<string[]>>;
  signal?: AbortSignal;
}

/**
 * Why no candidate could even be judged, finer than the verdict's code: the session decides from it
 * whether to retry, and the user reads it in words (failure.ts).
 */
export type ConnectCause =
  | 'no-such-domain'
  | 'no-address'
  | 'dns-timeout'
  | 'dns-failed'
  | 'connection-refused'
  | 'connect-timeout'
  | 'connect-failed'
  | 'tls-failed';

export type SecureConnectResult<J extends Judged> =
  | { ok: true; socket: TLSSocket; connection: ConnectionFacts; judgement: J }
  | { ok: false; code: 'CONNECT_FAILED' | 'TLS_HANDSHAKE_FAILED'; cause: ConnectCause; reason: string; connection: ConnectionFacts | null }
  | { ok: false; code: 'REFUSED'; reason: string; connection: ConnectionFacts; judgement: J };

class AttemptError extends DnaError<'CONNECT_FAILED' | 'TLS_HANDSHAKE_FAILED'> {}

/** RFC 6120 4.8.2: a client stream's content namespace is jabber:client, a server stream's jabber:server. */
const contentNamespace = (service: ServiceName): string => (service === 'xmpp-server' ? 'jabber:server' : 'jabber:client');

function streamHeader(domain: string, service: ServiceName): string {
  return `<?xml version='1.0'?><stream:stream xmlns='${contentNamespace(service)}' xmlns:stream='${NS_STREAM}' to='${domain}' version='1.0'>`;
}

/** The cause of a failed address lookup; NXDOMAIN for the domain itself (the RFC 6120 3.2.2 fallback) means it does not exist. */
function lookupCause(error: unknown, candidate: ConnectCandidate): ConnectCause {
  if (!(error instanceof DnsError)) return 'dns-failed';
  if (error.kind === 'no-such-name') return candidate.source === 'fallback' ? 'no-such-domain' : 'no-address';
  if (error.kind === 'no-address') return 'no-address';
  return error.kind === 'timeout' ? 'dns-timeout' : 'dns-failed';
}

/** The cause of a failed TCP connection or handshake. */
function connectCause(error: unknown): ConnectCause {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  // A handshake that never finished timed out; that is what the user must read, not "TLS failed".
  if ((cause as Error | undefined)?.name === 'TimeoutError' || code === 'ETIMEDOUT') return 'connect-timeout';
  if (error instanceof AttemptError && error.code === 'TLS_HANDSHAKE_FAILED') return 'tls-failed';
  if (code === 'ECONNREFUSED') return 'connection-refused';
  return 'connect-failed';
}

/** Causes that trying again cannot fix; the others may pass. */
const PERMANENT_CAUSES: ReadonlySet<ConnectCause> = new Set(['no-such-domain', 'no-address']);

/**
 * The failure to report after another candidate failed too: a transient one wins over a permanent
 * one, so that one target without an address does not stop the session while another was only down.
 */
function keepTransient<F extends { cause: ConnectCause }>(previous: F | null, next: F): F {
  if (previous && !PERMANENT_CAUSES.has(previous.cause) && PERMANENT_CAUSES.has(next.cause)) return previous;
  return next;
}

function openTcp(address: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: address, port, noDelay: true });
    const fail = (error: unknown) => {
      socket.destroy();
      reject(new AttemptError('CONNECT_FAILED', `Could not connect to ${address} port ${port}: ${messageOf(error)}.`, { cause: error }));
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/**
 * RFC 6120 5.4.2: open a stream, require <starttls/> among the features, and wait for <proceed/>.
 * Anyone on the path can write here, so the stream is read by the hardened parser with the
 * before-TLS budget, and a violation ends the attempt with its own stream error.
 */
function negotiateStartTls(socket: Socket, domain: string, service: ServiceName, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = new XmppStreamParser(BEFORE_TLS_LIMITS, contentNamespace(service));
    const finish = (error?: Error) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      parser.end();
      parser.removeAllListeners();
      if (error) reject(error);
      else resolve();
    };
    const failTls = (message: string, cause?: unknown) => finish(new AttemptError('TLS_HANDSHAKE_FAILED', message, { cause }));
    const onData = (data: Buffer) => parser.write(data);
    const onError = (error: Error) => failTls(`The connection failed during STARTTLS: ${error.message}.`, error);
    const onClose = () => failTls('The server closed the connection before STARTTLS completed.');
    const onAbort = () => failTls(`STARTTLS did not complete in time (${messageOf(signal.reason)}).`, signal.reason);
    parser.on('violation', (violation) => {
      // The caller destroys the socket on failure: the stream error is out (or a second has gone) first.
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.on('error', () => undefined);
      let reported = false;
      const report = () => {
        if (reported) return;
        reported = true;
        failTls(`Before TLS, ${violation.message.replace(/^The server/, 'the server')}`, violation);
      };
      socket.end(`<stream:error><${violation.condition} xmlns='${NS_STREAM_ERRORS}'/></stream:error></stream:stream>`, report);
      setTimeout(report, 1000).unref();
    });
    parser.on('element', (element: Element) => {
      if (element.is('error', NS_STREAM)) {
        const condition = element.getChildElements().find((child) => child.attrs.xmlns === NS_STREAM_ERRORS)?.name ?? 'undefined-condition';
        failTls(`The server refused the stream for ${domain} with the stream error <${condition}/>.`);
      } else if (element.is('features', NS_STREAM)) {
        if (!element.getChild('starttls', NS_TLS)) {
          failTls(`The server does not offer STARTTLS for ${domain}; this client never talks XMPP without TLS.`);
          return;
        }
        socket.write(`<starttls xmlns='${NS_TLS}'/>`);
      } else if (element.is('proceed', NS_TLS)) {
        finish();
      } else if (element.is('failure', NS_TLS)) {
        failTls('The server answered <starttls/> with <failure/>.');
      }
    });
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(streamHeader(domain, service));
  });
}

function handshake(socket: Socket, domain: string, trust: TrustStore, alpn: string[] | undefined, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // OpenSSL verifies the chain against the trust store in the handshake; its result is read
    // afterwards (authorized, authorizationError) and judged with the names and POSH by the verdict,
    // which must also see chains OpenSSL does not trust. The name check is the verdict's (RFC 6125
    // as profiled for XMPP), not Node's.
    const secure = tlsConnect({
      socket,
      servername: domain,
      secureContext: trust.secureContext,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
      ALPNProtocols: alpn,
    });
    const fail = (error: unknown) => {
      secure.destroy();
      reject(new AttemptError('TLS_HANDSHAKE_FAILED', `The TLS handshake with SNI ${domain} failed: ${messageOf(error)}.`, { cause: error }));
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('error', fail);
    secure.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      secure.off('error', fail);
      resolve(secure);
    });
  });
}

/**
 * Tries the candidates in order until one is proven or refused. A refusal stops at once: another
 * address of the same delegation is no more trustworthy, and the user must hear why.
 */
export async function connectSecurely<J extends Judged>(options: SecureConnectOptions<J>): Promise<SecureConnectResult<J>> {
  const { domain, service, recorder, resolver } = options;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  let lastFailure: Extract<SecureConnectResult<J>, { code: 'CONNECT_FAILED' | 'TLS_HANDSHAKE_FAILED' }> | null = null;

  for (const candidate of options.candidates) {
    const facts = (address: string | null): ConnectionFacts => ({
      host: candidate.host, address, port: candidate.port, tls: candidate.tls, sni: domain,
      protocol: null, cipher: null, alpn: null, error: null,
    });
    let addresses: string[];
    const early = options.prefetched?.get(candidate.host);
    options.prefetched?.delete(candidate.host);
    try {
      addresses = await (early ?? lookUpAddresses(candidate.host, { resolver, recorder }));
    } catch (error) {
      const cause = lookupCause(error, candidate);
      lastFailure = keepTransient(lastFailure, { ok: false, code: 'CONNECT_FAILED', cause, reason: messageOf(error), connection: facts(null) });
      continue;
    }

    for (const address of addresses) {
      options.signal?.throwIfAborted();
      const connection = facts(address);
      const attempt = AbortSignal.any([AbortSignal.timeout(attemptTimeoutMs), ...(options.signal ? [options.signal] : [])]);
      let tcp: Socket | undefined;
      let secure: TLSSocket;
      try {
        tcp = await recorder.time('tcp', `TCP ${address}:${candidate.port}`, () => openTcp(address, candidate.port, attempt));
        const plain = tcp;
        secure = await recorder.time(
          'tls',
          candidate.tls === 'direct' ? `Direct TLS, SNI ${domain}` : `STARTTLS, SNI ${domain}`,
          async () => {
            if (candidate.tls === 'starttls') await negotiateStartTls(plain, domain, service, attempt);
            return handshake(plain, domain, options.trust, candidate.tls === 'direct' ? [service] : undefined, attempt);
          },
          (socket) => ({ ok: true, detail: `${socket.getProtocol() ?? 'TLS'} ${socket.getCipher()?.name ?? ''}`.trim() }),
        );
      } catch (error) {
        tcp?.destroy();
        const code = error instanceof AttemptError ? error.code : 'CONNECT_FAILED';
        const reason = messageOf(error);
        lastFailure = keepTransient(lastFailure, { ok: false, code, cause: connectCause(error), reason, connection: { ...connection, error: { code, message: reason } } });
        continue;
      }
      connection.protocol = secure.getProtocol();
      connection.cipher = secure.getCipher()?.name ?? null;
      connection.alpn = typeof secure.alpnProtocol === 'string' ? secure.alpnProtocol : null;
      const presented = presentedCertificates(secure);
      const pkix = chainVerificationOf(secure, presented, options.trust);
      let judgement: J;
      try {
        judgement = await recorder.time('verify', 'Verify certificate', () => options.judge(presented.map((certificate) => certificate.raw), pkix, connection),
          (judged) => ({ ok: judged.verdict.verified, detail: judged.verdict.code }));
      } catch (error) {
        // The presented certificate could not even be read: fail closed, as for a refusal.
        secure.destroy();
        const reason = `The server's certificate could not be checked: ${messageOf(error)}`;
        return { ok: false, code: 'TLS_HANDSHAKE_FAILED', cause: 'tls-failed', reason, connection: { ...connection, error: { code: 'TLS_HANDSHAKE_FAILED', message: reason } } };
      }
      if (judgement.verdict.verified) return { ok: true, socket: secure, connection, judgement };
      secure.destroy();
      return { ok: false, code: 'REFUSED', reason: judgement.verdict.reason, connection, judgement };
    }
  }
  return lastFailure ?? { ok: false, code: 'CONNECT_FAILED', cause: 'no-address', reason: `No address to connect to for ${domain}.`, connection: null };
}
