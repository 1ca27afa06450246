// The benchmark's own arithmetic (npm run bench): summaries, the limit of the injected delays,
// its flags and its topology. Nothing here is timed.
import { describe, expect, it } from 'vitest';
import { LOGIN_ROUND_TRIPS, pipelineModel, poshBranchMs, srvBranchMs, XMPP_ROUND_TRIPS } from '../bench/limit.ts';
import { DEFAULT_DELAYS, parseBenchOptions, UsageError } from '../bench/options.ts';
import { percentile, shareBelow, summarize } from '../bench/stats.ts';
import { ADDRESSES, benchRecords, PIPELINE_SIZES, redirectChain } from '../bench/topology.ts';

describe('summaries', () => {
  it.each([
    { rule: 'an odd count: the middle value is the median', values: [5, 1, 3], median: 3, p90: 5 },
    { rule: 'an even count: the median is the mean of the two middle values', values: [4, 1, 3, 2], median: 2.5, p90: 4 },
    { rule: 'nearest rank: 90% of 20 samples is the 18th', values: Array.from({ length: 20 }, (_, index) => index + 1), median: 10.5, p90: 18 },
    { rule: 'values that are not finite are left out', values: [1, Number.NaN, 3, Number.POSITIVE_INFINITY], median: 2, p90: 3 },
  ])('$rule', ({ values, median, p90 }) => {
    const summary = summarize(values);
    expect(summary.median).toBe(median);
    expect(summary.p90).toBe(p90);
  });

  it('no samples: every statistic is NaN, not a made-up number', () => {
    expect(Object.values(summarize([])).slice(1).every(Number.isNaN)).toBe(true);
    expect(percentile([], 0.9)).toBeNaN();
  });

  it('share below a limit counts strictly smaller values', () => {
    expect(shareBelow([10, 16.7, 16.6, 20], 16.7)).toBe(0.5);
  });
});

describe('the limit of the injected delays', () => {
  const delays = DEFAULT_DELAYS;

  it.each([
    { rule: 'SRV: one DNS round trip for both record sets, one for the target\'s A/AAAA', truncated: false, expected: 100 },
    { rule: 'SRV: an answer truncated over UDP costs a TCP connect and a query more', truncated: true, expected: 200 },
  ])('$rule', ({ truncated, expected }) => {
    expect(srvBranchMs(delays, truncated)).toBe(expected);
  });

  it.each([
    { rule: 'POSH without redirects: DNS, then TCP, TLS 1.3 and the GET', redirects: 0, expected: 50 + 3 * 80 },
    { rule: 'each redirect to another host costs the same again', redirects: 3, expected: 4 * (50 + 3 * 80) },
  ])('$rule', ({ redirects, expected }) => {
    expect(poshBranchMs(delays, redirects)).toBe(expected);
  });

  it('the login counts 6 XMPP round trips: TCP, TLS, stream, 2 for SASL2 SCRAM with Bind 2 inline, roster', () => {
    expect(XMPP_ROUND_TRIPS).toBe(6);
    expect(LOGIN_ROUND_TRIPS.map((step) => step.roundTrips)).toEqual([1, 1, 1, 2, 1]);
  });

  it.each([
    { rule: 'the limit overlaps the lookups: max(SRV, POSH) + login', size: { srvTruncated: false, redirects: 0 }, limit: 290 + 240, sequential: 100 + 290 + 240 },
    { rule: 'a cached POSH document costs nothing: SRV + login', size: { srvTruncated: false, redirects: null }, limit: 100 + 240, sequential: 100 + 240 },
  ])('$rule', ({ size, limit, sequential }) => {
    const model = pipelineModel(delays, size);
    expect(model.limitMs).toBe(limit);
    expect(model.sequentialMs).toBe(sequential);
    expect(model.bestRatio).toBeCloseTo(limit / sequential, 10);
  });
});

describe('flags', () => {
  it('defaults: 50 ms DNS, 80 ms web, 40 ms XMPP, 20 runs, every scenario', () => {
    expect(parseBenchOptions([])).toMatchObject({ delays: { dnsMs: 50, webMs: 80, xmppMs: 40 }, runs: 20, scenarios: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], smoke: false });
  });

  it('every delay and the runs are configurable', () => {
    expect(parseBenchOptions(['--dns-ms', '10', '--web-ms', '0', '--xmpp-ms', '5', '--runs', '30', '--only', 'b,a'])).toMatchObject({
      delays: { dnsMs: 10, webMs: 0, xmppMs: 5 },
      runs: 30,
      scenarios: ['b', 'a'],
    });
  });

  it.each([
    { rule: 'a delay that is not a whole number', args: ['--dns-ms', '1.5'], message: /--dns-ms must be a whole number/ },
    { rule: 'a negative delay', args: ['--web-ms', '-3'], message: /--web-ms/ },
    { rule: 'an unknown scenario', args: ['--only', 'a,z'], message: /--only takes scenarios from a, b, c, d, e, f, g, h, not "z"/ },
    { rule: 'an unknown flag', args: ['--fast'], message: /fast/ },
  ])('refused with a sentence: $rule', ({ args, message }) => {
    expect(() => parseBenchOptions(args)).toThrow(UsageError);
    expect(() => parseBenchOptions(args)).toThrow(message);
  });
});

describe('topology', () => {
  it('every address is inside 127.0.50.0/24', () => {
    const all = JSON.stringify(ADDRESSES).match(/\d+\.\d+\.\d+\.\d+/g) ?? [];
    expect(all.length).toBeGreaterThan(8);
    expect(all.every((address) => address.startsWith('127.0.50.'))).toBe(true);
  });

  it.each(PIPELINE_SIZES.map((size) => ({ ...size })))('size $name publishes $srvRecords SRV records for example.com and $redirects redirects', (size) => {
    const records = benchRecords(size);
    expect(records.srv?.filter((record) => record.name.endsWith('._tcp.example.com'))).toHaveLength(size.srvRecords);
    const chain = redirectChain(size.redirects);
    expect(chain).toHaveLength(size.redirects + 1);
    expect(chain[0]).toBe('example.com');
    // Every name a client looks up points at a delaying proxy, never at a server.
    for (const host of chain) expect(records.hosts?.[host]?.[0]).toMatch(/^127\.0\.50\.1[234]$/);
  });
});
