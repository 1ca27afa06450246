// A bounded wait for a condition the tests cannot await directly.
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `test` every 20 ms; throws naming `what` when it is still false after `timeoutMs`. */
export async function until(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms.`);
    await sleep(20);
  }
}
