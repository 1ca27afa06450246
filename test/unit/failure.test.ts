// Every session failure in words: one row per kind, with its class (permanent failures are not
// retried until the user asks) and the sentence the user reads; then how a failed login is read.
import { describe, expect, it } from 'vitest';
import { failure, FAILURES, type FailureFacts, type FailureKind } from '../../src/xmpp/failure.ts';
import { SaslRefusal, ScramError } from '../../src/xmpp/scram.ts';
import { loginProblem } from '../../src/xmpp/session.ts';
import { StreamViolation } from '../../src/xmpp/stream-parser.ts';

const FACTS: FailureFacts = { jid: 'carol@nosuch.test', domain: 'nosuch.test', dnsServer: '127.0.0.1:5353' };

interface Row {
  kind: FailureKind;
  rule: string;
  facts?: Partial<FailureFacts>;
  permanent: boolean;
  code: string;
  user: RegExp;
  admin: RegExp | null;
}

const ROWS: Row[] = [
  { kind: 'no-such-domain', rule: 'RFC 6120 3.2.2: no SRV and no address for the domain itself: most likely a typo, not the admin\'s to fix', permanent: true, code: 'NO_SUCH_DOMAIN', user: /^nosuch\.test was not found: .* Check carol@nosuch\.test for a typo\.$/, admin: null },
  { kind: 'no-service', rule: 'RFC 6120 3.2.1: a "." target says the service is not offered', facts: { detail: 'it publishes "_xmpp-client._tcp.nosuch.test SRV 0 0 0 .".' }, permanent: true, code: 'SRV_NO_SERVICE', user: /^nosuch\.test does not offer XMPP accounts: it publishes/, admin: /^Publish _xmpp-client\._tcp\.nosuch\.test SRV records/ },
  { kind: 'no-address', rule: 'an SRV target without A or AAAA records is the admin\'s to fix', facts: { host: 'xmpp.nosuch.test' }, permanent: true, code: 'NO_ADDRESS', user: /\(xmpp\.nosuch\.test\) has no address in DNS/, admin: /^Give xmpp\.nosuch\.test an A or AAAA record/ },
  { kind: 'host-unknown', rule: 'RFC 6120 4.9.3.6: host-unknown: the server the SRV records name does not serve the domain', permanent: true, code: 'HOST_UNKNOWN', user: /^The server that nosuch\.test points to says it does not host nosuch\.test\.$/, admin: /^Add nosuch\.test as a virtual host/ },
  { kind: 'refused-proof', rule: 'RFC 7712 5: nothing proved the server: no retry, the admin publishes', facts: { detail: 'No POSH document and no PKIX chain.' }, permanent: true, code: 'NO_PROOF', user: /^No POSH document and no PKIX chain\.$/, admin: /^Publish what the refusal below shows for nosuch\.test/ },
  { kind: 'wrong-password', rule: 'RFC 6120 6.5.10: not-authorized is the password', permanent: true, code: 'AUTH_FAILED', user: /^The server refused the password for carol@nosuch\.test\. Check it and connect again\.$/, admin: null },
  { kind: 'password-needed', rule: 'XEP-0484 4.4: a refused token with no password at hand asks for the password, once', facts: { detail: 'The server needs the password: the kept sign-in token was refused with <not-authorized/>.' }, permanent: true, code: 'NEEDS_PASSWORD', user: /^Enter the password for carol@nosuch\.test to connect\. The server needs the password: the kept sign-in token was refused with <not-authorized\/>\.$/, admin: null },
  { kind: 'account-disabled', rule: 'RFC 6120 6.5.1: account-disabled is the admin\'s to lift', permanent: true, code: 'ACCOUNT_DISABLED', user: /^The account carol@nosuch\.test is disabled on its server\.$/, admin: /^Enable the account carol@nosuch\.test/ },
  { kind: 'login-impossible', rule: 'RFC 5802: a SCRAM exchange the server broke will break again', facts: { detail: 'the server signature (v=) is wrong.' }, permanent: true, code: 'AUTH_FAILED', user: /cannot work as the server is set up: the server signature/, admin: null },
  { kind: 'dns-timeout', rule: 'a DNS server that never answers "timed out", never "has no address"', facts: { host: 'nosuch.test', seconds: 4 }, permanent: false, code: 'DNS_TIMEOUT', user: /^The DNS server 127\.0\.0\.1:5353 did not answer for nosuch\.test \(timed out after 4 s\)\.$/, admin: null },
  { kind: 'dns-failed', rule: 'another DNS failure (SERVFAIL) may pass; the resolver\'s sentence is used as it is', facts: { detail: 'DNS lookup of nosuch.test failed: queryA ESERVFAIL nosuch.test.' }, permanent: false, code: 'DNS_FAILED', user: /^DNS lookup of nosuch\.test failed: queryA ESERVFAIL nosuch\.test\.$/, admin: null },
  { kind: 'connection-refused', rule: 'a closed port: down or restarting, so tried again', facts: { host: '127.0.0.9', port: 5222 }, permanent: false, code: 'CONNECTION_REFUSED', user: /^Nothing accepts connections at 127\.0\.0\.9 port 5222: the server is down or restarting\.$/, admin: /^Start the XMPP server at 127\.0\.0\.9 port 5222/ },
  { kind: 'connect-timeout', rule: 'a port that drops packets "timed out"', facts: { host: '127.0.0.9', port: 5222, seconds: 10 }, permanent: false, code: 'CONNECT_TIMEOUT', user: /^127\.0\.0\.9 port 5222 did not answer \(timed out after 10 s\)\.$/, admin: null },
  { kind: 'connect-failed', rule: 'any other connection failure may pass', facts: { detail: 'EHOSTUNREACH' }, permanent: false, code: 'CONNECT_FAILED', user: /could not be reached: EHOSTUNREACH/, admin: null },
  { kind: 'tls-failed', rule: 'RFC 6120 5.4.3.3: a failed handshake may be a restarting server', facts: { host: 'xmpp.nosuch.test', port: 5223, detail: 'wrong version number' }, permanent: false, code: 'TLS_HANDSHAKE_FAILED', user: /^No secure connection could be made with xmpp\.nosuch\.test port 5223: wrong version number$/, admin: null },
  { kind: 'auth-temporary', rule: 'RFC 6120 6.5.13: temporary-auth-failure is retried', permanent: false, code: 'AUTH_TEMPORARY', user: /could not check the password just now/, admin: null },
  { kind: 'connection-lost', rule: 'a lost connection is retried', permanent: false, code: 'CONNECTION_LOST', user: /^The connection to the server of nosuch\.test was lost\.$/, admin: null },
  { kind: 'server-restarting', rule: 'RFC 6120 4.9.3.19: system-shutdown is a restart, retried', permanent: false, code: 'SERVER_RESTARTING', user: /is shutting down or restarting/, admin: null },
  { kind: 'login-timeout', rule: 'a login that never ends "timed out"', facts: { seconds: 30 }, permanent: false, code: 'LOGIN_TIMEOUT', user: /did not finish the login \(timed out after 30 s\)/, admin: null },
  { kind: 'stream-violation', rule: 'RFC 6120 4.9: a stream error we sent is named, and retried', facts: { detail: 'A DOCTYPE is not allowed.' }, permanent: false, code: 'STREAM_ERROR', user: /broke the XMPP rules, so the connection was closed: A DOCTYPE/, admin: null },
  { kind: 'session-failed', rule: 'anything else after the proof may pass', facts: { detail: 'socket hang up' }, permanent: false, code: 'SESSION_FAILED', user: /failed after its server was proven: socket hang up/, admin: null },
];

