// Pure rules the harness applies to what the nodes report: when a cluster has converged,
// whether its final values are right, how long each key took, and quantiles of those
// times. The same rules for every system.
import { percentile } from '../../lib/stats.js'
import type { ViewProgress } from './node-view.js'
import type { KeyPlan } from './workloads.js'

/**
 * Converged: every writer has applied its writes and every node holds every key with the
 * expected value; where the plan leaves the final value to the system (conflict), every
 * node holds every key and all nodes hold the same values.
 */
export function clusterConverged(plan: KeyPlan, progress: readonly (ViewProgress | undefined)[], writersDone: boolean): boolean {
  if (!writersDone || progress.length === 0) return false
  const size = plan.keys.length
  if (plan.expected !== null) return progress.every((p) => p !== undefined && p.matching === size)
  const digest = progress[0]?.digest ?? null
  return digest !== null && progress.every((p) => p !== undefined && p.have === size && p.digest === digest)
}

/** Which nodes lag and by how much, for a FAILED run's reason. */
export function laggingNodes(plan: KeyPlan, progress: readonly (ViewProgress | undefined)[]): string {
  const size = plan.keys.length
  const parts = progress.flatMap((p, i) => {
    if (p === undefined) return [`node ${i} never reported`]
    const held = plan.expected === null ? p.have : p.matching
    return held < size ? [`node ${i} holds ${held}/${size}`] : []
  })
  if (parts.length === 0 && plan.expected === null) return `every node holds every key but their values differ (digests ${[...new Set(progress.map((p) => p?.digest))].join(', ')})`
  return parts.join(', ')
}

/** Why the nodes' final values break the plan, or null when they are right. */
export function finalValueProblem(plan: KeyPlan, values: readonly (readonly unknown[])[]): string | null {
  for (const [k, key] of plan.keys.entries()) {
    const first = values[0]?.[k]
    for (const [node, view] of values.entries()) {
      const v = view[k]
      if (plan.expected !== null && v !== plan.expected[k]) return `node ${node} reads ${key} = ${JSON.stringify(v)}, expected ${plan.expected[k]}`
      if (!plan.allowed[k]!.includes(v as number)) return `node ${node} reads ${key} = ${JSON.stringify(v)}; written: ${plan.allowed[k]!.join(' or ')}`
      if (v !== first) return `nodes disagree on ${key}: node 0 reads ${JSON.stringify(first)}, node ${node} ${JSON.stringify(v)}`
    }
  }
  return null
}

export interface KeyTimes {
  /** Per key: from the issue of its last write until the last node held its final value (ms). */
  readonly perKeyMs: number[]
  /** From the first write issued until the last key was held everywhere (ms). */
  readonly convergeMs: number
}

/**
 * `issuedAt[node][j]`: when node issued its j-th write of the plan (epoch ms);
 * `changedAt[node][k]`: when node's value of key k last changed (epoch ms, null if never).
 */
export function keyTimes(plan: KeyPlan, issuedAt: readonly (readonly number[])[], changedAt: readonly (readonly (number | null)[])[]): KeyTimes {
  const position = new Map(plan.keys.map((k, i) => [k, i]))
  const lastIssue = new Array<number>(plan.keys.length).fill(-Infinity)
  let firstWrite = Infinity
  for (const [node, writes] of plan.writes.entries()) {
    for (const [j, [key]] of writes.entries()) {
      const at = issuedAt[node]?.[j]
      if (at === undefined) throw new RangeError(`node ${node} reported no issue time for its write ${j} (${key})`)
      const k = position.get(key) as number
      lastIssue[k] = Math.max(lastIssue[k]!, at)
      firstWrite = Math.min(firstWrite, at)
    }
  }
  let lastHeld = -Infinity
  const perKeyMs = plan.keys.map((key, k) => {
    let held = -Infinity
    for (const [node, times] of changedAt.entries()) {
      const t = times[k]
      if (t === null || t === undefined) throw new RangeError(`node ${node} never held ${key}`)
      held = Math.max(held, t)
    }
    lastHeld = Math.max(lastHeld, held)
    return Math.max(0, held - lastIssue[k]!)
  })
  return { perKeyMs, convergeMs: Math.max(0, lastHeld - firstWrite) }
}

export interface Quantiles {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank p50, p95, p99 and max of unsorted samples. */
export function quantiles(samples: ArrayLike<number>): Quantiles {
  const sorted = Float64Array.from(samples).sort()
  if (sorted.length === 0) throw new RangeError('quantiles of no samples: measure at least one')
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
  }
}

/** The median the verdicts compare (nearest rank: never a value nobody measured). */
export function medianOf(samples: readonly number[]): number {
  return quantiles(samples).p50
}
