// Scenarios (a) and (b): click to online through the app core, each sample in a fresh process,
// the variants of one size interleaved so that drift hits them alike.
// (a) cold POSH cache: our pipeline, the same without warming the trust stores, and the
//     sequential baseline, against the limit of the injected delays, at each size.
// (b) warm cache (no POSH request, proven from the web host's log) against a PKIX-only login
//     to the properly certified domain, and against our pipeline's login there.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Testbed } from '../../src/testbed/index.ts';
import { roundTripsOf, type ConnectionRecord } from '../support/delay-tcp.ts';
import type { LookupOrder } from '../support/lookup-baselines.ts';
import { pipelineModel, type PipelineModel } from './limit.ts';
import type { LoginJob, LoginSample } from './login-worker.ts';
import type { BenchNetwork, Delays } from './network.ts';
import { summarize, type Summary } from './stats.ts';
import { ADDRESSES, DNSMASQ_PORT, DOMAIN, poshPath, PROPER, type PipelineSize } from './topology.ts';
import { runLoginWorker } from './worker.ts';

export interface LoginVariant {
  name: string;
  jid: string;
  lookups: LookupOrder;
  warm: boolean;
  /** A data directory kept across samples (a warm POSH cache), or null for a fresh one per sample. */
  keepData: boolean;
  /** Measure the second click of the process (cold POSH cache, code already run once). */
  secondClick?: boolean;
  expectVerdict: 'OK_POSH' | 'OK_PKIX';
}

export interface VariantResult {
  name: string;
  lookups: LookupOrder;
  warm: boolean;
  clickToOnline: Summary;
  appStart: Summary;
  /** Median milliseconds after the click at which each phase ended (srv, posh) or started (connect). */
  phases: Record<string, number>;
  maxLoopBlock: Summary;
  /** Round trips on the XMPP connection, as the proxy counted them (median). */
  xmppRoundTrips: number;
  /** POSH requests the web host logged, over all samples. */
  poshRequests: number;
  tlsProtocol: string | null;
  failures: string[];
  samples: number[];
}

export interface SizeResult {
  size: PipelineSize;
  srvTruncated: boolean;
  model: PipelineModel;
  variants: VariantResult[];
}

interface LoginContext {
  /** The built login worker (build-worker.ts). */
  worker: string;
  testbed: Testbed;
  network: BenchNetwork;
  delays: Delays;
  runs: number;
  idleMs: number;
  scratch: string;
  log: (line: string) => void;
}

/** Whether dnsmasq's UDP answer to an SRV query without EDNS has the TC bit (RFC 1035 4.1.1). */
export async function srvAnswerTruncated(server: string, port: number, name: string): Promise<boolean> {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x6bad, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')]));
  const tail = Buffer.from([0, 0, 33, 0, 1]);
  const socket = createSocket('udp4');
  try {
    const answer = once(socket, 'message', { signal: AbortSignal.timeout(3000) });
    socket.send(Buffer.concat([header, ...labels, tail]), port, server);
    const [message] = (await answer) as [Buffer];
    return (message.readUInt16BE(2) & 0x0200) !== 0;
  } finally {
    socket.close();
  }
}

const median = (values: number[]): number => summarize(values).median;

function phasesOf(samples: LoginSample[]): Record<string, number> {
  const at = (pick: (sample: LoginSample) => number | undefined): number => median(samples.map(pick).filter((value): value is number => value !== undefined));
  const end = (name: string) => (sample: LoginSample) => sample.steps.find((step) => step.name === name)?.endMs;
  const start = (name: string) => (sample: LoginSample) => sample.steps.find((step) => step.name === name)?.startMs;
  const duration = (name: string) => (sample: LoginSample) => {
    const step = sample.steps.find((candidate) => candidate.name === name);
    return step ? step.endMs - step.startMs : undefined;
  };
  return {
    srvEnd: at(end('srv')),
    poshEnd: at(end('posh')),
    tcpStart: at(start('tcp')),
    dnsMs: at(duration('dns')),
    tlsEnd: at(end('tls')),
    verifyMs: at(duration('verify')),
    authMs: at(duration('auth')),
    bindEnd: at(end('bind')),
  };
}

function xmppRoundTrips(connections: Record<string, ConnectionRecord[]>): number | null {
  const xmpp = [...(connections['xmpp-direct'] ?? []), ...(connections['xmpp-starttls'] ?? [])];
  const first = xmpp[0];
  return first ? roundTripsOf(first) : null;
}

