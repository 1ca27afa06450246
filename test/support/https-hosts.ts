// Real Node HTTPS servers on loopback addresses, one listener per address, certificates chosen by
// SNI and responses by a route table keyed on the full URL (Host header + path) that tests replace.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HostCertificate {
  certPem: string;
  keyPem: string;
}

export interface ListenerSpec {
  address: string;
  port?: number;
  /** Server name -> certificate; the first is also presented when SNI names none of them. */
  certificates: Record<string, HostCertificate>;
}

export interface SeenRequest {
  /** `https://{Host}{path}` as the server saw it. */
  url: string;
  /** The SNI server name the client sent, or null. */
  servername: string | null;
  headers: IncomingMessage['headers'];
}

export interface HttpsHosts {
  /** URL -> handler; anything else answers 404. Replace it freely between tests. */
  routes: Map<string, Handler>;
  requests: SeenRequest[];
  /** How many requests reached `url`. */
  count(url: string): number;
  stop(): Promise<void>;
}

export async function startHttpsHosts(listeners: ListenerSpec[]): Promise<HttpsHosts> {
  const routes = new Map<string, Handler>();
  const requests: SeenRequest[] = [];
  const servers: Server[] = [];

  const handle: Handler = (request, response) => {
    const url = `https://${request.headers.host ?? ''}${request.url ?? '/'}`;
    const servername = (request.socket as TLSSocket).servername;
    requests.push({ url, servername: typeof servername === 'string' ? servername : null, headers: request.headers });
    const route = routes.get(url);
    if (route) {
      route(request, response);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found\n');
    }
  };

  const stop = async (): Promise<void> => {
    await Promise.all(
      servers.map(async (server) => {
        if (!server.listening) return;
        const closed = once(server, 'close');
        server.close();
        // Pending responses (slow-server tests) must not hold the listener open.
        server.closeAllConnections();
        await closed;
      }),
    );
  };

  try {
    for (const spec of listeners) {
      const contexts = new Map(
        Object.entries(spec.certificates).map(([name, { certPem, keyPem }]) => [name, createSecureContext({ cert: certPem, key: keyPem })]),
      );
      const [first] = Object.values(spec.certificates);
      if (!first) throw new Error(`listener ${spec.address} has no certificate`);
      const server = createServer(
        {
          cert: first.certPem,
          key: first.keyPem,
          SNICallback: (name, done) => done(null, contexts.get(name.toLowerCase()) ?? contexts.values().next().value),
        },
        handle,
      );
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(spec.port ?? 443, spec.address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return { routes, requests, count: (url) => requests.filter((seen) => seen.url === url).length, stop };
}
