/**
 * Small statistics helpers for benchmark samples: percentiles of one run's per-message samples and
 * the median/spread summary of several runs' figures.
 */

/** Median and spread of one figure over several runs. */
export interface Summary {
  /** Median over the runs. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** 25th and 75th percentiles over the runs (the inter-quartile range is the spread we quote). */
  readonly p25: number;
  readonly p75: number;
  /** Relative spread: (max − min) / median, so 0.1 means the runs agree within 10 %. */
  readonly spread: number;
  /** Number of runs. */
  readonly n: number;
  /** The per-run values, in run order. */
  readonly values: readonly number[];
}

/**
 * The `q`-quantile (0..1) of `values` with linear interpolation between closest ranks.
 * Returns NaN for an empty list. Does not modify `values`.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return quantileOfSorted(sorted, q);
}

/** {@link quantile} on an already ascending array (no copy). */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** p50, p90, p99 and max of one run's latency samples, in the samples' unit. */
export function latencyPercentiles(samples: readonly number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  return {
    p50: quantileOfSorted(sorted, 0.5),
    p90: quantileOfSorted(sorted, 0.9),
    p99: quantileOfSorted(sorted, 0.99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** Summarizes one figure over runs. Returns undefined when there are no finite values. */
export function summarize(values: readonly number[]): Summary | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  const sorted = Float64Array.from(finite).sort();
  const median = quantileOfSorted(sorted, 0.5);
  const min = sorted[0] as number;
  const max = sorted[sorted.length - 1] as number;
  return {
    median,
    min,
    max,
    p25: quantileOfSorted(sorted, 0.25),
    p75: quantileOfSorted(sorted, 0.75),
    spread: median === 0 ? 0 : (max - min) / Math.abs(median),
    n: finite.length,
    values: finite,
  };
}

/** Rounds to a number of significant digits, for readable JSON and tables. */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** (digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}
