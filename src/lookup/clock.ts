/** Wall-clock epoch milliseconds with sub-millisecond resolution, monotonic within the process. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
