// The equal-work trials as report rows: one per system, cluster size and workload, over
// the repeats. Pure. A row with any FAILED run has no time (a system that did not
// converge is never reported as a time), as in the peer benchmark.
import { medianOf, quantiles, type Quantiles } from './judge.js'
import type { EqualWorkTrial, WorkloadOutcome } from './trial.js'
import type { EqualWorkCell } from './verdict.js'
import type { EqualWorkload } from './workloads.js'

export interface EqualWorkRow {
  readonly system: string
  readonly nodes: number
  readonly workload: EqualWorkload
  readonly writes: number
  readonly runs: number
  readonly failed: number
  /** The first FAILED run's reason. */
  readonly failure?: string
  /** Each converged run's time, first write → every node held every final value (ms). */
  readonly convergeMs: readonly number[]
  /** Per-key times (last write of the key → held everywhere), pooled over the converged runs. */
  readonly perKeyMs: Quantiles | null
  /** Median over runs of all nodes' socket bytes ÷ writes. */
  readonly bytesPerWrite: number | null
  /** Median over runs of the CPU time all nodes used ÷ writes (ms): what one write costs the cluster. */
  readonly cpuMsPerWrite: number | null
  /** Of that CPU time, the kernel's share (median over runs, 0..1). */
  readonly cpuSystemShare: number | null
  /** Median over runs of the time the writers took to apply their writes (ms). */
  readonly writeMs: number | null
  /** Largest peak RSS of one node process, and of all of a cluster's processes together, over the runs. */
  readonly peakRssNodeBytes: number | null
  readonly peakRssClusterBytes: number | null
}

export function summarizeTrials(trials: readonly EqualWorkTrial[], workloads: readonly EqualWorkload[]): EqualWorkRow[] {
  const rows: EqualWorkRow[] = []
  const systems = [...new Set(trials.map((t) => t.system))]
  const sizes = [...new Set(trials.map((t) => t.nodes))].sort((a, b) => a - b)
  for (const system of systems) {
    for (const nodes of sizes) {
      const mine = trials.filter((t) => t.system === system && t.nodes === nodes)
      if (mine.length === 0) continue
      for (const workload of workloads) rows.push(summarizeRow(system, nodes, workload, mine))
    }
  }
  return rows
}

function summarizeRow(system: string, nodes: number, workload: EqualWorkload, trials: readonly EqualWorkTrial[]): EqualWorkRow {
  const outcomes: WorkloadOutcome[] = trials.map(
    (t) => t.workloads.find((w) => w.workload === workload) ?? { ok: false, workload, writes: 0, reason: t.failure ?? 'did not run' },
  )
  const ok = outcomes.filter((o): o is Extract<WorkloadOutcome, { ok: true }> => o.ok)
  const firstFailed = outcomes.find((o): o is Extract<WorkloadOutcome, { ok: false }> => !o.ok)
  const writes = Math.max(0, ...outcomes.map((o) => o.writes))
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
  return {
    system,
    nodes,
    workload,
    writes,
    runs: outcomes.length,
    failed: outcomes.length - ok.length,
    ...(firstFailed === undefined ? {} : { failure: firstFailed.reason }),
    convergeMs: ok.map((o) => o.convergeMs),
    perKeyMs: ok.length === 0 ? null : quantiles(ok.flatMap((o) => o.perKeyMs)),
    bytesPerWrite: ok.length === 0 ? null : medianOf(ok.map((o) => sum(o.bytesSent) / o.writes)),
    cpuMsPerWrite: ok.length === 0 ? null : medianOf(ok.map((o) => sum(o.cpuMs) / o.writes)),
    cpuSystemShare: ok.length === 0 ? null : medianOf(ok.map((o) => sum(o.cpuSystemMs) / Math.max(1e-9, sum(o.cpuMs)))),
    writeMs: ok.length === 0 ? null : medianOf(ok.map((o) => o.writeMs)),
    peakRssNodeBytes: ok.length === 0 ? null : Math.max(...ok.flatMap((o) => o.peakRssBytes)),
    peakRssClusterBytes: ok.length === 0 ? null : Math.max(...ok.map((o) => sum(o.peakRssBytes))),
  }
}

/** The rows as the verdict takes them: a row with any FAILED run counts as FAILED. */
export function cellsOf(rows: readonly EqualWorkRow[]): EqualWorkCell[] {
  return rows.map((r) => ({ system: r.system, nodes: r.nodes, workload: r.workload, convergeMs: r.failed > 0 || r.convergeMs.length === 0 ? null : r.convergeMs }))
}
