// A delegation check from the user's side without logging in: the pipeline up to the verdict, then
// the socket is closed. posh-check and the app's domain check both run this.
import { trustStore } from '../lookup/anchors.ts';
import type { PoshCache } from '../lookup/posh-cache.ts';
import { createResolver } from '../lookup/resolver.ts';
import { StepRecorder } from '../lookup/steps.ts';
import type { DelegationReport } from '../verify/report.ts';
import type { Domain, ServiceName, StepEvent } from '../verify/types.ts';
import { runDelegationAttempt } from './attempt.ts';

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
  maxPoshLifetimeSeconds?: number;
  onStep?: (event: StepEvent) => void;
  now?: () => Date;
}

export async function checkDelegation(domain: Domain, options: CheckOptions): Promise<DelegationReport> {
  const { report } = await runDelegationAttempt({
    domain,
    service: options.service,
    connect: options.connect,
    keepSocket: false,
    resolver: createResolver({ server: options.dns }),
    trust: trustStore(options.extraAnchorsPem),
    cache: options.cache,
    poshTimeoutMs: options.poshTimeoutMs,
    maxPoshLifetimeSeconds: options.maxPoshLifetimeSeconds,
    recorder: new StepRecorder(options.onStep),
    signal: AbortSignal.timeout(options.timeoutMs),
    now: options.now,
  });
  return report;
}
