// The Maelstrom-style counter workload of the equal-work comparison (issue 15), as a pure
// plan: every node adds random deltas, some negative, to a few shared counters at once
// while the cluster is cut in two halves, then the cut heals. The harness knows each
// counter's exact total (the sum of every increment it sent), so a node that reads it has
// lost and doubled nothing.
import { seededRandom, type Random } from '../../../src/base/random.js'
import { keyOf, type KeyWrite } from './workloads.js'

export const COUNTER_PARTITION = 'counter-partition'

/** Deltas are 1 + modulus × r with r drawn from −R…R: about half of them negative. */
export const DELTA_RANGE = 5

export interface CounterPlan {
  /** The counters, `<prefix>-<i>` (keyOf). */
  readonly keys: readonly string[]
  /** Each counter's total once every increment is in. */
  readonly expected: readonly number[]
  /** The one value each counter may end at (the judge's shape for a plan). */
  readonly allowed: readonly (readonly number[])[]
  /** Per node index, its increments [counter, delta] in the order it applies them. */
  readonly writes: readonly (readonly KeyWrite[])[]
  readonly writeCount: number
  /** Every delta is ≡ 1 (mod modulus), and no counter gets modulus increments or more. */
  readonly modulus: number
  readonly seed: number
}

export interface CounterPlanSpec {
  readonly nodes: number
  /** Increments over all nodes; at least nodes × counters, so that each node adds to every counter. */
  readonly increments: number
  readonly counters: number
  readonly seed: number
  readonly prefix: string
}

/**
 * Node i gets increments i, i + nodes, …: its first `counters` go to every counter once
 * (in a random order), the rest to random counters. Every counter so gets increments from
 * both halves of a cut. Each delta is 1 + modulus × r (r uniform in −5…5), the modulus a
 * power of ten above any counter's number of increments: a counter's missing increments
 * then sum to their count mod modulus, never 0, so no node reads a counter's total before
 * it holds every increment (with plain random deltas, a node missing +3 and −3 would read
 * the total early and stop the clock too soon).
 */
export function planCounterPartition(spec: CounterPlanSpec): CounterPlan {
  const { nodes, increments, counters, seed, prefix } = spec
  if (!Number.isInteger(nodes) || nodes < 2) throw new RangeError(`a counter workload needs at least 2 nodes, got ${nodes}`)
  if (!Number.isInteger(counters) || counters < 1) throw new RangeError(`a counter workload needs at least 1 counter, got ${counters}`)
  if (!Number.isInteger(increments) || increments < nodes * counters) {
    throw new RangeError(`${nodes} nodes × ${counters} counters need at least ${nodes * counters} increments (each node adds to every counter), got ${increments}`)
  }
  const random = seededRandom(seed)
  const keys = Array.from({ length: counters }, (_, i) => keyOf(prefix, i))
  const targets: number[][] = Array.from({ length: nodes }, () => [])
  for (let j = 0; j < increments; j++) {
    const mine = targets[j % nodes]!
    mine.push(mine.length < counters ? -1 : random.int(counters))
  }
  for (const mine of targets) mine.splice(0, counters, ...shuffled(counters, random))
  const perCounter = new Array<number>(counters).fill(0)
  for (const mine of targets) for (const c of mine) perCounter[c]!++
  const modulus = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(...perCounter) + 1)))
  const expected = new Array<number>(counters).fill(0)
  const writes = targets.map((mine) =>
    mine.map((c): KeyWrite => {
      const delta = 1 + modulus * (random.int(2 * DELTA_RANGE + 1) - DELTA_RANGE)
      expected[c]! += delta
      return [keys[c]!, delta]
    }),
  )
  return { keys, expected, allowed: expected.map((t) => [t]), writes, writeCount: increments, modulus, seed }
}

/** 0 … n − 1 in a random order (Fisher–Yates). */
function shuffled(n: number, random: Random): number[] {
  const out = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** The two halves of a cut: nodes 0 … ⌈n/2⌉ − 1, and the rest. */
export function halvesOf(nodes: number): [number[], number[]] {
  const a = Math.ceil(nodes / 2)
  return [Array.from({ length: a }, (_, i) => i), Array.from({ length: nodes - a }, (_, i) => a + i)]
}

/** The nodes node `index` cannot reach during the cut: every node of the other half. */
export function otherHalf(index: number, nodes: number): number[] {
  const [a, b] = halvesOf(nodes)
  return a.includes(index) ? b : a
}
