import { describe, expect, it } from 'vitest';
import { orderCandidates, srvOwnerNames } from '../../src/lookup/srv.ts';
import type { ServiceName, SrvRecord, TlsMode } from '../../src/verify/types.ts';

function record(target: string, priority: number, weight: number, tls: TlsMode = 'starttls', port = 5222): SrvRecord {
  return { target, port, priority, weight, tls };
}

/** Returns the given values in turn and fails the test if asked for more. */
function scripted(values: number[]): () => number {
  const queue = [...values];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('random() called more often than the rule allows');
    return next;
  };
}

/** mulberry32: a small seeded PRNG so the statistical rows are repeatable. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('srvOwnerNames', () => {
  it.each([
    { name: 'RFC 6120 3.2.1 and XEP-0368 3: client records', domain: 'example.com', service: 'xmpp-client', direct: '_xmpps-client._tcp.example.com', starttls: '_xmpp-client._tcp.example.com' },
    { name: 'RFC 6120 3.2.1 and XEP-0368 3: server records', domain: 'example.com', service: 'xmpp-server', direct: '_xmpps-server._tcp.example.com', starttls: '_xmpp-server._tcp.example.com' },
    { name: 'RFC 4343: the domain is case-folded and its trailing dot dropped', domain: 'Example.COM.', service: 'xmpp-client', direct: '_xmpps-client._tcp.example.com', starttls: '_xmpp-client._tcp.example.com' },
  ] satisfies Array<{ name: string; domain: string; service: ServiceName; direct: string; starttls: string }>)('$name', ({ domain, service, direct, starttls }) => {
    expect(srvOwnerNames(domain, service)).toEqual({ direct, starttls });
  });
});

describe('orderCandidates: exact orders', () => {
  it.each([
    {
      name: 'RFC 2782 Usage rules: lowest priority first, across the direct-TLS and STARTTLS sets',
      records: [record('c.example', 20, 0), record('b.example', 10, 0, 'direct', 5223), record('a.example', 0, 0)],
      random: [],
      expected: [['a.example', 5222, 'starttls'], ['b.example', 5223, 'direct'], ['c.example', 5222, 'starttls']],
    },
    {
      name: 'XEP-0368 3: direct TLS before STARTTLS on equal priority, whatever the weights',
      records: [record('plain.example', 5, 100), record('tls.example', 5, 1, 'direct', 5223)],
      random: [],
      expected: [['tls.example', 5223, 'direct'], ['plain.example', 5222, 'starttls']],
    },
    {
      name: 'XEP-0368 3: a lower STARTTLS priority still beats a higher direct-TLS priority',
      records: [record('tls.example', 1, 0, 'direct', 5223), record('plain.example', 0, 0)],
      random: [],
      expected: [['plain.example', 5222, 'starttls'], ['tls.example', 5223, 'direct']],
    },
    {
      name: 'RFC 2782 Usage rules: a weight-0 record is placed first and takes a draw of 0',
      records: [record('heavy.example', 0, 5), record('zero.example', 0, 0)],
      random: [0],
      expected: [['zero.example', 5222, 'starttls'], ['heavy.example', 5222, 'starttls']],
    },
    {
      name: 'RFC 2782 Usage rules: a weight-0 record loses any draw above 0',
      records: [record('zero.example', 0, 0), record('heavy.example', 0, 5)],
      random: [0.2],
      expected: [['heavy.example', 5222, 'starttls'], ['zero.example', 5222, 'starttls']],
    },
    {
      name: 'RFC 2782 Usage rules: only weight-0 records keep their published order without a draw',
      records: [record('first.example', 0, 0), record('second.example', 0, 0), record('third.example', 0, 0)],
      random: [],
      expected: [['first.example', 5222, 'starttls'], ['second.example', 5222, 'starttls'], ['third.example', 5222, 'starttls']],
    },
    {
      name: 'RFC 2782 Usage rules: weighted choice by running sums (weights 1, 2, 3; draws 6 then 1)',
      records: [record('a.example', 0, 1), record('b.example', 0, 2), record('c.example', 0, 3)],
      random: [0.9, 0],
      expected: [['c.example', 5222, 'starttls'], ['a.example', 5222, 'starttls'], ['b.example', 5222, 'starttls']],
    },
    {
      name: 'RFC 2782 Usage rules: weighted choice by running sums (weights 1, 2, 3; draws 2 then 3)',
      records: [record('a.example', 0, 1), record('b.example', 0, 2), record('c.example', 0, 3)],
      random: [0.2, 0.7],
      expected: [['b.example', 5222, 'starttls'], ['c.example', 5222, 'starttls'], ['a.example', 5222, 'starttls']],
    },
    {
      name: 'RFC 2782 Usage rules: each priority and TLS group is ordered on its own, in order',
      records: [
        record('p1-plain-a.example', 1, 1),
        record('p1-plain-b.example', 1, 1),
        record('p0-tls-a.example', 0, 1, 'direct', 5223),
        record('p0-tls-b.example', 0, 3, 'direct', 5223),
      ],
      random: [0, 0.99],
      expected: [
        ['p0-tls-a.example', 5223, 'direct'],
        ['p0-tls-b.example', 5223, 'direct'],
        ['p1-plain-b.example', 5222, 'starttls'],
        ['p1-plain-a.example', 5222, 'starttls'],
      ],
    },
    {
      name: 'RFC 4343: targets are case-folded and lose their trailing dot',
      records: [record('XMPP.Hosting.Example.NET.', 0, 0)],
      random: [],
      expected: [['xmpp.hosting.example.net', 5222, 'starttls']],
    },
  ])('$name', ({ records, random, expected }) => {
    const candidates = orderCandidates(records, scripted(random));
    expect(candidates.map(({ host, port, tls }) => [host, port, tls])).toEqual(expected);
    expect(candidates.every((candidate) => candidate.source === 'srv')).toBe(true);
  });
});

describe('orderCandidates: proportions over many draws (seeded)', () => {
  const draws = 20_000;

  function firstPickShare(records: SrvRecord[], target: string, seed: number): number {
    const random = seeded(seed);
    let hits = 0;
    for (let i = 0; i < draws; i++) if (orderCandidates(records, random)[0]?.host === target) hits++;
    return hits / draws;
  }

  // 20,000 draws: one standard deviation of a 75% share is 0.3 points, so 1.5 points is five of them.
  // An unweighted choice (50%), or the literal [0, sum] draw that favours the first-listed record
  // (80% or 60% depending on the published order), falls far outside.
  it.each([
    { name: 'RFC 2782 Usage rules: weights 3:1 give the heavier record 75% of first picks', records: [record('heavy.example', 0, 3), record('light.example', 0, 1)], target: 'heavy.example', share: 0.75, tolerance: 0.015 },
    { name: 'RFC 2782 Usage rules: weights 3:1 give 75% whatever the published order', records: [record('light.example', 0, 1), record('heavy.example', 0, 3)], target: 'heavy.example', share: 0.75, tolerance: 0.015 },
    { name: 'RFC 2782 Usage rules: a weight-0 record beside weight 4 is first in 1 of 5 draws', records: [record('heavy.example', 0, 4), record('zero.example', 0, 0)], target: 'zero.example', share: 0.2, tolerance: 0.015 },
  ])('$name', ({ records, target, share, tolerance }) => {
    const measured = firstPickShare(records, target, 0x5eed);
    expect(Math.abs(measured - share)).toBeLessThan(tolerance);
  });
});
