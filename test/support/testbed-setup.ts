// vitest globalSetup: one testbed for the projects that list this file (integration, UI), started
// once and stopped after the last of them. Test files reach it with useTestbed()
// (test/support/use-testbed.ts): the state arrives through provide/inject, the operations through
// the testbed's control socket.
import type { TestProject } from 'vitest/node';
import { startTestbed, type Testbed, type TestbedState } from '../../src/testbed/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestbedState | undefined;
  }
}

interface Shared {
  testbed: Promise<Testbed>;
  projects: number;
}

// Each project may load this module afresh; the registry on globalThis makes them share one testbed.
const REGISTRY = Symbol.for('posh-messenger.testbed.global-setup');
const registry = globalThis as typeof globalThis & { [REGISTRY]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = (registry[REGISTRY] ??= {
    testbed: startTestbed({
      scramIterations: process.env.TESTBED_SCRAM_ITERATIONS ? Number(process.env.TESTBED_SCRAM_ITERATIONS) : undefined,
      log: process.env.TESTBED_VERBOSE ? (line) => console.log(`[testbed] ${line}`) : undefined,
    }),
    projects: 0,
  });
  shared.projects += 1;
  let testbed: Testbed;
  try {
    testbed = await shared.testbed;
  } catch (error) {
    delete registry[REGISTRY];
    throw error;
  }
  project.provide('testbed', testbed.state());
  return async () => {
    shared.projects -= 1;
    if (shared.projects > 0) return;
    delete registry[REGISTRY];
    await testbed.stop();
  };
}
