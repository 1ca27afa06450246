// A delegation check from the user's side without logging in: the pipeline up to the verdict, then
// the socket is closed. posh-check and the app's domain check both run this.
import { epochMs } from '../dna/clock.ts';
import { judgeChain, resolveDelegation, type DelegationOptions, type Judgement } from '../dna/pipeline.ts';
import { trustAnchors } from '../dna/pkix.ts';
import type { PoshCache } from '../dna/posh/cache.ts';
import { timingsOf, type DelegationReport } from '../dna/report.ts';
import { createResolver } from '../dna/resolver.ts';
import { StepRecorder } from '../dna/steps.ts';
import type { ConnectionFacts, PoshResult, ServiceName, StepEvent, Verdict } from '../dna/types.ts';
import { connectionFailure } from '../dna/verdict.ts';
import { connectSecurely } from './transport.ts';

export interface CheckOptions {
  service: ServiceName;
  /** `IP[:PORT]` of the resolver; the system's when absent. */
  dns?: string | undefined;
  extraAnchorsPem?: readonly string[];
  cache?: PoshCache | undefined;
  /** false: lookups only, no TLS handshake. */
  connect: boolean;
  /** Overall budget. */
  timeoutMs: number;
  poshTimeoutMs?: number;
  onStep?: (event: StepEvent) => void;
  now?: () => Date;
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

export async function checkDelegation(domain: string, options: CheckOptions): Promise<DelegationReport> {
  const startedAt = epochMs();
  const checkedAt = new Date().toISOString();
  const recorder = new StepRecorder(options.onStep);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const resolver = createResolver({ server: options.dns });
  const extraAnchorsPem = options.extraAnchorsPem ?? [];
  const pipeline: DelegationOptions = {
    resolver,
    extraAnchorsPem,
    anchors: trustAnchors([...extraAnchorsPem]),
    cache: options.cache,
    poshTimeoutMs: options.poshTimeoutMs,
    recorder,
    signal,
    ...(options.now ? { now: options.now } : {}),
  };
  const delegation = await resolveDelegation(domain, options.service, pipeline);

  let verdict: Verdict;
  let judgement: Judgement | undefined;
  let connection: ConnectionFacts | null = null;
  if (delegation.srv.candidates.length === 0) {
    verdict = connectionFailure('SRV_NO_SERVICE', delegation.srv.error?.message ?? `${domain} does not offer this service.`);
  } else if (!options.connect) {
    verdict = lookupOnlyVerdict(delegation.posh);
  } else {
    const outcome = await connectSecurely({
      domain,
      service: options.service,
      candidates: delegation.srv.candidates,
      resolver,
      recorder,
      signal,
      judge: (chain) => judgeChain(delegation, chain, pipeline),
    });
    connection = outcome.connection;
    if (outcome.ok) {
      outcome.socket.destroy();
      judgement = outcome.judgement;
      verdict = judgement.verdict;
    } else if (outcome.code === 'REFUSED') {
      judgement = outcome.judgement;
      verdict = judgement.verdict;
    } else {
      verdict = connectionFailure(outcome.code, outcome.reason);
    }
  }

  return {
    domain,
    service: options.service,
    checkedAt,
    srv: delegation.srv,
    posh: judgement?.posh ?? delegation.posh,
    poshRefetched: judgement?.poshRefetched ?? false,
    connection,
    certificate: judgement?.certificate ?? null,
    verdict,
    hint: judgement?.hint ?? null,
    timings: timingsOf(recorder.steps, startedAt, epochMs()),
    steps: recorder.steps,
  };
}
