// posh-check's command line (docs/ARCHITECTURE.md#posh-check): parsed strictly, every mistake one sentence.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { splitAnchorPem } from '../lookup/anchors.ts';
import { parseResolverAddress } from '../lookup/resolver.ts';
import { normalizeDomain } from '../verify/domain.ts';
import { DnaError, messageOf } from '../verify/errors.ts';
import { SERVICES, type Domain, type ServiceName } from '../verify/types.ts';

export interface CheckArguments {
  domain: Domain;
  service: ServiceName;
  dns: string | undefined;
  /** PEM text of every anchor given with --ca. */
  caPem: string[];
  caFiles: string[];
  connect: boolean;
  json: boolean;
  timeoutMs: number;
  cacheDir: string | undefined;
  /** Also log in as this bare JID after a verified handshake (the password from stdin). */
  login: string | undefined;
}

export type ParsedCommand = { kind: 'help' } | { kind: 'check'; args: CheckArguments };

export const USAGE = `Usage: posh-check DOMAIN [options]

Checks how DOMAIN delegates its XMPP service: SRV records and POSH (RFC 7711) in parallel,
then a TLS handshake with the server and the RFC 7712 verdict (PKIX or POSH).

Options:
  --service xmpp-client|xmpp-server  which delegation to check (default xmpp-client)
  --dns IP[:PORT]       resolver for SRV, A/AAAA and the HTTPS hosts (default: the system's)
  --ca FILE             extra PEM trust anchors for HTTPS and PKIX (repeatable)
  --no-connect          lookups only, no TLS handshake with the XMPP server
  --json                one JSON object on stdout instead of the report
  --timeout MS          overall budget in milliseconds (default 15000)
  --cache-dir DIR       keep POSH material in DIR between runs and show whether it was used
  --login JID           after a verified handshake, log in as JID and show how: SASL2 or RFC 6120,
                        the mechanism, the channel binding, XEP-0474 (the password is the first
                        line of stdin, e.g. posh-check example.com --login alice@example.com < file)
  -h, --help            this text

Exit status: 0 verified (--no-connect: POSH material valid), 1 not verified
(--no-connect: POSH absent, invalid or unreachable; --login: or the login failed), 2 bad usage.`;

/** A mistake in how posh-check was called: exit status 2. */
export class UsageError extends DnaError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

function usageMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const text = messageOf(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(text)?.[1] ?? text;
    return `Unknown option ${option}; run posh-check --help for the options.`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /Option '([^']+)'/.exec(text)?.[1] ?? 'an option';
    return `${option.split(' ')[0]} needs a value; run posh-check --help for the options.`;
  }
  return text;
}

async function readAnchors(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : messageOf(error);
    throw new UsageError(`Cannot read the CA file ${file}: ${reason}.`);
  }
  try {
    return splitAnchorPem([text]).join('\n');
  } catch (error) {
    throw new UsageError(`The CA file ${file} is not usable: ${messageOf(error)}`);
  }
}

export async function parseCommandLine(argv: string[]): Promise<ParsedCommand> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        service: { type: 'string' },
        dns: { type: 'string' },
        ca: { type: 'string', multiple: true },
        'no-connect': { type: 'boolean' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        'cache-dir': { type: 'string' },
        login: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(usageMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length === 0) throw new UsageError('Give the domain to check, e.g. posh-check example.com.');
  if (positionals.length > 1) throw new UsageError(`Give one domain, not ${positionals.length} (${positionals.join(', ')}).`);

  let domain: Domain;
  try {
    domain = normalizeDomain(positionals[0]!);
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  const service = (values.service ?? 'xmpp-client') as ServiceName;
  if (!SERVICES.includes(service)) {
    throw new UsageError(`--service must be xmpp-client or xmpp-server, not "${values.service}".`);
  }
  if (values.dns !== undefined) {
    try {
      parseResolverAddress(values.dns);
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
  }
  let timeoutMs = 15_000;
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1 || Number(values.timeout) > 600_000) {
      throw new UsageError(`--timeout takes milliseconds from 1 to 600000, not "${values.timeout}".`);
    }
    timeoutMs = Number(values.timeout);
  }
  const login = values.login;
  if (login !== undefined) {
    const at = login.indexOf('@');
    if (at <= 0 || login.includes('/') || login.slice(at + 1).toLowerCase() !== domain) {
      throw new UsageError(`--login takes a bare JID of ${domain}, e.g. alice@${domain}, not "${login}".`);
    }
    if (service !== 'xmpp-client' || values['no-connect']) throw new UsageError('--login needs the client delegation with a connection: drop --no-connect and --service xmpp-server.');
  }
  const caFiles = values.ca ?? [];
  const caPem = await Promise.all(caFiles.map(readAnchors));
  return {
    kind: 'check',
    args: {
      domain,
      service,
      dns: values.dns,
      caPem,
      caFiles,
      connect: !values['no-connect'],
      json: values.json ?? false,
      timeoutMs,
      cacheDir: values['cache-dir'],
      login,
    },
  };
}
