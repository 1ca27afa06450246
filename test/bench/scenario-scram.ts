// Scenario (c): the login with our SCRAM against the stock @xmpp/sasl-scram-sha-1, at 4096
// iterations (the bench's testbed) and at 10,000 (a second testbed started for this scenario with
// that iteration count, stopped when it is done). Loopback without injected delays: what differs
// is the client's key derivation. The two implementations alternate run by run.
import { join } from 'node:path';
import { startTestbed, type Testbed } from '../../src/testbed/index.ts';
import { scramLoginTiming, type ScramImplementation, type ScramLoginTarget } from './scram-login.ts';
import { summarize, type Summary } from './stats.ts';
import { ADDRESSES, DOMAIN, XMPP_PORTS } from './topology.ts';

export interface ScramRow {
  iterations: number;
  implementation: ScramImplementation;
  login: Summary;
  sasl: Summary;
  maxLoopBlock: Summary;
}

export interface ScramResult {
  rows: ScramRow[];
}

interface ScramContext {
  testbed: Testbed;
  runs: number;
  scratch: string;
  log: (line: string) => void;
}

const MANY_ITERATIONS = 10_000;

async function measure(testbed: Testbed, iterations: number, runs: number, log: (line: string) => void): Promise<ScramRow[]> {
  const password = 'scram-bench-password';
  const jid = await testbed.addUser('scram-bench', DOMAIN, password);
  const target: ScramLoginTarget = {
    address: testbed.addresses.xmpp,
    port: XMPP_PORTS.direct,
    domain: DOMAIN,
    username: jid.slice(0, jid.indexOf('@')),
    password,
  };
  const implementations: ScramImplementation[] = ['ours', 'stock'];
  const timings = new Map(implementations.map((name) => [name, [] as Awaited<ReturnType<typeof scramLoginTiming>>[]]));
  // One unmeasured login each: Prosody and both code paths have run once.
  for (const implementation of implementations) await scramLoginTiming(implementation, target);
  for (let run = 0; run < runs; run += 1) {
    const order = run % 2 === 0 ? implementations : [...implementations].reverse();
    for (const implementation of order) timings.get(implementation)!.push(await scramLoginTiming(implementation, target));
  }
  log(`  ${iterations} iterations: ours ${Math.round(summarize(timings.get('ours')!.map((t) => t.saslMs)).median)} ms, stock ${Math.round(summarize(timings.get('stock')!.map((t) => t.saslMs)).median)} ms (SASL median)`);
  return implementations.map((implementation) => {
    const list = timings.get(implementation)!;
    return {
      iterations,
      implementation,
      login: summarize(list.map((t) => t.loginMs)),
      sasl: summarize(list.map((t) => t.saslMs)),
      maxLoopBlock: summarize(list.map((t) => t.maxLoopBlockMs)),
    };
  });
}

export async function runScenarioC({ testbed, runs, scratch, log }: ScramContext): Promise<ScramResult> {
  log('(c) SCRAM: ours against stock @xmpp/sasl-scram-sha-1');
  const rows = await measure(testbed, 4096, runs, log);
  log(`  a second testbed with ${MANY_ITERATIONS} iterations on ${ADDRESSES.testbedManyIterations.xmpp}`);
  const many = await startTestbed({
    ejabberd: false,
    runtimeDir: join(scratch, 'testbed-many-iterations'),
    addresses: ADDRESSES.testbedManyIterations,
    scramIterations: MANY_ITERATIONS,
  });
  try {
    rows.push(...(await measure(many, MANY_ITERATIONS, runs, log)));
  } finally {
    await many.stop();
  }
  return { rows };
}
