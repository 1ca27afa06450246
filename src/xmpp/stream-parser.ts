// The XML stream as a hostile peer may send it (RFC 6120 4, 11), read by a conforming parser
// (saxes) instead of ltx's, which throws inside socket handlers, swallows a DOCTYPE and decodes
// each chunk on its own. Bytes are decoded as one UTF-8 stream (a character split across TLS
// records survives; invalid UTF-8 ends the stream). Everything read since the last complete
// top-level unit (the stream header, a stanza, whitespace between stanzas) is bounded, whatever
// it is (a stanza, one enormous attribute, an unfinished comment), and so is every stanza's depth
// and element count, so memory stays proportional to what one stanza may be. What goes wrong is
// never thrown: it becomes one `violation` with the stream error condition to send, and the
// parser reads nothing more. A stanza is handed on only once the parser has read past its end
// without error, and outside the parser, so that a listener's own failure is not the peer's.
// Element objects are ltx's, as xmpp.js expects. See docs/ARCHITECTURE.md#the-stream.
import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Element } from '@xmpp/xml';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { DnaError, messageOf } from '../verify/errors.ts';

/** The stream error conditions this parser ends a stream with (RFC 6120 4.9.3). */
export type StreamCondition =
  | 'not-well-formed'
  | 'restricted-xml'
  | 'bad-namespace-prefix'
  | 'invalid-namespace'
  | 'policy-violation'
  | 'unsupported-encoding'
  | 'bad-format'
  | 'undefined-condition';

/** A stream that cannot go on: the condition to answer with, and a sentence for the user. */
export class StreamViolation extends DnaError<'STREAM_ERROR'> {
  readonly condition: StreamCondition;

  constructor(condition: StreamCondition, message: string) {
    super('STREAM_ERROR', message);
    this.name = 'StreamViolation';
    this.condition = condition;
  }
}

export interface StreamLimits {
  /**
   * Most characters read since the end of the last complete top-level unit: a whole stanza, or
   * whatever else is pending (text between stanzas, an unfinished tag or comment). A legitimate
   * 20,000-contact roster result is about 2 million.
   */
  maxStanzaChars: number;
  /** Most elements in one stanza. */
  maxStanzaElements: number;
  /** Deepest nesting inside a stanza. */
  maxDepth: number;
  /** Most attributes (namespace declarations included) on one element. */
  maxAttributes: number;
  /** Most characters up to the end of the stream header. */
  maxHeaderChars: number;
  /** Most bytes the whole stream may carry (before TLS: a header, features and <proceed/>). */
  maxStreamBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxStanzaChars: 4 * 1024 * 1024,
  maxStanzaElements: 100_000,
  maxDepth: 64,
  maxAttributes: 64,
  maxHeaderChars: 16 * 1024,
  maxStreamBytes: Number.POSITIVE_INFINITY,
};

/** Before the verdict nothing but the stream header, features and <proceed/> may arrive (RFC 6120 5.4.2). */
export const BEFORE_TLS_LIMITS: StreamLimits = { ...DEFAULT_STREAM_LIMITS, maxStanzaChars: 64 * 1024, maxStreamBytes: 64 * 1024 };

export interface StreamParserEvents {
  start: [Element];
  element: [Element];
  end: [Element];
  violation: [StreamViolation];
}

const NS_STREAMS = 'http://etherx.jabber.org/streams';
const STANZAS = new Set(['message', 'presence', 'iq']);
/** saxes reads a long input in slices of this many characters, so no limit is passed by more than one. */
const SLICE_CHARS = 64 * 1024;
/** XML whitespace (XML 1.0 2.3 S), the only text a stream may carry between stanzas. */
const XML_WHITESPACE = /^[ \t\r\n]*$/;

type Pending = { kind: 'start' | 'element' | 'end'; element: Element } | { kind: 'violation'; violation: StreamViolation };

/** What the peer chose to put in a sentence, kept short (a name may be megabytes long). */
const clip = (text: string): string => (text.length > 80 ? `${text.slice(0, 80)}…` : text);

