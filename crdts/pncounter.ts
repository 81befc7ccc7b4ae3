// Counter that goes both ways: two G-counters, one for increments (p) and one for
// decrements (n). The value is their difference.
import { createEncoder, decodeStrict, readHeader, toUint8Array, writeHeader } from './codec.js'
import {
  GCounter,
  countsEqual,
  countsInclude,
  incrementDelta,
  joinCounts,
  readCounts,
  sumCounts,
  writeCounts,
  type GCounterState,
} from './gcounter.js'
import type { Crdt, Witnessing } from './types.js'

export interface PNCounterState {
  readonly p: GCounterState
  readonly n: GCounterState
}

export interface PNCounterType extends Crdt<PNCounterState, number>, Witnessing<PNCounterState> {
  readonly name: 'pncounter'
  readonly tag: 2
  /** Delta adding `amount` (non-negative safe integer, default 1); RangeError otherwise. */
  increment(s: PNCounterState, actor: string, amount?: number): PNCounterState
  /** Delta subtracting `amount` (non-negative safe integer, default 1); RangeError otherwise. */
  decrement(s: PNCounterState, actor: string, amount?: number): PNCounterState
}

const NONE: GCounterState = GCounter.empty()
const EMPTY: PNCounterState = Object.freeze({ p: NONE, n: NONE })

function join(a: PNCounterState, b: PNCounterState): PNCounterState {
  if (a === b) return a
  const p = joinCounts(a.p, b.p)
  const n = joinCounts(a.n, b.n)
  if (p === a.p && n === a.n) return a
  if (p === b.p && n === b.n) return b
  return { p, n }
}

export const PNCounter: PNCounterType = Object.freeze({
  name: 'pncounter',
  tag: 2,
  empty: () => EMPTY,
  increment: (s: PNCounterState, actor: string, amount = 1): PNCounterState => ({
    p: incrementDelta(s.p, actor, amount),
    n: NONE,
  }),
  decrement: (s: PNCounterState, actor: string, amount = 1): PNCounterState => ({
    p: NONE,
    n: incrementDelta(s.n, actor, amount),
  }),
  merge: join,
  value: (s: PNCounterState) => sumCounts(s.p) - sumCounts(s.n),
  equals: (a: PNCounterState, b: PNCounterState) => countsEqual(a.p, b.p) && countsEqual(a.n, b.n),
  encode(s: PNCounterState): Uint8Array {
    const enc = createEncoder(8 + (s.p.actors.length + s.n.actors.length) * 24)
    writeHeader(enc, 2)
    writeCounts(enc, s.p)
    writeCounts(enc, s.n)
    return toUint8Array(enc)
  },
  decode(bytes: Uint8Array): PNCounterState {
    return decodeStrict(bytes, (dec) => {
      readHeader(dec, 2, 'pncounter')
      const p = readCounts(dec)
      const n = readCounts(dec)
      return { p, n }
    })
  },
  // As for the G-counter: the delta holds the actor's new totals, which is the proof.
  witness(delta: PNCounterState): Uint8Array {
    return PNCounter.encode(delta)
  },
  covers(s: PNCounterState, witness: Uint8Array): boolean {
    const w = PNCounter.decode(witness)
    return countsInclude(s.p, w.p) && countsInclude(s.n, w.n)
  },
} as const)
