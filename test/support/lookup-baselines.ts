// The clients the parallel pipeline is measured against (npm run bench) and whose lookup order the
// tests check: one that does one thing at a time (SRV, then POSH), and one that knows only PKIX
// (no POSH request; the material counts as absent). They replace resolveDelegation through its seam.
import { poshStep, resolveDelegation, srvStep, type ResolveDelegation } from '../../src/lookup/delegation.ts';
import { poshUrl } from '../../src/lookup/posh-fetch.ts';

export type LookupOrder = 'parallel' | 'sequential' | 'pkix-only';

export const sequentialDelegation: ResolveDelegation = async (domain, service, options) => {
  const srv = await srvStep(domain, service, options);
  return { domain, service, srv, posh: await poshStep(domain, service, options), prefetched: new Map() };
};

export const pkixOnlyDelegation: ResolveDelegation = async (domain, service, options) => ({
  domain,
  service,
  srv: await srvStep(domain, service, options),
  posh: {
    domain, service, url: poshUrl(domain, service), status: 'absent', error: null, steps: [],
    fingerprints: [], expires: null, fetchedAt: null, expiresAt: null, fromCache: false,
  },
  prefetched: new Map(),
});

export function delegationFor(order: LookupOrder): ResolveDelegation {
  return { parallel: resolveDelegation, sequential: sequentialDelegation, 'pkix-only': pkixOnlyDelegation }[order];
}
