// POSH retrieval over HTTPS (RFC 7711 sections 3, 6 and 10; docs/ARCHITECTURE.md#posh-retrieval): redirects, one
// reference, the size and time limits, and a recorded step for every request.
import type { SecureContext } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { parsePoshDocument, PoshError, type PoshDocument } from '../verify/posh-document.ts';
import type { Domain, FingerprintDescriptor, PoshResult, PoshStep, ServiceName } from '../verify/types.ts';
import { trustStore, type TrustStore } from './anchors.ts';
import { epochMs } from './clock.ts';
import { classifyFailure } from './posh-failure.ts';
import type { DnsResolver } from './resolver.ts';

export interface PoshFetchOptions {
  /** Resolves every HTTPS host of the retrieval (the same resolver as the SRV lookup). */
  resolver: DnsResolver;
  /** The system roots and any extra anchors, for the HTTPS hosts (default: the system roots alone). */
  trust?: TrustStore | undefined;
  /** Budget for the whole retrieval: redirects, the reference and every body. */
  timeoutMs?: number;
  maxBytes?: number;
  /** Redirects over the whole operation, including after a reference. */
  maxRedirects?: number;
  /** The client's own cap on the effective lifetime. */
  maxLifetimeSeconds?: number;
  signal?: AbortSignal;
}

export const POSH_DEFAULTS = {
  timeoutMs: 5000,
  maxBytes: 65536,
  maxRedirects: 10,
  maxLifetimeSeconds: 604800,
} as const;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The well-known URL a retrieval starts at (RFC 7711 sections 3 and 8). */
export function poshUrl(domain: Domain, service: ServiceName): string {
  return new URL(`https://${domain}/.well-known/posh/${service}.json`).href;
}

