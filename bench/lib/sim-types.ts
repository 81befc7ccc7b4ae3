// The simulation benchmark's options, results and report shape, shared by the entry script
// (bench/sim.ts) and the modules that render its report and plots.
import type { BenchReport } from './report.js'
import type { ConvergenceRun, Scenario } from './sim-convergence.js'
import type { Summary } from './stats.js'

export const GOAL = { scenario: 'ae-only', nodes: 1000, loss: 0, maxRatio: 1.5 } as const

export interface SimBenchOptions {
  readonly nodes: readonly number[]
  readonly losses: readonly number[]
  readonly scenarios: readonly Scenario[]
  /** First seed; runs use seed … seed + seeds − 1. */
  readonly seed: number
  readonly seeds: number
  readonly vnodes: number
  readonly keys: number
  readonly replicas: number
  readonly antiEntropyIntervalMs: number
  readonly heartbeatIntervalMs: number
  readonly handoffIntervalMs: number
  readonly writeWindowMs: number
  readonly warmupMs: number
  /** A run that has not converged this many anti-entropy intervals after the injection is FAILED. */
  readonly maxRounds: number
  /** Runs at once, each on its own worker thread (1: in this thread). Results do not depend on it. */
  readonly jobs: number
  readonly outDir: string
  /** Write the SVG plots beside the results (the Markdown report is always written). */
  readonly plots: boolean
  readonly progress: boolean
}


export interface ConfigSummary {
  readonly scenario: Scenario
  readonly nodes: number
  readonly loss: number
  readonly seeds: number
  readonly converged: number
  /** log₃N + ln ln N. */
  readonly bound: number
  /** Over seeds; null unless every seed converged (a configuration that did not is FAILED, never a number). */
  readonly rounds: Summary | null
  readonly ratio: { readonly p50: number; readonly p90: number; readonly max: number } | null
  readonly timeMs: Summary | null
  /** placement: the median key's rounds, median over seeds. */
  readonly medianKeyRounds: number | null
  /** Means over seeds, from the injection to convergence (or to the limit). */
  readonly aeExchangesPerNode: number
  readonly bytesPerNode: number
  readonly heartbeatBytesPerNode: number
}

export interface GoalVerdict {
  readonly description: string
  /** null when the goal's configuration was not run. */
  readonly pass: boolean | null
  readonly limit: number
  readonly maxRounds: number | null
}

export interface SimResults {
  readonly summaries: ConfigSummary[]
  readonly goal: GoalVerdict
  readonly runs: ConvergenceRun[]
  readonly notes: string[]
}

export type SimReport = BenchReport<SimBenchOptions, SimResults>

