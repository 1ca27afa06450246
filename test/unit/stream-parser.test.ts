// The stream layer on its own (src/xmpp/stream-parser.ts): what each kind of hostile input ends
// the stream with, what is handed on before that, and how much is read before a limit stops it.
// One row per rule; the end-to-end rows over TLS are in test/integration/hostile-server.test.ts.
import { describe, expect, it } from 'vitest';
import { XmppStreamParser, type StreamLimits, type StreamViolation } from '../../src/xmpp/stream-parser.ts';

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='s1' version='1.0'>";

interface Outcome {
  events: string[];
  violation: StreamViolation | null;
}

/** Feeds `chunks` (after the header, unless `header` is given) and records what the parser handed on. */
function feed(chunks: Array<string | Buffer>, limits: Partial<StreamLimits> = {}, header: string | null = HEADER): Outcome & { parser: XmppStreamParser } {
  const parser = new XmppStreamParser(limits);
  const outcome: Outcome = { events: [], violation: null };
  parser.on('start', (element) => outcome.events.push(`start:${element.name}`));
  parser.on('element', (element) => outcome.events.push(`element:${element.toString()}`));
  parser.on('end', () => outcome.events.push('end'));
  parser.on('violation', (violation) => {
    outcome.events.push(`violation:${violation.condition}`);
    outcome.violation = violation;
  });
  if (header !== null) parser.write(header);
  for (const chunk of chunks) parser.write(chunk);
  return { ...outcome, parser };
}

describe('what ends the stream, and with which condition (RFC 6120 4.9.3)', () => {
  it.each([
    { rule: 'XML 1.0 4.1: an undefined entity is not-well-formed', input: ["<message><body>&bogus;</body></message>"], condition: 'not-well-formed' },
    { rule: 'XML 1.0 2.2: a reference to a character XML forbids is not-well-formed', input: ["<message x='&#1;'/>"], condition: 'not-well-formed' },
    { rule: 'RFC 6120 11.1: a DOCTYPE is restricted-xml', input: ['<!DOCTYPE x [<!ENTITY e "boom">]>'], condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.1: an entity declaration inside the stream is restricted-xml', input: ["<!ENTITY e 'boom'>"], condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.1: a comment is restricted-xml', input: ['<!-- x -->'], condition: 'restricted-xml' },
    { rule: 'RFC 6120 11.1: a processing instruction is restricted-xml', input: ['<?x y?>'], condition: 'restricted-xml' },
    { rule: 'XML namespaces 5: an undeclared prefix is bad-namespace-prefix', input: ['<x:message/>'], condition: 'bad-namespace-prefix' },
    { rule: 'RFC 6120 4.8.3: a stanza outside jabber:client is invalid-namespace', input: ["<message xmlns='jabber:server'/>"], condition: 'invalid-namespace' },
    { rule: 'RFC 6120 11.6: bytes that are not UTF-8 are unsupported-encoding', input: [Buffer.from([0x3c, 0x61, 0xff, 0x3e])], condition: 'unsupported-encoding' },
    { rule: 'RFC 6120 4.6.1: text between stanzas is bad-format', input: ['hello<presence/>'], condition: 'bad-format' },
    { rule: 'XML 1.0 2.3: a no-break space between stanzas is not XML whitespace (bad-format)', input: ['\u00a0<presence/>'], condition: 'bad-format' },
  ] as const)('$rule', ({ input, condition }) => {
    const { violation, events } = feed([...input]);
    expect(violation?.condition).toBe(condition);
    expect(violation?.code).toBe('STREAM_ERROR');
    expect(events.filter((event) => event.startsWith('element:'))).toEqual([]);
  });

  it.each([
    { rule: 'RFC 6120 4.8.1: a root that is not stream:stream in the streams namespace is invalid-namespace', header: "<html xmlns='jabber:client'>", condition: 'invalid-namespace' },
    { rule: 'RFC 6120 4.8.2: a stream whose content namespace is not jabber:client is invalid-namespace', header: "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>", condition: 'invalid-namespace' },
    { rule: 'RFC 6120 11.6: a stream declared as UTF-16 is unsupported-encoding', header: "<?xml version='1.0' encoding='UTF-16'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", condition: 'unsupported-encoding' },
  ] as const)('$rule', ({ header, condition }) => {
    const { violation, events } = feed([], {}, header);
    expect(violation?.condition).toBe(condition);
    expect(events).not.toContain('start:stream:stream');
  });
});

