// POSH retrieval against real HTTPS servers (Node, certificates from a CA made here) found through
// real DNS (dnsmasq), all on 127.0.10.0/24.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { directoryStore, MemoryStore, obtainPoshMaterial, PoshCache } from '../../src/lookup/posh-cache.ts';
import { fetchPoshDocument, poshUrl, type PoshFetchOptions } from '../../src/lookup/posh-fetch.ts';
import { createResolver, type DnsResolver } from '../../src/lookup/resolver.ts';
import { startDnsmasq, type RunningDns } from '../../src/testbed/dnsmasq.ts';
import { createAuthority, createSelfSigned, days, scratchDir, type CertificateAuthority } from '../../src/testbed/pki.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import type { PoshErrorCode, PoshResult, PoshStatus, PoshStep, ServiceName } from '../../src/verify/types.ts';
import { startHttpsHosts, type Handler, type HttpsHosts } from '../support/https-hosts.ts';

const ADDRESSES = {
  'example.com': '127.0.10.1',
  'hosting.example.net': '127.0.10.2',
  // Presents a certificate for other.example.org.
  'wrong-name.example.org': '127.0.10.3',
  // Presents a certificate from an authority the client does not trust.
  'untrusted.example.org': '127.0.10.4',
  // Nothing listens here.
  'closed.example.org': '127.0.10.5',
  'expired.example.org': '127.0.10.6',
  'self-signed.example.org': '127.0.10.7',
} as const;
const DNS_ADDRESS = '127.0.10.53';

const SOURCE = 'https://example.com/.well-known/posh/xmpp-client.json';
const HOSTED = 'https://hosting.example.net/.well-known/posh/xmpp-client.json';
// Any well-formed digests do: retrieval never compares them with a certificate.
const FINGERPRINTS = [
  { 'sha-256': createHash('sha256').update('xmpp').digest('base64'), 'sha-512': createHash('sha512').update('xmpp').digest('base64') },
];

// ---------------------------------------------------------------- handlers

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}

const documentOf = (value: unknown, headers: Record<string, string> = {}): Handler => (_request, response) =>
  send(response, 200, typeof value === 'string' ? value : JSON.stringify(value), headers);
const fingerprints = (expires: number, extra: Record<string, unknown> = {}): Handler => documentOf({ fingerprints: FINGERPRINTS, expires, ...extra });
const reference = (url: string, expires: number): Handler => documentOf({ url, expires });
const redirect = (status: number, location?: string): Handler => (_request, response) => {
  response.writeHead(status, location === undefined ? {} : { location });
  response.end();
};
const status = (code: number): Handler => (_request, response) => send(response, code, `{"error":${code}}`);
/** Accepts the request and never answers. */
const hang: Handler = () => undefined;
const delayed = (ms: number, then: Handler): Handler => (request, response) => {
  const timer = setTimeout(() => then(request, response), ms);
  response.on('close', () => clearTimeout(timer));
};

/** A chain of `count` redirects from `from`, ending at `end` (absolute URLs on the same host as `from`). */
function redirectChain(from: string, count: number, end: string): Record<string, Handler> {
  const routes: Record<string, Handler> = {};
  const origin = new URL(from).origin;
  let current = from;
  for (let hop = 1; hop <= count; hop++) {
    const next = hop === count ? end : `${origin}/hop/${hop}`;
    routes[current] = redirect(302, next);
    current = next;
  }
  return routes;
}

// ---------------------------------------------------------------- fixtures

let dns: RunningDns;
let hosts: HttpsHosts;
let resolver: DnsResolver;
let authority: CertificateAuthority;
let rogue: CertificateAuthority;
let removeScratch: () => Promise<void>;

