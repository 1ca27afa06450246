// When to try again after a lost connection: exponential, capped, and jittered so that many
// clients dropped by one server restart do not return in the same instant.

export interface BackoffPolicy {
  /** The first retry's ceiling, milliseconds. */
  baseMs: number;
  /** No wait is ever longer than this. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

/**
 * The wait before retry number `retry` (0 for the first): "equal jitter", i.e. between half and
 * all of min(cap, base * 2^retry), so it grows steadily yet never synchronises.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, retry), 30));
  const jitter = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}
