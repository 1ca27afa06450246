// `npm run bench`: the benchmark on a testbed of its own (127.0.50.0/24), behind delaying proxies.
// Prints a table, writes the results as JSON (bench-results/, not committed). Everything it starts
// is stopped by PID before it returns, also on Ctrl-C. See README "Benchmarks".
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestbed, type Testbed } from '../../src/testbed/index.ts';
import { buildLoginWorker } from './build-worker.ts';
import { machineInfo } from './machine.ts';
import { startBenchNetwork, type BenchNetwork } from './network.ts';
import { parseBenchOptions, USAGE, UsageError, type BenchOptions } from './options.ts';
import { renderReport, type BenchResults } from './report.ts';
import { runScenarioA, runScenarioB } from './scenario-login.ts';
import { runScenarioG } from './scenario-profiles.ts';
import { runScenarioH } from './scenario-room.ts';
import { runScenarioF } from './scenario-roster.ts';
import { runScenarioC } from './scenario-scram.ts';
import { runScenarioE } from './scenario-ui.ts';
import { runScenarioD } from './scenario-verify.ts';
import { ADDRESSES, PIPELINE_SIZES } from './topology.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

async function bench(options: BenchOptions, cleanups: Array<() => Promise<void>>): Promise<BenchResults> {
  const log = (line: string) => console.log(line);
  const started = performance.now();
  // Under /tmp: nginx's workers (user nobody) must be able to enter the testbed's directory.
  const scratch = await mkdtemp(join(tmpdir(), 'posh-bench-'));
  await chmod(scratch, 0o755);
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  log(`testbed on ${ADDRESSES.testbed.web}, ${ADDRESSES.testbed.xmpp} (dnsmasq ${ADDRESSES.testbed.dns})`);
  // Long benchmark conversations must stay in the archive (Prosody prunes past 10,000 by default).
  const testbed: Testbed = await startTestbed({ runtimeDir: join(scratch, 'testbed'), addresses: ADDRESSES.testbed, archiveItemLimit: 100_000 });
  cleanups.push(() => testbed.stop());
  const network: BenchNetwork = await startBenchNetwork({ testbed, delays: options.delays, dir: join(scratch, 'hops') });
  cleanups.push(() => network.stop());
  log(`latency layer: DNS ${options.delays.dnsMs} ms, web ${options.delays.webMs} ms, XMPP ${options.delays.xmppMs} ms round trips`);

  const results: BenchResults = {
    machine: await machineInfo(),
    options: { delays: options.delays, runs: options.runs, idleMs: options.idleMs, smoke: options.smoke },
    scenarios: {},
    durationMs: 0,
  };
  const worker = await buildLoginWorker();
  const login = { worker, testbed, network, delays: options.delays, runs: options.runs, idleMs: options.idleMs, scratch, log };
  const sizes = options.smoke ? PIPELINE_SIZES.slice(0, 1) : PIPELINE_SIZES;
  for (const scenario of options.scenarios) {
    const at = performance.now();
    switch (scenario) {
      case 'a':
        results.scenarios.a = await runScenarioA(login, sizes);
        break;
      case 'b':
        results.scenarios.b = await runScenarioB(login);
        break;
      case 'c':
        results.scenarios.c = await runScenarioC({ testbed, runs: options.runs, scratch, log });
        break;
      case 'd':
        results.scenarios.d = await runScenarioD({ testbed, runs: options.runs, smoke: options.smoke, log });
        break;
      case 'e':
        results.scenarios.e = await runScenarioE({ testbed, runs: options.runs, smoke: options.smoke, scratch, log });
        break;
      case 'f':
        results.scenarios.f = await runScenarioF({ runs: options.runs, smoke: options.smoke, scratch, log });
        break;
      case 'g':
        results.scenarios.g = await runScenarioG({ testbed, network, delays: options.delays, runs: options.runs, log });
        break;
      case 'h':
        results.scenarios.h = await runScenarioH({ testbed, runs: options.runs, smoke: options.smoke, scratch, log });
        break;
    }
    log(`(${scenario}) took ${Math.round((performance.now() - at) / 1000)} s`);
  }
  results.durationMs = performance.now() - started;
  return results;
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`bench: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const cleanups: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) {
        await cleanup().catch((error: unknown) => console.error(`bench: stopping failed: ${(error as Error).message}`));
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}, stopping everything it started`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  try {
    const results = await bench(options, cleanups);
    const text = renderReport(results);
    console.log(`\n${text}`);
    const outDir = resolve(ROOT, options.outDir);
    await mkdir(outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const json = `${JSON.stringify(results, null, 2)}\n`;
    await writeFile(join(outDir, `bench-${stamp}.json`), json);
    await writeFile(join(outDir, 'latest.json'), json);
    await writeFile(join(outDir, 'latest.md'), `${text}\n`);
    console.log(`\nResults: ${join(outDir, `bench-${stamp}.json`)} (also latest.json, latest.md)`);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
