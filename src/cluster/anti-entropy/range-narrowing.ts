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

/** A range and how many of the initiator's keys it holds. */
export interface CountedRange {
  readonly range: RingRange
  readonly count: number
}

export interface NarrowingSteps {
  /** How many of our keys a range holds. */
  readonly countOf: (range: RingRange) => number
  /** A range cut into up to `parts` consecutive ranges of about equal shares of our keys. */
  readonly split: (range: RingRange, parts: number) => readonly RingRange[]
  /** Our aggregate of a range. */
  readonly hashOf: (range: RingRange) => Uint8Array
  /** The peer's verdict per range (true: differs), for at most MAX_RANGES_PER_COMPARE ranges. */
  readonly compare: (ranges: readonly RingRange[], hashes: readonly Uint8Array[]) => Promise<readonly boolean[]>
}

/** The differing ranges narrowed as far as pays, each with how many of our keys it holds. */
export async function narrowDifferences(differing: readonly RingRange[], steps: NarrowingSteps): Promise<CountedRange[]> {
  const counted = (range: RingRange): CountedRange => ({ range, count: steps.countOf(range) })
  let current = differing.map(counted)
  let compared = 0
  for (;;) {
    const large = current.filter((r) => r.count > LEAF_KEYS)
    if (large.length === 0) return current
    const parts = large.flatMap((r) => steps.split(r.range, SPLIT_PARTS))
    if (compared + parts.length > MAX_RANGES_PER_ROUND) return current
    const verdicts: boolean[] = []
    for (let i = 0; i < parts.length; i += MAX_RANGES_PER_COMPARE) {
      const chunk = parts.slice(i, i + MAX_RANGES_PER_COMPARE)
      const answer = await steps.compare(chunk, chunk.map(steps.hashOf))
      if (answer.length !== chunk.length) throw new Error(`sync-ranges: ${answer.length} verdicts for ${chunk.length} ranges`)
      verdicts.push(...answer)
    }
    compared += parts.length
    const narrowed = parts.filter((_, i) => verdicts[i]).map(counted)
    current = [...current.filter((r) => r.count <= LEAF_KEYS), ...narrowed]
    // Nearly every part differs: the replicas differ almost everywhere (one was wiped, or
    // every key changed), and splits would cost more than listing the keys.
    if (narrowed.length > DENSE_FRACTION * parts.length) return current
  }
}
