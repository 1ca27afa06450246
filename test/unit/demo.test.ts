// The local demo's pure parts: where it may listen, what it says when programs are missing or a
// start fails, what bob answers, the command line's progress lines, the step list, the roster file
// the testbed writes for bob and alice, and the renderer's variant words and account selection.
import { describe, expect, it } from 'vitest';
import { demoAccountToSelect, demoBusy, VARIANT_WORDS } from '../../renderer/src/lib/demo.ts';
import { DEMO_VARIANTS, type DemoStatus, type DemoStep } from '../../src/app/contract.ts';
import { bobGreeting, bobReply, type BobFacts, type BobProof } from '../../src/demo/bob-replies.ts';
import { DEMO_XMPP_PORTS, DemoConfigError, demoOptionsFromEnv, parseDemoAddresses } from '../../src/demo/config.ts';
import { demoLines } from '../../src/demo/console.ts';
import { explainFailure, missingFailure } from '../../src/demo/failure.ts';
import { Progress } from '../../src/demo/progress.ts';
import { TestbedError } from '../../src/testbed/programs.ts';
import { renderRoster } from '../../src/testbed/prosody.ts';

describe('the demo listens on loopback only (POSH_DEMO_ADDRESSES)', () => {
  it.each([
    ['three loopback addresses, DNS with its port, XMPP on the demo\'s own ports', '127.0.61.1:5353,127.0.61.2,127.0.61.3', { dns: '127.0.61.1:5353', web: '127.0.61.2', xmpp: '127.0.61.3', xmppPorts: DEMO_XMPP_PORTS }],
    ['spaces around the commas are ignored', ' 127.0.61.1:53 , 127.0.61.2 ,127.0.61.3', { dns: '127.0.61.1:53', web: '127.0.61.2', xmpp: '127.0.61.3', xmppPorts: DEMO_XMPP_PORTS }],
  ])('%s', (_rule, text, expected) => {
    expect(parseDemoAddresses(text)).toEqual(expected);
  });

  it.each([
    ['a web address off loopback is refused', '127.0.61.1:5353,192.168.1.2,127.0.61.3', /web address "192\.168\.1\.2" is not an IPv4 loopback/],
    ['a DNS address without its port is refused', '127.0.61.1,127.0.61.2,127.0.61.3', /must be DNS_IP:PORT,WEB_IP,XMPP_IP/],
    ['an octet above 255 is refused', '127.0.61.1:5353,127.0.61.2,127.0.300.3', /XMPP address "127\.0\.300\.3"/],
    ['a fourth address is refused', '127.0.61.1:5353,127.0.61.2,127.0.61.3,127.0.61.4', /must be DNS_IP:PORT/],
    ['port 0 is refused', '127.0.61.1:0,127.0.61.2,127.0.61.3', /must be DNS_IP:PORT/],
  ])('%s', (_rule, text, message) => {
    expect(() => parseDemoAddresses(text)).toThrow(DemoConfigError);
    expect(() => parseDemoAddresses(text)).toThrow(message);
  });

  it.each([
    ['no variables: the defaults', {}, {}],
    [
      'every variable',
      { POSH_DEMO_ADDRESSES: '127.0.62.1:5353,127.0.62.2,127.0.62.3', POSH_DEMO_RUNTIME_DIR: '/tmp/d', POSH_DEMO_PROGRAM_PATH: '/opt/bin' },
      { addresses: { dns: '127.0.62.1:5353', web: '127.0.62.2', xmpp: '127.0.62.3', xmppPorts: DEMO_XMPP_PORTS }, runtimeDir: '/tmp/d', programPath: '/opt/bin' },
    ],
    ['an empty program path is kept (it finds nothing)', { POSH_DEMO_PROGRAM_PATH: '' }, { programPath: '' }],
  ])('environment: %s', (_rule, env, expected) => {
    expect(demoOptionsFromEnv(env)).toEqual(expected);
  });
});

describe('what a failed start says', () => {
  it.each([
    [['prosody'], 'apt-get install prosody', 'needs prosody, which is not installed (Debian and Ubuntu package prosody): install it as root'],
    [['dnsmasq', 'nginx'], 'apt-get install dnsmasq-base nginx-light', 'needs dnsmasq and nginx, which are not installed (Debian and Ubuntu packages dnsmasq-base and nginx-light): install them'],
    [['prosody', 'dnsmasq', 'nginx'], 'apt-get install prosody dnsmasq-base nginx-light', 'needs prosody, dnsmasq and nginx, which are not installed'],
  ])('missing %j: names each program, its package, and the command', (missing, install, words) => {
    const failure = missingFailure(missing);
    expect(failure).toMatchObject({ missing, install });
    expect(failure.message).toContain(words);
    expect(failure.message).toContain(`\`${install}\``);
    expect(failure.message).toMatch(/\(TESTBED_MISSING_PROGRAM\)$/);
  });

  it.each([
    ['no privilege for port 443: start it as root', new TestbedError('TESTBED_NEEDS_ROOT', 'run it as root'), /only root may bind.*sudo npm run demo\)\. \(TESTBED_NEEDS_ROOT\)$/],
    ['a busy port keeps the testbed\'s sentence and code', new TestbedError('TESTBED_PORT_BUSY', 'Something else already listens on 127.0.60.3:5222/tcp.'), /^The local demo could not start: Something else already listens on 127\.0\.60\.3:5222\/tcp\. \(TESTBED_PORT_BUSY\)$/],
    ['an error without a code is still a sentence', new Error('boom'), /^The local demo could not start: boom$/],
  ])('%s', (_rule, error, message) => {
    expect(explainFailure(error)).toEqual({ message: expect.stringMatching(message), missing: [], install: null });
  });
});

