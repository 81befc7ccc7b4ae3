// The equal-work goal (issue 15), judged only on equal work and only on numbers from one
// run: rumordb's 5-node burst converges in ≤ 0.5× the fastest peer's time, and in ≤ 1× on
// every other workload and cluster size (the counter workload under a partition judged per
// partition length, on heal → converged). Pure.
import { medianOf } from './judge.js'

export const EQUAL_WORK_GOALS = {
  /** The burst at this cluster size has the tighter limit. */
  burstNodes: 5,
  burstLimit: 0.5,
  /** Every other workload and size. */
  otherLimit: 1,
} as const

export type EqualWorkGoals = { readonly burstNodes: number; readonly burstLimit: number; readonly otherLimit: number }

/** One system's runs of one workload at one size: convergence times (ms), or null when any run FAILED. */
export interface EqualWorkCell {
  readonly system: string
  readonly nodes: number
  /** The workload, or its label with what else tells its runs apart (a counter run's partition length). */
  readonly workload: string
  readonly convergeMs: readonly number[] | null
}

export interface EqualWorkVerdict {
  readonly nodes: number
  readonly workload: string
  /** rumordb's median ÷ the fastest peer's must be at most this. */
  readonly limit: number
  readonly ratio: number | null
  readonly fastestPeer: string | null
  readonly verdict: 'PASS' | 'FAIL' | 'N/A'
  readonly detail: string
}

export const RUMORDB = 'rumordb'

export function limitFor(nodes: number, workload: string, goals: EqualWorkGoals = EQUAL_WORK_GOALS): number {
  return workload === 'burst' && nodes === goals.burstNodes ? goals.burstLimit : goals.otherLimit
}

/**
 * A verdict per (nodes, workload) that rumordb ran: its median convergence time ÷ the
 * fastest peer's median (peers that FAILED are not the fastest). rumordb FAILED is FAIL;
 * no peer converged is N/A (nothing to compare with).
 */
export function judgeEqualWork(cells: readonly EqualWorkCell[], goals: EqualWorkGoals = EQUAL_WORK_GOALS): EqualWorkVerdict[] {
  const verdicts: EqualWorkVerdict[] = []
  for (const ours of cells.filter((c) => c.system === RUMORDB)) {
    const { nodes, workload } = ours
    const limit = limitFor(nodes, workload, goals)
    const peers = cells.filter((c) => c.system !== RUMORDB && c.nodes === nodes && c.workload === workload)
    let fastest: { system: string; ms: number } | null = null
    for (const p of peers) {
      if (p.convergeMs === null || p.convergeMs.length === 0) continue
      const ms = medianOf(p.convergeMs)
      if (fastest === null || ms < fastest.ms) fastest = { system: p.system, ms }
    }
    const base = { nodes, workload, limit, fastestPeer: fastest?.system ?? null }
    const goal = `≤ ${limit}×`
    if (ours.convergeMs === null || ours.convergeMs.length === 0) {
      verdicts.push({ ...base, ratio: null, verdict: 'FAIL', detail: `rumordb FAILED (did not converge); goal ${goal} the fastest peer` })
      continue
    }
    const mine = medianOf(ours.convergeMs)
    if (fastest === null) {
      const why = peers.length === 0 ? 'no peer ran it' : `every peer FAILED (${peers.map((p) => p.system).join(', ')})`
      verdicts.push({ ...base, ratio: null, verdict: 'N/A', detail: `rumordb ${ms(mine)}; ${why}` })
      continue
    }
    const ratio = mine / fastest.ms
    verdicts.push({
      ...base,
      ratio,
      verdict: ratio <= limit ? 'PASS' : 'FAIL',
      detail: `rumordb ${ms(mine)} ÷ ${fastest.system} ${ms(fastest.ms)} = ${ratio.toFixed(2)}× (goal ${goal})`,
    })
  }
  return verdicts
}

function ms(v: number): string {
  return `${Math.round(v).toLocaleString('en-US')} ms`
}
