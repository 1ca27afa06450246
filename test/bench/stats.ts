// Summaries of repeated measurements. Pure.

export interface Summary {
  n: number;
  median: number;
  /** Nearest-rank 90th percentile: 90% of the samples are at or below it. */
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** The value at or below which `fraction` of the samples lie (nearest rank, on sorted input). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, median: Number.NaN, p90: Number.NaN, min: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const middle = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return {
    n,
    median,
    p90: percentile(sorted, 0.9),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    mean: sorted.reduce((total, value) => total + value, 0) / n,
  };
}

/** Share of the samples strictly below `limit`. */
export function shareBelow(values: readonly number[], limit: number): number {
  if (values.length === 0) return Number.NaN;
  return values.filter((value) => value < limit).length / values.length;
}

export const round = (value: number, digits = 1): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};
