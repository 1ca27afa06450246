// Server behaviours Prosody never shows, driven through the real @xmpp/sasl over real TCP: a tiny
// scripted XMPP server on 127.0.12.2 that speaks SCRAM-SHA-256 for "user"/"pencil" (server side
// written here from RFC 5802 3, independently of src/xmpp/scram.ts) and then misbehaves as told.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Parser, type Element } from '@xmpp/xml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramLogin } from '../support/scram-client.ts';

const ADDRESS = '127.0.12.2';
const DOMAIN = 'faults.scram.test';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const SALT = randomBytes(16);
const ITERATIONS = 4096;

type Behaviour =
  | 'genuine' // v= in <success/>
  | 'signature-in-challenge' // v= in a last <challenge/>, then an empty <success/> (RFC 6120 6.4.6)
  | 'success-without-signature'
  | 'success-before-challenge'
  | 'error-in-final' // e= in place of v=
  | 'plain-only';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 5802 3, server side: the signature a server holding "pencil" sends. */
function serverSignature(authMessage: string): Buffer {
  const saltedPassword = pbkdf2Sync('pencil', SALT, ITERATIONS, 32, 'sha256');
  return hmac(hmac(saltedPassword, 'Server Key'), authMessage);
}

/** RFC 5802 3, server side: does the client's proof show it holds "pencil"? */
function proofIsValid(authMessage: string, proof: Buffer): boolean {
  const saltedPassword = pbkdf2Sync('pencil', SALT, ITERATIONS, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(saltedPassword, 'Client Key')).digest();
  const clientSignature = hmac(storedKey, authMessage);
  const clientKey = Buffer.from(proof.map((byte, index) => byte ^ (clientSignature[index] ?? 0)));
  return createHash('sha256').update(clientKey).digest().equals(storedKey);
}

function serve(socket: Socket, behaviour: Behaviour): void {
  let parser = new Parser();
  let authenticated = false;
  let clientFirstBare = '';
  let serverFirst = '';
  let authMessage = '';
  const send = (text: string): void => {
    if (!socket.destroyed) socket.write(text);
  };
  const sasl = (name: string, data?: string): void =>
    send(data === undefined ? `<${name} xmlns='${NS_SASL}'/>` : `<${name} xmlns='${NS_SASL}'>${b64(data)}</${name}>`);

  const onStart = (): void => {
    send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='${DOMAIN}' id='${randomBytes(4).toString('hex')}' version='1.0'>`,
    );
    const mechanisms = behaviour === 'plain-only' ? ['PLAIN'] : ['SCRAM-SHA-256'];
    send(
      authenticated
        ? "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
        : `<stream:features><mechanisms xmlns='${NS_SASL}'>${mechanisms.map((m) => `<mechanism>${m}</mechanism>`).join('')}</mechanisms></stream:features>`,
    );
  };

  const succeed = (data?: string): void => {
    authenticated = true;
    // The client opens a new stream after <success/>: a new parser reads it (RFC 6120 6.4.6).
    attach(new Parser());
    sasl('success', data);
  };

  const onElement = (element: Element): void => {
    if (element.is('auth', NS_SASL)) {
      clientFirstBare = unb64(element.text()).replace(/^n,,/, '');
      if (behaviour === 'success-before-challenge') return succeed();
      const clientNonce = /r=([^,]+)/.exec(clientFirstBare)?.[1] ?? '';
      serverFirst = `r=${clientNonce}${randomBytes(12).toString('base64')},s=${b64(SALT)},i=${ITERATIONS}`;
      return sasl('challenge', serverFirst);
    }
    if (element.is('response', NS_SASL) && authMessage === '') {
      const clientFinal = unb64(element.text());
      const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
      authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const proof = Buffer.from(/,p=([^,]*)$/.exec(clientFinal)?.[1] ?? '', 'base64');
      if (!proofIsValid(authMessage, proof)) return send(`<failure xmlns='${NS_SASL}'><not-authorized/></failure>`);
      const v = `v=${serverSignature(authMessage).toString('base64')}`;
      if (behaviour === 'genuine') return succeed(v);
      if (behaviour === 'signature-in-challenge') return sasl('challenge', v);
      if (behaviour === 'error-in-final') return sasl('challenge', 'e=invalid-proof');
      return succeed();
    }
    if (element.is('response', NS_SASL)) return succeed();
    if (element.is('iq') && element.getChild('bind')) {
      send(
        `<iq type='result' id='${element.attrs.id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>user@${DOMAIN}/scram-test</jid></bind></iq>`,
      );
    }
  };

  const attach = (next: Parser): void => {
    parser.removeAllListeners();
    parser = next;
    parser.on('start', onStart);
    parser.on('element', onElement);
    parser.on('end', () => {
      send('</stream:stream>');
      socket.end();
    });
    parser.on('error', () => socket.destroy());
  };

  attach(parser);
  socket.on('data', (chunk: Buffer) => {
    try {
      parser.write(chunk.toString('utf8'));
    } catch {
      // A client closing a stream that was never reopened (after <success/>): just hang up.
      socket.end('</stream:stream>');
    }
  });
  socket.on('error', () => undefined);
}