async function runVariants(context: LoginContext, variants: LoginVariant[], anchorsPem: string): Promise<VariantResult[]> {
  const { testbed, network } = context;
  const kept = new Map<string, string>();
  for (const variant of variants) {
    if (!variant.keepData) continue;
    const dir = await mkdtemp(join(context.scratch, `${variant.name.replace(/\W+/g, '-')}-`));
    kept.set(variant.name, dir);
  }
  const jobFor = async (variant: LoginVariant): Promise<LoginJob> => ({
    dataDir: kept.get(variant.name) ?? (await mkdtemp(join(context.scratch, 'cold-'))),
    jid: variant.jid,
    password: testbed.users[variant.jid]!,
    resolver: network.resolver,
    anchorsPem,
    lookups: variant.lookups,
    warm: variant.warm,
    secondClick: variant.secondClick ?? false,
    idleMs: context.idleMs,
    timeoutMs: 20_000,
  });
  // A kept directory starts with one unmeasured login: the account exists and its POSH material is cached.
  for (const variant of variants) {
    if (!variant.keepData) continue;
    const primed = await runLoginWorker(context.worker, await jobFor(variant));
    if (!primed.ok) throw new Error(`Priming ${variant.name} failed: ${primed.state} ${primed.problem ?? ''}`);
  }

  const collected = new Map<string, { samples: LoginSample[]; trips: number[]; posh: number; failures: string[] }>(
    variants.map((variant) => [variant.name, { samples: [], trips: [], posh: 0, failures: [] }]),
  );
  for (let run = 0; run < context.runs; run += 1) {
    // Rotate the order each run, so no variant always comes first after the previous one.
    const order = variants.map((_, index) => variants[(index + run) % variants.length]!);
    for (const variant of order) {
      const bucket = collected.get(variant.name)!;
      await network.clear();
      const sample = await runLoginWorker(context.worker, await jobFor(variant));
      const connections = await network.connections();
      bucket.posh += network.web.requests.filter((request) => request.url.endsWith(poshPath)).length;
      if (!sample.ok || sample.verdict !== variant.expectVerdict) {
        bucket.failures.push(`${sample.state} ${sample.verdict ?? ''} ${sample.problem ?? ''}`.trim());
        continue;
      }
      bucket.samples.push(sample);
      const trips = xmppRoundTrips(connections);
      if (trips !== null) bucket.trips.push(trips);
    }
    context.log(`  run ${run + 1}/${context.runs}: ${variants.map((variant) => `${variant.name} ${Math.round(collected.get(variant.name)!.samples.at(-1)?.clickToOnlineMs ?? Number.NaN)} ms`).join(', ')}`);
  }
  return variants.map((variant) => {
    const { samples, trips, posh, failures } = collected.get(variant.name)!;
    return {
      name: variant.name,
      lookups: variant.lookups,
      warm: variant.warm,
      clickToOnline: summarize(samples.map((sample) => sample.clickToOnlineMs)),
      appStart: summarize(samples.map((sample) => sample.appStartMs)),
      phases: phasesOf(samples),
      maxLoopBlock: summarize(samples.map((sample) => sample.maxLoopBlockMs)),
      xmppRoundTrips: median(trips),
      poshRequests: posh,
      tlsProtocol: samples[0]?.tlsProtocol ?? null,
      failures,
      samples: samples.map((sample) => sample.clickToOnlineMs),
    };
  });
}

const alice = `alice@${DOMAIN}`;
const carol = `carol@${PROPER}`;

export async function runScenarioA(context: LoginContext, sizes: readonly PipelineSize[]): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const [index, size] of sizes.entries()) {
    await context.network.setSize(size);
    const srvTruncated = await srvAnswerTruncated(ADDRESSES.dnsmasq, DNSMASQ_PORT, `_xmpps-client._tcp.${DOMAIN}`);
    const model = pipelineModel(context.delays, { srvTruncated, redirects: size.redirects });
    context.log(`(a) size ${size.name}: ${size.srvRecords} SRV records${srvTruncated ? ' (truncated over UDP)' : ''}, ${size.redirects} redirect(s); limit ${model.limitMs} ms`);
    const variants: LoginVariant[] = [
      { name: 'ours', jid: alice, lookups: 'parallel', warm: true, keepData: false, expectVerdict: 'OK_POSH' },
      { name: 'sequential', jid: alice, lookups: 'sequential', warm: true, keepData: false, expectVerdict: 'OK_POSH' },
    ];
    // On the first size only: what warming the trust stores buys, and what is left of first-use cost.
    if (index === 0) {
      variants.splice(
        1,
        0,
        { name: 'ours, no warm-up', jid: alice, lookups: 'parallel', warm: false, keepData: false, expectVerdict: 'OK_POSH' },
        { name: 'ours, 2nd click in process', jid: alice, lookups: 'parallel', warm: true, keepData: false, expectVerdict: 'OK_POSH', secondClick: true },
      );
    }
    results.push({ size, srvTruncated, model, variants: await runVariants(context, variants, context.testbed.caPem) });
  }
  return results;
}

export interface WarmResult {
  model: { warm: PipelineModel; pkixOnly: PipelineModel; pkixParallel: PipelineModel };
  variants: VariantResult[];
}

export async function runScenarioB(context: LoginContext): Promise<WarmResult> {
  await context.network.setSize({ name: 'S', srvRecords: 2, redirects: 0 });
  context.log('(b) warm POSH cache against PKIX-only');
  const variants: LoginVariant[] = [
    { name: 'ours, warm cache (alice)', jid: alice, lookups: 'parallel', warm: true, keepData: true, expectVerdict: 'OK_POSH' },
    { name: 'PKIX-only client (carol)', jid: carol, lookups: 'pkix-only', warm: true, keepData: true, expectVerdict: 'OK_PKIX' },
    { name: 'ours, PKIX domain (carol)', jid: carol, lookups: 'parallel', warm: true, keepData: true, expectVerdict: 'OK_PKIX' },
  ];
  const delays = context.delays;
  return {
    model: {
      warm: pipelineModel(delays, { srvTruncated: false, redirects: null }),
      pkixOnly: pipelineModel(delays, { srvTruncated: false, redirects: null }),
      // proper.example publishes no POSH: the 404 still costs a whole retrieval.
      pkixParallel: pipelineModel(delays, { srvTruncated: false, redirects: 0 }),
    },
    variants: await runVariants(context, variants, context.testbed.caPem),
  };
}