function createAgent(resolver: DnsResolver, secureContext: SecureContext): Agent {
  return new Agent({
    // SNI and the name check use each request's URL host (undici's default servername).
    connect: { lookup: resolver.lookup, secureContext, minVersion: 'TLSv1.2', rejectUnauthorized: true },
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(response: Dispatcher.ResponseData, url: string, maxBytes: number): Promise<string> {
  const declared = headerValue(response.headers['content-length']);
  if (declared !== undefined && Number(declared) > maxBytes) {
    response.body.destroy();
    throw new PoshError('POSH_TOO_LARGE', `${url} declares a ${declared}-byte body; a POSH document may have at most ${maxBytes} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Leaving the loop destroys the stream: nothing past the limit is read.
    if (size > maxBytes) throw new PoshError('POSH_TOO_LARGE', `${url} sent more than ${maxBytes} bytes; a POSH document may have at most ${maxBytes} bytes.`);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (error) {
    throw new PoshError('POSH_BAD_JSON', `${url} is not UTF-8 text, so it cannot be a JSON document.`, { cause: error });
  }
}

/** parsePoshDocument, with the URL added to the message: along a chain, where the problem is matters. */
function parseAt(url: string, body: string): PoshDocument {
  try {
    return parsePoshDocument(body);
  } catch (error) {
    if (!(error instanceof PoshError)) throw error;
    throw new PoshError(error.code, `${error.message.replace(/\.$/, '')} (at ${url}).`, { cause: error.cause });
  }
}

export type Outcome = { kind: 'absent' } | { kind: 'fingerprints'; fingerprints: FingerprintDescriptor[]; expires: number };

/** One retrieval in progress: the HTTP client, its budget, and the steps recorded so far. */
export interface Retrieval {
  agent: Agent;
  signal: AbortSignal;
  steps: PoshStep[];
  maxBytes: number;
  maxRedirects: number;
  /** The URL being requested, for failures that happen outside any response. */
  current: string;
}

/** Follows redirects and at most one reference from `start`, recording one step per request. */
export async function retrieve(start: string, run: Retrieval): Promise<Outcome> {
  let atSource = true;
  let redirects = 0;
  let referenceExpires = Number.POSITIVE_INFINITY;
  run.current = start;
  for (;;) {
    const url = run.current;
    const startedAt = epochMs();
    let httpStatus: number | null = null;
    let location: string | undefined;
    const record = (step: Pick<PoshStep, 'kind'> & Partial<PoshStep>): void => {
      run.steps.push({ url, httpStatus, ...(location === undefined ? {} : { location }), ...step, startedAt, endedAt: epochMs() });
    };
    try {
      const response = await request(url, {
        dispatcher: run.agent,
        method: 'GET',
        signal: run.signal,
        headers: { accept: 'application/json', 'cache-control': 'no-cache' },
      });
      httpStatus = response.statusCode;

      if (REDIRECT_STATUSES.has(httpStatus)) {
        await response.body.dump({ limit: run.maxBytes, signal: run.signal });
        const header = headerValue(response.headers['location']);
        if (header === undefined || header === '') {
          throw new PoshError('POSH_HTTP_STATUS', `${url} answered ${httpStatus} (a redirect) without a Location header.`);
        }
        const next = URL.parse(header, url);
        if (next === null) throw new PoshError('POSH_HTTP_STATUS', `${url} redirects to "${header}", which is not a URL.`);
        location = next.href;
        if (next.protocol !== 'https:') {
          throw new PoshError('POSH_INSECURE_URL', `${url} redirects to ${location}; every POSH redirect must stay on https:.`);
        }
        redirects += 1;
        if (redirects > run.maxRedirects) {
          throw new PoshError('POSH_TOO_MANY_REDIRECTS', `${url} redirects once more after ${run.maxRedirects} redirects; a POSH retrieval follows at most ${run.maxRedirects}.`);
        }
        record({ kind: 'redirect' });
        run.current = location;
        continue;
      }
      if (httpStatus === 404 && atSource) {
        await response.body.dump({ limit: run.maxBytes, signal: run.signal });
        record({ kind: 'absent' });
        return { kind: 'absent' };
      }
      if (httpStatus !== 200) {
        await response.body.dump({ limit: run.maxBytes, signal: run.signal });
        const where = atSource ? 'the source domain' : 'the URL a reference points to';
        throw new PoshError('POSH_HTTP_STATUS', `${url} (${where}) answered HTTP ${httpStatus}; a POSH document needs 200${atSource ? ' (or 404 for none)' : ''}.`);
      }

      const document = parseAt(url, await readBody(response, url, run.maxBytes));
      if (document.kind === 'reference') {
        location = document.url;
        if (!atSource) {
          throw new PoshError('POSH_NESTED_REFERENCE', `${url}, reached through a reference, is itself a reference (to ${location}); it must be a fingerprints document.`);
        }
        record({ kind: 'reference', expires: document.expires });
        referenceExpires = document.expires;
        atSource = false;
        run.current = location;
        continue;
      }
      record({ kind: 'fingerprints', expires: document.expires });
      return { kind: 'fingerprints', fingerprints: document.fingerprints, expires: Math.min(referenceExpires, document.expires) };
    } catch (error) {
      record({ kind: 'error' });
      throw error;
    }
  }
}

/**
 * Retrieves the POSH material of `domain` for `service`. Never throws for network or document
 * problems: the result's status and error say what happened, and its steps how.
 */
export async function fetchPoshDocument(domain: Domain, service: ServiceName, options: PoshFetchOptions): Promise<PoshResult> {
  const url = poshUrl(domain, service);
  const timeoutMs = options.timeoutMs ?? POSH_DEFAULTS.timeoutMs;
  const maxLifetime = options.maxLifetimeSeconds ?? POSH_DEFAULTS.maxLifetimeSeconds;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException('POSH retrieval timed out', 'TimeoutError')), timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
  const agent = createAgent(options.resolver, (options.trust ?? trustStore()).secureContext);
  const run: Retrieval = {
    agent,
    signal,
    steps: [],
    maxBytes: options.maxBytes ?? POSH_DEFAULTS.maxBytes,
    maxRedirects: options.maxRedirects ?? POSH_DEFAULTS.maxRedirects,
    current: url,
  };
  const result: PoshResult = {
    domain,
    service,
    url,
    status: 'error',
    error: null,
    steps: run.steps,
    fingerprints: [],
    expires: null,
    fetchedAt: null,
    expiresAt: null,
    fromCache: false,
  };
  try {
    if (options.signal?.aborted) throw options.signal.reason;
    const outcome = await retrieve(url, run);
    const now = Date.now();
    result.fetchedAt = new Date(now).toISOString();
    if (outcome.kind === 'absent') {
      result.status = 'absent';
    } else {
      result.status = 'valid';
      result.fingerprints = outcome.fingerprints;
      result.expires = Math.min(outcome.expires, maxLifetime);
      result.expiresAt = new Date(now + result.expires * 1000).toISOString();
    }
  } catch (error) {
    const failure = classifyFailure(error, {
      url: run.current,
      timeoutMs,
      timedOut: deadline.signal.aborted,
      cancelled: options.signal?.aborted ?? false,
    });
    result.status = failure.status;
    result.error = failure.toJSON();
    result.fetchedAt = new Date().toISOString();
  } finally {
    clearTimeout(timer);
    await agent.destroy();
  }
  return result;
}
