// `npm run bench -- [flags]`: what to run and which delays to inject. Pure.
import { parseArgs } from 'node:util';
import type { Delays } from './network.ts';

export const SCENARIOS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  delays: Delays;
  /** Samples per variant (at least 20 for a reported run). */
  runs: number;
  scenarios: Scenario[];
  /** Between the app's start and the click, in each login sample. */
  idleMs: number;
  /** Where the JSON results go. */
  outDir: string;
  /** Small sizes and few runs: proves the harness works, measures nothing worth reporting. */
  smoke: boolean;
}

export const DEFAULT_DELAYS: Delays = { dnsMs: 50, webMs: 80, xmppMs: 40 };

export const USAGE = `npm run bench -- [options]
  --dns-ms N     round-trip time to the DNS server: added to every DNS answer (default ${DEFAULT_DELAYS.dnsMs})
  --web-ms N     round-trip time to every HTTPS host (default ${DEFAULT_DELAYS.webMs})
  --xmpp-ms N    round-trip time to the XMPP server (default ${DEFAULT_DELAYS.xmppMs})
  --runs N       samples per variant (default 20)
  --only a,b,..  scenarios to run (default a,b,c,d,e,f,g,h)
  --idle-ms N    time between the app's start and the click in login samples (default 300)
  --out DIR      where the JSON results go (default bench-results)
  --smoke        tiny sizes and 2 runs: checks the harness, not the product`;

export class UsageError extends Error {}

function count(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${text}".`);
  return value;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'dns-ms': { type: 'string' },
        'web-ms': { type: 'string' },
        'xmpp-ms': { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        'idle-ms': { type: 'string' },
        out: { type: 'string' },
        smoke: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const smoke = values.smoke ?? false;
  const scenarios = (values.only ?? SCENARIOS.join(',')).split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  for (const name of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`--only takes scenarios from ${SCENARIOS.join(', ')}, not "${name}".`);
  }
  return {
    delays: {
      dnsMs: count('dns-ms', values['dns-ms'], DEFAULT_DELAYS.dnsMs, 0, 2000),
      webMs: count('web-ms', values['web-ms'], DEFAULT_DELAYS.webMs, 0, 2000),
      xmppMs: count('xmpp-ms', values['xmpp-ms'], DEFAULT_DELAYS.xmppMs, 0, 2000),
    },
    runs: count('runs', values.runs, smoke ? 2 : 20, 1, 1000),
    scenarios: [...new Set(scenarios)] as Scenario[],
    idleMs: count('idle-ms', values['idle-ms'], 300, 0, 60_000),
    outDir: values.out ?? 'bench-results',
    smoke,
  };
}
