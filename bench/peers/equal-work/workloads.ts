// The equal-work comparison's workloads, the same for every system: which node writes
// which key → integer, and what every node must end up holding. Pure: the harness sends
// these writes to the nodes' processes and judges what they report.

/**
 * burst: every write on node 0 (today's peer burst). all-writers: the writes spread over
 * every node, all nodes writing at once, each key written by one node. conflict: nodes 0
 * and 1 write the same keys at once with different values (as in the two-user benchmarks
 * of Yjs and Automerge); the system's own rule picks each key's final value.
 */
export type EqualWorkload = 'burst' | 'all-writers' | 'conflict'
export const EQUAL_WORKLOADS: readonly EqualWorkload[] = ['burst', 'all-writers', 'conflict']

export function isEqualWorkload(name: string): name is EqualWorkload {
  return (EQUAL_WORKLOADS as readonly string[]).includes(name)
}

export type KeyWrite = readonly [key: string, value: number]

export interface WorkloadPlan {
  readonly workload: EqualWorkload
  /** Every key written, in a fixed order: progress and times are reported in this order. */
  readonly keys: readonly string[]
  /** Each key's final value, or null where the system's conflict rule picks it (conflict). */
  readonly expected: readonly number[] | null
  /** The values written to each key: a final value must be one of them. */
  readonly allowed: readonly (readonly number[])[]
  /** Per node index, its writes in the order it applies them (empty for a node that only reads). */
  readonly writes: readonly (readonly KeyWrite[])[]
  /** Writes in the workload, over every node: the denominator of bytes per write. */
  readonly writeCount: number
}

/** What the judge and the harness need of any plan, the counter workload's included. */
export type KeyPlan = Pick<WorkloadPlan, 'keys' | 'expected' | 'allowed' | 'writes' | 'writeCount'>

/**
 * Key i of a plan: `<prefix>-<i>` with i zero-padded, so no key is a prefix of another (a
 * node may read one key as a prefix scan).
 */
export function keyOf(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(6, '0')}`
}

/** The conflict workload's two writers. */
export const CONFLICT_WRITERS = [0, 1] as const

/**
 * The plan of `workload` with `writes` writes in all on a cluster of `nodes`, on keys
 * `<prefix>-<i>` (keyOf). burst and all-writers write each key once (key i ← i + 1); conflict writes
 * ⌈writes/2⌉ keys twice, once on each writer (writer w gives key i the value 2(i + 1) + w).
 */
export function planWorkload(workload: EqualWorkload, nodes: number, writes: number, prefix: string): WorkloadPlan {
  if (!Number.isInteger(nodes) || nodes < 2) throw new RangeError(`a workload needs at least 2 nodes, got ${nodes}`)
  if (!Number.isInteger(writes) || writes < 1) throw new RangeError(`a workload needs at least 1 write, got ${writes}`)
  const perNode: KeyWrite[][] = Array.from({ length: nodes }, () => [])
  if (workload === 'conflict') {
    const count = Math.ceil(writes / 2)
    const keys = Array.from({ length: count }, (_, i) => keyOf(prefix, i))
    for (const w of CONFLICT_WRITERS) for (const [i, key] of keys.entries()) perNode[w]!.push([key, 2 * (i + 1) + w])
    const allowed = keys.map((_, i) => CONFLICT_WRITERS.map((w) => 2 * (i + 1) + w))
    return { workload, keys, expected: null, allowed, writes: perNode, writeCount: 2 * count }
  }
  const keys = Array.from({ length: writes }, (_, i) => keyOf(prefix, i))
  for (const [i, key] of keys.entries()) perNode[workload === 'burst' ? 0 : i % nodes]!.push([key, i + 1])
  const expected = keys.map((_, i) => i + 1)
  return { workload, keys, expected, allowed: expected.map((v) => [v]), writes: perNode, writeCount: writes }
}

/** The nodes that write in a plan. */
export function writersOf(plan: KeyPlan): number[] {
  return plan.writes.flatMap((w, i) => (w.length > 0 ? [i] : []))
}
