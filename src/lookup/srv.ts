// SRV resolution for XMPP: RFC 6120 3.2 (lookup and fallback), XEP-0368 (direct TLS records combined
// with STARTTLS records by priority) and RFC 2782 (ordering and weighted selection).
import { messageOf } from '../verify/errors.ts';
import type { CodedError, ConnectCandidate, ServiceName, SrvErrorCode, SrvRecord, SrvResult, TlsMode } from '../verify/types.ts';
import type { DnsResolver, SrvAnswer } from './resolver.ts';

const FALLBACK_PORT: Record<ServiceName, number> = { 'xmpp-client': 5222, 'xmpp-server': 5269 };

const SERVICE_WORDS: Record<ServiceName, string> = {
  'xmpp-client': 'XMPP client service',
  'xmpp-server': 'XMPP server-to-server service',
};

const TLS_WORDS: Record<TlsMode, string> = { direct: 'direct TLS', starttls: 'STARTTLS' };

/** DNS names compare case-insensitively; a trailing dot only marks the name as absolute. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The owner names to query: XEP-0368 direct TLS and RFC 6120 STARTTLS. */
export function srvOwnerNames(domain: string, service: ServiceName): { direct: string; starttls: string } {
  const name = normaliseName(domain);
  return { direct: `_${service.replace('xmpp', 'xmpps')}._tcp.${name}`, starttls: `_${service}._tcp.${name}` };
}

/** Index of the record to take next: RFC 2782 "Usage rules", weighted selection. */
function pickIndex(unordered: SrvRecord[], random: () => number): number {
  const sum = unordered.reduce((total, record) => total + record.weight, 0);
  if (unordered.length === 1 || sum === 0) return 0;
  // The RFC draws from [0, sum] so that weight-0 records (placed first) keep a small chance. Without
  // weight-0 records, a draw of 0 would go to whichever record happens to be first, skewing the
  // published proportions; so the 0 is only drawn when it belongs to weight-0 records.
  const hasZero = unordered[0]!.weight === 0;
  const lowest = hasZero ? 0 : 1;
  const choices = sum + 1 - lowest;
  const drawn = lowest + Math.min(Math.floor(random() * choices), choices - 1);
  let running = 0;
  for (const [index, record] of unordered.entries()) {
    running += record.weight;
    if (running >= drawn) return index;
  }
  return unordered.length - 1;
}

function weightedOrder(records: SrvRecord[], random: () => number): SrvRecord[] {
  const ordered: SrvRecord[] = [];
  const unordered = [...records];
  while (unordered.length > 0) {
    // Stable: weight-0 records move to the front before every draw, the rest keep their order.
    unordered.sort((a, b) => Number(a.weight !== 0) - Number(b.weight !== 0));
    const [chosen] = unordered.splice(pickIndex(unordered, random), 1);
    ordered.push(chosen!);
  }
  return ordered;
}

/**
 * Orders usable records (no `.` targets) into connection candidates: priority ascending across both
 * record sets, direct TLS before STARTTLS on equal priority, RFC 2782 weighted choice inside each.
 * `random` (in [0, 1)) is called once per choice between two or more records of positive total weight.
 */
export function orderCandidates(records: SrvRecord[], random: () => number = Math.random): ConnectCandidate[] {
  const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
  const candidates: ConnectCandidate[] = [];
  for (const priority of priorities) {
    for (const tls of ['direct', 'starttls'] as const) {
      const group = records.filter((record) => record.priority === priority && record.tls === tls);
      for (const record of weightedOrder(group, random)) {
        candidates.push({ host: normaliseName(record.target), port: record.port, tls, source: 'srv' });
      }
    }
  }
  return candidates;
}

/** What one owner name's lookup said. */
type SetOutcome =
  | { kind: 'records'; records: SrvRecord[] }
  | { kind: 'none' }
  | { kind: 'not-offered'; published: string }
  | { kind: 'failed'; message: string };

function isRootTarget(answer: SrvAnswer): boolean {
  // Real servers report the root as '.' or ''; dnsmasq reports '' with port 1.
  return answer.name === '' || answer.name === '.';
}

