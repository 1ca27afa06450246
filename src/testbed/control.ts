// The testbed's control socket: the process that owns the servers (vitest's global setup, the CLI)
// serves it; test files in other processes switch variants, rotate certificates and read logs
// through it. JSON over HTTP on a Unix socket in the runtime directory: no port to allocate.
import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage } from 'node:http';
import { serializeCertificate, type SerializedCertificate } from './certificates.ts';
import type { WebRequest } from './nginx.ts';
import type { IssuedCertificate } from './pki.ts';
import { TestbedError } from './programs.ts';
import type { Testbed, TestbedCertificateSet, TestbedControl, TestbedState } from './types.ts';
import type { VariantName } from './variants.ts';

type Method =
  | 'state' | 'setVariant' | 'rotateCertificate' | 'addUser' | 'webRequests' | 'prosodyLog' | 'prosodyPid'
  | 'restartProsody' | 'stopProsody' | 'startProsody' | 'forgetMucOccupants' | 'ejabberdLog' | 'ejabberdPid' | 'stopEjabberd' | 'startEjabberd';

interface Call {
  method: Method;
  args: unknown[];
}

type Reply = { result: unknown; state: TestbedState } | { error: { code: string; message: string } };

function dispatch(testbed: Testbed, call: Call): Promise<unknown> {
  const [a, b, c] = call.args as [unknown, unknown, unknown];
  switch (call.method) {
    case 'state':
      return Promise.resolve(null);
    case 'setVariant':
      return testbed.setVariant(a as VariantName);
    case 'rotateCertificate':
      return testbed.rotateCertificate().then(serializeCertificate);
    case 'addUser':
      return testbed.addUser(String(a), String(b), String(c));
    case 'webRequests':
      return testbed.webRequests();
    case 'prosodyLog':
      return testbed.prosodyLog();
    case 'prosodyPid':
      return testbed.prosodyPid();
    case 'restartProsody':
      return testbed.restartProsody();
    case 'stopProsody':
      return testbed.stopProsody();
    case 'startProsody':
      return testbed.startProsody();
    case 'forgetMucOccupants':
      return testbed.forgetMucOccupants(String(a));
    case 'ejabberdLog':
      return testbed.ejabberdLog();
    case 'ejabberdPid':
      return testbed.ejabberdPid();
    case 'stopEjabberd':
      return testbed.stopEjabberd();
    case 'startEjabberd':
      return testbed.startEjabberd();
    default:
      return Promise.reject(new TestbedError('TESTBED_BAD_CALL', `The testbed has no operation "${String(call.method)}".`));
  }
}

async function readBody(stream: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface ControlServer {
  socketPath: string;
  close(): Promise<void>;
}

/** Serves `testbed` on its control socket until close(). */
export async function serveControl(testbed: Testbed, socketPath = testbed.controlSocket): Promise<ControlServer> {
  await rm(socketPath, { force: true });
  const server = createServer((req, res) => {
    const answer = (status: number, reply: Reply) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    };
    readBody(req)
      .then((body) => dispatch(testbed, JSON.parse(body) as Call))
      .then(
        (result) => answer(200, { result: result ?? null, state: testbed.state() }),
        (error: unknown) => {
          const { code = 'TESTBED_FAILED', message = String(error) } = error as { code?: string; message?: string };
          answer(500, { error: { code, message } });
        },
      );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return {
    socketPath,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

async function callControl(socketPath: string, method: Method, args: unknown[] = []): Promise<{ result: unknown; state: TestbedState }> {
  const body = JSON.stringify({ method, args } satisfies Call);
  const reply = await new Promise<Reply>((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/', headers: { 'content-type': 'application/json' } }, (res) => {
      readBody(res).then((text) => resolve(JSON.parse(text) as Reply), reject);
    });
    req.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new TestbedError(
          'TESTBED_NOT_RUNNING',
          `No testbed answers on ${socketPath} (${error.code ?? error.message}): start one with \`npm run testbed\`.`,
          { cause: error },
        ),
      ),
    );
    req.end(body);
  });
  if ('error' in reply) throw new TestbedError(reply.error.code, reply.error.message);
  return reply;
}

const revive = (serialized: SerializedCertificate): IssuedCertificate => ({
  ...serialized,
  der: Buffer.from(new X509Certificate(serialized.certPem).raw),
});

export interface RemoteTestbed extends TestbedControl {
  readonly controlSocket: string;
}

/** A controller for the testbed another process owns. */
export async function connectTestbed(socketPath: string): Promise<RemoteTestbed> {
  let state = (await callControl(socketPath, 'state')).state;
  const call = async (method: Method, args: unknown[] = []): Promise<unknown> => {
    const reply = await callControl(socketPath, method, args);
    state = reply.state;
    return reply.result;
  };
  return {
    controlSocket: socketPath,
    get runtimeDir() {
      return state.runtimeDir;
    },
    get addresses() {
      return state.addresses;
    },
    get dnsServer() {
      return state.dnsServer;
    },
    get caPem() {
      return state.caPem;
    },
    get caPath() {
      return state.caPath;
    },
    get users() {
      return state.users;
    },
    get variant() {
      return state.variant;
    },
    get certificates() {
      return Object.fromEntries(Object.entries(state.certificates).map(([key, value]) => [key, revive(value)])) as unknown as TestbedCertificateSet;
    },
    state: () => state,
    setVariant: async (name) => {
      await call('setVariant', [name]);
    },
    rotateCertificate: async () => revive((await call('rotateCertificate')) as SerializedCertificate),
    addUser: async (local, domain, password) => (await call('addUser', [local, domain, password])) as string,
    webRequests: async () =>
      ((await call('webRequests')) as Array<Omit<WebRequest, 'time'> & { time: string }>).map((r) => ({ ...r, time: new Date(r.time) })),
    prosodyLog: async () => (await call('prosodyLog')) as string,
    prosodyPid: async () => (await call('prosodyPid')) as number | null,
    restartProsody: async () => {
      await call('restartProsody');
    },
    stopProsody: async () => {
      await call('stopProsody');
    },
    startProsody: async () => {
      await call('startProsody');
    },
    forgetMucOccupants: async (roomJid) => (await call('forgetMucOccupants', [roomJid])) as number,
    ejabberdLog: async () => (await call('ejabberdLog')) as string,
    ejabberdPid: async () => (await call('ejabberdPid')) as number | null,
    stopEjabberd: async () => {
      await call('stopEjabberd');
    },
    startEjabberd: async () => {
      await call('startEjabberd');
    },
  };
}
