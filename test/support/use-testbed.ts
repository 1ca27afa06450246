// For test files: the project's shared testbed when vitest's global setup started one, otherwise a
// testbed of the file's own. release() puts the shared one back to its default variant, or stops
// the file's own.
import { inject } from 'vitest';
import { connectTestbed, startTestbed, type TestbedControl, type TestbedOptions } from '../../src/testbed/index.ts';

export interface TestbedLease {
  testbed: TestbedControl;
  /** True when this file started the testbed itself (no global setup). */
  owned: boolean;
  release(): Promise<void>;
}

export async function useTestbed(options: TestbedOptions = {}): Promise<TestbedLease> {
  const shared = inject('testbed');
  if (shared) {
    const testbed = await connectTestbed(shared.controlSocket);
    return {
      testbed,
      owned: false,
      release: async () => {
        if (testbed.variant !== 'direct') await testbed.setVariant('direct');
        if ((await testbed.prosodyPid()) === null) await testbed.startProsody();
        if ((await testbed.ejabberdPid()) === null) await testbed.startEjabberd();
      },
    };
  }
  const testbed = await startTestbed(options);
  return { testbed, owned: true, release: () => testbed.stop() };
}
