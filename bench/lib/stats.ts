// Summaries of measured samples, shared by every benchmark so they all report the same
// percentiles the same way.

export interface Summary {
  readonly count: number
  readonly mean: number
  readonly min: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * Nearest-rank percentile (the smallest sample with at least p % of samples at or below
 * it) of samples sorted ascending. Nearest-rank never invents a value nobody measured.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples: measure at least one')
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1] as number
}

/** Count, mean, min, p50, p90, p99 and max of unsorted samples (left untouched). */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    min: percentile(sorted, 0),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
  }
}

export interface FlaggedSummary {
  /** Every sample: what a caller saw. */
  readonly all: Summary
  /** Only the samples whose flag is 0 (null when there are none). */
  readonly unflagged: Summary | null
  /** How many samples were flagged. */
  readonly flagged: number
}

/** Summaries of all samples and of those not flagged (e.g. not preempted by the OS). */
export function summarizeFlagged(samples: ArrayLike<number>, flags: ArrayLike<number>): FlaggedSummary {
  const kept: number[] = []
  for (let i = 0; i < samples.length; i++) if (flags[i] === 0) kept.push(samples[i] as number)
  return {
    all: summarize(samples),
    unflagged: kept.length === 0 ? null : summarize(kept),
    flagged: samples.length - kept.length,
  }
}

/** Throughput of `ops` operations that took `ms` milliseconds. */
export function opsPerSecond(ops: number, ms: number): number {
  return ms > 0 ? (ops * 1000) / ms : Number.POSITIVE_INFINITY
}
