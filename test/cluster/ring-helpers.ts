// Exact key-movement accounting between two rings, shared by the ring tests and the
// balance measurement: no sampling error, so the bounds can be strict.
import { RING_SIZE } from '../../src/cluster/ring/hash.js'
import type { Ring } from '../../src/cluster/ring/ring.js'

export interface Movement {
  /** Fraction of the key space whose primary owner differs between the rings. */
  moved: number
  /** [from, to] for every stretch of key space whose primary owner changed. */
  changes: [string, string][]
}

/**
 * Walks the union of both rings' tokens. Within a segment (previous boundary, boundary]
 * no token of either ring lies strictly inside, so every key in it has the same primary
 * owner in each ring: the owner of the first token at or after the boundary.
 */
export function primaryMovement(before: Ring, after: Ring): Movement {
  const boundaries = mergeSorted(before.tokens, after.tokens)
  let movedArc = 0n
  const changes: [string, string][] = []
  let i = 0
  let j = 0
  for (let k = 0; k < boundaries.length; k++) {
    const b = boundaries[k]!
    while (i < before.tokens.length && before.tokens[i]! < b) i++
    while (j < after.tokens.length && after.tokens[j]! < b) j++
    const from = before.members[before.owners[i === before.tokens.length ? 0 : i]!]!
    const to = after.members[after.owners[j === after.tokens.length ? 0 : j]!]!
    if (from === to) continue
    const previous = boundaries[k === 0 ? boundaries.length - 1 : k - 1]!
    movedArc += k === 0 ? b + RING_SIZE - previous : b - previous
    changes.push([from, to])
  }
  return { moved: Number(movedArc) / Number(RING_SIZE), changes }
}

function mergeSorted(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length + b.length)
  let i = 0
  let j = 0
  let k = 0
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]! <= b[j]!)) out[k++] = a[i++]!
    else out[k++] = b[j++]!
  }
  return out
}
