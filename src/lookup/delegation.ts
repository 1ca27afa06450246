// The pipeline of DESIGN section 3, without the socket: SRV and POSH started together and both
// settled before anyone connects; then the judgement of a presented chain, with the one refetch
// that a mismatch against cached material earns (DESIGN section 4, Cache).
import type { DnsResolver } from './resolver.ts';
import { obtainPoshMaterial, type PoshCache } from './posh-cache.ts';
import { poshUrl } from './posh-fetch.ts';
import { normalizeDomain } from '../verify/domain.ts';
import type { TrustAnchors } from '../verify/pkix.ts';
import { resolveSrv } from './srv.ts';
import type { StepRecorder } from './steps.ts';
import type { CertificateFacts, ConnectCandidate, PoshResult, PublishHint, ServiceName, SrvResult, Verdict } from '../verify/types.ts';
import { decideVerdict } from '../verify/verdict.ts';

export interface DelegationOptions {
  resolver: DnsResolver;
  /** Extra PEM anchors: for the POSH host's HTTPS and for PKIX. */
  extraAnchorsPem: readonly string[];
  anchors: TrustAnchors;
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
   * How the lookups run. `parallel` (the default) is the pipeline of DESIGN section 3. The other two
   * are the baselines `npm run bench` measures it against: `sequential` looks up SRV, then POSH,
   * as a client that does one thing at a time; `pkix-only` never consults POSH (no request, the
   * material counts as absent), as a client that knows only PKIX.
   */
  lookups?: LookupOrder | undefined;
  /**
   * The caller will connect: in the parallel pipeline, the first candidate's A and AAAA are looked
   * up as soon as SRV has answered, while POSH may still run (connecting still waits for both).
   */
  prefetchAddresses?: boolean | undefined;
}

export type LookupOrder = 'parallel' | 'sequential' | 'pkix-only';

export interface Delegation {
  domain: string;
  service: ServiceName;
  srv: SrvResult;
  posh: PoshResult;
  /** Address lookups already started (and recorded as `dns` steps) by host, for the connection to use once. */
  prefetched: Map<string, Promise<string[]>>;
}

export interface Judgement {
  verdict: Verdict;
  certificate: CertificateFacts;
  hint: PublishHint | null;
  /** The material the verdict was decided on (the refetched one after a mismatch). */
  posh: PoshResult;
  poshRefetched: boolean;
}

function describePosh(posh: PoshResult): { ok: boolean; detail: string } {
  const detail = posh.error ? `${posh.status}: ${posh.error.code}` : posh.fromCache ? `${posh.status} (cached)` : posh.status;
  return { ok: posh.status === 'valid', detail };
}

function poshMaterial(domain: string, service: ServiceName, options: DelegationOptions, refresh: boolean): Promise<PoshResult> {
  return obtainPoshMaterial(domain, service, {
    resolver: options.resolver,
    trustAnchors: [...options.extraAnchorsPem],
    ...(options.poshTimeoutMs === undefined ? {} : { timeoutMs: options.poshTimeoutMs }),
    ...(options.maxPoshLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds: options.maxPoshLifetimeSeconds }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    refresh,
  });
}

/** What a client that never consults POSH knows about it: nothing was published, nothing was asked. */
function notConsulted(domain: string, service: ServiceName): PoshResult {
  return {
    domain: normalizeDomain(domain), service, url: poshUrl(domain, service), status: 'absent', error: null, steps: [],
    fingerprints: [], expires: null, fetchedAt: null, expiresAt: null, fromCache: false,
  };
}

/** A candidate's addresses, recorded as the `dns` step the connection would otherwise record. */
export function lookUpAddresses(host: string, options: Pick<DelegationOptions, 'resolver' | 'recorder'>): Promise<string[]> {
  const lookup = options.recorder.time('dns', `A/AAAA ${host}`, async () => (await options.resolver.resolveAddresses(host)).map((a) => a.address),
    (found) => ({ ok: true, detail: found.join(', ') }));
  // Handled here as well: a prefetch nobody ends up using must not become an unhandled rejection.
  lookup.catch(() => undefined);
  return lookup;
}

/** Starts the SRV lookup and the POSH retrieval together and returns when both have settled. */
export async function resolveDelegation(domain: string, service: ServiceName, options: DelegationOptions): Promise<Delegation> {
  const { recorder, manualCandidates } = options;
  const lookUpSrv = async (): Promise<SrvResult> =>
    manualCandidates ? { records: [], candidates: [...manualCandidates], error: null } : resolveSrv(domain, service, options.resolver, options.random);
  const srvLabel = manualCandidates ? `Manual host ${manualCandidates.map((c) => `${c.host}:${c.port}`).join(', ')} (no SRV lookup)` : `SRV ${domain}`;
  const srvStep = () =>
    recorder.time('srv', srvLabel, lookUpSrv, (result) => ({
      ok: result.candidates.length > 0,
      detail: result.error ? result.error.code : `${result.records.length} record(s)`,
    }));
  const poshStep = () => recorder.time('posh', `POSH ${domain}`, () => poshMaterial(domain, service, options, false), describePosh);
  switch (options.lookups ?? 'parallel') {
    case 'sequential': {
      const srv = await srvStep();
      return { domain, service, srv, posh: await poshStep(), prefetched: new Map() };
    }
    case 'pkix-only':
      return { domain, service, srv: await srvStep(), posh: notConsulted(domain, service), prefetched: new Map() };
    case 'parallel': {
      const prefetched = new Map<string, Promise<string[]>>();
      const srvThenAddresses = srvStep().then((srv) => {
        const first = srv.candidates[0];
        if (options.prefetchAddresses && first) prefetched.set(first.host, lookUpAddresses(first.host, options));
        return srv;
      });
      const [srv, posh] = await Promise.all([srvThenAddresses, poshStep()]);
      return { domain, service, srv, posh, prefetched };
    }
  }
}

/**
 * Decides on a presented chain. When cached material does not match, operators may have rotated
 * the certificate: fetch once more and decide on what is published now.
 */
export async function judgeChain(delegation: Delegation, chain: readonly Uint8Array[], options: DelegationOptions): Promise<Judgement> {
  const now = options.now ?? (() => new Date());
  const decide = (posh: PoshResult) =>
    decideVerdict({ domain: delegation.domain, service: delegation.service, chain: [...chain], posh, anchors: options.anchors, now: now() });
  const first = decide(delegation.posh);
  if (first.verdict.code !== 'POSH_MISMATCH' || !delegation.posh.fromCache) {
    return { ...first, posh: delegation.posh, poshRefetched: false };
  }
  const fresh = await options.recorder.time('posh', `POSH ${delegation.domain} again: the cached material did not match`,
    () => poshMaterial(delegation.domain, delegation.service, options, true), describePosh);
  return { ...decide(fresh), posh: fresh, poshRefetched: true };
}