/** The length of `bytes` without a UTF-8 sequence its end cuts short (RFC 3629 3). */
function completeLength(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return back < length ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/** The text before the first byte sequence that is not UTF-8 (a U+FFFD the bytes spell out is text). */
function validPrefix(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  for (let index = text.indexOf('\ufffd'); index >= 0; index = text.indexOf('\ufffd', index + 1)) {
    const at = Buffer.byteLength(text.slice(0, index));
    if (!(bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd)) return text.slice(0, index);
  }
  return text;
}

function attributesOf(tag: SaxesTagNS): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, attribute] of Object.entries(tag.attributes)) attributes[name] = attribute.value;
  return attributes;
}

/**
 * One XML stream, from its first byte to `</stream:stream>`. A new instance for each stream
 * (xmpp.js makes one at every restart).
 */
export class XmppStreamParser extends EventEmitter<StreamParserEvents> {
  readonly #limits: StreamLimits;
  /** The stream's content namespace: jabber:client, or jabber:server for a server-to-server check. */
  readonly #namespace: string;
  /** The bytes of a character the last chunk ended in the middle of. */
  #carry: Buffer = Buffer.alloc(0);
  #attributes = 0;
  readonly #saxes = new SaxesParser({ xmlns: true, position: true });
  /** Read, in events not yet handed on: a unit is released once the parser has read past it. */
  readonly #pending: Pending[] = [];
  /** Whether handing on waits for a later turn (after a nonza). */
  #deferred = false;
  /** Where the last unit was completed: a bad closing tag reported at that very place undoes it. */
  #completedAt = -1;
  #root: Element | null = null;
  #cursor: Element | null = null;
  #depth = 0;
  #stanzaElements = 0;
  #bytes = 0;
  /** Characters fed to the parser so far, and where the last complete unit ended. */
  #consumed = 0;
  #boundary = 0;
  /** The slice being parsed, for telling a markup declaration from other syntax errors. */
  #slice = '';
  /** The root closed: nothing more is read, though saxes may still report its closing tag wrong. */
  #ended = false;
  #done = false;

