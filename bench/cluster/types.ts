// The cluster benchmark's results and report shape, shared by the entry script
// (bench/cluster.ts) and the modules that render its report and plots.
import type { BenchReport } from '../lib/report.js'
import type { GOALS } from './goals.js'
import type { ClusterBenchOptions } from './options.js'
import type { PeerResults } from './peer-results.js'
import type { Verdict } from './verdict.js'
import type { ConvergenceRun, CounterCheck, LatencyResult } from './workloads.js'
export interface NodeCountResult {
  readonly nodes: number
  /** Replicas per key in this cluster: min(n, nodes). */
  readonly replicas: number
  /** Cluster start (processes ready and every member alive), ms; null when it did not start. */
  readonly startMs: number | null
  /** Why this cluster size has no or partial results (it did not start, or a run broke off). */
  readonly error?: string
  /** The untimed warm-up write per type (null when it did not run). */
  readonly warmup: { readonly convergeMs: number | null; readonly failure?: string } | null
  readonly idle: { readonly ms: number; readonly bytesSentPerSecond: readonly number[]; readonly bytesReceivedPerSecond: readonly number[] } | null
  readonly runs: readonly ConvergenceRun[]
  readonly latency: readonly LatencyResult[]
  readonly counters: CounterCheck | null
  /** VmHWM of each node process at the end of its runs; null where it cannot be read. */
  readonly peakRssBytes: readonly (number | null)[]
}

export interface ClusterResults {
  readonly goals: typeof GOALS
  /** Mean encoded size of the deltas the burst writes create (crdts/ codecs). */
  readonly deltaBytes: number
  readonly nodeCounts: readonly NodeCountResult[]
  /** The peer systems' results: run in this run (--with-peers) or read from an earlier run's file. */
  readonly peers: PeerResults | null
  /** Why --with-peers produced no peer results (rumordb's results are kept). */
  readonly peersError?: string
  readonly verdicts: readonly Verdict[]
  readonly plots: readonly string[]
  readonly markdown: string | null
}

export type ClusterReport = BenchReport<ClusterBenchOptions, ClusterResults>

