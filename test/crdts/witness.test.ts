// Read-your-writes: witness(delta) proves a write; covers(s, w) says whether s includes it.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, GCounter, LWWRegister, ORSet, PNCounter } from '../../crdts/index.js'
import { SPECS } from './specs.js'
import { pick, planArb, runPlan } from './universe.js'

describe.each(SPECS.map((spec) => [spec.name, spec] as const))('%s witnesses', (_name, spec) => {
  const { crdt } = spec

  it('are covered by the state after the write, and by every merge of it', () => {
    fc.assert(
      fc.property(planArb(spec), fc.nat(), (plan, i) => {
        const { pool, mutations } = runPlan(spec, plan)
        for (const m of mutations) {
          const w = crdt.witness(m.delta)
          expect(w[0]).toBe(crdt.tag)
          expect(crdt.covers(m.after, w)).toBe(true)
          expect(crdt.covers(crdt.merge(pick(pool, i), m.after), w)).toBe(true)
          expect(crdt.covers(crdt.merge(m.delta, crdt.empty()), w)).toBe(true)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('are covered exactly by the states that already include the delta', () => {
    fc.assert(
      fc.property(planArb(spec), fc.nat(), fc.nat(), (plan, i, j) => {
        const { pool, mutations } = runPlan(spec, plan)
        if (mutations.length === 0) return
        const delta = pick(mutations, i).delta
        const s = pick(pool, j)
        const includes = crdt.equals(crdt.merge(s, delta), s)
        expect(crdt.covers(s, crdt.witness(delta))).toBe(includes)
      }),
      { numRuns: 150 },
    )
  })

  it('are canonical: equal deltas give equal witnesses', () => {
    fc.assert(
      fc.property(planArb(spec), (plan) => {
        const { mutations } = runPlan(spec, plan)
        for (const m of mutations) {
          expect(crdt.witness(crdt.decode(crdt.encode(m.delta)))).toEqual(crdt.witness(m.delta))
        }
      }),
      { numRuns: 40 },
    )
  })

  it('reject malformed witnesses with CrdtDecodeError', () => {
    expect(() => crdt.covers(crdt.empty(), new Uint8Array())).toThrow(CrdtDecodeError)
    expect(() => crdt.covers(crdt.empty(), Uint8Array.from([crdt.tag, 1, 0xff]))).toThrow(CrdtDecodeError)
    expect(() => crdt.covers(crdt.empty(), Uint8Array.from([crdt.tag === 1 ? 2 : 1, 1, 0]))).toThrow(CrdtDecodeError)
  })
})

describe('witness examples', () => {
  it('counter witnesses name the actor and its total after the write', () => {
    const s = GCounter.merge(GCounter.empty(), GCounter.increment(GCounter.empty(), 'a', 4))
    const w = GCounter.witness(GCounter.increment(s, 'a', 1))
    expect([...w]).toEqual([1, 1, 1, 1, 97, 5])
    expect(GCounter.covers(s, w)).toBe(false)
    expect(PNCounter.covers(PNCounter.empty(), PNCounter.witness(PNCounter.decrement(PNCounter.empty(), 'a')))).toBe(false)
  })

  it('an OR-set remove is covered only once the element is gone', () => {
    const added = ORSet.merge(ORSet.empty(), ORSet.add(ORSet.empty(), 'a', 'x'))
    const removal = ORSet.remove(added, 'x')
    const w = ORSet.witness(removal)
    // The state that saw the add has the dot in its context, but still holds it.
    expect(ORSet.covers(added, w)).toBe(false)
    expect(ORSet.covers(ORSet.merge(added, removal), w)).toBe(true)
    expect(ORSet.covers(ORSet.empty(), w)).toBe(false)
  })

  it('an LWW witness is covered by the write itself or any later one', () => {
    const first = LWWRegister.set(null, 'b', 1, { wallMs: 5, logical: 0 })
    const w = LWWRegister.witness(first)
    expect(w.length).toBe(2 + 1 + 8 + 2)
    expect(LWWRegister.covers(null, w)).toBe(false)
    expect(LWWRegister.covers(first, w)).toBe(true)
    expect(LWWRegister.covers(LWWRegister.set(null, 'a', 2, { wallMs: 5, logical: 0 }), w)).toBe(false)
    expect(LWWRegister.covers(LWWRegister.set(null, 'c', 2, { wallMs: 5, logical: 0 }), w)).toBe(true)
    expect(LWWRegister.covers(LWWRegister.set(null, 'a', 2, { wallMs: 6, logical: 0 }), w)).toBe(true)
  })
})
