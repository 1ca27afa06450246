// The delegation chain as one record: what posh-check prints (docs/ARCHITECTURE.md#posh-check) and the UI draws.
import type {
  CertificateFacts, ChainVerification, ConnectionFacts, PoshResult, PublishHint, ServiceName, SrvResult, StepName, TimedStep, Verdict,
} from './types.ts';

export interface Timings {
  srvMs: number | null;
  poshMs: number | null;
  connectMs: number | null;
  tlsMs: number | null;
  totalMs: number;
}

export interface DelegationReport {
  domain: string;
  service: ServiceName;
  checkedAt: string;
  srv: SrvResult;
  posh: PoshResult;
  /** True when cached POSH material did not match and was fetched once more (docs/ARCHITECTURE.md#the-posh-cache). */
  poshRefetched: boolean;
  connection: ConnectionFacts | null;
  /** The presented leaf. */
  certificate: CertificateFacts | null;
  /** Every presented certificate, in the order the server sent them (the leaf first). */
  chain: CertificateFacts[];
  /** What OpenSSL's verification in the handshake said of that chain (the PKIX prooftype's input). */
  pkix: ChainVerification | null;
  verdict: Verdict;
  hint: PublishHint | null;
  timings: Timings;
  steps: TimedStep[];
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Duration of the last step of that name (the attempt that counted), or null if none ran. */
function lastDuration(steps: readonly TimedStep[], name: StepName): number | null {
  const step = steps.findLast((candidate) => candidate.name === name);
  return step ? round(step.endedAt - step.startedAt) : null;
}

export function timingsOf(steps: readonly TimedStep[], startedAt: number, endedAt: number): Timings {
  return {
    srvMs: lastDuration(steps, 'srv'),
    poshMs: lastDuration(steps, 'posh'),
    connectMs: lastDuration(steps, 'tcp'),
    tlsMs: lastDuration(steps, 'tls'),
    totalMs: round(endedAt - startedAt),
  };
}
