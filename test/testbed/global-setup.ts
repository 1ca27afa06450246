// vitest globalSetup: one testbed for a whole project (integration, UI), stopped at teardown.
// Test files reach it with useTestbed() (test/testbed/use-testbed.ts): the state arrives through
// provide/inject, the operations through the testbed's control socket.
import type { TestProject } from 'vitest/node';
import { startTestbed, type TestbedState } from './index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestbedState | undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const testbed = await startTestbed({
    scramIterations: Number(process.env.TESTBED_SCRAM_ITERATIONS ?? 4096),
    log: process.env.TESTBED_VERBOSE ? (line) => console.log(`[testbed] ${line}`) : undefined,
  });
  project.provide('testbed', testbed.state());
  return () => testbed.stop();
}