describe('the content namespace of the stream', () => {
  it('RFC 6120 4.8.2: a server-to-server stream is read over jabber:server, and its stanzas are not invalid-namespace', () => {
    const parser = new XmppStreamParser({}, 'jabber:server');
    const events: string[] = [];
    parser.on('start', () => events.push('start'));
    parser.on('element', (element) => events.push(element.name));
    parser.on('violation', (violation) => events.push(violation.condition));
    parser.write("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'><message/><presence/>");
    expect(events).toEqual(['start', 'message', 'presence']);
  });
});

describe('a nonza changes the stream before what follows it is read', () => {
  it('XEP-0198 4: after <enabled/> the next stanza is handed on in a later turn, once the counter has restarted', async () => {
    const parser = new XmppStreamParser();
    const events: string[] = [];
    parser.on('element', (element) => events.push(element.name));
    parser.write(`${HEADER}<presence/><enabled xmlns='urn:xmpp:sm:3'/><message/><r xmlns='urn:xmpp:sm:3'/><iq/>`);
    expect(events).toEqual(['presence', 'enabled']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['presence', 'enabled', 'message', 'r']);
    // What arrives meanwhile waits its turn behind them.
    parser.write('<presence/>');
    expect(events).toEqual(['presence', 'enabled', 'message', 'r']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['presence', 'enabled', 'message', 'r', 'iq', 'presence']);
  });
});

describe('only complete, well-formed stanzas are handed on', () => {
  it('XML 1.0 3: a stanza whose closing tag is wrong is never handed on, though its inner elements closed', () => {
    const { events } = feed(["<message><body>smuggled</body></bogus>"]);
    expect(events).toEqual(['start:stream:stream', 'violation:not-well-formed']);
  });

  it('XML 1.0 3: a wrong closing tag for the stream is not-well-formed, not a clean end', () => {
    const { events } = feed(['</foo>']);
    expect(events).toEqual(['start:stream:stream', 'violation:not-well-formed']);
  });

  it('RFC 6120 4.4: what comes after the footer is after the stream: the clean end stands', () => {
    const { events, violation } = feed(['</stream:stream></foo>']);
    expect(violation).toBeNull();
    expect(events).toEqual(['start:stream:stream', 'end']);
  });

  it('RFC 6120 4.4: the stream footer ends the stream cleanly, after every stanza before it', () => {
    const { events, violation } = feed(["<presence/><message><body>a</body></message></stream:stream>"]);
    expect(violation).toBeNull();
    expect(events).toEqual(['start:stream:stream', 'element:<presence/>', 'element:<message><body>a</body></message>', 'end']);
  });

  it('stanzas complete before a violation in the same chunk are handed on, in order, before it', () => {
    const { events } = feed(["<presence/><message><body>ok</body></message><!-- no -->"]);
    expect(events).toEqual(['start:stream:stream', 'element:<presence/>', 'element:<message><body>ok</body></message>', 'violation:restricted-xml']);
  });

  it("a listener that throws is the client's failure (undefined-condition), never a crash and never blamed on the server", () => {
    const parser = new XmppStreamParser();
    const violations: StreamViolation[] = [];
    parser.on('violation', (violation) => violations.push(violation));
    parser.on('element', () => {
      throw new TypeError('a bug of ours');
    });
    parser.write(`${HEADER}<presence/><presence/>`);
    expect(violations.map((violation) => [violation.condition, violation.message])).toEqual([
      ['undefined-condition', 'This client failed on what the server sent (a bug of ours); the connection starts again.'],
    ]);
  });

  it("a listener that throws on a stanza the peer's own error follows is still reported, once", () => {
    const parser = new XmppStreamParser();
    const violations: string[] = [];
    parser.on('violation', (violation) => violations.push(violation.condition));
    parser.on('element', () => {
      throw new TypeError('a bug of ours');
    });
    parser.write(`${HEADER}<message id='a'/><<<`);
    expect(violations).toEqual(['undefined-condition']);
    expect(parser.done).toBe(true);
  });

  it('RFC 3629: a character split between writes at every byte offset arrives whole', () => {
    const stanza = Buffer.from("<message><body>split:© € 😀</body></message>");
    for (let offset = 1; offset < stanza.length; offset += 1) {
      const { events } = feed([stanza.subarray(0, offset), stanza.subarray(offset)]);
      expect(events[1]).toBe('element:<message><body>split:© € 😀</body></message>');
    }
  });
});