describe('failure sentences (one table, one row per kind)', () => {
  it('has a row for every kind of failure', () => {
    expect(ROWS.map((row) => row.kind).sort()).toEqual(Object.keys(FAILURES).sort());
  });

  it.each(ROWS)('$kind: $rule', ({ kind, facts, permanent, code, user, admin }) => {
    const problem = failure(kind, { ...FACTS, ...facts });
    expect(problem).toMatchObject({ kind, permanent, code });
    expect(problem.message).toMatch(user);
    if (admin === null) expect(problem.admin).toBeNull();
    else expect(problem.admin).toMatch(admin);
    // Our sentence never carries a code in parentheses or a nested server sentence.
    expect(problem.message).not.toMatch(/\([A-Z_]{4,}\)/);
  });

  it('the server\'s words are a quote beside our sentence, never inside it', () => {
    const problem = failure('wrong-password', { ...FACTS, quote: "The response provided by the client doesn't match the one we calculated." });
    expect(problem.quote).toBe("The response provided by the client doesn't match the one we calculated.");
    expect(problem.message).not.toContain('response provided');
  });
});

describe('how a failed login is read', () => {
  it.each<[string, unknown, { kind: FailureKind; permanent: boolean; code: string; quote: string | null }]>([
    ['RFC 6120 6.5.10: not-authorized with a text: wrong password, the text quoted once', new SaslRefusal('not-authorized', "The response provided by the client doesn't match"), { kind: 'wrong-password', permanent: true, code: 'AUTH_FAILED', quote: "The response provided by the client doesn't match" }],
    ['RFC 6120 6.5.10: not-authorized without a text: the condition is the quote', new SaslRefusal('not-authorized', null), { kind: 'wrong-password', permanent: true, code: 'AUTH_FAILED', quote: '<not-authorized/>' }],
    ['RFC 6120 6.5.1: account-disabled', new SaslRefusal('account-disabled', 'Your account has been suspended'), { kind: 'account-disabled', permanent: true, code: 'ACCOUNT_DISABLED', quote: 'Your account has been suspended' }],
    ['RFC 6120 6.5.13: temporary-auth-failure is transient', new SaslRefusal('temporary-auth-failure', null), { kind: 'auth-temporary', permanent: false, code: 'AUTH_TEMPORARY', quote: '<temporary-auth-failure/>' }],
    ['RFC 6120 6.5.4: invalid-mechanism cannot work as set up', new SaslRefusal('invalid-mechanism', null), { kind: 'login-impossible', permanent: true, code: 'AUTH_FAILED', quote: '<invalid-mechanism/>' }],
    ['RFC 5802 9: a server that cannot prove its SCRAM signature keeps its code', new ScramError('AUTH_SERVER_SIGNATURE', 'bad v='), { kind: 'login-impossible', permanent: true, code: 'AUTH_SERVER_SIGNATURE', quote: null }],
    ['no SCRAM offered keeps its code', new ScramError('AUTH_NO_SCRAM', 'none offered'), { kind: 'login-impossible', permanent: true, code: 'AUTH_NO_SCRAM', quote: null }],
    ['RFC 6120 4.9: our stream error keeps its code and is retried', new StreamViolation('not-well-formed', 'The server sent bytes that are not XML.'), { kind: 'stream-violation', permanent: false, code: 'STREAM_ERROR', quote: null }],
    ['RFC 6120 4.9.3.19: the server\'s system-shutdown during login is a restart, retried, its text quoted', Object.assign(new Error('system-shutdown - going down'), { name: 'StreamError', condition: 'system-shutdown', text: 'going down' }), { kind: 'server-restarting', permanent: false, code: 'SERVER_RESTARTING', quote: '<system-shutdown/> going down' }],
    ['RFC 6120 4.9.3.6: host-unknown during login is permanent', Object.assign(new Error('host-unknown'), { name: 'StreamError', condition: 'host-unknown' }), { kind: 'host-unknown', permanent: true, code: 'HOST_UNKNOWN', quote: '<host-unknown/>' }],
    ['anything else after the verdict is SESSION_FAILED and may be retried', new Error('socket hang up'), { kind: 'session-failed', permanent: false, code: 'SESSION_FAILED', quote: null }],
  ])('%s', (_rule, error, expected) => {
    const problem = loginProblem(error, FACTS);
    expect({ kind: problem.kind, permanent: problem.permanent, code: problem.code, quote: problem.quote }).toEqual(expected);
  });
});
