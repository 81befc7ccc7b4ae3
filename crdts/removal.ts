// What deleting a key leaves of each type's state (observed-remove, crdts/key-content.ts).
// A delete records a tombstone of what it saw, and a type's state is kept only for what its
// tombstone does not cover, so a write the deleting node had not seen survives and nothing
// it saw comes back. Tombstones are small: per-actor totals for counters, the causal context
// for an OR-set (no elements), the (timestamp, actor) of the winning write for a register
// (no value); they grow with the number of writers, not with the key's history.
//
// For every type, `without(s, t)` is what the store keeps, and it commutes with joins:
// without(s1 ⊔ s2, t1 ⊔ t2) = without(without(s1, t1) ⊔ without(s2, t2), t1 ⊔ t2), so
// replicas that normalise at every join converge on the same bytes.
import { countOf, GCounter, type GCounterState } from './gcounter.js'
import { compareWrites, type LWWRegisterState } from './lww-register.js'
import { isMapTombstone, mapHasVisibleFields, mapTombstoneOf, mergeMaps, type ORMapState } from './ormap.js'
import { ORSet, type ORSetState } from './orset.js'
import type { PNCounterState } from './pncounter.js'
import type { CrdtTypeName } from './types.js'

import type { Removal } from './type-table.js'

export type { Removal }

const NO_COUNTS = GCounter.empty()

/** Entries of `s` above the same actor's entry in `t`, each less `t`'s entry when `minus`. */
function countsAbove(s: GCounterState, t: GCounterState, minus: boolean): GCounterState {
  if (t.actors.length === 0) return s
  const actors: string[] = []
  const counts: number[] = []
  for (let i = 0; i < s.actors.length; i++) {
    const actor = s.actors[i] as string
    const base = countOf(t, actor)
    const count = s.counts[i] as number
    if (count <= base) continue
    actors.push(actor)
    counts.push(minus ? count - base : count)
  }
  if (actors.length === s.actors.length && !minus) return s
  return actors.length === 0 ? NO_COUNTS : { actors, counts }
}

const gcounter: Removal<GCounterState> = {
  tombstoneOf: (s) => s,
  isTombstone: () => true,
  without: (s, t) => countsAbove(s, t, false),
  isEmpty: (s) => s.actors.length === 0,
  visible: (s, t) => countsAbove(s, t, true),
}

const pncounter: Removal<PNCounterState> = {
  tombstoneOf: (s) => s,
  isTombstone: () => true,
  without: (s, t) => {
    const p = countsAbove(s.p, t.p, false)
    const n = countsAbove(s.n, t.n, false)
    return p === s.p && n === s.n ? s : { p, n }
  },
  isEmpty: (s) => s.p.actors.length === 0 && s.n.actors.length === 0,
  visible: (s, t) => ({ p: countsAbove(s.p, t.p, true), n: countsAbove(s.n, t.n, true) }),
}

const NO_ENTRIES = Object.freeze([])

const orset: Removal<ORSetState> = {
  // The causal context alone: joined into a set, it removes every element whose dots it covers.
  tombstoneOf: (s) => (s.entries.length === 0 ? s : { entries: NO_ENTRIES, context: s.context }),
  isTombstone: (t) => t.entries.length === 0,
  without: (s, t) => ORSet.merge(s, t),
  isEmpty: (s) => s.entries.length === 0,
  visible: (s) => s,
}

const lww: Removal<LWWRegisterState> = {
  // The winning write's (timestamp, actor), its value dropped.
  tombstoneOf: (s) => (s === null || s.json === 'null' ? s : { timestamp: s.timestamp, actor: s.actor, value: null, json: 'null' }),
  isTombstone: (t) => t === null || t.json === 'null',
  without: (s, t) => (s === null || t === null || compareWrites(s, t) > 0 ? s : null),
  isEmpty: (s) => s === null,
  visible: (s) => s,
}

// A map removes field by field, each field as a key is removed (ormap.ts).
const map: Removal<ORMapState> = {
  tombstoneOf: mapTombstoneOf,
  isTombstone: isMapTombstone,
  without: (s, t) => mergeMaps(s, t),
  isEmpty: (s) => !mapHasVisibleFields(s),
  visible: (s) => s,
}

export const removals: { readonly [T in CrdtTypeName]: Removal<never> } = Object.freeze({
  gcounter: gcounter as Removal<never>,
  pncounter: pncounter as Removal<never>,
  orset: orset as Removal<never>,
  lww: lww as Removal<never>,
  map: map as Removal<never>,
})

/** The removal rules of `type`, over unknown states. */
export function removalOf(type: CrdtTypeName): Removal<unknown> {
  return removals[type] as Removal<unknown>
}