describe('limits: what is pending between complete units is bounded, whatever it is', () => {
  const LIMIT = 1000;
  const limited = { maxStanzaChars: LIMIT };
  const chunked = (text: string, size = 4096): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, index) => text.slice(index * size, (index + 1) * size));

  it.each([
    { rule: 'a stanza past the limit', input: `<message><body>${'x'.repeat(2000)}</body></message>` },
    { rule: 'one attribute value past the limit, inside an opening tag', input: `<message a='${'x'.repeat(5000)}` },
    { rule: 'many small attributes past the limit', input: `<message ${Array.from({ length: 500 }, (_, index) => `a${index}='1'`).join(' ')}` },
    { rule: 'namespace declarations past the limit', input: `<message ${Array.from({ length: 500 }, (_, index) => `xmlns:p${index}='u'`).join(' ')}` },
    { rule: 'whitespace between stanzas past the limit, without a stanza after it', input: ' '.repeat(5000) },
    { rule: 'an unfinished comment past the limit', input: `<!--${'x'.repeat(5000)}` },
    { rule: 'an unfinished CDATA section past the limit', input: `<message><![CDATA[${'x'.repeat(5000)}` },
  ])('$rule ends the stream with policy-violation within one slice', ({ input }) => {
    const { violation, events } = feed(chunked(input), limited);
    expect(violation?.condition).toBe('policy-violation');
    expect(events.filter((event) => event.startsWith('element:'))).toEqual([]);
  });

  it('a stanza just under the limit is read, in one chunk or many (the count is exact)', () => {
    const stanza = `<message><body>${'x'.repeat(LIMIT - 40)}</body></message>`;
    expect(stanza.length).toBeLessThan(LIMIT);
    for (const chunks of [[stanza, stanza], chunked(stanza + stanza, 7)]) {
      const { violation, events } = feed(chunks, limited);
      expect(violation).toBeNull();
      expect(events.filter((event) => event.startsWith('element:'))).toHaveLength(2);
    }
  });

  it('RFC 6120 4.2: a stream header longer than the header limit is refused, even in one slice', () => {
    const { violation } = feed([`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' a='${'x'.repeat(20_000)}'>`], {}, null);
    expect(violation?.condition).toBe('policy-violation');
  });

  it('RFC 6120 4.2: a stream header that never ends stops at the header limit', () => {
    const { violation } = feed(chunked(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' a='${'x'.repeat(40_000)}`), {}, null);
    expect(violation?.condition).toBe('policy-violation');
    expect(violation?.message).toMatch(/stream header is longer than 16384 characters/);
  });

  it('RFC 6120 5.4.2: before TLS the whole stream has a byte budget; 40 KB of legitimate features fit it', () => {
    const features = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${'<mechanism>X</mechanism>'.repeat(1600)}</mechanisms></stream:features>`;
    expect(features.length).toBeGreaterThan(38_000);
    const budget = { maxStanzaChars: 64 * 1024, maxStreamBytes: 64 * 1024 };
    expect(feed([features], budget).violation).toBeNull();
    const { violation } = feed([features, features], budget);
    expect(violation?.condition).toBe('policy-violation');
    expect(violation?.message).toMatch(/more than 65536 bytes on a stream that may carry only a stream header/);
  });

  it('the violation names at most 80 characters of what the server chose (a name may be megabytes)', () => {
    const { violation } = feed([`<?${'p'.repeat(10_000)} x?>`]);
    expect(violation?.condition).toBe('restricted-xml');
    expect(violation!.message.length).toBeLessThan(200);
  });
});
