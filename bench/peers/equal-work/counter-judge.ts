// Pure rules for the counter workload under a partition: whether a run's final totals are
// exact (no increment lost or doubled), its times from the heal and from the last write,
// and its rows over repeats, one per system, cluster size and partition length.
import { finalValueProblem, medianOf, quantiles, type Quantiles } from './judge.js'
import type { CounterPlan } from './counter-plan.js'
import type { EqualWorkCell } from './verdict.js'
import { COUNTER_PARTITION } from './counter-plan.js'

/** What the harness measured of one counter run (epoch ms times, per node index). */
export interface CounterRun {
  /** issuedAt[node][j]: when node issued its j-th increment of the plan. */
  readonly issuedAt: readonly (readonly number[])[]
  /** When the last writer had applied its last increment. */
  readonly lastDoneAt: number
  /** Each node's fresh local read of every counter, in plan order. */
  readonly values: readonly (readonly unknown[])[]
  /** changedAt[node][k]: when node's value of counter k last changed (null: never held). */
  readonly changedAt: readonly (readonly (number | null)[])[]
  /** When the last node's links were cut; null for a run without a cut. */
  readonly cutAt: number | null
  /** When the last node's links were healed (without a cut: when the last increment was applied). */
  readonly healAt: number
  readonly bytesSent: readonly number[]
  readonly cpuMs: readonly number[]
  readonly peakRssBytes: readonly number[]
}

interface CounterHead {
  readonly partitionS: number
  readonly increments: number
  readonly seed: number
}

export type CounterOutcome =
  | (CounterHead & {
      readonly ok: true
      /** How long the cut really lasted (ms): the partition length, or the writes' time if they took longer; 0 without a cut. */
      readonly cutMs: number
      /** Heal → every node read every counter's exact total (ms). */
      readonly healToConvergeMs: number
      /** Last increment issued → the same (ms). */
      readonly lastWriteToConvergeMs: number
      /** First increment issued → the last writer had applied its last (ms). */
      readonly writeMs: number
      /** Per counter: heal → the last node read its total (ms; 0 where every node had it by the heal). */
      readonly perCounterFromHealMs: readonly number[]
      readonly bytesSent: readonly number[]
      readonly cpuMs: readonly number[]
      readonly peakRssBytes: readonly number[]
    })
  | (CounterHead & { readonly ok: false; readonly reason: string })

/** Judges one run: FAIL unless every node reads every counter's exact total. */
export function judgeCounterRun(plan: CounterPlan, partitionS: number, run: CounterRun): CounterOutcome {
  const head = { partitionS, increments: plan.writeCount, seed: plan.seed }
  const problem = finalValueProblem(plan, run.values)
  if (problem !== null) return { ...head, ok: false, reason: `FAIL: a total is not the sum of the acknowledged increments (one lost or doubled): ${problem}` }
  let convergedAt = -Infinity
  const perCounterFromHealMs = plan.keys.map((key, k) => {
    let held = -Infinity
    for (const [node, times] of run.changedAt.entries()) {
      const t = times[k]
      if (t === null || t === undefined) throw new RangeError(`node ${node} never held ${key}`)
      held = Math.max(held, t)
    }
    convergedAt = Math.max(convergedAt, held)
    return Math.max(0, held - run.healAt)
  })
  const issued = run.issuedAt.flat()
  const lastWrite = Math.max(...issued)
  return {
    ...head,
    ok: true,
    cutMs: run.cutAt === null ? 0 : run.healAt - run.cutAt,
    healToConvergeMs: Math.max(0, convergedAt - run.healAt),
    lastWriteToConvergeMs: Math.max(0, convergedAt - lastWrite),
    writeMs: run.lastDoneAt - Math.min(...issued),
    perCounterFromHealMs,
    bytesSent: run.bytesSent,
    cpuMs: run.cpuMs,
    peakRssBytes: run.peakRssBytes,
  }
}

