// The fastest a login can be under the injected delays, round trip by round trip (scenario a and
// b's "limit"). Only the delays count here: no CPU time, no server time. Pure.
import type { Delays } from './network.ts';

/**
 * What one login to the XMPP server waits for, in round trips (direct TLS, XEP-0368), as the
 * testbed's example.com offers it: SASL2 with Bind 2 inline (XEP-0388, XEP-0386).
 */
export const LOGIN_ROUND_TRIPS: ReadonlyArray<{ what: string; roundTrips: number }> = [
  { what: 'TCP handshake', roundTrips: 1 },
  { what: 'TLS 1.3 handshake (ClientHello to server Finished)', roundTrips: 1 },
  { what: 'stream header to stream features', roundTrips: 1 },
  { what: 'SASL2 SCRAM: authenticate to challenge, response to success (Bind 2, XEP-0198 and carbons inline)', roundTrips: 2 },
  { what: 'roster fetch', roundTrips: 1 },
];

export const XMPP_ROUND_TRIPS = LOGIN_ROUND_TRIPS.reduce((total, step) => total + step.roundTrips, 0);

/**
 * SRV branch: both SRV queries at once (one DNS round trip; an answer too big for UDP comes back
 * truncated and is asked again over TCP: connect and query, two more), then the first target's
 * A and AAAA at once (one more).
 */
export function srvBranchMs(delays: Delays, truncated: boolean): number {
  return delays.dnsMs * (truncated ? 3 : 1) + delays.dnsMs;
}

/**
 * POSH branch: for every host along the redirect chain, its A and AAAA (one DNS round trip), then
 * TCP, TLS 1.3 and the GET (three round trips to the web host). A cached document costs nothing.
 */
export function poshBranchMs(delays: Delays, redirects: number): number {
  return (redirects + 1) * (delays.dnsMs + 3 * delays.webMs);
}

export const loginMs = (delays: Delays): number => XMPP_ROUND_TRIPS * delays.xmppMs;

export interface PipelineModel {
  srvMs: number;
  poshMs: number;
  loginMs: number;
  /** max(SRV branch, POSH branch) + login: no client that connects after both lookups can beat it. */
  limitMs: number;
  /** SRV branch + POSH branch + login: the same delays one after the other. */
  sequentialMs: number;
  /** limit / sequential: the best ratio a parallel pipeline can reach against a sequential one. */
  bestRatio: number;
}

export function pipelineModel(delays: Delays, options: { srvTruncated: boolean; redirects: number | null }): PipelineModel {
  const srvMs = srvBranchMs(delays, options.srvTruncated);
  const poshMs = options.redirects === null ? 0 : poshBranchMs(delays, options.redirects);
  const login = loginMs(delays);
  const limitMs = Math.max(srvMs, poshMs) + login;
  const sequentialMs = srvMs + poshMs + login;
  return { srvMs, poshMs, loginMs: login, limitMs, sequentialMs, bestRatio: limitMs / sequentialMs };
}

/** The formula in words, for the report. */
export function limitFormula(delays: Delays): string {
  return [
    `limit = max(SRV, POSH) + ${XMPP_ROUND_TRIPS} x XMPP RTT`,
    `SRV = DNS (x3 when the answer is truncated: UDP, then TCP connect + query) + DNS for the target's A/AAAA = ${srvBranchMs(delays, false)} ms (${srvBranchMs(delays, true)} ms truncated)`,
    `POSH = (redirects + 1) x (DNS + 3 x web RTT: TCP, TLS 1.3, GET) = ${poshBranchMs(delays, 0)} ms per host`,
    `login = ${LOGIN_ROUND_TRIPS.map((step) => `${step.roundTrips} ${step.what}`).join(' + ')} = ${XMPP_ROUND_TRIPS} x ${delays.xmppMs} ms = ${loginMs(delays)} ms`,
  ].join('\n');
}
