// The order of the pipeline's lookups (docs/ARCHITECTURE.md, "The connection pipeline") on real DNS (dnsmasq), a real HTTPS POSH
// host whose answer takes 400 ms, and a real TLS listener, on 127.0.50.48-50: the parallel
// pipeline, and the two baselines the benchmark measures it against (sequential, PKIX-only).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { createResolver } from '../../src/lookup/resolver.ts';
import { StepRecorder } from '../../src/lookup/steps.ts';
import { startDnsmasq, type RunningDns } from '../../src/testbed/dnsmasq.ts';
import { createAuthority, scratchDir, type CertificateAuthority } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import type { TimedStep } from '../../src/verify/types.ts';
import { runDelegationAttempt } from '../../src/xmpp/attempt.ts';
import { startHttpsHosts, type HttpsHosts } from '../support/https-hosts.ts';
import { delegationFor, type LookupOrder } from '../support/lookup-baselines.ts';
import { startXmppListener, type XmppListener } from '../support/xmpp-tls-listener.ts';

const DNS = '127.0.50.48';
const WEB = '127.0.50.49';
const XMPP = '127.0.50.50';
const DOMAIN = 'slowposh.example';
const PKIX_DOMAIN = 'pkixonly.example';
const POSH_DELAY_MS = 400;

let scratch: { dir: string; remove: () => Promise<void> };
let ca: CertificateAuthority;
let dns: RunningDns;
let web: HttpsHosts;
const listeners: XmppListener[] = [];

beforeAll(async () => {
  scratch = await scratchDir('pipeline-order');
  ca = await createAuthority(join(scratch.dir, 'ca'));
  const hosting = await ca.issue({ name: 'hosting', commonName: 'xmpp.hosting.example', dnsNames: ['xmpp.hosting.example'] });
  const pkix = await ca.issue({ name: 'pkix', dnsNames: [PKIX_DOMAIN], srvNames: [`_xmpp-client.${PKIX_DOMAIN}`], xmppAddrs: [PKIX_DOMAIN] });
  const site = await ca.issue({ name: 'site', dnsNames: [DOMAIN, PKIX_DOMAIN] });
  dns = await startDnsmasq(DNS, 53, {
    srv: [
      { name: `_xmpps-client._tcp.${DOMAIN}`, target: 'xmpp.hosting.example', port: 5223, priority: 0, weight: 0 },
      { name: `_xmpps-client._tcp.${PKIX_DOMAIN}`, target: `xmpp.${PKIX_DOMAIN}`, port: 5224, priority: 0, weight: 0 },
    ],
    hosts: { 'xmpp.hosting.example': [XMPP], [`xmpp.${PKIX_DOMAIN}`]: [XMPP], [DOMAIN]: [WEB], [PKIX_DOMAIN]: [WEB] },
  });
  web = await startHttpsHosts([{ address: WEB, certificates: { [DOMAIN]: site, [PKIX_DOMAIN]: site } }]);
  web.routes.set(`https://${DOMAIN}/.well-known/posh/xmpp-client.json`, (_request, response) => {
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ fingerprints: [{ 'sha-256': hosting.sha256 }], expires: 3600 }));
    }, POSH_DELAY_MS);
  });
  listeners.push(
    await startXmppListener({ address: XMPP, port: 5223, tls: 'direct', certPem: hosting.certPem, keyPem: hosting.keyPem }),
    await startXmppListener({ address: XMPP, port: 5224, tls: 'direct', certPem: pkix.certPem, keyPem: pkix.keyPem }),
  );
});

afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.stop()));
  await web?.stop();
  await dns?.stop();
  await scratch?.remove();
});

async function attempt(domain: string, lookups: LookupOrder) {
  const recorder = new StepRecorder();
  const { report } = await runDelegationAttempt({
    domain: normalizeDomain(domain),
    service: 'xmpp-client',
    connect: true,
    keepSocket: false,
    resolver: createResolver({ server: DNS }),
    trust: trustStore([ca.certPem]),
    recorder,
    delegation: delegationFor(lookups),
    signal: AbortSignal.timeout(10_000),
  });
  const step = (name: TimedStep['name']): TimedStep | undefined => report.steps.find((candidate) => candidate.name === name);
  return { report, srv: step('srv')!, posh: step('posh'), dns: step('dns')!, tcp: step('tcp')! };
}

describe('lookup order', () => {
  it('ARCHITECTURE#the-connection-pipeline steps 1 and 3 (parallel): SRV and POSH start together; the target\'s A/AAAA starts once SRV has answered, while POSH still runs; TCP waits for all', async () => {
    const { report, srv, posh, dns: addresses, tcp } = await attempt(DOMAIN, 'parallel');
    expect(report.verdict.code).toBe('OK_POSH');
    expect(Math.abs(srv.startedAt - posh!.startedAt)).toBeLessThan(50);
    expect(addresses.startedAt).toBeGreaterThanOrEqual(srv.endedAt);
    expect(addresses.endedAt).toBeLessThan(posh!.endedAt);
    expect(posh!.endedAt - posh!.startedAt).toBeGreaterThanOrEqual(POSH_DELAY_MS);
    expect(tcp.startedAt).toBeGreaterThanOrEqual(Math.max(srv.endedAt, posh!.endedAt, addresses.endedAt));
  });

  it('sequential baseline: POSH starts after SRV has answered, the addresses after POSH', async () => {
    const { report, srv, posh, dns: addresses, tcp } = await attempt(DOMAIN, 'sequential');
    expect(report.verdict.code).toBe('OK_POSH');
    expect(posh!.startedAt).toBeGreaterThanOrEqual(srv.endedAt);
    expect(addresses.startedAt).toBeGreaterThanOrEqual(posh!.endedAt);
    expect(tcp.startedAt).toBeGreaterThanOrEqual(addresses.endedAt);
  });

  it.each([
    { rule: 'RFC 7712 PKIX: a properly certified domain is proven without POSH', domain: PKIX_DOMAIN, code: 'OK_PKIX' },
    { rule: 'a delegated domain is not proven: POSH was never asked (NO_PROOF)', domain: DOMAIN, code: 'NO_PROOF' },
  ])('PKIX-only baseline: $rule, and no POSH request is made', async ({ domain, code }) => {
    const before = web.requests.length;
    const { report, posh } = await attempt(domain, 'pkix-only');
    expect(report.verdict.code).toBe(code);
    expect(posh).toBeUndefined();
    expect(report.posh).toMatchObject({ status: 'absent', steps: [], fromCache: false });
    expect(web.requests.slice(before)).toEqual([]);
  });
});