async function lookUpSet(owner: string, tls: TlsMode, resolver: DnsResolver): Promise<SetOutcome> {
  let answers: SrvAnswer[];
  try {
    answers = await resolver.resolveSrv(owner);
  } catch (error) {
    return { kind: 'failed', message: messageOf(error) };
  }
  const [only] = answers;
  if (answers.length === 1 && only && isRootTarget(only)) {
    return { kind: 'not-offered', published: `"${owner} SRV ${only.priority} ${only.weight} ${only.port} ."` };
  }
  // A '.' beside real targets says nothing usable: RFC 2782 gives it meaning only when alone.
  const records = answers
    .filter((answer) => !isRootTarget(answer))
    .map(({ name, port, priority, weight }): SrvRecord => ({ target: normaliseName(name), port, priority, weight, tls }));
  return records.length === 0 ? { kind: 'none' } : { kind: 'records', records };
}

function srvError(code: SrvErrorCode, message: string): CodedError<SrvErrorCode> {
  return { code, message };
}

/**
 * Looks up both record sets of `domain` concurrently and orders them.
 *
 * Contract for callers: try `candidates` in order whenever there are any; `error` explains what went
 * wrong even then. An empty candidate list means stop (only SRV_NO_SERVICE produces one).
 *
 * When one lookup fails and the other yields records, those records are used (RFC 6120 3.2.1: an
 * answer was received, so no fallback), but `error` stays DNS_FAILED because the failed set may have
 * held better candidates; `error` is null only when nothing was lost.
 */
export async function resolveSrv(
  domain: string,
  service: ServiceName,
  resolver: DnsResolver,
  random: () => number = Math.random,
): Promise<SrvResult> {
  const name = normaliseName(domain);
  const owners = srvOwnerNames(name, service);
  const [direct, starttls] = await Promise.all([
    lookUpSet(owners.direct, 'direct', resolver),
    lookUpSet(owners.starttls, 'starttls', resolver),
  ]);
  const sets = [
    { tls: 'direct' as const, outcome: direct },
    { tls: 'starttls' as const, outcome: starttls },
  ];
  const records = sets.flatMap(({ outcome }) => (outcome.kind === 'records' ? outcome.records : []));
  const failed = sets.flatMap(({ tls, outcome }) => (outcome.kind === 'failed' ? [{ tls, message: outcome.message }] : []));
  const failures = failed.map(({ message }) => message).join(' ');

  if (records.length > 0) {
    const candidates = orderCandidates(records, random);
    const [lost] = failed;
    if (!lost) return { records, candidates, error: null };
    const kept = lost.tls === 'direct' ? 'starttls' : 'direct';
    return {
      records,
      candidates,
      error: srvError('DNS_FAILED', `${failures} Only the ${TLS_WORDS[kept]} servers of ${name} are tried; any ${TLS_WORDS[lost.tls]} servers it publishes are missing.`),
    };
  }

  const notOffered = sets.flatMap(({ tls, outcome }) => (outcome.kind === 'not-offered' ? [{ tls, published: outcome.published }] : []));
  if (notOffered.length > 0) {
    const published = notOffered.map(({ published }) => published).join(' and ');
    // The domain said "not offered" and nothing usable came back: RFC 6120 3.2.1 aborts SRV processing
    // without the fallback, even when the other lookup failed (that failure is reported too).
    const [only] = notOffered;
    const message =
      failed.length > 0 && only
        ? `${name} publishes ${published}: it does not offer ${SERVICE_WORDS[service]} over ${TLS_WORDS[only.tls]}. ${failures}`
        : `${name} publishes ${published}: it does not offer ${SERVICE_WORDS[service]}.`;
    return { records, candidates: [], error: srvError('SRV_NO_SERVICE', message) };
  }

  // No records at all (or no answer at all): RFC 6120 3.2.2 and 3.2.1 step 9, the domain itself.
  const fallback: ConnectCandidate = { host: name, port: FALLBACK_PORT[service], tls: 'starttls', source: 'fallback' };
  if (failed.length === 0) return { records, candidates: [fallback], error: null };
  return {
    records,
    candidates: [fallback],
    error: srvError('DNS_FAILED', `${failures} Without SRV records the client falls back to ${name} port ${fallback.port} with STARTTLS; check that the DNS server answers.`),
  };
}
