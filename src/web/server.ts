// The browser shell's server: the built renderer over HTTP and the IPC contract over one WebSocket,
// on 127.0.0.1 only. A page reaches the contract only from our own Origin and Host (a DNS rebinding
// page has the wrong Host; another site has the wrong Origin), and only with a secret: a one-time
// launch code (in the URL fragment, which never reaches a server log; on Chromium's command line,
// where any local user can read it, so it dies at its first use or after two minutes), which the
// server exchanges for this launch's session token over the socket itself. A spent code offered
// again means someone raced the page to it: the token is replaced and every page disconnected.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  answerCall,
  API_PATH,
  failureOf,
  MAX_MESSAGE_BYTES,
  parseClientMessage,
  CODE_PREFIX,
  SUBPROTOCOL,
  TOKEN_PREFIX,
  type AppCore,
  type AppEvent,
  type ServerMessage,
} from '../app/contract.ts';
import { browserShellPagePolicy, contentTypeOf, resolveStaticPath, securityHeaders } from '../app/renderer-files.ts';

export interface WebShellOptions {
  core: AppCore;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** 0 (the default): a free port chosen by the system. */
  port?: number;
  /** Events every newly connected page is told first (a store recovered at start-up). */
  startupEvents?: () => readonly AppEvent[];
  /** Lines about the server's life; never the token. */
  log?: (line: string) => void;
  /** How long a launch code is good for (default LAUNCH_CODE_LIFETIME_MS). */
  launchCodeLifetimeMs?: number;
}

export interface WebShell {
  /** An address to open: a fresh one-time launch code in the fragment, good for one page. */
  launchUrl(): string;
  /**
   * This launch's session token, for clients in the owning process (never in a URL or a log). It
   * changes, and every page is disconnected, when a spent launch code is offered again.
   */
  readonly token: string;
  readonly origin: string;
  readonly port: number;
  /** Pages connected now. */
  connections(): number;
  close(): Promise<void>;
}

function refuse(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  response.end(`${text}\n`);
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404, reason: string): void {
  const text = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** The offered subprotocols of a WebSocket handshake. */
const offeredProtocols = (request: IncomingMessage): string[] =>
  (request.headers['sec-websocket-protocol'] ?? '').split(',').map((value) => value.trim()).filter((value) => value !== '');

function secretMatches(offered: readonly string[], prefix: string, secret: string): boolean {
  const expected = Buffer.from(`${prefix}${secret}`);
  return offered.some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const newSecret = (): string => randomBytes(32).toString('hex');

/** How long a launch code waits for its page (Chromium's start on a slow machine included). */
export const LAUNCH_CODE_LIFETIME_MS = 120_000;
/** Spent codes remembered, to notice one coming back. */
const SPENT_CODES_KEPT = 64;

export async function startWebShell(options: WebShellOptions): Promise<WebShell> {
  const { core, log = () => undefined } = options;
  let token = newSecret();
  /** Launch codes handed out and not used yet, with when each expires; each opens one page, once. */
  const launchCodes = new Map<string, number>();
  /** Codes already used: one offered again means another program raced the page to it. */
  const spentCodes = new Set<string>();
  const rendererRoot = await realpath(options.rendererDir);
  let origin = '';
  let host = '';

  async function serveFile(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const pathname = URL.parse(request.url ?? '/', origin)?.pathname ?? '/';
    const resolved = await resolveStaticPath(rendererRoot, pathname);
    if (resolved === null) {
      refuse(response, 404, 'Not found.');
      return;
    }
    const body = await readFile(resolved);
    response.writeHead(200, {
      'Content-Type': contentTypeOf(resolved),
      'Content-Length': String(body.length),
      ...securityHeaders(browserShellPagePolicy(origin)),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  const server = createServer((request, response) => {
    if (request.headers.host !== host) {
      refuse(response, 403, 'This server answers only to its own address.');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      refuse(response, 405, 'Only GET and HEAD.', { Allow: 'GET, HEAD' });
      return;
    }
    serveFile(request, response).catch(() => {
      if (!response.headersSent) refuse(response, 500, 'The file could not be read.');
      else response.destroy();
    });
  });

  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    // The code or token is offered as a subprotocol; the answer names only ours, never the secret.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== API_PATH) return refuseUpgrade(socket, 404, 'Not found.');
    if (request.headers.host !== host) return refuseUpgrade(socket, 403, 'This server answers only to its own address.');
    if (request.headers.origin !== origin) return refuseUpgrade(socket, 403, 'Only the app\'s own page may connect.');
    const offered = offeredProtocols(request);
    if (!offered.includes(SUBPROTOCOL)) return refuseUpgrade(socket, 401, 'A valid token is required.');
    if ([...spentCodes].some((spent) => secretMatches(offered, CODE_PREFIX, spent))) {
      // The page came second to its own code: whoever came first holds the token. Nobody keeps it.
      token = newSecret();
      for (const client of sockets.clients) client.terminate();
      log('A launch code was used twice: another program on this computer may have opened the app. Every page was disconnected; start the app again.');
      return refuseUpgrade(socket, 401, 'A valid token is required.');
    }
    const now = Date.now();
    for (const [candidate, expires] of launchCodes) if (expires <= now) launchCodes.delete(candidate);
    const code = [...launchCodes.keys()].find((candidate) => secretMatches(offered, CODE_PREFIX, candidate));
    if (code !== undefined) {
      launchCodes.delete(code);
      spentCodes.add(code);
      if (spentCodes.size > SPENT_CODES_KEPT) spentCodes.delete(spentCodes.values().next().value!);
    } else if (!secretMatches(offered, TOKEN_PREFIX, token)) return refuseUpgrade(socket, 401, 'A valid token is required.');
    sockets.handleUpgrade(request, socket, head, (ws) => serveConnection(ws, code !== undefined));
  });

  function serveConnection(ws: WebSocket, launched: boolean): void {
    const send = (message: ServerMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    if (launched) send({ type: 'session', token });
    for (const event of options.startupEvents?.() ?? []) send({ type: 'event', ...event });
    const unsubscribe = core.subscribe((event) => send({ type: 'event', ...event }));
    ws.on('close', unsubscribe);
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        send({ type: 'error', error: { code: 'BAD_MESSAGE', message: 'Messages are JSON text.' } });
        return;
      }
      let call;
      try {
        call = parseClientMessage(data.toString());
      } catch (error) {
        send({ type: 'error', error: failureOf(error) });
        return;
      }
      const { id, name, args } = call;
      void answerCall(core, name, args).then((reply) => send({ type: 'result', id, ...reply }));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
  log(`browser shell listening on ${origin}`);

  let closing: Promise<void> | null = null;
  return {
    get token() {
      return token;
    },
    launchUrl: () => {
      const code = newSecret();
      launchCodes.set(code, Date.now() + (options.launchCodeLifetimeMs ?? LAUNCH_CODE_LIFETIME_MS));
      return `${origin}/#code=${code}`;
    },
    origin,
    port,
    connections: () => sockets.clients.size,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