describe('SCRAM server-final handling through @xmpp/sasl (scripted server)', () => {
  const servers = new Map<Behaviour, { server: Server; port: number }>();
  const sockets = new Set<Socket>();
  const behaviours: Behaviour[] = [
    'genuine',
    'signature-in-challenge',
    'success-without-signature',
    'success-before-challenge',
    'error-in-final',
    'plain-only',
  ];

  beforeAll(async () => {
    for (const behaviour of behaviours) {
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        serve(socket, behaviour);
      });
      server.listen(0, ADDRESS);
      await once(server, 'listening');
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      servers.set(behaviour, { server, port: address.port });
    }
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([...servers.values()].map(({ server }) => new Promise((resolve) => server.close(resolve))));
  });

  const login = (behaviour: Behaviour, password = 'pencil') =>
    scramLogin({ service: `xmpp://${ADDRESS}:${servers.get(behaviour)?.port}`, domain: DOMAIN, username: 'user', password, timeoutMs: 1000 });

  const successes: Array<{ rule: string; behaviour: Behaviour }> = [
    { rule: 'RFC 6120 6.4.6: v= in <success/> is verified and the session goes on', behaviour: 'genuine' },
    { rule: 'RFC 6120 6.4.6: v= in a last <challenge/>, then an empty <success/>, is verified', behaviour: 'signature-in-challenge' },
  ];

  it.each(successes)('$rule', async ({ behaviour }) => {
    const result = await login(behaviour);
    expect(result.error).toBeNull();
    expect(result).toMatchObject({ ok: true, mechanism: 'SCRAM-SHA-256', jid: `user@${DOMAIN}/scram-test` });
  });

  const failures: Array<{ rule: string; behaviour: Behaviour; code: string }> = [
    { rule: 'RFC 5802 5.1: <success/> without v= is an authentication failure', behaviour: 'success-without-signature', code: 'AUTH_SERVER_SIGNATURE' },
    { rule: 'RFC 5802 5.1: <success/> before any challenge is an authentication failure', behaviour: 'success-before-challenge', code: 'AUTH_SERVER_SIGNATURE' },
    { rule: 'RFC 5802 7: e= in the server-final message is the server error', behaviour: 'error-in-final', code: 'AUTH_SERVER_ERROR' },
    { rule: 'RFC 6120 6.3.3: a server offering no SCRAM gets no password at all', behaviour: 'plain-only', code: 'AUTH_NO_SCRAM' },
  ];

  it.each(failures)('$rule', async ({ behaviour, code }) => {
    const result = await login(behaviour);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ code, message: expect.stringMatching(/\S/) });
    expect(result.sent).not.toContain('iq');
    if (behaviour === 'plain-only') expect(result.sent).not.toContain('auth');
  });

  it('RFC 5802 9: a wrong password is refused by the scripted server too (its checks are live)', async () => {
    const result = await login('genuine', 'pencil2');
    expect(result.error).toMatchObject({ code: 'AUTH_REFUSED' });
  });
});
