// The OR-set's merge takes a shortcut for a small delta joining a large state (an add or a
// remove: O(k log n) plus one array copy, not a pass over every element). It must give
// exactly what the linear join gives, including when the shortcut has to be refused (the
// delta's context names a dot held by an element the delta does not carry). Seeded.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import { mergeLinear } from '../../crdts/orset.js'
import { chunksOf } from '../../crdts/orset-chunks.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261205)
const ACTORS = ['a', 'b', 'c'] as const

const op = fc.record({
  replica: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('add', 'add', 'remove', 'sync'),
  element: fc.integer({ min: 0, max: 60 }),
  from: fc.integer({ min: 0, max: 2 }),
})

/** Three replicas after a random history; every delta made along the way. */
function history(ops: readonly { replica: number; kind: string; element: number; from: number }[]): { states: ORSetState[]; deltas: ORSetState[] } {
  const states: ORSetState[] = [ORSet.empty(), ORSet.empty(), ORSet.empty()]
  const deltas: ORSetState[] = []
  for (const o of ops) {
    const s = states[o.replica]!
    if (o.kind === 'sync') {
      states[o.replica] = mergeLinear(s, states[o.from]!)
      continue
    }
    const delta = o.kind === 'add' ? ORSet.add(s, ACTORS[o.replica]!, `e${o.element}`) : ORSet.remove(s, `e${o.element}`)
    deltas.push(delta)
    states[o.replica] = mergeLinear(s, delta)
  }
  return { states, deltas }
}

const bytes = (s: ORSetState): string => Buffer.from(ORSet.encode(s)).toString('hex')

describe(`OR-set merge of a small delta (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/orset-merge.test.ts)`, () => {
  it('equals the linear join for every state and delta of a random history, both ways round', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), (ops) => {
        const { states, deltas } = history(ops)
        for (const s of states) {
          for (const d of [...deltas, ...states]) {
            const expected = bytes(mergeLinear(s, d))
            expect(bytes(ORSet.merge(s, d))).toBe(expected)
            expect(bytes(ORSet.merge(d, s))).toBe(expected)
          }
        }
      }),
      { numRuns: 60, seed: SEED },
    )
  })

  it('applyRemove equals merging the remove delta', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 60 }), (ops, element) => {
        for (const s of history(ops).states) {
          expect(bytes(ORSet.applyRemove(s, `e${element}`))).toBe(bytes(mergeLinear(s, ORSet.remove(s, `e${element}`))))
        }
      }),
      { numRuns: 100, seed: SEED },
    )
  })

  it('joins one add into 20,000 elements reading the keys of one chunk, not all (the linear join reads every one)', () => {
    // 20,000 adds of one actor, built in one pass (joining them one by one copies the set each time).
    let seen: ORSetState = ORSet.empty()
    const entries: ORSetState['entries'][number][] = []
    for (let i = 0; i < 20_000; i++) {
      const delta = ORSet.add(seen, 'a', `p${String(i).padStart(6, '0')}`)
      entries.push(delta.entries[0]!)
      seen = { entries: [], context: mergeLinear(seen, { entries: [], context: delta.context }).context }
    }
    const state: ORSetState = { entries, context: seen.context }
    expect(ORSet.decode(ORSet.encode(state)).entries).toHaveLength(20_000)
    let keyReads = 0
    const counted: ORSetState = {
      context: state.context,
      entries: state.entries.map((entry) => new Proxy(entry, { get: (t, p, r) => (p === 'key' && keyReads++, Reflect.get(t, p, r)) })),
    }
    // A state built from plain entries is cut into chunks (crdts/orset-chunks.ts) by its first
    // join, once: one pass over its keys. Joins then copy one chunk of ~256 elements.
    keyReads = 0
    chunksOf(counted)
    expect(keyReads).toBeGreaterThanOrEqual(20_000)
    const chunks = chunksOf(counted).length
    expect(chunks).toBeGreaterThan(20)
    for (const [delta, label] of [[ORSet.add(state, 'b', 'p010000x'), 'a new element'], [ORSet.add(state, 'b', 'p010000'), 'an element it holds']] as const) {
      keyReads = 0
      const joined = ORSet.merge(counted, delta)
      const largestChunk = Math.max(...chunksOf(counted).map((c) => c.length))
      expect(keyReads, label).toBeLessThan(4 * largestChunk + 64)
      expect(keyReads, label).toBeLessThan(2_500)
      keyReads = 0
      mergeLinear(counted, delta)
      expect(keyReads, label).toBeGreaterThan(20_000)
      expect(bytes(joined), label).toBe(bytes(mergeLinear(state, delta)))
    }
  })
})
