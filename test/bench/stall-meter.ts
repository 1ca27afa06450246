// Event-loop stalls with the time each began: a 1 ms interval timer whose late firings are the
// turns that kept it waiting. Unlike perf_hooks' histogram, a stall can be attributed to a phase.

export interface StallMeter {
  /** The longest stall that began at or after `from` and before `to` (ms; 0 when none). */
  longest(from: number, to?: number): number;
  stop(): void;
}

const INTERVAL_MS = 1;

export function startStallMeter(): StallMeter {
  const stalls: { at: number; ms: number }[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - INTERVAL_MS;
    if (late > INTERVAL_MS) stalls.push({ at: last, ms: late });
    last = now;
  }, INTERVAL_MS);
  return {
    longest: (from, to = Number.POSITIVE_INFINITY) => stalls.filter(({ at }) => at >= from && at < to).reduce((longest, { ms }) => Math.max(longest, ms), 0),
    stop: () => clearInterval(timer),
  };
}
