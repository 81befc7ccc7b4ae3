// Narrowing differing ranges before keys are listed (range-based set reconciliation, as in
// negentropy): the initiator splits each differing range that holds many of its keys into
// parts of equal key counts, sends the parts' aggregates, and the responder says which
// differ; the differing parts are split again until each holds a few keys. Listing then
// costs a few keys per difference instead of every key of a differing arc, so settling d
// differences among N keys takes O(d · log N) bytes in one round, not O(d · N / arcs)
// bytes over many rounds.
//
// Splitting stops early when it cannot pay: when nearly all parts of a step differ (the
// replicas differ almost everywhere, e.g. one was wiped: listing every key is the
// difference), or when a round has compared its budget of ranges.
import { sortClockwise, type IndexedKey } from './arc-index.js'
import type { RingRange } from '../ring/ring.js'

/** Parts a differing range is split into per step. */
export const SPLIT_PARTS = 8
/** A range holding at most this many of the initiator's keys is listed, not split. */
export const LEAF_KEYS = 16
/** Ranges one sync-ranges request compares (two fixed64 bounds each). */
export const MAX_RANGES_PER_COMPARE = 512
/**
 * Above this fraction of differing parts, splitting stops. Parts then hold two or more
 * differences each on average (1 − e^-2.3 ≈ 0.9), so splitting them again would still
 * find nearly all differing.
 */
export const DENSE_FRACTION = 0.9
/** Ranges a round compares at most, over all its sync-ranges requests. */
export const MAX_RANGES_PER_ROUND = 8192

/** A range and the initiator's keys in it, in walk order. */
export interface KeyedRange {
  readonly range: RingRange
  readonly keys: readonly IndexedKey[]
}

export interface NarrowingSteps {
  /** Our keys in a range, in walk order. */
  readonly keysOf: (range: RingRange) => readonly IndexedKey[]
  /** Our aggregate of a range. */
  readonly hashOf: (range: RingRange) => Uint8Array
  /** The peer's verdict per range (true: differs), for at most MAX_RANGES_PER_COMPARE ranges. */
  readonly compare: (ranges: readonly RingRange[], hashes: readonly Uint8Array[]) => Promise<readonly boolean[]>
}

/** The differing ranges narrowed as far as pays, each with our keys in it. */
export async function narrowDifferences(differing: readonly RingRange[], steps: NarrowingSteps): Promise<KeyedRange[]> {
  let current: KeyedRange[] = differing.map((range) => ({ range, keys: steps.keysOf(range) }))
  let compared = 0
  for (;;) {
    const large = current.filter((r) => r.keys.length > LEAF_KEYS)
    if (large.length === 0) return current
    const parts = large.flatMap((r) => splitRange(r.range, r.keys, SPLIT_PARTS))
    if (compared + parts.length > MAX_RANGES_PER_ROUND) return current
    const verdicts: boolean[] = []
    for (let i = 0; i < parts.length; i += MAX_RANGES_PER_COMPARE) {
      const chunk = parts.slice(i, i + MAX_RANGES_PER_COMPARE).map((p) => p.range)
      const answer = await steps.compare(chunk, chunk.map(steps.hashOf))
      if (answer.length !== chunk.length) throw new Error(`sync-ranges: ${answer.length} verdicts for ${chunk.length} ranges`)
      verdicts.push(...answer)
    }
    compared += parts.length
    const narrowed = parts.filter((_, i) => verdicts[i])
    current = [...current.filter((r) => r.keys.length <= LEAF_KEYS), ...narrowed]
    // Nearly every part differs: the replicas differ almost everywhere (one was wiped, or
    // every key changed), and splits would cost more than listing the keys.
    if (narrowed.length > DENSE_FRACTION * parts.length) return current
  }
}

/**
 * Splits `range` into up to `parts` consecutive ranges holding about equal shares of
 * `keys` (the keys in it, any order). A cut never separates keys at one position, so each
 * key lies in exactly one part on both sides; parts cover the range exactly.
 */
export function splitRange(range: RingRange, keys: readonly IndexedKey[], parts: number): KeyedRange[] {
  const sorted = sortClockwise(range.start, keys)
  const out: KeyedRange[] = []
  let start = range.start
  let from = 0
  for (let p = 1; p < parts; p++) {
    let to = Math.ceil((p * sorted.length) / parts)
    while (to < sorted.length && to > from && sorted[to]!.position === sorted[to - 1]!.position) to++
    if (to <= from || to >= sorted.length) continue
    const cut = sorted[to - 1]!.position
    out.push({ range: { start, end: cut }, keys: sorted.slice(from, to) })
    start = cut
    from = to
  }
  out.push({ range: { start, end: range.end }, keys: sorted.slice(from) })
  return out
}
