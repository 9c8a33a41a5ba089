/** Median, spread and percentiles of benchmark samples: what every row of the report is made of. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: how far the repetitions disagree, as a share of the median. */
  spread: number;
  samples: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const m = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return { median: m, min, max, spread: m > 0 ? (max - min) / m : 0, samples: [...samples] };
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Latency percentiles in milliseconds. */
export function latency(valuesMs: readonly number[]): Latency {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Steady-state rate from completion times: the middle 80 % of completions over the time they took, so the ramp
 * at the start (connections, JIT) and the stragglers at the end weigh on neither side of a ratio.
 */
export function steadyRate(completionsMs: readonly number[]): number {
  const sorted = [...completionsMs].sort((a, b) => a - b);
  if (sorted.length < 10) return Number.NaN;
  const lo = Math.floor(sorted.length * 0.1);
  const hi = Math.ceil(sorted.length * 0.9) - 1;
  const seconds = (sorted[hi]! - sorted[lo]!) / 1000;
  return seconds > 0 ? (hi - lo) / seconds : Number.NaN;
}
