// The pure parts of the retrieval: the well-known URL and how transport failures are coded.
// The integration suite produces the common failures for real; this table covers the rest of the mapping.
import { describe, expect, it } from 'vitest';
import { trustStore } from '../../src/lookup/anchors.ts';
import { classifyFailure } from '../../src/lookup/posh-failure.ts';
import { poshUrl } from '../../src/lookup/posh-fetch.ts';
import { normalizeDomain } from '../../src/verify/domain.ts';
import { PoshError } from '../../src/verify/posh-document.ts';

describe('poshUrl (RFC 7711 3, 8)', () => {
  it.each([
    { name: 'RFC 7711 8: xmpp-client', domain: 'example.com', service: 'xmpp-client' as const, url: 'https://example.com/.well-known/posh/xmpp-client.json' },
    { name: 'RFC 7711 8: xmpp-server', domain: 'example.com', service: 'xmpp-server' as const, url: 'https://example.com/.well-known/posh/xmpp-server.json' },
    { name: 'RFC 7711 3: the domain is lowercased', domain: 'Example.COM', service: 'xmpp-client' as const, url: 'https://example.com/.well-known/posh/xmpp-client.json' },
    { name: 'RFC 7711 3: the trailing dot of an absolute name is removed', domain: 'example.com.', service: 'xmpp-client' as const, url: 'https://example.com/.well-known/posh/xmpp-client.json' },
    { name: 'RFC 5891: an internationalised domain becomes its A-label', domain: 'bücher.example', service: 'xmpp-client' as const, url: 'https://xn--bcher-kva.example/.well-known/posh/xmpp-client.json' },
  ])('$name', ({ domain, service, url }) => {
    expect(poshUrl(normalizeDomain(domain), service)).toBe(url);
  });

  it.each([
    { name: 'the empty string', domain: '' },
    { name: 'a lone dot', domain: '.' },
    { name: 'an XMPP address', domain: 'alice@example.com' },
    { name: 'a URL', domain: 'https://example.com/' },
    { name: 'a host with a port', domain: 'example.com:443' },
    { name: 'a name with a space', domain: 'exa mple.com' },
  ])('refuses $name with BAD_DOMAIN', ({ domain }) => {
    expect(() => poshUrl(normalizeDomain(domain), 'xmpp-client')).toThrow(expect.objectContaining({ code: 'BAD_DOMAIN', message: expect.stringMatching(/not a domain name/) }));
  });
});

const context = { url: 'https://example.com/.well-known/posh/xmpp-client.json', timeoutMs: 5000, timedOut: false, cancelled: false };
const coded = (code: string, message = `failure ${code}`): Error => Object.assign(new Error(message), { code });

