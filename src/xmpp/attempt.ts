// One run of the connection pipeline (docs/ARCHITECTURE.md) up to the verdict: SRV and POSH together,
// then the candidates until one is proven or refused, and the delegation chain as one report.
// posh-check, the app's domain check and every login and reconnection of a session run this.
import type { TLSSocket } from 'node:tls';
import { epochMs } from '../lookup/clock.ts';
import { judgeChain, resolveDelegation, type DelegationOptions, type Judgement, type ResolveDelegation } from '../lookup/delegation.ts';
import { timingsOf, type DelegationReport } from '../verify/report.ts';
import type { ConnectionFacts, Domain, PoshResult, ServiceName, Verdict } from '../verify/types.ts';
import { connectionFailure } from '../verify/verdict.ts';
import { connectSecurely, type ConnectCause } from './transport.ts';

export interface AttemptOptions extends DelegationOptions {
  domain: Domain;
  service: ServiceName;
  /** false: lookups only, no TLS handshake. */
  connect: boolean;
  /** Keep the verified socket (a login) instead of closing it (a check). */
  keepSocket: boolean;
  attemptTimeoutMs?: number | undefined;
  /** resolveDelegation unless a test or the benchmark puts a baseline in its place. */
  delegation?: ResolveDelegation | undefined;
}

/** Why an attempt did not end with a verified socket. */
export type AttemptFailure = 'refused' | 'unreachable' | 'no-service' | 'lookup-only' | null;

export interface AttemptResult {
  report: DelegationReport;
  /** The proven socket when `keepSocket` and the verdict was verified; otherwise null. */
  socket: TLSSocket | null;
  failure: AttemptFailure;
  /** For 'unreachable': why (a name that does not exist, a refused port, a timeout...). */
  cause: ConnectCause | null;
}

function lookupOnlyVerdict(posh: PoshResult): Verdict {
  const what =
    posh.status === 'valid'
      ? `${posh.domain} publishes valid POSH material at ${posh.url}`
      : posh.status === 'absent'
        ? `${posh.domain} publishes no POSH document at ${posh.url}`
        : `${posh.domain}'s POSH material is unusable (${posh.error?.code}: ${posh.error?.message})`;
  return { verified: false, prooftype: null, code: 'LOOKUP_ONLY', reason: `No connection was made; ${what}.` };
}

export async function runDelegationAttempt(options: AttemptOptions): Promise<AttemptResult> {
  const { domain, service, recorder } = options;
  const startedAt = epochMs();
  const checkedAt = new Date().toISOString();
  const delegation = await (options.delegation ?? resolveDelegation)(domain, service, { ...options, prefetchAddresses: options.connect });

  let verdict: Verdict;
  let judgement: Judgement | undefined;
  let connection: ConnectionFacts | null = null;
  let socket: TLSSocket | null = null;
  let failure: AttemptFailure = null;
  let cause: ConnectCause | null = null;
  if (delegation.srv.candidates.length === 0) {
    verdict = connectionFailure('SRV_NO_SERVICE', delegation.srv.error?.message ?? `${domain} does not offer this service.`);
    failure = 'no-service';
  } else if (!options.connect) {
    verdict = lookupOnlyVerdict(delegation.posh);
    failure = 'lookup-only';
  } else {
    const outcome = await connectSecurely({
      domain,
      service,
      candidates: delegation.srv.candidates,
      resolver: options.resolver,
      recorder,
      signal: options.signal,
      attemptTimeoutMs: options.attemptTimeoutMs,
      prefetched: delegation.prefetched,
      trust: options.trust,
      judge: (chain, pkix) => judgeChain(delegation, chain, pkix, options),
    });
    connection = outcome.connection;
    if (outcome.ok) {
      judgement = outcome.judgement;
      verdict = judgement.verdict;
      if (options.keepSocket) socket = outcome.socket;
      else outcome.socket.destroy();
    } else if (outcome.code === 'REFUSED') {
      judgement = outcome.judgement;
      verdict = judgement.verdict;
      failure = 'refused';
    } else {
      verdict = connectionFailure(outcome.code, outcome.reason);
      failure = 'unreachable';
      cause = outcome.cause;
    }
  }

  const report: DelegationReport = {
    domain,
    service,
    checkedAt,
    srv: delegation.srv,
    posh: judgement?.posh ?? delegation.posh,
    poshRefetched: judgement?.poshRefetched ?? false,
    connection,
    certificate: judgement?.certificate ?? null,
    chain: judgement?.chain ?? [],
    pkix: judgement?.pkix ?? null,
    verdict,
    hint: judgement?.hint ?? null,
    timings: timingsOf(recorder.steps, startedAt, epochMs()),
    steps: [...recorder.steps],
  };
  return { report, socket, failure, cause };
}
