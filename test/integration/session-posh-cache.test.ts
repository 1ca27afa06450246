// Issue 3 scenarios 8 and 9: the POSH cache across connections of one session's account, proven
// by nginx's access log (what was requested, and when).
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { MemoryStore, PoshCache } from '../../src/lookup/posh-cache.ts';
import type { TestbedControl } from '../../src/testbed/index.ts';
import type { DelegationReport } from '../../src/verify/report.ts';
import type { XmppSession } from '../../src/xmpp/session.ts';
import { nextEvent, testbedSession } from '../support/sessions.ts';
import { useTestbed } from '../support/use-testbed.ts';

let testbed: TestbedControl;
let release: () => Promise<void>;
const started: XmppSession[] = [];
beforeAll(async () => ({ testbed, release } = await useTestbed()));
afterEach(async () => {
  await Promise.all(started.splice(0).map((session) => session.stop()));
});
afterAll(async () => release());

const POSH_PATH = '/.well-known/posh/xmpp-client.json';

/** POSH requests nginx logged after `since` (nginx logs at the end of each request). */
async function poshRequestsSince(since: number): Promise<string[]> {
  return (await testbed.webRequests()).filter((request) => request.path === POSH_PATH && request.time.getTime() >= since).map((request) => `${request.host} ${request.status}`);
}

/** Whole seconds: nginx's log time has a one-second resolution. */
const logSecond = (): number => Math.floor(Date.now() / 1000) * 1000;

async function connectOnce(cache: PoshCache): Promise<DelegationReport> {
  const session = testbedSession(testbed, 'alice@example.com', { cache });
  started.push(session);
  const report = nextEvent(session.events, 'report');
  expect(await session.start()).toBe('online');
  await session.stop();
  return (await report).report;
}

it('scenario 8: with fresh cached material a second connection makes no HTTP request; stale material is fetched again', async () => {
  let now = Date.now();
  const cache = new PoshCache(new MemoryStore(), () => now);
  now = Date.now();
  const first = await connectOnce(cache);
  expect(first.posh.fromCache).toBe(false);

  // Let nginx's log second roll over, so that "since" below excludes the first fetch.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  const since = logSecond();
  now = Date.now();
  const second = await connectOnce(cache);
  expect(second.verdict.code).toBe('OK_POSH');
  expect(second.posh.fromCache).toBe(true);
  expect(await poshRequestsSince(since)).toEqual([]);

  // A day and a second later the material (expires 86400) is stale: the whole retrieval runs again.
  now = Date.now() + 86_401_000;
  const third = await connectOnce(cache);
  expect(third.verdict.code).toBe('OK_POSH');
  expect(third.posh.fromCache).toBe(false);
  expect(await poshRequestsSince(since)).toEqual(['example.com 200']);
});

it('scenario 9: after a certificate rotation the cached fingerprints mismatch, one refetch finds the new ones: OK_POSH', async () => {
  const cache = new PoshCache(new MemoryStore());
  const before = await connectOnce(cache);
  expect(before.verdict.code).toBe('OK_POSH');

  const rotated = await testbed.rotateCertificate();
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  const since = logSecond();
  const after = await connectOnce(cache);
  expect(after.verdict.code).toBe('OK_POSH');
  expect(after.poshRefetched).toBe(true);
  expect(after.certificate?.sha256).toBe(rotated.sha256);
  expect(before.certificate?.sha256).not.toBe(rotated.sha256);
  expect(after.steps.filter((step) => step.name === 'posh')).toHaveLength(2);
  expect(await poshRequestsSince(since)).toEqual(['example.com 200']);
});