  constructor(limits: Partial<StreamLimits> = {}, namespace = 'jabber:client') {
    super();
    this.#limits = { ...DEFAULT_STREAM_LIMITS, ...limits };
    this.#namespace = namespace;
    const saxes = this.#saxes;
    saxes.on('error', (error) => this.#malformed(error.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '')));
    saxes.on('xmldecl', ({ encoding }) => {
      if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
        this.#violate('unsupported-encoding', `The server declared its stream as ${clip(encoding)}; every XMPP stream is UTF-8 (RFC 6120 11.6).`);
      }
    });
    saxes.on('doctype', () => this.#restricted('a document type declaration'));
    saxes.on('processinginstruction', (pi) => this.#restricted(`a processing instruction (<?${clip(pi.target)}?>)`));
    saxes.on('comment', () => this.#restricted('a comment'));
    saxes.on('opentagstart', () => (this.#attributes = 0));
    saxes.on('attribute', () => {
      this.#attributes += 1;
      if (this.#attributes > this.#limits.maxAttributes) {
        this.#violate('policy-violation', `The server sent an element with more than ${this.#limits.maxAttributes} attributes.`);
      }
    });
    saxes.on('opentag', (tag) => this.#open(tag));
    saxes.on('closetag', () => this.#close());
    saxes.on('text', (text) => this.#text(text));
    saxes.on('cdata', (text) => this.#text(text));
  }

  /** Whether the stream has ended, cleanly or by a violation: nothing more is read. */
  get done(): boolean {
    return this.#done;
  }

  /** Reads the next bytes of the stream; never throws, and hands on what it read once it is past it. */
  write(data: Buffer | string): void {
    if (this.#done) return;
    this.#bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.#bytes > this.#limits.maxStreamBytes) {
      this.#violate('policy-violation', `The server sent more than ${this.#limits.maxStreamBytes} bytes on a stream that may carry only a stream header and its features.`);
      return this.#release();
    }
    const { text, valid } = typeof data === 'string' ? { text: data, valid: true } : this.#decode(data);
    this.#parse(text);
    if (!valid) this.#violate('unsupported-encoding', 'The server sent bytes that are not UTF-8, which every XMPP stream must be (RFC 6120 11.6).');
    this.#release();
  }

  /**
   * The text of the complete characters so far, and whether they were all UTF-8. A character cut
   * by the chunk's end waits for the next chunk; at invalid bytes the text stops, so that what came
   * before them is still read.
   */
  #decode(data: Buffer): { text: string; valid: boolean } {
    const bytes = this.#carry.length > 0 ? Buffer.concat([this.#carry, data]) : data;
    const end = completeLength(bytes);
    this.#carry = Buffer.from(bytes.subarray(end));
    const complete = bytes.subarray(0, end);
    if (isUtf8(complete)) return { text: complete.toString('utf8'), valid: true };
    return { text: validPrefix(complete), valid: false };
  }

  #parse(text: string): void {
    for (let start = 0; start < text.length && !this.#done; start += SLICE_CHARS) {
      this.#slice = text.slice(start, start + SLICE_CHARS);
      try {
        this.#saxes.write(this.#slice);
      } catch (error) {
        // saxes reports the peer's errors through its handler; what it throws is its own failure.
        this.#violate('undefined-condition', `This client could not read what the server sent (${clip(messageOf(error))}).`);
      }
      this.#consumed += this.#slice.length;
      if (this.#ended) this.#done = true;
      this.#checkPendingSize();
    }
    this.#slice = '';
  }

  /** Ends reading (the socket closed); no event follows. */
  end(): void {
    this.#done = true;
    this.#pending.length = 0;
  }

  #checkPendingSize(): void {
    if (this.#done) return;
    const pending = this.#consumed - this.#boundary;
    if (this.#root === null) {
      if (pending > this.#limits.maxHeaderChars) {
        this.#violate('policy-violation', `The server's stream header is longer than ${this.#limits.maxHeaderChars} characters; this client reads none that long.`);
      }
    } else if (pending > this.#limits.maxStanzaChars) {
      this.#violate('policy-violation', `The server sent a stanza larger than ${this.#limits.maxStanzaChars} characters; this client reads none that large.`);
    }
  }

  /**
   * Hands on what was read, in order, each listener's failure kept from the parser and the others.
   * A nonza (stream features, SASL, <enabled/>, <resumed/>) changes the stream's state, and xmpp.js
   * takes that change in asynchronously (XEP-0198's counter restarts a few promises after
   * <enabled/>): what follows a nonza is handed on in a later turn, once the change has happened.
   */
  #release(): void {
    if (this.#deferred) return;
    while (this.#pending.length > 0) {
      const next = this.#pending.shift()!;
      try {
        if (next.kind === 'violation') this.emit('violation', next.violation);
        else this.emit(next.kind, next.element);
      } catch (error) {
        if (next.kind === 'violation') continue;
        // Our own failure ends the stream whatever it had come to, the end of it included.
        this.#done = true;
        this.#pending.length = 0;
        this.#pending.push({
          kind: 'violation',
          violation: new StreamViolation('undefined-condition', `This client failed on what the server sent (${clip(messageOf(error))}); the connection starts again.`),
        });
        continue;
      }
      if (next.kind === 'element' && !STANZAS.has(next.element.name) && this.#pending.length > 0) {
        this.#deferred = true;
        setImmediate(() => {
          this.#deferred = false;
          this.#release();
        });
        return;
      }
    }
  }

  /** A unit is complete: it waits for the parser to read past it. */
  #complete(kind: 'start' | 'element' | 'end', element: Element): void {
    this.#pending.push({ kind, element });
    this.#completedAt = this.#saxes.position;
    this.#boundary = this.#saxes.position;
  }

  #violate(condition: StreamCondition, message: string): void {
    if (this.#done || this.#ended) return;
    this.#done = true;
    this.#pending.push({ kind: 'violation', violation: new StreamViolation(condition, message) });
  }

  #malformed(reason: string): void {
    if (this.#done) return;
    // saxes reports a bad closing tag after closing the element it popped: that element is not complete.
    if (this.#completedAt === this.#saxes.position && /close tag|closing tag/.test(reason)) {
      this.#pending.pop();
      this.#ended = false;
    }
    // A DOCTYPE inside the stream is first of all misplaced; it is still a DTD the stream may not carry.
    if (/doctype/i.test(reason)) this.#restricted('a document type declaration');
    else if (reason === 'incorrect syntax' && this.#slice.includes('<!')) this.#restricted('a markup declaration (<!ENTITY>, <!ELEMENT> or the like)');
    else if (/namespace prefix/i.test(reason)) this.#violate('bad-namespace-prefix', `The server used a namespace prefix it never declared (${clip(reason)}).`);
    else this.#violate('not-well-formed', `The server sent XML that is not well-formed (${clip(reason)}).`);
  }

  #restricted(what: string): void {
    this.#violate('restricted-xml', `The server sent ${what}, which XMPP streams may not carry (RFC 6120 11.1).`);
  }

  #open(tag: SaxesTagNS): void {
    if (this.#done || this.#ended) return;
    const element = new Element(tag.name, attributesOf(tag));
    this.#depth += 1;
    if (!this.#root) {
      if (this.#saxes.position - this.#boundary > this.#limits.maxHeaderChars) {
        this.#violate('policy-violation', `The server's stream header is longer than ${this.#limits.maxHeaderChars} characters; this client reads none that long.`);
        return;
      }
      if (tag.local !== 'stream' || tag.uri !== NS_STREAMS || tag.ns[''] !== this.#namespace) {
        this.#violate('invalid-namespace', `The server did not open an XMPP stream over ${this.#namespace} (<${clip(tag.name)}> in ${clip(tag.uri || 'no namespace')}; RFC 6120 4.8).`);
        return;
      }
      this.#root = element;
      this.#cursor = element;
      this.#complete('start', element);
      return;
    }
    if (this.#depth === 2) {
      this.#stanzaElements = 0;
      if (STANZAS.has(tag.local) && tag.uri !== this.#namespace) {
        this.#violate('invalid-namespace', `The server sent a <${tag.local}/> outside the ${this.#namespace} namespace (RFC 6120 4.8.3).`);
        return;
      }
    } else {
      this.#cursor!.append(element);
    }
    this.#stanzaElements += 1;
    if (this.#depth - 1 > this.#limits.maxDepth) {
      this.#violate('policy-violation', `The server sent a stanza nested deeper than ${this.#limits.maxDepth} elements.`);
      return;
    }
    if (this.#stanzaElements > this.#limits.maxStanzaElements) {
      this.#violate('policy-violation', `The server sent a stanza of more than ${this.#limits.maxStanzaElements} elements.`);
      return;
    }
    this.#cursor = element;
  }

  #close(): void {
    if (this.#done || this.#ended) return;
    const cursor = this.#cursor!;
    this.#depth -= 1;
    if (this.#depth === 0) {
      this.#complete('end', cursor);
      this.#ended = true;
      return;
    }
    if (this.#depth === 1) {
      // The whole stanza, from the end of the unit before it, within the limit.
      if (this.#saxes.position - this.#boundary > this.#limits.maxStanzaChars) {
        this.#violate('policy-violation', `The server sent a stanza larger than ${this.#limits.maxStanzaChars} characters; this client reads none that large.`);
        return;
      }
      cursor.parent = this.#root!;
      this.#cursor = this.#root;
      this.#complete('element', cursor);
      return;
    }
    this.#cursor = cursor.parent as Element;
  }

  #text(text: string): void {
    if (this.#done || this.#ended) return;
    if (this.#depth <= 1) {
      // Between stanzas only whitespace (keepalives, RFC 6120 4.6.1) belongs.
      if (!XML_WHITESPACE.test(text)) this.#violate('bad-format', 'The server sent text between stanzas, where only whitespace belongs.');
      else this.#boundary = this.#saxes.position;
      return;
    }
    this.#cursor!.t(text);
  }
}
