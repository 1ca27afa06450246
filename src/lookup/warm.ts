// Work the first connection would otherwise do on its critical path, done while the app waits for
// the user instead: reading and indexing the system roots for PKIX, building the HTTPS trust store
// of each anchor set for POSH retrieval (tens of milliseconds each), and one rehearsal each of a
// POSH retrieval and of the verdict, whose code runs slowly the first time (measured by
// `npm run bench`, scenario a).
import { X509Certificate } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { systemRootsPem } from './anchors.ts';
import { trustAnchors, warmSystemAnchors } from '../verify/pkix.ts';
import { prepareTrustStore, rehearseRetrieval } from './posh-fetch.ts';
import { fingerprintsOf } from '../verify/fingerprints.ts';
import { decideVerdict } from '../verify/verdict.ts';

const REHEARSAL_DOMAIN = 'warm-up.invalid';

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
    anchors: trustAnchors(),
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
    pieces.push(() => prepareTrustStore(anchors));
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