const PROOF: BobProof = {
  verified: true,
  prooftype: 'POSH',
  code: 'OK_POSH',
  server: 'hosting.example.net:5223',
  sha256: 'Fqh35iudR7hRabcdefghijklmnopqrstuvwxyz0123456=',
  names: ['hosting.example.net'],
  poshUrls: ['https://example.com/.well-known/posh/xmpp-client.json'],
};
const facts = (over: Partial<BobFacts> = {}): BobFacts => ({ variant: 'direct', variantDescription: 'example.com publishes the fingerprints', proof: PROOF, ...over });

describe('bob answers', () => {
  it.each([
    ['"help" lists what he can answer', 'help', facts(), /^Ask me "how".*Switch variants on the Account tab/],
    ['"how" tells what proved his connection', 'How was this connection proven?', facts(), /went to hosting\.example\.net:5223 and was proven by POSH \(OK_POSH\).*names hosting\.example\.net, not example\.com.*Fqh35iudR7hR….*I fetched https:\/\/example\.com\/\.well-known\/posh\/xmpp-client\.json\./],
    ['"how" before any connection says so', 'how?', facts({ proof: null }), /not connected yet/],
    ['"how" after his own refusal names its code', 'why', facts({ proof: { ...PROOF, verified: false, code: 'POSH_MISMATCH' } }), /refused \(POSH_MISMATCH\)/],
    ['"variant" in a proving variant: proven by POSH', 'which variant is this?', facts({ variant: 'reference', variantDescription: 'a reference' }), /"reference" variant: a reference\. A client that connects now proves the server by POSH/],
    ['"variant" in a refusing variant names the refusal code', 'variant', facts({ variant: 'absent', variantDescription: 'example.com answers 404' }), /refused with NO_PROOF/],
    ['"fingerprint" gives the whole SHA-256', 'fingerprint please', facts(), /SHA-256 Fqh35iudR7hRabcdefghijklmnopqrstuvwxyz0123456= \(base64/],
    ['a greeting is answered with what he can do', 'Hello bob', facts(), /^Hello! Ask me/],
    ['anything else is quoted back (60 characters at most)', `x${'y'.repeat(80)}`, facts(), /^You said “xy{59}…”, and it reached me over a server nobody had to click "accept" for\./],
  ])('%s', (_rule, body, known, answer) => {
    expect(bobReply(body, known)).toMatch(answer);
  });

  it('the greeting names the variant and what to ask', () => {
    expect(bobGreeting(facts({ variant: 'self-signed' }))).toMatch(/proved example\.com's server, hosting\.example\.net, by POSH.*\("self-signed" variant\)\. Ask me "how"/);
  });
});

const step = (label: string, state: DemoStep['state'], ms: number | null = null): DemoStep => ({ label, state, ms });
const status = (over: Partial<DemoStatus>): DemoStatus => ({
  state: 'starting', variant: null, accountId: null, message: null, missing: [], install: null, steps: [], startedInMs: null, addresses: null, ...over,
});
const ADDRESSES = { dns: '127.0.60.1:5353', web: '127.0.60.2', xmpp: '127.0.60.3' };

describe('npm run demo prints the progress', () => {
  it.each([
    ['a start begins with one line', null, status({ steps: [step('Look', 'pending')] }), ['Starting the local demo…']],
    ['a finished step with its time', status({ steps: [step('Look', 'active')] }), status({ steps: [step('Look', 'done', 12)] }), ['  ✔ Look (12 ms)']],
    ['a failed step, then the message', status({ steps: [step('Look', 'active')] }), status({ state: 'failed', message: 'Install prosody.', steps: [step('Look', 'failed', 3)] }), ['  ✘ Look', 'Install prosody.']],
    ['running: where, and how long it took', status({}), status({ state: 'running', variant: 'direct', startedInMs: 1234, addresses: ADDRESSES }), ['The local demo runs on 127.0.60.1:5353, 127.0.60.2 and 127.0.60.3, started in 1.2 s. Switch POSH variants on the Account tab; the servers stop when the app quits.']],
    ['a switched variant', status({ state: 'running', variant: 'direct' }), status({ state: 'running', variant: 'absent' }), ['The demo now publishes the "absent" variant.']],
    ['a new step list (a switch) prints its finished steps', status({ state: 'running', variant: 'direct', steps: [step('Sign in', 'done', 5)] }), status({ state: 'running', variant: 'direct', steps: [step('Publish', 'done', 7)] }), ['  ✔ Publish (7 ms)']],
    ['stopped', status({ state: 'running', variant: 'direct' }), status({ state: 'stopped' }), ['The local demo stopped.']],
    ['nothing new prints nothing', status({ steps: [step('Look', 'active')] }), status({ steps: [step('Look', 'active')] }), []],
  ])('%s', (_rule, previous, next, lines) => {
    expect(demoLines(previous, next)).toEqual(lines);
  });
});

describe('the progress of a long operation', () => {
  it('each step is active while it runs, then done with its duration; every change is published', async () => {
    const published: DemoStep[][] = [];
    const progress = new Progress(['one', 'two'], (steps) => published.push(steps));
    expect(progress.steps).toEqual([step('one', 'pending'), step('two', 'pending')]);
    expect(await progress.run(0, async () => 'result')).toBe('result');
    expect(published.map((steps) => steps.map((s) => s.state))).toEqual([['active', 'pending'], ['done', 'pending']]);
    expect(published[1]?.[0]?.ms).toBeGreaterThanOrEqual(0);
  });

  it('a failing step is marked failed and its error is rethrown', async () => {
    const progress = new Progress(['one'], () => undefined);
    await expect(progress.run(0, () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(progress.steps[0]).toMatchObject({ state: 'failed', ms: expect.any(Number) });
  });
});

describe('testbed contacts: the roster file mod_roster reads', () => {
  it('RFC 6121 2.1.2.5: each entry is a mutual subscription ("both") with its name and no groups', () => {
    const text = renderRoster([{ jid: 'bob@example.com', name: 'Bob (demo bot)' }]);
    expect(text).toBe(
      'return {\n\t[false] = {\n\t\t["version"] = 1;\n\t\t["pending"] = {};\n\t};\n' +
        '\t["bob@example.com"] = {\n\t\t["subscription"] = "both";\n\t\t["name"] = "Bob (demo bot)";\n\t\t["groups"] = {};\n\t};\n};\n',
    );
  });

  it('a name Lua cannot hold is refused, not written', () => {
    expect(() => renderRoster([{ jid: 'bob@example.com', name: 'Bob\n' }])).toThrow(/cannot hold/);
  });
});

describe('the renderer\'s demo words', () => {
  it('names every variant the contract has, in its order, with the outcome bob and the tests expect', () => {
    expect(VARIANT_WORDS.map((words) => words.variant)).toEqual(DEMO_VARIANTS);
    expect(Object.fromEntries(VARIANT_WORDS.map((words) => [words.variant, words.outcome]))).toEqual({
      direct: 'OK_POSH', redirect: 'OK_POSH', reference: 'OK_POSH', 'wrong-fingerprint': 'POSH_MISMATCH', absent: 'NO_PROOF', 'expired-certificate': 'CERT_EXPIRED', 'self-signed': 'OK_POSH',
    });
  });

  it.each([
    ['the account appears during a start: show it', status({}), status({ accountId: 'acct-1' }), 'acct-1'],
    ['the page loads while the demo starts: show it', null, status({ accountId: 'acct-1' }), 'acct-1'],
    ['a start completes: show it', status({ accountId: 'acct-1' }), status({ state: 'running', accountId: 'acct-1' }), 'acct-1'],
    ['a removed demo account brought back while running: show it', status({ state: 'running', accountId: 'acct-1' }), status({ state: 'running', accountId: 'acct-2' }), 'acct-2'],
    ['a variant switch: leave the selection alone', status({ state: 'running', accountId: 'acct-1' }), status({ state: 'running', accountId: 'acct-1', variant: 'absent' }), null],
    ['a stop: leave the selection alone', status({ state: 'running', accountId: 'acct-1' }), status({ state: 'stopped', accountId: 'acct-1' }), null],
    ['a failed start without an account: nothing to show', status({}), status({ state: 'failed' }), null],
  ])('%s', (_rule, previous, next, selected) => {
    expect(demoAccountToSelect(previous, next)).toBe(selected);
  });

  it.each([
    ['stopped is idle', status({ state: 'stopped' }), false],
    ['starting is busy', status({ state: 'starting' }), true],
    ['running with a step under way (a switch) is busy', status({ state: 'running', steps: [step('Publish', 'active')] }), true],
    ['running with every step done is idle', status({ state: 'running', steps: [step('Publish', 'done', 3)] }), false],
    ['no status yet is idle', null, false],
  ])('%s', (_rule, current, busy) => {
    expect(demoBusy(current)).toBe(busy);
  });
});
