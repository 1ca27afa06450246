// posh-check end to end (docs/ARCHITECTURE.md#posh-check): the real command in a child process, against real DNS
// (dnsmasq), real HTTPS POSH hosts and TLS listeners presenting real certificates, on 127.0.20.0/24.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, type RunningDns } from '../../src/testbed/dnsmasq.ts';
import { createAuthority, createSelfSigned, days, scratchDir, type IssuedCertificate } from '../../src/testbed/pki.ts';
import type { DelegationReport } from '../../src/verify/report.ts';
import { startDelayingDns, type DelayingDns } from '../support/delay-dns.ts';
import { startHttpsHosts, type Handler, type HttpsHosts } from '../support/https-hosts.ts';
import { startXmppListener, type XmppListener } from '../support/xmpp-tls-listener.ts';

const WEB = '127.0.20.1';
const DNS = '127.0.20.53';
const SLOW_DNS = '127.0.20.54';
const HOSTS = {
  'xmpp.pkix.example': '127.0.20.11',
  'hosting.example.net': '127.0.20.12',
  'selfsigned.example.net': '127.0.20.13',
  'expired.example.net': '127.0.20.14',
  'fallback.example': '127.0.20.15',
};
const BIN = join(import.meta.dirname, '../../bin/posh-check.js');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function poshCheck(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // process.execPath is the Node that runs the tests: the project's pinned Node 24.
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

let scratch: { dir: string; remove: () => Promise<void> };
let caFile: string;
let dns: RunningDns;
let slowDns: DelayingDns;
let web: HttpsHosts;
const listeners: XmppListener[] = [];
const certs: Record<string, IssuedCertificate> = {};
let delegatedStartTls: XmppListener;

const json = (value: unknown): Handler => (_request, response) => {
  const body = JSON.stringify(value);
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(body);
};
const poshFor = (...published: IssuedCertificate[]): Handler => json({ fingerprints: published.map((cert) => ({ 'sha-256': cert.sha256 })), expires: 3600 });
const wellKnown = (domain: string, service = 'xmpp-client') => `https://${domain}/.well-known/posh/${service}.json`;

const srv = (domain: string, target: string, port = 5222, direct = false) => ({
  name: `_${direct ? 'xmpps' : 'xmpp'}-client._tcp.${domain}`, target, port, priority: 0, weight: 0,
});

beforeAll(async () => {
  scratch = await scratchDir('posh-check');
  const ca = await createAuthority(join(scratch.dir, 'ca'));
  caFile = join(scratch.dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const now = Date.now();
  certs.pkix = await ca.issue({ name: 'pkix', dnsNames: ['pkix.example'], srvNames: ['_xmpp-client.pkix.example'], xmppAddrs: ['pkix.example'] });
  certs.hosting = await ca.issue({ name: 'hosting', commonName: 'hosting.example.net', dnsNames: ['hosting.example.net'] });
  certs.selfSigned = await createSelfSigned(join(scratch.dir, 'self'), { name: 'self', dnsNames: ['selfsigned.example.net'] });
  certs.expired = await ca.issue({ name: 'expired', dnsNames: ['expired.example.net'], notBefore: new Date(now - days(60)), notAfter: new Date(now - days(1)) });
  const webCerts: Record<string, { certPem: string; keyPem: string }> = {};
  for (const domain of ['pkix.example', 'delegated.example', 'selfsigned.example', 'unpublished.example', 'expired.example', 'slow.example', 'fallback.example']) {
    webCerts[domain] = await ca.issue({ name: `web-${domain}`, dnsNames: [domain] });
  }

  dns = await startDnsmasq(DNS, 53, {
    srv: [
      srv('pkix.example', 'xmpp.pkix.example'),
      srv('delegated.example', 'hosting.example.net'),
      srv('delegated.example', 'hosting.example.net', 5223, true),
      srv('selfsigned.example', 'selfsigned.example.net'),
      srv('unpublished.example', 'hosting.example.net'),
      srv('expired.example', 'expired.example.net'),
      srv('slow.example', 'hosting.example.net'),
      { name: '_xmpp-client._tcp.noservice.example' },
    ],
    hosts: {
      ...Object.fromEntries(Object.entries(HOSTS).map(([host, address]) => [host, [address]])),
      ...Object.fromEntries(Object.keys(webCerts).filter((d) => d !== 'fallback.example').map((domain) => [domain, [WEB]])),
    },
  });
  slowDns = await startDelayingDns(SLOW_DNS, 53, dns.address, 300);

  web = await startHttpsHosts([{ address: WEB, certificates: webCerts }]);
  web.routes.set(wellKnown('delegated.example'), poshFor(certs.hosting));
  web.routes.set(wellKnown('selfsigned.example'), poshFor(certs.selfSigned));
  web.routes.set(wellKnown('expired.example'), poshFor(certs.expired));
  web.routes.set(wellKnown('slow.example'), (request, response) => {
    const timer = setTimeout(() => poshFor(certs.hosting!)(request, response), 400);
    response.on('close', () => clearTimeout(timer));
  });

  const listen = async (host: keyof typeof HOSTS, cert: IssuedCertificate, tls: 'starttls' | 'direct', port: number) => {
    const listener = await startXmppListener({ address: HOSTS[host], port, tls, certPem: cert.certPem, keyPem: cert.keyPem });
    listeners.push(listener);
    return listener;
  };
  await listen('xmpp.pkix.example', certs.pkix, 'starttls', 5222);
  await listen('hosting.example.net', certs.hosting, 'direct', 5223);
  delegatedStartTls = await listen('hosting.example.net', certs.hosting, 'starttls', 5222);
  await listen('selfsigned.example.net', certs.selfSigned, 'starttls', 5222);
  await listen('expired.example.net', certs.expired, 'starttls', 5222);
}, 60_000);

afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.stop()));
  await web?.stop();
  await slowDns?.stop();
  await dns?.stop();
  await scratch?.remove();
});

