// The connection pipeline without the socket (docs/ARCHITECTURE.md, "The connection pipeline"):
// SRV and POSH started together and both settled before anyone connects; then the judgement of a
// presented chain, with the one refetch that a mismatch against cached material earns.
import type { CertificateFacts, ChainVerification, ConnectCandidate, Domain, PoshResult, PublishHint, ServiceName, SrvResult, Verdict } from '../verify/types.ts';
import { decideVerdict } from '../verify/verdict.ts';
import type { TrustStore } from './anchors.ts';
import { obtainPoshMaterial, type PoshCache } from './posh-cache.ts';
import type { DnsResolver } from './resolver.ts';
import { resolveSrv } from './srv.ts';
import type { StepRecorder } from './steps.ts';

export interface DelegationOptions {
  resolver: DnsResolver;
  /** The system roots and the extra anchors: for the POSH host's HTTPS and for PKIX. */
  trust: TrustStore;
  cache?: PoshCache | undefined;
  poshTimeoutMs?: number | undefined;
  maxPoshLifetimeSeconds?: number | undefined;
  random?: () => number;
  now?: () => Date;
  recorder: StepRecorder;
  signal?: AbortSignal | undefined;
  /** An account's manual host and port: no SRV lookup, these are the candidates (POSH still runs). */
  manualCandidates?: readonly ConnectCandidate[] | undefined;
  /**
   * The caller will connect: the first candidate's A and AAAA are looked up as soon as SRV has
   * answered, while POSH may still run (connecting still waits for both).
   */
  prefetchAddresses?: boolean | undefined;
}

export interface Delegation {
  domain: Domain;
  service: ServiceName;
  srv: SrvResult;
  posh: PoshResult;
  /** Address lookups already started (and recorded as `dns` steps) by host, for the connection to use once. */
  prefetched: Map<string, Promise<string[]>>;
}

/**
 * How a connection attempt obtains its delegation. The app always uses resolveDelegation; the
 * type is the seam through which `npm run bench` and the lookup-order tests put their baselines
 * (a sequential client, a PKIX-only client) in its place.
 */
export type ResolveDelegation = (domain: Domain, service: ServiceName, options: DelegationOptions) => Promise<Delegation>;

export interface Judgement {
  verdict: Verdict;
  certificate: CertificateFacts;
  /** The presented certificates, in the order sent. */
  chain: CertificateFacts[];
  /** What OpenSSL's verification in the handshake said of them. */
  pkix: ChainVerification;
  hint: PublishHint | null;
  /** The material the verdict was decided on (the refetched one after a mismatch). */
  posh: PoshResult;
  poshRefetched: boolean;
}

function describePosh(posh: PoshResult): { ok: boolean; detail: string } {
  const detail = posh.error ? `${posh.status}: ${posh.error.code}` : posh.fromCache ? `${posh.status} (cached)` : posh.status;
  return { ok: posh.status === 'valid', detail };
}

function poshMaterial(domain: Domain, service: ServiceName, options: DelegationOptions, refresh: boolean): Promise<PoshResult> {
  return obtainPoshMaterial(domain, service, {
    resolver: options.resolver,
    trust: options.trust,
    timeoutMs: options.poshTimeoutMs,
    maxLifetimeSeconds: options.maxPoshLifetimeSeconds,
    signal: options.signal,
    cache: options.cache,
    refresh,
  });
}

/** A candidate's addresses, recorded as the `dns` step the connection would otherwise record. */
export function lookUpAddresses(host: string, options: Pick<DelegationOptions, 'resolver' | 'recorder'>): Promise<string[]> {
  const lookup = options.recorder.time('dns', `A/AAAA ${host}`, async () => (await options.resolver.resolveAddresses(host)).map((a) => a.address),
    (found) => ({ ok: true, detail: found.join(', ') }));
  // Handled here as well: a prefetch nobody ends up using must not become an unhandled rejection.
  lookup.catch(() => undefined);
  return lookup;
}

/** The SRV branch as one recorded step (or the account's manual host, with no lookup). */
export function srvStep(domain: Domain, service: ServiceName, options: DelegationOptions): Promise<SrvResult> {
  const { manualCandidates } = options;
  const label = manualCandidates ? `Manual host ${manualCandidates.map((c) => `${c.host}:${c.port}`).join(', ')} (no SRV lookup)` : `SRV ${domain}`;
  const lookUp = async (): Promise<SrvResult> =>
    manualCandidates ? { records: [], candidates: [...manualCandidates], error: null } : resolveSrv(domain, service, options.resolver, options.random);
  return options.recorder.time('srv', label, lookUp, (result) => ({
    ok: result.candidates.length > 0,
    detail: result.error ? result.error.code : `${result.records.length} record(s)`,
  }));
}

/** The POSH branch as one recorded step: fresh cached material, else a retrieval. */
export function poshStep(domain: Domain, service: ServiceName, options: DelegationOptions): Promise<PoshResult> {
  return options.recorder.time('posh', `POSH ${domain}`, () => poshMaterial(domain, service, options, false), describePosh);
}

/** Starts the SRV lookup and the POSH retrieval together and returns when both have settled. */
export const resolveDelegation: ResolveDelegation = async (domain, service, options) => {
  const prefetched = new Map<string, Promise<string[]>>();
  const srvThenAddresses = srvStep(domain, service, options).then((srv) => {
    const first = srv.candidates[0];
    if (options.prefetchAddresses && first) prefetched.set(first.host, lookUpAddresses(first.host, options));
    return srv;
  });
  const [srv, posh] = await Promise.all([srvThenAddresses, poshStep(domain, service, options)]);
  return { domain, service, srv, posh, prefetched };
};

/**
 * Decides on a presented chain. When cached material does not match, operators may have rotated
 * the certificate: fetch once more and decide on what is published now.
 */
export async function judgeChain(
  delegation: Delegation,
  chain: readonly Uint8Array[],
  pkix: ChainVerification,
  options: DelegationOptions,
): Promise<Judgement> {
  const now = options.now ?? (() => new Date());
  const decide = (posh: PoshResult) =>
    decideVerdict({ domain: delegation.domain, service: delegation.service, chain: [...chain], pkix, posh, now: now() });
  const first = decide(delegation.posh);
  if (first.verdict.code !== 'POSH_MISMATCH' || !delegation.posh.fromCache) {
    return { ...first, pkix, posh: delegation.posh, poshRefetched: false };
  }
  const fresh = await options.recorder.time('posh', `POSH ${delegation.domain} again: the cached material did not match`,
    () => poshMaterial(delegation.domain, delegation.service, options, true), describePosh);
  return { ...decide(fresh), pkix, posh: fresh, poshRefetched: true };
}
