// One law suite for every CRDT (riak_dt style): the join laws, delta mutators, canonical and
// round-tripping codecs, purity of merge.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SPECS } from './specs.js'
import { pick, planArb, runPlan } from './universe.js'

const RUNS = 100

const triple = fc.tuple(fc.nat(), fc.nat(), fc.nat())

describe.each(SPECS.map((spec) => [spec.name, spec] as const))('%s laws', (_name, spec) => {
  const { crdt } = spec
  const eq = (a: unknown, b: unknown): boolean => crdt.equals(a, b)
  const bytes = (s: unknown): Uint8Array => crdt.encode(s)

  it('merge is commutative', () => {
    fc.assert(
      fc.property(planArb(spec), triple, (plan, [i, j]) => {
        const { pool } = runPlan(spec, plan)
        const a = pick(pool, i)
        const b = pick(pool, j)
        expect(bytes(crdt.merge(a, b))).toEqual(bytes(crdt.merge(b, a)))
        expect(eq(crdt.merge(a, b), crdt.merge(b, a))).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('merge is associative, and equal states encode to equal bytes whatever the merge order', () => {
    fc.assert(
      fc.property(planArb(spec), triple, (plan, [i, j, k]) => {
        const { pool } = runPlan(spec, plan)
        const [a, b, c] = [pick(pool, i), pick(pool, j), pick(pool, k)]
        const left = crdt.merge(crdt.merge(a, b), c)
        const right = crdt.merge(a, crdt.merge(b, c))
        const shuffled = crdt.merge(crdt.merge(c, a), b)
        expect(eq(left, right)).toBe(true)
        expect(eq(left, shuffled)).toBe(true)
        expect(bytes(left)).toEqual(bytes(right))
        expect(bytes(left)).toEqual(bytes(shuffled))
        expect(crdt.value(left)).toEqual(crdt.value(shuffled))
      }),
      { numRuns: RUNS },
    )
  })

  it('merge is idempotent and inflationary', () => {
    fc.assert(
      fc.property(planArb(spec), triple, (plan, [i, j]) => {
        const { pool } = runPlan(spec, plan)
        const a = pick(pool, i)
        const b = pick(pool, j)
        expect(eq(crdt.merge(a, a), a)).toBe(true)
        const ab = crdt.merge(a, b)
        // ab ⊒ a and ab ⊒ b: joining either again changes nothing.
        expect(eq(crdt.merge(ab, a), ab)).toBe(true)
        expect(eq(crdt.merge(b, ab), ab)).toBe(true)
        expect(eq(crdt.merge(ab, crdt.empty()), ab)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('a delta merged into its state has the sequential effect of the operation', () => {
    fc.assert(
      fc.property(planArb(spec), (plan) => {
        const { mutations } = runPlan(spec, plan)
        for (const m of mutations) {
          spec.checkMutation(m.before, m.after, m.replica, m.op, m.delta)
          // The delta is a proper state of the type: it survives the codec.
          expect(eq(crdt.decode(bytes(m.delta)), m.delta)).toBe(true)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('decode(encode(s)) equals s, and equals() agrees with byte equality', () => {
    fc.assert(
      fc.property(planArb(spec), triple, (plan, [i, j]) => {
        const { pool } = runPlan(spec, plan)
        const a = pick(pool, i)
        const b = pick(pool, j)
        const encoded = bytes(a)
        expect(encoded[0]).toBe(crdt.tag)
        // OR-sets are in format version 2 (pages, crdts/orset-pages.ts); the other types in 1.
        expect(encoded[1]).toBe(crdt.tag === 3 ? 2 : 1)
        const decoded = crdt.decode(encoded)
        expect(eq(decoded, a)).toBe(true)
        expect(crdt.value(decoded)).toEqual(crdt.value(a))
        expect(bytes(decoded)).toEqual(encoded)
        expect(eq(a, b)).toBe(Buffer.from(bytes(a)).equals(Buffer.from(bytes(b))))
      }),
      { numRuns: RUNS },
    )
  })

  it('merge never mutates its inputs', () => {
    fc.assert(
      fc.property(planArb(spec), triple, (plan, [i, j]) => {
        const { pool } = runPlan(spec, plan)
        const a = pick(pool, i)
        const b = pick(pool, j)
        const [beforeA, beforeB] = [bytes(a), bytes(b)]
        const [valueA, valueB] = [crdt.value(a), crdt.value(b)]
        crdt.merge(a, b)
        crdt.merge(b, a)
        expect(bytes(a)).toEqual(beforeA)
        expect(bytes(b)).toEqual(beforeB)
        expect(crdt.value(a)).toEqual(valueA)
        expect(crdt.value(b)).toEqual(valueB)
      }),
      { numRuns: RUNS },
    )
  })

  it('empty is the identity of merge', () => {
    fc.assert(
      fc.property(planArb(spec), fc.nat(), (plan, i) => {
        const { pool } = runPlan(spec, plan)
        const a = pick(pool, i)
        expect(eq(crdt.merge(crdt.empty(), a), a)).toBe(true)
        expect(eq(crdt.merge(a, crdt.empty()), a)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