beforeAll(async () => {
  const scratch = await scratchDir('posh-retrieval');
  removeScratch = scratch.remove;
  authority = await createAuthority(join(scratch.dir, 'trusted'));
  rogue = await createAuthority(join(scratch.dir, 'rogue'), { commonName: 'Nobody Trusts This Root' });
  const issue = (name: string, dnsName: string) => authority.issue({ name, dnsNames: [dnsName] });
  const [exampleCom, hosting, otherName, untrusted, expired, selfSigned] = await Promise.all([
    issue('example-com', 'example.com'),
    issue('hosting', 'hosting.example.net'),
    issue('other-name', 'other.example.org'),
    rogue.issue({ name: 'untrusted', dnsNames: ['untrusted.example.org'] }),
    authority.issue({ name: 'expired', dnsNames: ['expired.example.org'], notBefore: new Date(Date.now() - days(30)), notAfter: new Date(Date.now() - days(1)) }),
    createSelfSigned(join(scratch.dir, 'self'), { name: 'self-signed', dnsNames: ['self-signed.example.org'] }),
  ]);

  dns = await startDnsmasq(DNS_ADDRESS, 53, {
    hosts: Object.fromEntries(Object.entries(ADDRESSES).map(([name, address]) => [name, [address]])),
  });
  resolver = createResolver({ server: dns.address });
  hosts = await startHttpsHosts([
    { address: ADDRESSES['example.com'], certificates: { 'example.com': exampleCom } },
    { address: ADDRESSES['hosting.example.net'], certificates: { 'hosting.example.net': hosting } },
    { address: ADDRESSES['wrong-name.example.org'], certificates: { 'other.example.org': otherName } },
    { address: ADDRESSES['untrusted.example.org'], certificates: { 'untrusted.example.org': untrusted } },
    { address: ADDRESSES['expired.example.org'], certificates: { 'expired.example.org': expired } },
    { address: ADDRESSES['self-signed.example.org'], certificates: { 'self-signed.example.org': selfSigned } },
  ]);
});

afterAll(async () => {
  await hosts?.stop();
  await dns?.stop();
  await removeScratch?.();
});

beforeEach(() => {
  hosts.routes.clear();
  hosts.requests.length = 0;
});

const optionsWith = (extra: Partial<PoshFetchOptions> = {}): PoshFetchOptions => ({ resolver, trust: trustStore([authority.certPem]), ...extra });

type ExpectedStep = Pick<PoshStep, 'url' | 'httpStatus' | 'kind'> & Partial<Pick<PoshStep, 'location' | 'expires'>>;

function stepShape(step: PoshStep): ExpectedStep {
  const { url, httpStatus, kind, location, expires } = step;
  return { url, httpStatus, kind, ...(location === undefined ? {} : { location }), ...(expires === undefined ? {} : { expires }) };
}

function expectWellFormedTimings(result: PoshResult): void {
  let previousEnd = 0;
  for (const step of result.steps) {
    expect(step.startedAt).toBeGreaterThanOrEqual(previousEnd);
    expect(step.endedAt).toBeGreaterThanOrEqual(step.startedAt);
    previousEnd = step.endedAt;
  }
}

// ---------------------------------------------------------------- the table

interface Row {
  name: string;
  routes: Record<string, Handler>;
  domain?: string;
  service?: ServiceName;
  options?: Partial<PoshFetchOptions>;
  trustTestAuthority?: boolean;
  status: PoshStatus;
  code?: PoshErrorCode;
  message?: RegExp;
  steps: ExpectedStep[];
  expires?: number;
}

const CHAIN_10 = redirectChain(SOURCE, 10, 'https://example.com/final.json');
const CHAIN_11 = redirectChain(SOURCE, 11, 'https://example.com/final.json');
const hopSteps = (count: number, from: string, end: string): ExpectedStep[] =>
  Array.from({ length: count }, (_, index) => ({
    url: index === 0 ? from : `${new URL(from).origin}/hop/${index}`,
    httpStatus: 302,
    kind: 'redirect' as const,
    location: index === count - 1 ? end : `${new URL(from).origin}/hop/${index + 1}`,
  }));

