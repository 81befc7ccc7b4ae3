// Key contents (crdts/key-content.ts) drawn from real histories of each type
// (test/crdts/universe.ts): one shared history per type, so states never reuse dots, and
// tombstones as a delete of a state of the same history leaves them.
import fc from 'fast-check'
import { removalOf, type ContentEntry, type CrdtTypeName, type KeyContent } from '../../crdts/index.js'
import { SPECS, type AnySpec } from './specs.js'
import { planArb, runPlan } from './universe.js'

/** States of one shared history per type (states of unrelated histories could reuse dots), and contents drawn from them. */
export function contentUniverse(seed: number): { pools: Map<CrdtTypeName, unknown[]>; arb: fc.Arbitrary<KeyContent> } {
  const pools: Map<CrdtTypeName, unknown[]> = new Map(
    SPECS.map((spec: AnySpec) => {
      const [plan] = fc.sample(planArb(spec, 40), { seed, numRuns: 1 })
      return [spec.crdt.name, runPlan(spec, plan!).pool]
    }),
  )

  const arb = fc
    .subarray(['gcounter', 'pncounter', 'orset', 'lww'] as CrdtTypeName[], { minLength: 1 })
    .chain((types) =>
      fc.tuple(
        ...types.map((type) => {
          const pool = pools.get(type) as unknown[]
          return fc.record({ state: fc.constantFrom(...pool), seen: fc.option(fc.constantFrom(...pool), { nil: undefined }) }).map(({ state, seen }): ContentEntry => {
            if (seen === undefined) return { type, state }
            // A tombstone as a delete leaves it: of a state of the same history.
            const removal = removalOf(type)
            const tombstone = removal.tombstoneOf(seen)
            return { type, state: removal.without(state, tombstone), tombstone }
          })
        }),
      ),
    )
  return { pools, arb }
}
