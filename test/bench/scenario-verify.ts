// Scenario (d): verification throughput, in this process on one core. Three operations on the
// testbed's real material: a POSH fingerprints document parsed and validated (RFC 7711 3.2), a
// presented certificate matched against published descriptors (RFC 7711 4.1), and the whole
// verdict (RFC 7712: the chain's result, identity, then POSH) on the chain Prosody presents for
// example.com; the chain itself is verified by OpenSSL in the handshake, which scenario (a) measures.
// Each run repeats one operation for a fixed time window; the result is time per operation.
import type { Testbed } from '../../src/testbed/index.ts';
import { fingerprintsOf, matchFingerprints } from '../../src/verify/fingerprints.ts';
import { parsePoshDocument } from '../../src/verify/posh-document.ts';
import type { ChainVerification, PoshResult } from '../../src/verify/types.ts';
import { decideVerdict } from '../../src/verify/verdict.ts';
import { summarize, type Summary } from './stats.ts';
import { DOMAIN } from './topology.ts';

export interface ThroughputRow {
  operation: string;
  /** Microseconds per operation, over the runs. */
  perOperationUs: Summary;
  /** 1e6 / median microseconds. */
  perSecond: number;
}

export interface VerifyResult {
  windowMs: number;
  rows: ThroughputRow[];
}

interface VerifyContext {
  testbed: Testbed;
  runs: number;
  smoke: boolean;
  log: (line: string) => void;
}

/** Microseconds per call of `operation`, counted over `windowMs`. */
function timeWindow(operation: () => unknown, windowMs: number): number {
  let calls = 0;
  const startedAt = performance.now();
  let now = startedAt;
  while (now - startedAt < windowMs) {
    // Batches of 16 keep the clock reads out of the measurement.
    for (let index = 0; index < 16; index += 1) operation();
    calls += 16;
    now = performance.now();
  }
  return ((now - startedAt) * 1000) / calls;
}

export async function runScenarioD({ testbed, runs, smoke, log }: VerifyContext): Promise<VerifyResult> {
  log('(d) verification throughput');
  const windowMs = smoke ? 20 : 250;
  const presented = testbed.certificates.presented.der;
  const chain = [presented];
  // What example.com publishes: the presented certificate's hashes, beside another certificate's.
  const descriptors = [fingerprintsOf(testbed.certificates.other.der), fingerprintsOf(presented)];
  const document = JSON.stringify({ fingerprints: descriptors, expires: 86_400 });
  const posh: PoshResult = {
    domain: DOMAIN, service: 'xmpp-client', url: `https://${DOMAIN}/.well-known/posh/xmpp-client.json`, status: 'valid', error: null,
    steps: [], fingerprints: descriptors, expires: 86_400, fetchedAt: null, expiresAt: null, fromCache: false,
  };
  // What OpenSSL says of the hosting certificate: trusted, but it names hosting.example.net.
  const pkix: ChainVerification = { trusted: true, error: null, anchor: null, nameConstrained: false, permittedDns: [], excludedDns: [] };
  const now = new Date();
  const operations: Array<{ operation: string; run: () => unknown; check: () => boolean }> = [
    {
      operation: 'POSH documents parsed and validated',
      run: () => parsePoshDocument(document),
      check: () => parsePoshDocument(document).kind === 'fingerprints',
    },
    {
      operation: 'certificates matched against 2 descriptors',
      run: () => matchFingerprints(descriptors, presented),
      check: () => matchFingerprints(descriptors, presented)?.index === 1,
    },
    {
      operation: 'verdicts (identity, POSH) on the presented chain',
      run: () => decideVerdict({ domain: DOMAIN, service: 'xmpp-client', chain, pkix, posh, now }),
      check: () => decideVerdict({ domain: DOMAIN, service: 'xmpp-client', chain, pkix, posh, now }).verdict.code === 'OK_POSH',
    },
  ];
  const rows: ThroughputRow[] = [];
  for (const { operation, run, check } of operations) {
    if (!check()) throw new Error(`Scenario (d): "${operation}" did not give the expected result on the testbed's material.`);
    timeWindow(run, windowMs);
    const perOperationUs = summarize(Array.from({ length: runs }, () => timeWindow(run, windowMs)));
    rows.push({ operation, perOperationUs, perSecond: 1e6 / perOperationUs.median });
    log(`  ${operation}: ${Math.round(1e6 / perOperationUs.median)} per second`);
    // Let timers and I/O of the rest of the bench run between operations.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { windowMs, rows };
}
