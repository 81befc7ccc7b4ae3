// Grow-only counter: each actor owns one entry holding its own total, and the join takes the
// per-actor maximum. Its size grows with the number of writers, never with the number of writes.
import {
  assertActor,
  decodeStrict,
  readActor,
  readCount,
  readVarUint,
  toUint8Array,
  writeHeader,
  createEncoder,
  writeString,
  writeVarUint,
  readHeader,
  type Decoder,
  type Encoder,
} from './codec.js'
import { CrdtDecodeError } from './errors.js'
import type { Crdt, Witnessing } from './types.js'

/**
 * Actor ids in ascending UTF-16 code-unit order, with each actor's total at the same index.
 * Immutable; never holds a zero count. Sorted arrays rather than a Map because copying an
 * array is a memcpy while rebuilding a Map rehashes every entry, and merge copies.
 */
export interface GCounterState {
  readonly actors: readonly string[]
  readonly counts: readonly number[]
}

export interface GCounterType extends Crdt<GCounterState, number>, Witnessing<GCounterState> {
  readonly name: 'gcounter'
  readonly tag: 1
  /**
   * Delta adding `amount` (a non-negative safe integer, default 1) to `actor`'s entry.
   * Throws RangeError on a bad amount or when the entry would pass Number.MAX_SAFE_INTEGER,
   * TypeError/RangeError on a bad actor id.
   */
  increment(s: GCounterState, actor: string, amount?: number): GCounterState
  /** The sum of all entries; exact while the sum stays within Number.MAX_SAFE_INTEGER. */
  value(s: GCounterState): number
}

const EMPTY: GCounterState = Object.freeze({ actors: Object.freeze([]), counts: Object.freeze([]) })

export function assertAmount(amount: unknown): asserts amount is number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`amount must be a non-negative safe integer, got ${String(amount)}`)
  }
}

/** Index of `actor` in the sorted `actors`, or -1. */
function indexOfActor(actors: readonly string[], actor: string): number {
  let lo = 0
  let hi = actors.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const x = actors[mid] as string
    if (x === actor) return mid
    if (x < actor) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

export function countOf(s: GCounterState, actor: string): number {
  const i = indexOfActor(s.actors, actor)
  return i < 0 ? 0 : (s.counts[i] as number)
}

/** The delta for adding `amount` to `actor`'s entry of a G-counter (shared with the PN-counter). */
export function incrementDelta(s: GCounterState, actor: string, amount: number): GCounterState {
  assertActor(actor)
  assertAmount(amount)
  const next = countOf(s, actor) + amount
  if (next > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`counter entry of ${actor} would exceed Number.MAX_SAFE_INTEGER`)
  }
  return next === 0 ? EMPTY : { actors: [actor], counts: [next] }
}

/** Raises `a`'s counts from `b` when every actor of `b` is already in `a` (the delta case). */
function raiseKnown(a: GCounterState, b: GCounterState): GCounterState | undefined {
  let counts: number[] | undefined
  for (let j = 0; j < b.actors.length; j++) {
    const i = a.actors === b.actors ? j : indexOfActor(a.actors, b.actors[j] as string)
    if (i < 0) return undefined
    const n = b.counts[j] as number
    if (n > (a.counts[i] as number)) (counts ??= a.counts.slice())[i] = n
  }
  return counts === undefined ? a : { actors: a.actors, counts }
}

export function joinCounts(a: GCounterState, b: GCounterState): GCounterState {
  if (a === b || b.actors.length === 0) return a
  if (a.actors.length === 0) return b
  if (a.actors.length < b.actors.length) [a, b] = [b, a]
  if (b.actors.length <= 8 || a.actors === b.actors) {
    const raised = raiseKnown(a, b)
    if (raised !== undefined) return raised
  }
  const A = a.actors
  const B = b.actors
  const actors: string[] = []
  const counts: number[] = []
  let i = 0
  let j = 0
  let fromA = true
  let fromB = true
  while (i < A.length || j < B.length) {
    const x = A[i]
    const y = B[j]
    if (x !== undefined && y !== undefined && x === y) {
      const m = a.counts[i] as number
      const n = b.counts[j] as number
      if (m > n) fromB = false
      else if (n > m) fromA = false
      actors.push(x)
      counts.push(m > n ? m : n)
      i++
      j++
    } else if (y === undefined || (x !== undefined && x < y)) {
      actors.push(x as string)
      counts.push(a.counts[i] as number)
      fromB = false
      i++
    } else {
      actors.push(y)
      counts.push(b.counts[j] as number)
      fromA = false
      j++
    }
  }
  if (fromA) return a
  if (fromB) return b
  return { actors, counts }
}

export function sumCounts(s: GCounterState): number {
  let total = 0
  for (const n of s.counts) total += n
  return total
}

export function countsEqual(a: GCounterState, b: GCounterState): boolean {
  if (a === b) return true
  if (a.actors.length !== b.actors.length) return false
  for (let i = 0; i < a.actors.length; i++) {
    if (a.actors[i] !== b.actors[i] || a.counts[i] !== b.counts[i]) return false
  }
  return true
}

/** Whether every entry of `small` is at most the matching entry of `big`. */
export function countsInclude(big: GCounterState, small: GCounterState): boolean {
  for (let j = 0; j < small.actors.length; j++) {
    if (countOf(big, small.actors[j] as string) < (small.counts[j] as number)) return false
  }
  return true
}

export function writeCounts(enc: Encoder, s: GCounterState): void {
  writeVarUint(enc, s.actors.length)
  for (let i = 0; i < s.actors.length; i++) {
    writeString(enc, s.actors[i] as string)
    writeVarUint(enc, s.counts[i] as number)
  }
}

export function readCounts(dec: Decoder): GCounterState {
  // An entry takes at least 3 bytes: length, one character, count.
  const n = readCount(dec, 3, 'counter entry')
  if (n === 0) return EMPTY
  const actors: string[] = []
  const counts: number[] = []
  let prev: string | undefined
  for (let i = 0; i < n; i++) {
    const actor = readActor(dec)
    if (prev !== undefined && !(prev < actor)) throw new CrdtDecodeError('counter actors not in strictly ascending order')
    prev = actor
    const count = readVarUint(dec)
    if (count === 0) throw new CrdtDecodeError(`zero counter entry for ${actor}`)
    actors.push(actor)
    counts.push(count)
  }
  return { actors, counts }
}

export const GCounter: GCounterType = Object.freeze({
  name: 'gcounter',
  tag: 1,
  empty: () => EMPTY,
  increment: (s: GCounterState, actor: string, amount = 1) => incrementDelta(s, actor, amount),
  merge: joinCounts,
  value: sumCounts,
  equals: countsEqual,
  encode(s: GCounterState): Uint8Array {
    const enc = createEncoder(8 + s.actors.length * 24)
    writeHeader(enc, 1)
    writeCounts(enc, s)
    return toUint8Array(enc)
  },
  decode(bytes: Uint8Array): GCounterState {
    return decodeStrict(bytes, (dec) => {
      readHeader(dec, 1, 'gcounter')
      return readCounts(dec)
    })
  },
  // The delta of an increment is the actor's new total, which is exactly the proof needed.
  witness(delta: GCounterState): Uint8Array {
    return GCounter.encode(delta)
  },
  covers(s: GCounterState, witness: Uint8Array): boolean {
    return countsInclude(s, GCounter.decode(witness))
  },
} as const)
