// ShardedMap behaves as a Map for any sequence of sets, deletes and clears.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ShardedMap } from '../../src/base/sharded-map.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)

describe(`ShardedMap (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/base/sharded-map.test.ts)`, () => {
  it('answers get, size and entries as a Map given the same operations', () => {
    const key = fc.oneof(fc.string({ maxLength: 3 }), fc.string({ minLength: 20, maxLength: 40 }))
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key }),
      fc.record({ kind: fc.constant('clear' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const sharded = new ShardedMap<number>()
        const plain = new Map<string, number>()
        for (const o of ops) {
          if (o.kind === 'set') {
            sharded.set(o.key, o.value)
            plain.set(o.key, o.value)
          } else if (o.kind === 'delete') expect(sharded.delete(o.key)).toBe(plain.delete(o.key))
          else {
            sharded.clear()
            plain.clear()
          }
          expect(sharded.size).toBe(plain.size)
        }
        for (const [k, v] of plain) expect(sharded.get(k)).toBe(v)
        expect(new Map(sharded.entries())).toEqual(plain)
        expect([...sharded.values()].sort()).toEqual([...plain.values()].sort())
      }),
      { numRuns: 300, seed: SEED },
    )
  })
})