const rows: Row[] = [
  {
    name: 'RFC 7711 3: 404 at the source domain means no POSH (absent, not an error)',
    routes: {},
    status: 'absent',
    steps: [{ url: SOURCE, httpStatus: 404, kind: 'absent' }],
  },
  {
    name: 'RFC 7711 3.1: a fingerprints document at the source domain is valid material',
    routes: { [SOURCE]: fingerprints(86400) },
    status: 'valid',
    expires: 86400,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'fingerprints', expires: 86400 }],
  },
  {
    name: 'RFC 7711 8: the xmpp-server service has its own well-known URL',
    routes: { 'https://example.com/.well-known/posh/xmpp-server.json': fingerprints(3600) },
    service: 'xmpp-server',
    status: 'valid',
    expires: 3600,
    steps: [{ url: 'https://example.com/.well-known/posh/xmpp-server.json', httpStatus: 200, kind: 'fingerprints', expires: 3600 }],
  },
  {
    name: 'RFC 7711 3: the domain is lowercased and its trailing dot removed',
    routes: { [SOURCE]: fingerprints(60) },
    domain: 'Example.COM.',
    status: 'valid',
    expires: 60,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'fingerprints', expires: 60 }],
  },
  {
    name: 'RFC 7711 10: a 302 to an https: URL on another host is followed',
    routes: { [SOURCE]: redirect(302, HOSTED), [HOSTED]: fingerprints(7200) },
    status: 'valid',
    expires: 7200,
    steps: [
      { url: SOURCE, httpStatus: 302, kind: 'redirect', location: HOSTED },
      { url: HOSTED, httpStatus: 200, kind: 'fingerprints', expires: 7200 },
    ],
  },
  {
    name: 'RFC 7231 7.1.2: a relative Location is resolved against the current URL',
    routes: { [SOURCE]: redirect(302, '../moved/xmpp.json'), 'https://example.com/.well-known/moved/xmpp.json': fingerprints(60) },
    status: 'valid',
    expires: 60,
    steps: [
      { url: SOURCE, httpStatus: 302, kind: 'redirect', location: 'https://example.com/.well-known/moved/xmpp.json' },
      { url: 'https://example.com/.well-known/moved/xmpp.json', httpStatus: 200, kind: 'fingerprints', expires: 60 },
    ],
  },
  ...[301, 303, 307, 308].map(
    (code): Row => ({
      name: `RFC 7711 10 / ARCHITECTURE#posh-retrieval: a ${code} is treated as a temporary redirect and followed`,
      routes: { [SOURCE]: redirect(code, HOSTED), [HOSTED]: fingerprints(600) },
      status: 'valid',
      expires: 600,
      steps: [
        { url: SOURCE, httpStatus: code, kind: 'redirect', location: HOSTED },
        { url: HOSTED, httpStatus: 200, kind: 'fingerprints', expires: 600 },
      ],
    }),
  ),
  {
    name: 'RFC 7711 10: a redirect to http: is refused (the Location MUST be https)',
    routes: { [SOURCE]: redirect(302, 'http://hosting.example.net/.well-known/posh/xmpp-client.json') },
    status: 'invalid',
    code: 'POSH_INSECURE_URL',
    message: /must stay on https:/,
    steps: [{ url: SOURCE, httpStatus: 302, kind: 'error', location: 'http://hosting.example.net/.well-known/posh/xmpp-client.json' }],
  },
  {
    name: 'RFC 7231 6.4: a redirect without a Location is an HTTP status failure',
    routes: { [SOURCE]: redirect(307) },
    status: 'error',
    code: 'POSH_HTTP_STATUS',
    message: /without a Location header/,
    steps: [{ url: SOURCE, httpStatus: 307, kind: 'error' }],
  },
  {
    name: 'RFC 7711 10: 10 redirects are followed',
    routes: { ...CHAIN_10, 'https://example.com/final.json': fingerprints(60) },
    status: 'valid',
    expires: 60,
    steps: [...hopSteps(10, SOURCE, 'https://example.com/final.json'), { url: 'https://example.com/final.json', httpStatus: 200, kind: 'fingerprints', expires: 60 }],
  },
  {
    name: 'RFC 7711 10: the 11th redirect is refused',
    routes: { ...CHAIN_11, 'https://example.com/final.json': fingerprints(60) },
    status: 'invalid',
    code: 'POSH_TOO_MANY_REDIRECTS',
    message: /at most 10/,
    steps: [...hopSteps(10, SOURCE, 'https://example.com/hop/10'), { url: 'https://example.com/hop/10', httpStatus: 302, kind: 'error', location: 'https://example.com/final.json' }],
  },
  {
    name: 'RFC 7711 10: the redirect limit is the client\'s to lower (maxRedirects 2, a third redirect refused)',
    routes: redirectChain(SOURCE, 3, HOSTED),
    options: { maxRedirects: 2 },
    status: 'invalid',
    code: 'POSH_TOO_MANY_REDIRECTS',
    steps: [...hopSteps(2, SOURCE, 'https://example.com/hop/2'), { url: 'https://example.com/hop/2', httpStatus: 302, kind: 'error', location: HOSTED }],
  },
  {
    name: 'RFC 7711 3.2: a reference, then the fingerprints document it points to',
    routes: { [SOURCE]: reference(HOSTED, 86400), [HOSTED]: fingerprints(3600) },
    status: 'valid',
    expires: 3600,
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      { url: HOSTED, httpStatus: 200, kind: 'fingerprints', expires: 3600 },
    ],
  },
  {
    name: 'RFC 7711 6: the effective expires is the lower of the two, here the reference\'s',
    routes: { [SOURCE]: reference(HOSTED, 600), [HOSTED]: fingerprints(86400) },
    status: 'valid',
    expires: 600,
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 600 },
      { url: HOSTED, httpStatus: 200, kind: 'fingerprints', expires: 86400 },
    ],
  },
  {
    name: 'RFC 7711 6: a lifetime above the client\'s maximum is capped at 7 days by default',
    routes: { [SOURCE]: fingerprints(31_536_000) },
    status: 'valid',
    expires: 604800,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'fingerprints', expires: 31_536_000 }],
  },
  {
    name: 'RFC 7711 6: the client MAY use a lower value (maxLifetimeSeconds 300 caps a reference chain)',
    routes: { [SOURCE]: reference(HOSTED, 86400), [HOSTED]: fingerprints(3600) },
    options: { maxLifetimeSeconds: 300 },
    status: 'valid',
    expires: 300,
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      { url: HOSTED, httpStatus: 200, kind: 'fingerprints', expires: 3600 },
    ],
  },
  {
    name: 'RFC 7711 3.2: a document reached through a reference MUST NOT be a reference',
    routes: { [SOURCE]: reference(HOSTED, 86400), [HOSTED]: reference('https://example.com/elsewhere.json', 86400) },
    status: 'invalid',
    code: 'POSH_NESTED_REFERENCE',
    message: /is itself a reference/,
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      { url: HOSTED, httpStatus: 200, kind: 'error', location: 'https://example.com/elsewhere.json' },
    ],
  },
  {
    name: 'RFC 7711 3.2: a 404 at the reference\'s URL is a failure, not "no POSH"',
    routes: { [SOURCE]: reference(HOSTED, 86400) },
    status: 'error',
    code: 'POSH_HTTP_STATUS',
    message: /the URL a reference points to\) answered HTTP 404/,
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      { url: HOSTED, httpStatus: 404, kind: 'error' },
    ],
  },
  {
    name: 'RFC 7711 3.2 / 10: redirects are counted across a reference (6 + 4 = 10 followed)',
    routes: {
      ...redirectChain(SOURCE, 6, 'https://example.com/reference.json'),
      'https://example.com/reference.json': reference(HOSTED, 86400),
      ...redirectChain(HOSTED, 4, 'https://hosting.example.net/final.json'),
      'https://hosting.example.net/final.json': fingerprints(60),
    },
    status: 'valid',
    expires: 60,
    steps: [
      ...hopSteps(6, SOURCE, 'https://example.com/reference.json'),
      { url: 'https://example.com/reference.json', httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      ...hopSteps(4, HOSTED, 'https://hosting.example.net/final.json'),
      { url: 'https://hosting.example.net/final.json', httpStatus: 200, kind: 'fingerprints', expires: 60 },
    ],
  },
  {
    name: 'RFC 7711 3.2 / 10: redirects are counted across a reference (6 + 5 = 11 refused)',
    routes: {
      ...redirectChain(SOURCE, 6, 'https://example.com/reference.json'),
      'https://example.com/reference.json': reference(HOSTED, 86400),
      ...redirectChain(HOSTED, 5, 'https://hosting.example.net/final.json'),
      'https://hosting.example.net/final.json': fingerprints(60),
    },
    status: 'invalid',
    code: 'POSH_TOO_MANY_REDIRECTS',
    steps: [
      ...hopSteps(6, SOURCE, 'https://example.com/reference.json'),
      { url: 'https://example.com/reference.json', httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      ...hopSteps(4, HOSTED, 'https://hosting.example.net/hop/4'),
      { url: 'https://hosting.example.net/hop/4', httpStatus: 302, kind: 'error', location: 'https://hosting.example.net/final.json' },
    ],
  },
  {
    name: 'RFC 7711 3.2: expires 0 on the reference makes the delegation invalid',
    routes: { [SOURCE]: reference(HOSTED, 0), [HOSTED]: fingerprints(3600) },
    status: 'invalid',
    code: 'POSH_EXPIRED',
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3.1: expires 0 on the fingerprints document makes the material invalid',
    routes: { [SOURCE]: reference(HOSTED, 86400), [HOSTED]: fingerprints(0) },
    status: 'invalid',
    code: 'POSH_EXPIRED',
    steps: [
      { url: SOURCE, httpStatus: 200, kind: 'reference', location: HOSTED, expires: 86400 },
      { url: HOSTED, httpStatus: 200, kind: 'error' },
    ],
  },
  {
    name: 'RFC 7711 3.1: a document with both "url" and "fingerprints" is refused',
    routes: { [SOURCE]: fingerprints(3600, { url: HOSTED }) },
    status: 'invalid',
    code: 'POSH_BAD_DOCUMENT',
    message: /both "url" and "fingerprints"/,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3.1: a 200 whose body is not JSON is refused',
    routes: { [SOURCE]: documentOf('<html>Welcome to nginx!</html>') },
    status: 'invalid',
    code: 'POSH_BAD_JSON',
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'RFC 7159 8.1: a body that is not UTF-8 cannot be JSON',
    routes: {
      [SOURCE]: (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      },
    },
    status: 'invalid',
    code: 'POSH_BAD_JSON',
    message: /is not UTF-8 text/,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3: a 500 at the source domain is an HTTP status failure',
    routes: { [SOURCE]: status(500) },
    status: 'error',
    code: 'POSH_HTTP_STATUS',
    message: /answered HTTP 500/,
    steps: [{ url: SOURCE, httpStatus: 500, kind: 'error' }],
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: a body declaring more than 64 KiB is refused before it is read',
    routes: {
      [SOURCE]: (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(65537) });
        response.end(' '.repeat(65537));
      },
    },
    status: 'invalid',
    code: 'POSH_TOO_LARGE',
    message: /declares a 65537-byte body/,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: a body of exactly maxBytes is read (the limit is inclusive)',
    routes: { [SOURCE]: documentOf(JSON.stringify({ fingerprints: FINGERPRINTS, expires: 60 }).padEnd(1024, ' ')) },
    options: { maxBytes: 1024 },
    status: 'valid',
    expires: 60,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'fingerprints', expires: 60 }],
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: one byte over maxBytes without a Content-Length is refused while streaming',
    routes: {
      [SOURCE]: (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ fingerprints: FINGERPRINTS, expires: 60 }).padEnd(1025, ' '));
      },
    },
    options: { maxBytes: 1024 },
    status: 'invalid',
    code: 'POSH_TOO_LARGE',
    message: /sent more than 1024 bytes/,
    steps: [{ url: SOURCE, httpStatus: 200, kind: 'error' }],
  },
  {
    name: 'RFC 2818 3.1: an HTTPS certificate naming another host is refused',
    routes: {},
    domain: 'wrong-name.example.org',
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    message: /certificate of wrong-name\.example\.org does not name wrong-name\.example\.org \(ERR_TLS_CERT_ALTNAME_INVALID/,
    steps: [{ url: 'https://wrong-name.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3: an HTTPS certificate from an untrusted authority is refused',
    routes: {},
    domain: 'untrusted.example.org',
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    message: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
    steps: [{ url: 'https://untrusted.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3: the test authority is trusted only as an extra anchor, not by default',
    routes: { [SOURCE]: fingerprints(60) },
    trustTestAuthority: false,
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    steps: [{ url: SOURCE, httpStatus: null, kind: 'error' }],
  },
  {
    name: 'RFC 5280 4.1.2.5: an expired HTTPS certificate is refused',
    routes: {},
    domain: 'expired.example.org',
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    message: /CERT_HAS_EXPIRED/,
    steps: [{ url: 'https://expired.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
  {
    name: 'RFC 7711 3: a self-signed HTTPS certificate is refused (POSH bootstraps from PKIX)',
    routes: {},
    domain: 'self-signed.example.org',
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    message: /DEPTH_ZERO_SELF_SIGNED_CERT/,
    steps: [{ url: 'https://self-signed.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
  {
    name: 'RFC 7711 10: a redirect to a host whose certificate is not valid fails at that host',
    routes: { [SOURCE]: redirect(302, 'https://wrong-name.example.org/posh.json') },
    status: 'error',
    code: 'POSH_HTTPS_CERT',
    steps: [
      { url: SOURCE, httpStatus: 302, kind: 'redirect', location: 'https://wrong-name.example.org/posh.json' },
      { url: 'https://wrong-name.example.org/posh.json', httpStatus: null, kind: 'error' },
    ],
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: nothing listening at the source domain is a network failure',
    routes: {},
    domain: 'closed.example.org',
    status: 'error',
    code: 'POSH_NETWORK',
    message: /ECONNREFUSED/,
    steps: [{ url: 'https://closed.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
  {
    name: 'ARCHITECTURE#posh-retrieval: a source domain without addresses in DNS is a network failure',
    routes: {},
    domain: 'nowhere.example.org',
    status: 'error',
    code: 'POSH_NETWORK',
    message: /nowhere\.example\.org/,
    steps: [{ url: 'https://nowhere.example.org/.well-known/posh/xmpp-client.json', httpStatus: null, kind: 'error' }],
  },
];

describe('fetchPoshDocument over real HTTPS and DNS', () => {
  it.each(rows)('$name', async (row) => {
    for (const [url, handler] of Object.entries(row.routes)) hosts.routes.set(url, handler);
    const domain = row.domain ?? 'example.com';
    const service = row.service ?? 'xmpp-client';
    const options = row.trustTestAuthority === false ? { resolver, ...row.options } : optionsWith(row.options);

    const before = Date.now();
    const result = await fetchPoshDocument(normalizeDomain(domain), service, options);

    expect(result.steps.map(stepShape)).toEqual(row.steps);
    expect(result.status).toBe(row.status);
    expect(result.error?.code ?? null).toBe(row.code ?? null);
    if (row.message) expect(result.error?.message).toMatch(row.message);
    expect(result).toMatchObject({ domain: domain.toLowerCase().replace(/\.$/, ''), service, url: poshUrl(normalizeDomain(domain), service), fromCache: false });
    expectWellFormedTimings(result);
    if (row.status === 'valid') {
      expect(result.fingerprints).toEqual(FINGERPRINTS);
      expect(result.expires).toBe(row.expires);
      const fetchedAt = Date.parse(result.fetchedAt!);
      expect(fetchedAt).toBeGreaterThanOrEqual(before);
      expect(Date.parse(result.expiresAt!) - fetchedAt).toBe(row.expires! * 1000);
    } else {
      expect(result.fingerprints).toEqual([]);
      expect(result.expires).toBeNull();
      expect(result.expiresAt).toBeNull();
    }
    // Every request that got an answer is one the server saw, at the URL recorded.
    const answered = result.steps.filter((step) => step.httpStatus !== null).map((step) => step.url);
    expect(hosts.requests.map((seen) => seen.url)).toEqual(answered);
  });
});

describe('fetchPoshDocument: transport details', () => {
  it('RFC 6066 3: SNI names each URL host, never the source domain for the delegate', async () => {
    hosts.routes.set(SOURCE, reference(HOSTED, 86400));
    hosts.routes.set(HOSTED, fingerprints(3600));
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith());
    expect(result.status).toBe('valid');
    expect(hosts.requests.map(({ url, servername }) => ({ url, servername }))).toEqual([
      { url: SOURCE, servername: 'example.com' },
      { url: HOSTED, servername: 'hosting.example.net' },
    ]);
  });

  it('ARCHITECTURE#posh-check (--ca): a PEM bundle with comments and several certificates adds each of them', async () => {
    hosts.routes.set(SOURCE, fingerprints(60));
    const bundle = `# rogue\n${rogue.certPem}\n# ours\n${authority.certPem}`;
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', { resolver, trust: trustStore([bundle]) });
    expect(result.status).toBe('valid');
  });

  it('RFC 7711 6: HTTP caching is not used (Cache-Control max-age does not spare the second request)', async () => {
    hosts.routes.set(SOURCE, documentOf({ fingerprints: FINGERPRINTS, expires: 3600 }, { 'cache-control': 'max-age=3600' }));
    await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith());
    await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith());
    expect(hosts.count(SOURCE)).toBe(2);
    expect(hosts.requests[0]!.headers['cache-control']).toBe('no-cache');
  });

  it('ARCHITECTURE#posh-retrieval: a body without Content-Length is no longer read once past the limit', async () => {
    const total = 16 * 1024 * 1024;
    let written = 0;
    const finished = new Promise<void>((resolve) => {
      hosts.routes.set(SOURCE, (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        const pump = (): void => {
          while (written < total && !response.destroyed) {
            written += chunk.length;
            if (!response.write(chunk)) {
              response.once('drain', pump);
              return;
            }
          }
          response.end();
        };
        response.on('close', () => resolve());
        pump();
      });
    });
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith());
    await finished;
    expect(result.error?.code).toBe('POSH_TOO_LARGE');
    // The server could only push what fits in the socket buffers beyond the 64 KiB the client read.
    expect(written).toBeLessThan(total / 4);
  });
});

describe('fetchPoshDocument: the time budget', () => {
  it('ARCHITECTURE#posh-retrieval: a server that never answers ends in POSH_TIMEOUT after timeoutMs', async () => {
    hosts.routes.set(SOURCE, hang);
    const started = performance.now();
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith({ timeoutMs: 300 }));
    const elapsed = performance.now() - started;
    expect(result.error).toEqual({ code: 'POSH_TIMEOUT', message: expect.stringMatching(/within 300 ms/) });
    expect(result.status).toBe('error');
    expect(result.steps.map(stepShape)).toEqual([{ url: SOURCE, httpStatus: null, kind: 'error' }]);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
  });

  it('ARCHITECTURE#posh-retrieval: a body that never finishes ends in POSH_TIMEOUT with the status recorded', async () => {
    hosts.routes.set(SOURCE, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"fingerprints":');
    });
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith({ timeoutMs: 300 }));
    expect(result.error?.code).toBe('POSH_TIMEOUT');
    expect(result.steps.map(stepShape)).toEqual([{ url: SOURCE, httpStatus: 200, kind: 'error' }]);
  });

  it('ARCHITECTURE#posh-retrieval: the budget covers the whole retrieval, not each request (200 ms hops, 500 ms budget)', async () => {
    const hops = ['https://example.com/hop/1', 'https://example.com/hop/2', 'https://example.com/hop/3', HOSTED];
    hosts.routes.set(SOURCE, delayed(200, redirect(302, hops[0])));
    for (const [index, url] of hops.slice(0, -1).entries()) hosts.routes.set(url, delayed(200, redirect(302, hops[index + 1])));
    hosts.routes.set(HOSTED, delayed(200, fingerprints(60)));
    const started = performance.now();
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith({ timeoutMs: 500 }));
    const elapsed = performance.now() - started;
    expect(result.error?.code).toBe('POSH_TIMEOUT');
    const kinds = result.steps.map((step) => step.kind);
    expect(kinds.at(-1)).toBe('error');
    expect(kinds.slice(0, -1).length).toBeGreaterThanOrEqual(1);
    expect(kinds.slice(0, -1).every((kind) => kind === 'redirect')).toBe(true);
    // No single request came near the budget: only their sum exceeded it.
    for (const step of result.steps) expect(step.endedAt - step.startedAt).toBeLessThan(450);
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(1500);
  });

  it('ARCHITECTURE#the-connection-pipeline: the caller\'s signal stops the retrieval (POSH_TIMEOUT, "stopped")', async () => {
    hosts.routes.set(SOURCE, hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await fetchPoshDocument(normalizeDomain('example.com'), 'xmpp-client', optionsWith({ signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.error).toEqual({ code: 'POSH_TIMEOUT', message: expect.stringMatching(/stopped before it finished/) });
  });
});

describe('obtainPoshMaterial with a cache, against the same servers', () => {
  const DAY = 86_400_000;
  let clock: number;
  const now = (): number => Date.now() + clock;
  beforeEach(() => {
    clock = 0;
  });

  it('RFC 7711 6: fresh cached material is used without any request (the server counts one)', async () => {
    hosts.routes.set(SOURCE, fingerprints(3600));
    const cache = new PoshCache(new MemoryStore(), now);
    const first = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    const second = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    expect(hosts.count(SOURCE)).toBe(1);
    expect(first.fromCache).toBe(false);
    expect(second).toEqual({ ...first, fromCache: true });
  });

  it('RFC 7711 6: a stale entry is never used; the whole retrieval starts again at the source domain', async () => {
    hosts.routes.set(SOURCE, reference(HOSTED, 86400));
    hosts.routes.set(HOSTED, fingerprints(3600));
    const cache = new PoshCache(new MemoryStore(), now);
    await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    clock = 3600_000 + 1;
    const again = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    expect(again.fromCache).toBe(false);
    expect(hosts.requests.map((seen) => seen.url)).toEqual([SOURCE, HOSTED, SOURCE, HOSTED]);
  });

  it('ARCHITECTURE#posh-retrieval: refresh skips fresh cached material and fetches (the refetch after a mismatch)', async () => {
    hosts.routes.set(SOURCE, fingerprints(3600));
    const cache = new PoshCache(new MemoryStore(), now);
    await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    const rotated = [{ 'sha-256': createHash('sha256').update('rotated').digest('base64') }];
    hosts.routes.set(SOURCE, documentOf({ fingerprints: rotated, expires: 3600 }));
    const refreshed = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache, refresh: true });
    expect(hosts.count(SOURCE)).toBe(2);
    expect(refreshed).toMatchObject({ fromCache: false, fingerprints: rotated });
    expect(cache.fresh(normalizeDomain('example.com'), 'xmpp-client')?.fingerprints).toEqual(rotated);
  });

  it.each([
    { name: 'a 404 (the operator withdrew the document)', handler: status(404), status: 'absent' },
    { name: 'expires 0', handler: fingerprints(0), status: 'invalid' },
    { name: 'a 500', handler: status(500), status: 'error' },
  ])('ARCHITECTURE#posh-retrieval: a refetch ending in $name forgets the cached material', async ({ handler, status: expected }) => {
    hosts.routes.set(SOURCE, fingerprints(3600));
    const cache = new PoshCache(new MemoryStore(), now);
    await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache });
    hosts.routes.set(SOURCE, handler);
    const result = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache, refresh: true });
    expect(result.status).toBe(expected);
    expect(cache.fresh(normalizeDomain('example.com'), 'xmpp-client')).toBeNull();
  });

  it('ARCHITECTURE#posh-retrieval: material cached on disk by one run is used by the next without a request', async () => {
    const scratch = await scratchDir('posh-conf-cache');
    try {
      hosts.routes.set(SOURCE, fingerprints(3600));
      await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache: new PoshCache(await directoryStore(scratch.dir)) });
      const next = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache: new PoshCache(await directoryStore(scratch.dir)) });
      expect(next.fromCache).toBe(true);
      expect(hosts.count(SOURCE)).toBe(1);
      clock = DAY;
      const later = await obtainPoshMaterial(normalizeDomain('example.com'), 'xmpp-client', { ...optionsWith(), cache: new PoshCache(await directoryStore(scratch.dir), now) });
      expect(later.fromCache).toBe(false);
      expect(hosts.count(SOURCE)).toBe(2);
    } finally {
      await scratch.remove();
    }
  });
});