async function check(domain: string, ...extra: string[]): Promise<{ run: Run; report: DelegationReport }> {
  const run = await poshCheck([domain, '--dns', DNS, '--ca', caFile, '--json', ...extra]);
  expect(run.stderr).toBe('');
  return { run, report: JSON.parse(run.stdout) as DelegationReport };
}

describe('posh-check verdicts (RFC 7712 prooftypes, ARCHITECTURE#the-verdict)', () => {
  it.each([
    { rule: 'RFC 7712 5.1 PKIX: a certificate naming the domain verifies', domain: 'pkix.example', code: 'OK_PKIX', prooftype: 'PKIX', status: 0 },
    { rule: 'RFC 7712 5.2 / RFC 7711 3.3 POSH: a delegated certificate published at the domain verifies', domain: 'delegated.example', code: 'OK_POSH', prooftype: 'POSH', status: 0 },
    { rule: 'ARCHITECTURE#the-verdict rule 2: a self-signed certificate published via POSH verifies', domain: 'selfsigned.example', code: 'OK_POSH', prooftype: 'POSH', status: 0 },
    { rule: 'ARCHITECTURE#the-verdict rule 3: an unpublished delegated certificate is refused as NO_PROOF', domain: 'unpublished.example', code: 'NO_PROOF', prooftype: null, status: 1 },
    { rule: 'RFC 7711 6 / RFC 5280: a published but expired certificate is refused as CERT_EXPIRED', domain: 'expired.example', code: 'CERT_EXPIRED', prooftype: null, status: 1 },
  ])('$rule', async ({ domain, code, prooftype, status }) => {
    const { run, report } = await check(domain);
    expect(report.verdict).toMatchObject({ code, prooftype, verified: status === 0 });
    expect(run.status).toBe(status);
    expect(report.connection).toMatchObject({ sni: domain, error: null });
    expect(report.certificate?.sha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('ARCHITECTURE#the-verdict: the hint for NO_PROOF is the exact document that makes the same certificate verify', async () => {
    const { report } = await check('unpublished.example');
    expect(report.hint?.publishAt).toBe(wellKnown('unpublished.example'));
    expect(report.verdict.reason).toMatch(/unpublished\.example/);
    web.routes.set(wellKnown('unpublished.example'), json(report.hint!.document));
    try {
      const again = await check('unpublished.example');
      expect(again.report.verdict).toMatchObject({ verified: true, code: 'OK_POSH' });
      expect(again.run.status).toBe(0);
    } finally {
      web.routes.delete(wellKnown('unpublished.example'));
    }
  });

  it('ARCHITECTURE#the-connection-pipeline step 2: direct TLS is tried first on equal priority, with SNI = the domain and ALPN xmpp-client (XEP-0368)', async () => {
    const { report } = await check('delegated.example');
    expect(report.srv.candidates.map((c) => `${c.tls}:${c.port}`)).toEqual(['direct:5223', 'starttls:5222']);
    expect(report.connection).toMatchObject({ tls: 'direct', port: 5223, sni: 'delegated.example', alpn: 'xmpp-client' });
    expect(report.connection?.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('ARCHITECTURE#the-connection-pipeline step 4: before the verdict only the stream header and <starttls/> are sent, and nothing inside TLS', async () => {
    const before = delegatedStartTls.connections.length;
    const { report } = await check('unpublished.example');
    expect(report.verdict.code).toBe('NO_PROOF');
    const observed = delegatedStartTls.connections.slice(before);
    expect(observed).toHaveLength(1);
    expect(observed[0]!.beforeTls).toBe(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='unpublished.example' version='1.0'>" +
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    );
    expect(observed[0]!.servername).toBe('unpublished.example');
    expect(observed[0]!.insideTls).toBe('');
  });

  it('RFC 2782: a lone "." target stops with SRV_NO_SERVICE and no connection', async () => {
    const { run, report } = await check('noservice.example');
    expect(report.verdict.code).toBe('SRV_NO_SERVICE');
    expect(report.connection).toBeNull();
    expect(run.status).toBe(1);
  });

  it('RFC 6120 3.2.2: no SRV records fall back to the domain on 5222; nothing listening is CONNECT_FAILED', async () => {
    const { run, report } = await check('fallback.example');
    expect(report.srv.candidates).toEqual([{ host: 'fallback.example', port: 5222, tls: 'starttls', source: 'fallback' }]);
    expect(report.verdict.code).toBe('CONNECT_FAILED');
    expect(run.status).toBe(1);
  });
});

describe('posh-check output contract (ARCHITECTURE#posh-check)', () => {
  it('--json carries every field the contract names', async () => {
    const { report } = await check('delegated.example');
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['domain', 'service', 'srv', 'posh', 'connection', 'certificate', 'verdict', 'hint', 'timings']));
    expect(report.srv.records[0]).toEqual(expect.objectContaining({ target: 'hosting.example.net', port: expect.any(Number), priority: 0, weight: 0, tls: expect.stringMatching(/^(direct|starttls)$/) }));
    expect(report.srv.error).toBeNull();
    expect(report.posh).toMatchObject({ status: 'valid', error: null, expires: 3600, fromCache: false, fingerprints: [{ 'sha-256': certs.hosting!.sha256 }] });
    expect(report.posh.steps).toEqual([expect.objectContaining({ url: wellKnown('delegated.example'), httpStatus: 200, kind: 'fingerprints' })]);
    expect(Date.parse(report.posh.expiresAt!)).toBeGreaterThan(Date.now());
    expect(Object.keys(report.connection!)).toEqual(expect.arrayContaining(['host', 'address', 'port', 'tls', 'sni', 'protocol', 'error']));
    expect(Object.keys(report.certificate!)).toEqual(
      expect.arrayContaining(['subject', 'issuer', 'dnsNames', 'srvNames', 'xmppAddrs', 'notBefore', 'notAfter', 'sha256', 'selfSigned']),
    );
    expect(report.certificate!.sha256).toBe(certs.hosting!.sha256);
    expect(Object.keys(report.verdict)).toEqual(expect.arrayContaining(['verified', 'prooftype', 'code', 'reason']));
    expect(report.hint).toBeNull();
    for (const key of ['srvMs', 'poshMs', 'connectMs', 'tlsMs', 'totalMs'] as const) expect(report.timings[key]).toBeGreaterThanOrEqual(0);
  });

  it('the human report draws the chain as a tree, plain when piped', async () => {
    const run = await poshCheck(['delegated.example', '--dns', DNS, '--ca', caFile]);
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('\u001b[');
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^delegated\.example {2}xmpp-client/);
    for (const part of [/^├─ SRV/, /^│ {2}├─ _xmpps-client\._tcp\.delegated\.example → hosting\.example\.net:5223/, /^├─ POSH {2}valid/, /200 https:\/\/delegated\.example\/\.well-known\/posh\/xmpp-client\.json fingerprints/, /sha-256 .*✓ matches the certificate/, /^├─ Connection {2}hosting\.example\.net \(127\.0\.20\.12\) port 5223/, /^├─ Certificate/, /^└─ Verdict {2}✔ verified by POSH \(OK_POSH\)/]) {
      expect(lines.some((line) => part.test(line)), String(part)).toBe(true);
    }
  });

  it('the human report of a refusal ends with what to publish and where', async () => {
    const run = await poshCheck(['unpublished.example', '--dns', DNS, '--ca', caFile]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`To make this certificate verify, publish over HTTPS at ${wellKnown('unpublished.example')}:`);
    expect(run.stdout).toContain(`"sha-256": "${certs.hosting!.sha256}"`);
  });

  it.each([
    { rule: '--no-connect with valid POSH material exits 0', domain: 'delegated.example', status: 0, poshStatus: 'valid' },
    { rule: '--no-connect with no POSH document exits 1', domain: 'unpublished.example', status: 1, poshStatus: 'absent' },
  ])('$rule', async ({ domain, status, poshStatus }) => {
    const before = listeners.reduce((sum, listener) => sum + listener.connections.length, 0);
    const { run, report } = await check(domain, '--no-connect');
    expect(run.status).toBe(status);
    expect(report.posh.status).toBe(poshStatus);
    expect(report.verdict.code).toBe('LOOKUP_ONLY');
    expect(report.connection).toBeNull();
    expect(listeners.reduce((sum, listener) => sum + listener.connections.length, 0)).toBe(before);
  });

  it('--cache-dir: the second run uses the cached material without any HTTPS request', async () => {
    const cacheDir = join(scratch.dir, 'cache');
    const url = wellKnown('delegated.example');
    const first = await check('delegated.example', '--cache-dir', cacheDir);
    expect(first.report.posh.fromCache).toBe(false);
    const requests = web.count(url);
    const second = await check('delegated.example', '--cache-dir', cacheDir);
    expect(second.report.posh.fromCache).toBe(true);
    expect(second.report.verdict.code).toBe('OK_POSH');
    expect(web.count(url)).toBe(requests);
  });

  it('--cache-dir: a certificate that does not match the cached material earns exactly one refetch', async () => {
    const cacheDir = join(scratch.dir, 'rotation-cache');
    const url = wellKnown('unpublished.example');
    web.routes.set(url, poshFor(certs.expired!));
    try {
      const first = await check('unpublished.example', '--cache-dir', cacheDir, '--no-connect');
      expect(first.report.posh.status).toBe('valid');
      web.routes.set(url, poshFor(certs.hosting!));
      const requests = web.count(url);
      const second = await check('unpublished.example', '--cache-dir', cacheDir);
      expect(second.report.poshRefetched).toBe(true);
      expect(second.report.verdict.code).toBe('OK_POSH');
      expect(web.count(url)).toBe(requests + 1);
    } finally {
      web.routes.delete(url);
    }
  });
});

describe('parallel lookups (ARCHITECTURE#the-connection-pipeline steps 1 and 3)', () => {
  it('with a delayed DNS answer and a delayed POSH response, the lookups overlap and the connection waits for both', async () => {
    const run = await poshCheck(['slow.example', '--dns', SLOW_DNS, '--ca', caFile, '--json']);
    const report = JSON.parse(run.stdout) as DelegationReport;
    expect(report.verdict.code).toBe('OK_POSH');
    const step = (name: string) => report.steps.find((candidate) => candidate.name === name)!;
    const srvStep = step('srv');
    const poshStep = step('posh');
    const tcpStep = step('tcp');
    // Each lookup took at least its injected delay, so a sequential pipeline could not overlap them.
    expect(srvStep.endedAt - srvStep.startedAt).toBeGreaterThanOrEqual(300);
    expect(poshStep.endedAt - poshStep.startedAt).toBeGreaterThanOrEqual(400);
    expect(Math.max(srvStep.startedAt, poshStep.startedAt)).toBeLessThan(Math.min(srvStep.endedAt, poshStep.endedAt));
    expect(tcpStep.startedAt).toBeGreaterThanOrEqual(Math.max(srvStep.endedAt, poshStep.endedAt));
  });
});

describe.concurrent('posh-check bad usage (exit 2, one sentence)', () => {
  it.each([
    { rule: 'no domain', args: [], message: /^posh-check: Give the domain to check/ },
    { rule: 'an unknown flag', args: ['example.com', '--frobnicate'], message: /^posh-check: Unknown option --frobnicate;/ },
    { rule: 'a flag without its value', args: ['example.com', '--dns'], message: /^posh-check: --dns needs a value;/ },
    { rule: 'two domains', args: ['a.example', 'b.example'], message: /^posh-check: Give one domain, not 2/ },
    { rule: 'an unknown service', args: ['example.com', '--service', 'xmpp-bosh'], message: /^posh-check: --service must be xmpp-client or xmpp-server/ },
    { rule: 'an unreadable CA file', args: ['example.com', '--ca', '/nonexistent/ca.pem'], message: /^posh-check: Cannot read the CA file \/nonexistent\/ca\.pem: no such file\.$/ },
    { rule: 'a CA file without a certificate', args: ['example.com', '--ca', BIN], message: /^posh-check: The CA file .* is not usable: Extra trust anchor 1 holds no PEM certificate/ },
    { rule: 'a bad resolver address', args: ['example.com', '--dns', 'dns.example'], message: /^posh-check: Resolver address "dns\.example" is not usable/ },
    { rule: 'a resolver port out of range', args: ['example.com', '--dns', '127.0.0.1:70000'], message: /^posh-check: Resolver address "127\.0\.0\.1:70000" is not usable/ },
    { rule: 'a bad timeout', args: ['example.com', '--timeout', 'soon'], message: /^posh-check: --timeout takes milliseconds/ },
    { rule: 'an IP address instead of a domain', args: ['192.0.2.1'], message: /^posh-check: "192\.0\.2\.1" is an IP address/ },
    { rule: 'a JID instead of a domain', args: ['alice@example.com'], message: /^posh-check: "alice@example\.com" is not a domain name \(give the part after "@"/ },
  ])('$rule', async ({ args, message }) => {
    const run = await poshCheck(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd()).toMatch(message);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--help prints the usage and exits 0', async () => {
    const run = await poshCheck(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: posh-check DOMAIN \[options\]/);
  });
});
