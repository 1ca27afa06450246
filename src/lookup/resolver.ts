// One resolver for every name the pipeline looks up: SRV records, the targets' addresses and the
// HTTPS hosts of the POSH retrieval, so that a configured server answers all of them.
import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { DnaError, messageOf } from '../verify/errors.ts';

export interface SrvAnswer {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface DnsResolver {
  /** `IP:PORT` of the configured server, or null for the system's resolver. */
  readonly server: string | null;
  /** SRV records; an empty list when the name has none (NXDOMAIN or NODATA). */
  resolveSrv(name: string): Promise<SrvAnswer[]>;
  /** A and AAAA records together, IPv6 first as RFC 6724 prefers; throws DNS_FAILED when there are none. */
  resolveAddresses(host: string): Promise<ResolvedAddress[]>;
  /** The same resolution in the shape `net.connect` and undici expect. */
  readonly lookup: LookupFunction;
}

export interface ResolverAddress {
  host: string;
  port: number;
}

const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);
const TIMED_OUT = new Set(['ETIMEOUT', 'EAI_AGAIN']);

/**
 * What a failed address lookup means: the name does not exist (NXDOMAIN), it exists without an
 * address, the DNS server did not answer, or something else went wrong.
 */
export type DnsFailureKind = 'no-such-name' | 'no-address' | 'timeout' | 'failed';

export class DnsError extends DnaError<'DNS_FAILED'> {
  readonly kind: DnsFailureKind;

  constructor(kind: DnsFailureKind, message: string, options?: ErrorOptions) {
    super('DNS_FAILED', message, options);
    this.kind = kind;
  }
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException | null)?.code ?? '';

/** Parses `IP`, `IP:PORT` or `[IPv6]:PORT`; throws BAD_RESOLVER with a sentence for anything else. */
export function parseResolverAddress(text: string): ResolverAddress {
  const bad = (why: string) =>
    new DnaError('BAD_RESOLVER', `Resolver address "${text}" is not usable: ${why}. Use IP or IP:PORT, e.g. 127.0.0.1:5353.`);
  const trimmed = text.trim();
  let host = trimmed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (isIP(trimmed) === 0 && trimmed.includes(':') && trimmed.indexOf(':') === trimmed.lastIndexOf(':')) {
    [host = '', portText] = trimmed.split(':');
  }
  if (isIP(host) === 0) throw bad(`"${host}" is not an IP address`);
  if (bracketed && isIP(host) !== 6) throw bad('brackets are only for IPv6 addresses');
  let port = 53;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw bad(`"${portText}" is not a port between 1 and 65535`);
    }
    port = Number(portText);
  }
  return { host, port };
}

function dnsFailed(what: string, error: unknown, server: string | null): DnsError {
  if (TIMED_OUT.has(errorCode(error))) {
    return new DnsError('timeout', `DNS lookup of ${what} timed out: ${server ? `the DNS server ${server}` : "this computer's DNS resolver"} did not answer.`, { cause: error });
  }
  return new DnsError('failed', `DNS lookup of ${what} failed: ${messageOf(error)}.`, { cause: error });
}

function lookupFrom(resolveAddresses: (host: string) => Promise<ResolvedAddress[]>): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const wanted = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    resolveAddresses(hostname).then(
      (found) => {
        const usable = wanted === 0 ? found : found.filter((a) => a.family === wanted);
        if (usable.length === 0) {
          const error = Object.assign(new Error(`No ${wanted ? `IPv${wanted} ` : ''}address for ${hostname}`), { code: 'ENOTFOUND' });
          callback(error, '', 0);
        } else if (options.all) {
          callback(null, usable.map((a): LookupAddress => ({ address: a.address, family: a.family })));
        } else {
          const first = usable[0]!;
          callback(null, first.address, first.family);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}

export interface ResolverOptions {
  /** `IP[:PORT]`; the system's resolver when absent. */
  server?: string | undefined;
  /** Per-query timeout in milliseconds. */
  timeoutMs?: number;
}

export function createResolver(options: ResolverOptions = {}): DnsResolver {
  const configured = options.server === undefined ? null : parseResolverAddress(options.server);
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: 2 });
  let server: string | null = null;
  if (configured) {
    server = isIP(configured.host) === 6 ? `[${configured.host}]:${configured.port}` : `${configured.host}:${configured.port}`;
    resolver.setServers([server]);
  }

  const resolveSrv = async (name: string): Promise<SrvAnswer[]> => {
    try {
      return await resolver.resolveSrv(name).then((found) => found.map(({ name: target, port, priority, weight }) => ({ name: target, port, priority, weight })));
    } catch (error) {
      if (NO_RECORDS.has(errorCode(error))) return [];
      throw dnsFailed(name, error, server);
    }
  };

  /** The addresses of one family, and whether the name itself does not exist (NXDOMAIN). */
  const resolveFamily = async (host: string, family: 4 | 6): Promise<{ found: ResolvedAddress[]; noSuchName: boolean }> => {
    try {
      const found = family === 4 ? await resolver.resolve4(host) : await resolver.resolve6(host);
      return { found: found.map((address) => ({ address, family })), noSuchName: false };
    } catch (error) {
      if (NO_RECORDS.has(errorCode(error))) return { found: [], noSuchName: errorCode(error) === 'ENOTFOUND' };
      throw error;
    }
  };

  const resolveAddresses = async (host: string): Promise<ResolvedAddress[]> => {
    if (isIP(host) !== 0) return [{ address: host, family: isIP(host) as 4 | 6 }];
    let found: ResolvedAddress[];
    let noSuchName = false;
    try {
      if (configured) {
        const [v6, v4] = await Promise.all([resolveFamily(host, 6), resolveFamily(host, 4)]);
        found = [...v6.found, ...v4.found];
        noSuchName = v6.noSuchName && v4.noSuchName;
      } else {
        found = await new Promise((resolve, reject) =>
          systemLookup(host, { all: true, order: 'ipv6first' }, (error, addresses) =>
            error ? reject(error) : resolve(addresses.map((a) => ({ address: a.address, family: a.family as 4 | 6 }))),
          ),
        );
      }
    } catch (error) {
      if (!NO_RECORDS.has(errorCode(error))) throw dnsFailed(host, error, server);
      found = [];
      // getaddrinfo says ENOTFOUND for both; c-ares tells NXDOMAIN (ENOTFOUND) from NODATA.
      noSuchName = errorCode(error) === 'ENOTFOUND';
    }
    if (found.length > 0) return found;
    if (noSuchName) throw new DnsError('no-such-name', `${host} was not found in DNS (no such name).`);
    throw new DnsError('no-address', `${host} has no A or AAAA record.`);
  };

  return { server, resolveSrv, resolveAddresses, lookup: lookupFrom(resolveAddresses) };
}
