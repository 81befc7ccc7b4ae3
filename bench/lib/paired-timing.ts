// Throughput of two implementations of the same operation, measured in one process and
// interleaved round by round, so that JIT state, GC pressure and load from other processes
// on a shared machine weigh on both alike. Each side is calibrated to its own sample length
// (their speeds can differ a hundredfold), warmed up, then timed `rounds` times; the report
// is the median, which one descheduled sample cannot move.
import { performance } from 'node:perf_hooks'
import { summarize, type Summary } from './stats.js'

export interface TimedSide {
  /** Performs `iterations` operations. */
  run(iterations: number): void
  /** Untimed, before every sample: puts the state back where a sample starts. */
  reset?(): void
}

export interface PairTimingOptions {
  readonly rounds: number
  /** Target milliseconds per timed sample of one side. */
  readonly sampleMs: number
  /** Milliseconds of untimed samples per side before the first timed one (JIT warm-up). */
  readonly warmupMs: number
  /** Called after calibration, after warm-up and after every round. */
  readonly onStep?: () => void
}

export interface SideTiming {
  /** Operations per timed sample. */
  readonly iterations: number
  /** Operations per second of every round, in order. */
  readonly samples: number[]
  readonly opsPerSecond: Summary
}

export interface PairTiming {
  readonly ours: SideTiming
  readonly theirs: SideTiming
  /** Median ours ÷ median theirs. */
  readonly ratio: number
  /** ours ÷ theirs within each round (adjacent samples): its spread shows how steady the machine was. */
  readonly roundRatios: Summary
}

/** Steps reported through onStep by one timePair call. */
export function pairTimingSteps(o: PairTimingOptions): number {
  return o.rounds + 2
}

export function timePair(ours: TimedSide, theirs: TimedSide, o: PairTimingOptions): PairTiming {
  const nOurs = calibrate(ours, o.sampleMs)
  const nTheirs = calibrate(theirs, o.sampleMs)
  o.onStep?.()
  const warmupEnd = performance.now() + 2 * o.warmupMs
  while (performance.now() < warmupEnd) {
    sample(ours, nOurs)
    sample(theirs, nTheirs)
  }
  o.onStep?.()
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < o.rounds; r++) {
    // Alternate who goes first, so neither always runs right after the other's garbage.
    if (r % 2 === 0) {
      a.push(sample(ours, nOurs))
      b.push(sample(theirs, nTheirs))
    } else {
      b.push(sample(theirs, nTheirs))
      a.push(sample(ours, nOurs))
    }
    o.onStep?.()
  }
  const oursSummary = summarize(a)
  const theirsSummary = summarize(b)
  return {
    ours: { iterations: nOurs, samples: a, opsPerSecond: oursSummary },
    theirs: { iterations: nTheirs, samples: b, opsPerSecond: theirsSummary },
    ratio: oursSummary.p50 / theirsSummary.p50,
    roundRatios: summarize(a.map((x, i) => x / (b[i] as number))),
  }
}

/** Operations per second of one sample of `n` operations. */
function sample(side: TimedSide, n: number): number {
  side.reset?.()
  const start = performance.now()
  side.run(n)
  const ms = performance.now() - start
  // A sample too short for the timer's resolution counts as taking one resolution step.
  return (n * 1000) / Math.max(ms, MIN_MEASURABLE_MS)
}

const MIN_MEASURABLE_MS = 0.001

/** Iterations that take about `sampleMs`: doubles until a run is long enough to scale from. */
function calibrate(side: TimedSide, sampleMs: number): number {
  let n = 1
  for (;;) {
    side.reset?.()
    const start = performance.now()
    side.run(n)
    const ms = performance.now() - start
    if (ms >= sampleMs / 8 || n >= MAX_ITERATIONS) {
      return Math.max(1, Math.min(MAX_ITERATIONS, Math.round((n * sampleMs) / Math.max(ms, MIN_MEASURABLE_MS))))
    }
    n *= 2
  }
}

const MAX_ITERATIONS = 2 ** 30