export interface CounterRow {
  readonly system: string
  readonly nodes: number
  readonly partitionS: number
  readonly increments: number
  readonly runs: number
  readonly failed: number
  readonly failure?: string
  /** Per converged run: heal → converged (ms). */
  readonly healToConvergeMs: readonly number[]
  /** Per converged run: last increment → converged (ms). */
  readonly lastWriteToConvergeMs: readonly number[]
  /** Heal → each counter held everywhere, pooled over counters and converged runs. */
  readonly perCounterFromHealMs: Quantiles | null
  /** Median over runs of how long the cut lasted (ms). */
  readonly cutMs: number | null
  /** Median over runs of first increment → the last applied (ms); absent in results from before it was recorded. */
  readonly writeMs?: number | null
  /** Median over runs of all nodes' socket bytes (cut, heal and recovery included) ÷ increments. */
  readonly bytesPerIncrement: number | null
  readonly peakRssNodeBytes: number | null
  readonly peakRssClusterBytes: number | null
}

/** A trial's counter runs: one fresh cluster of one system, every partition length in turn. */
export interface CounterTrial {
  readonly system: string
  readonly nodes: number
  readonly counters?: readonly CounterOutcome[]
}

export function summarizeCounterTrials(trials: readonly CounterTrial[], partitionS: readonly number[]): CounterRow[] {
  const rows: CounterRow[] = []
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0)
  for (const system of [...new Set(trials.map((t) => t.system))]) {
    for (const nodes of [...new Set(trials.map((t) => t.nodes))].sort((a, b) => a - b)) {
      const mine = trials.filter((t) => t.system === system && t.nodes === nodes)
      if (mine.length === 0) continue
      for (const p of partitionS) {
        const outcomes: CounterOutcome[] = mine.map((t) => t.counters?.find((c) => c.partitionS === p) ?? { partitionS: p, increments: 0, seed: 0, ok: false, reason: 'did not run' })
        const ok = outcomes.filter((o): o is Extract<CounterOutcome, { ok: true }> => o.ok)
        const firstFailed = outcomes.find((o): o is Extract<CounterOutcome, { ok: false }> => !o.ok)
        const none = ok.length === 0
        rows.push({
          system,
          nodes,
          partitionS: p,
          increments: Math.max(0, ...outcomes.map((o) => o.increments)),
          runs: outcomes.length,
          failed: outcomes.length - ok.length,
          ...(firstFailed === undefined ? {} : { failure: firstFailed.reason }),
          healToConvergeMs: ok.map((o) => o.healToConvergeMs),
          lastWriteToConvergeMs: ok.map((o) => o.lastWriteToConvergeMs),
          perCounterFromHealMs: none ? null : quantiles(ok.flatMap((o) => o.perCounterFromHealMs)),
          cutMs: none ? null : medianOf(ok.map((o) => o.cutMs)),
          writeMs: none ? null : medianOf(ok.map((o) => o.writeMs)),
          bytesPerIncrement: none ? null : medianOf(ok.map((o) => sum(o.bytesSent) / o.increments)),
          peakRssNodeBytes: none ? null : Math.max(...ok.flatMap((o) => o.peakRssBytes)),
          peakRssClusterBytes: none ? null : Math.max(...ok.map((o) => sum(o.peakRssBytes))),
        })
      }
    }
  }
  return rows
}

/** The workload label a counter row is judged under: one verdict per size and partition length. */
export function counterLabel(partitionS: number): string {
  return `${COUNTER_PARTITION}, ${partitionS} s cut`
}

/** The rows as the verdict takes them (heal → converged); a row with any FAILED run counts as FAILED. */
export function counterCells(rows: readonly CounterRow[]): EqualWorkCell[] {
  return rows.map((r) => ({ system: r.system, nodes: r.nodes, workload: counterLabel(r.partitionS), convergeMs: r.failed > 0 || r.healToConvergeMs.length === 0 ? null : r.healToConvergeMs }))
}