describe('classifyFailure (ARCHITECTURE#error-codes)', () => {
  const NAMES = 'does not name example.com';
  const UNTRUSTED = 'is not trusted: no certificate authority this client trusts issued it';
  const PERIOD = 'is outside its validity period';
  const INVALID = 'is not valid';
  it.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', NAMES],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', UNTRUSTED],
    ['UNABLE_TO_GET_ISSUER_CERT', UNTRUSTED],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', UNTRUSTED],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', UNTRUSTED],
    ['SELF_SIGNED_CERT_IN_CHAIN', UNTRUSTED],
    ['CERT_HAS_EXPIRED', PERIOD],
    ['CERT_NOT_YET_VALID', PERIOD],
    ['CERT_SIGNATURE_FAILURE', INVALID],
    ['CERT_REVOKED', INVALID],
    ['INVALID_CA', INVALID],
    ['INVALID_PURPOSE', INVALID],
  ])('RFC 2818 3.1: %s means the HTTPS certificate %s (POSH_HTTPS_CERT)', (code, words) => {
    const failure = classifyFailure(coded(code), context);
    expect(failure.code).toBe('POSH_HTTPS_CERT');
    expect(failure.status).toBe('error');
    expect(failure.message).toBe(`The HTTPS certificate of example.com ${words} (${code}: failure ${code}).`);
  });

  it.each([
    { name: 'a certificate error inside an AggregateError (one attempt per address)', error: new AggregateError([coded('ECONNREFUSED'), coded('CERT_HAS_EXPIRED')]), code: 'POSH_HTTPS_CERT' },
    { name: 'a certificate error as the cause of a wrapper', error: new Error('fetch failed', { cause: coded('SELF_SIGNED_CERT_IN_CHAIN') }), code: 'POSH_HTTPS_CERT' },
    { name: 'a refused connection', error: coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443'), code: 'POSH_NETWORK' },
    { name: 'a TLS protocol failure that is not about the certificate', error: coded('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version'), code: 'POSH_NETWORK' },
    { name: 'a name with no address', error: coded('DNS_FAILED', 'example.com has no A or AAAA record.'), code: 'POSH_NETWORK' },
    { name: 'something thrown that is not an Error', error: 'socket hang up', code: 'POSH_NETWORK' },
  ])('ARCHITECTURE#posh-retrieval: $name -> $code', ({ error, code }) => {
    const failure = classifyFailure(error, context);
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(/\.$/);
  });

  it('ARCHITECTURE#posh-retrieval: Node\'s advice about --use-system-ca is left out (it is not the domain admin\'s to follow)', () => {
    const failure = classifyFailure(
      coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca'),
      context,
    );
    expect(failure.message).toBe('The HTTPS certificate of example.com is not trusted: no certificate authority this client trusts issued it (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate).');
  });

  it('ARCHITECTURE#posh-retrieval: the network message names every distinct reason once', () => {
    const failure = classifyFailure(new AggregateError([coded('ECONNREFUSED', 'connect ECONNREFUSED ::1:443'), coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443')], 'all attempts failed'), context);
    expect(failure.message).toBe(
      'Could not retrieve https://example.com/.well-known/posh/xmpp-client.json over HTTPS: all attempts failed; connect ECONNREFUSED ::1:443; connect ECONNREFUSED 127.0.0.1:443.',
    );
  });

  it('ARCHITECTURE#posh-retrieval: the budget running out wins over whatever the abort looked like (POSH_TIMEOUT)', () => {
    const failure = classifyFailure(coded('UND_ERR_ABORTED', 'This operation was aborted'), { ...context, timedOut: true, timeoutMs: 300 });
    expect(failure.toJSON()).toEqual({ code: 'POSH_TIMEOUT', message: `The POSH retrieval did not finish within 300 ms (waiting for ${context.url}).` });
  });

  it('ARCHITECTURE#the-connection-pipeline: a caller stopping the retrieval is reported as POSH_TIMEOUT, "stopped"', () => {
    expect(classifyFailure(new DOMException('aborted', 'AbortError'), { ...context, cancelled: true }).message).toMatch(/stopped before it finished/);
  });

  it('ARCHITECTURE#posh-retrieval: a PoshError raised on purpose passes through unchanged', () => {
    const raised = new PoshError('POSH_TOO_LARGE', 'Too large.');
    expect(classifyFailure(raised, { ...context, timedOut: true })).toBe(raised);
  });
});

describe('the trust store, before any request', () => {
  it.each([
    { name: 'text that is not PEM', anchor: 'my-ca.pem' },
    { name: 'a PEM block whose body is not a certificate', anchor: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
  ])('ARCHITECTURE#posh-check (--ca): an extra trust anchor that is $name is refused with BAD_TRUST_ANCHOR', ({ anchor }) => {
    expect(() => trustStore([anchor])).toThrow(expect.objectContaining({
      code: 'BAD_TRUST_ANCHOR',
      message: expect.stringMatching(/^Extra trust anchor 1 (holds no PEM certificate|is not a readable certificate)/),
    }));
  });
});
