// nginx for the POSH hosts: configuration, the access log, and the process (a child, `daemon off`).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer, stopServer, waitUntilBound, type ServerProcess, type SocketAddress } from './processes.ts';
import { TestbedError } from './programs.ts';

export interface NginxSite {
  serverName: string;
  address: string;
  certPath: string;
  keyPath: string;
  /** Absent: every path answers 404. */
  webroot?: string;
  /** While this file exists, POSH requests answer 302 to the same path on `redirectTo`. */
  redirectFlag?: string;
  redirectTo?: string;
  /** The site answering requests whose SNI and Host match no other on its address. */
  isDefault?: boolean;
}

export interface NginxSetup {
  dir: string;
  sites: readonly NginxSite[];
}

export const nginxPaths = (dir: string) => ({
  config: join(dir, 'nginx.conf'),
  pidfile: join(dir, 'nginx.pid'),
  errorLog: join(dir, 'error.log'),
  accessLog: join(dir, 'access.log'),
  temp: join(dir, 'temp'),
});

export interface WebRequest {
  /** The Host the client asked for. */
  host: string;
  /** The TLS SNI name, empty when none was sent. */
  sni: string;
  /** The local address that took the connection. */
  server: string;
  method: string;
  /** Path and query as requested. */
  path: string;
  status: number;
  /** When nginx logged it (end of the request). */
  time: Date;
}

const quote = (text: string): string => {
  if (!/^[A-Za-z0-9._\-/:+=,@%]+$/.test(text)) throw new TestbedError('TESTBED_BAD_PATH', `"${text}" cannot be used in the nginx configuration: keep to letters, digits and ._-/.`);
  return text;
};

function renderSite(site: NginxSite): string {
  const lines = [
    '  server {',
    `    listen ${quote(site.address)}:443 ssl${site.isDefault ? ' default_server' : ''};`,
    `    server_name ${quote(site.serverName)};`,
    `    ssl_certificate ${quote(site.certPath)};`,
    `    ssl_certificate_key ${quote(site.keyPath)};`,
  ];
  if (site.webroot) {
    lines.push(
      `    root ${quote(site.webroot)};`,
      '    location /.well-known/posh/ {',
      // POSH clients must not cache over HTTP (RFC 7711 section 3.3 leaves caching to `expires`).
      '      add_header Cache-Control no-cache always;',
    );
    if (site.redirectFlag && site.redirectTo) {
      // A flag file rather than a reload: a variant switch takes effect on the very next request.
      lines.push(`      if (-f ${quote(site.redirectFlag)}) { return 302 https://${quote(site.redirectTo)}$uri; }`);
    }
    lines.push('      try_files $uri =404;', '    }');
  }
  lines.push('    location / { return 404; }', '  }');
  return lines.join('\n');
}

export function renderNginxConfig(setup: NginxSetup): string {
  const paths = nginxPaths(setup.dir);
  const temp = (name: string) => `${quote(join(paths.temp, name))}`;
  return `# Written by src/testbed at every start; edits are lost.
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid ${quote(paths.pidfile)};
error_log ${quote(paths.errorLog)} warn;
events { worker_connections 256; }
http {
  log_format posh escape=json '{"time":$msec,"host":"$host","sni":"$ssl_server_name","server":"$server_addr","method":"$request_method","path":"$request_uri","status":$status}';
  access_log ${quote(paths.accessLog)} posh;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  types { application/json json; }
  default_type application/octet-stream;
  server_tokens off;
  ssl_protocols TLSv1.2 TLSv1.3;
  keepalive_timeout 5s;
${setup.sites.map(renderSite).join('\n')}
}
`;
}

/** Parses the access log (one JSON object a line); a line still being written is skipped. */
export function parseAccessLog(text: string): WebRequest[] {
  const requests: WebRequest[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as Omit<WebRequest, 'time'> & { time: number };
      requests.push({ ...entry, time: new Date(Math.round(entry.time * 1000)) });
    } catch {
      // a partial last line
    }
  }
  return requests;
}

export async function readAccessLog(dir: string): Promise<WebRequest[]> {
  return parseAccessLog(await readFile(nginxPaths(dir).accessLog, 'utf8').catch(() => ''));
}

export function nginxSockets(setup: NginxSetup): SocketAddress[] {
  const addresses = [...new Set(setup.sites.map((site) => site.address))];
  return addresses.map((ip) => ({ protocol: 'tcp' as const, ip, port: 443 }));
}

export async function startNginxProcess(program: string, setup: NginxSetup): Promise<ServerProcess> {
  const paths = nginxPaths(setup.dir);
  await mkdir(paths.temp, { recursive: true });
  await writeFile(paths.config, renderNginxConfig(setup));
  await writeFile(paths.accessLog, '');
  // -e: nginx opens its default error log before reading the configuration; keep it here too.
  const server = await spawnServer('nginx', program, ['-e', paths.errorLog, '-p', setup.dir, '-c', paths.config], setup.dir);
  try {
    await waitUntilBound(nginxSockets(setup), 10_000, () => (server.hasExited() ? 'nginx exited' : null));
  } catch (error) {
    await stopServer(server);
    const errors = (await readFile(paths.errorLog, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
    const details = [server.output().trim(), errors].filter(Boolean).join('\n');
    throw new TestbedError('TESTBED_START_FAILED', `${(error as Error).message}${details ? `\n${details}` : ''}`, { cause: error });
  }
  return server;
}
