// OR-set states are kept in chunks (crdts/orset-chunks.ts) and encoded in pages, one per
// chunk (crdts/orset-pages.ts), so that a write copies and re-encodes only the chunks it
// touched. After any add, remove or merge, the chunks must be exactly those cut from the
// state's entries from scratch (the bytes, and so the digests, are the same on every node
// however the state was reached), sharing the chunks it did not touch. Seeded.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import { mergeLinear } from '../../crdts/orset.js'
import { chunksOf, cutChunks } from '../../crdts/orset-chunks.js'
import { encodePage, endsPage, joinPaging, pageORSet, splitPagedORSet, type ORSetPaging } from '../../crdts/orset-pages.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
const ACTORS = ['a', 'b', 'c'] as const

// Elements drawn from a pool where one in four ends a page (one in 256 among all strings),
// so small sets have many pages and every boundary case comes up.
const POOL: string[] = (() => {
  const ends: string[] = []
  const others: string[] = []
  for (let i = 0; ends.length < 40 || others.length < 120; i++) {
    const e = `e${i}`
    if (endsPage(JSON.stringify(e))) {
      if (ends.length < 40) ends.push(e)
    } else if (others.length < 120) others.push(e)
  }
  return [...ends, ...others]
})()

const op = fc.record({
  replica: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('add', 'add', 'add', 'remove', 'sync'),
  element: fc.integer({ min: 0, max: POOL.length - 1 }),
  from: fc.integer({ min: 0, max: 2 }),
})

const hex = (paging: ORSetPaging): string => Buffer.from(joinPaging(paging)).toString('hex')

describe(`OR-set pages (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/orset-pages.test.ts)`, () => {
  it('after each add, remove and merge the chunks are those cut from scratch, untouched ones shared', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), (ops) => {
        const states: ORSetState[] = [ORSet.empty(), ORSet.empty(), ORSet.empty()]
        for (const o of ops) {
          const before = states[o.replica]!
          let after: ORSetState
          if (o.kind === 'sync') after = ORSet.merge(before, states[o.from]!)
          else if (o.kind === 'add') after = ORSet.merge(before, ORSet.add(before, ACTORS[o.replica]!, POOL[o.element]!))
          else after = o.from === 0 ? ORSet.merge(before, ORSet.remove(before, POOL[o.element]!)) : ORSet.applyRemove(before, POOL[o.element]!)
          const chunks = chunksOf(after)
          // The same cut as from the entries, element by element.
          expect(chunks.map((c) => c.map((e) => e.key))).toEqual(cutChunks(after.entries, 0, after.entries.length).map((c) => c.map((e) => e.key)))
          expect(chunks.flat()).toEqual(after.entries)
          // The pages (memoized per chunk) are each chunk's encoding, and the state's bytes those pages.
          const paging = pageORSet(after)
          expect(paging.pages.map((p) => hex({ prefix: new Uint8Array(0), pages: [p] }))).toEqual(chunks.map((c) => Buffer.from(encodePage(c, 0, c.length).bytes).toString('hex')))
          expect(hex(paging)).toBe(Buffer.from(ORSet.encode({ entries: [...after.entries], context: after.context })).toString('hex'))
          // A page of values after any element is the slice of all values after it, and size the count.
          const start = POOL[(o.element * 7) % POOL.length]!
          const limit = o.from * 5 + 1
          expect(ORSet.valuesAfter(after, start, limit)).toEqual(ORSet.value(after).filter((v) => JSON.stringify(v) > JSON.stringify(start)).slice(0, limit))
          expect(ORSet.valuesAfter(after, undefined, limit)).toEqual(ORSet.value(after).slice(0, limit))
          expect(ORSet.size(after)).toBe(after.entries.length)
          // One add or remove replaces at most two chunks (the element's, and the next when the element ended its chunk).
          if (o.kind === 'add' || (o.kind === 'remove' && o.from !== 0)) {
            const old = chunksOf(before)
            expect(chunks.filter((c) => !old.includes(c)).length).toBeLessThanOrEqual(2)
          }
          states[o.replica] = after
        }
        // Every replica decodes to what it holds; merged, they agree byte for byte.
        for (const s of states) expect(ORSet.equals(ORSet.decode(ORSet.encode(s)), s)).toBe(true)
        const all = states.reduce((x, y) => mergeLinear(x, y))
        const other = [...states].reverse().reduce((x, y) => ORSet.merge(x, y))
        expect(Buffer.from(ORSet.encode(all)).equals(Buffer.from(ORSet.encode(other)))).toBe(true)
      }),
      { seed: SEED, numRuns: 200 },
    )
  })

  it('decodes a state into chunks whose pages are the bytes it read', () => {
    let s = ORSet.empty()
    for (const e of POOL.slice(0, 80)) s = ORSet.merge(s, ORSet.add(s, 'a', e))
    const bytes = ORSet.encode(s)
    const decoded = ORSet.decode(bytes)
    expect(chunksOf(decoded).length).toBe(pageORSet(s).pages.length)
    expect(Buffer.from(joinPaging(pageORSet(decoded))).equals(Buffer.from(bytes))).toBe(true)
    expect(ORSet.value(decoded)).toEqual(ORSet.value(s))
  })

  it('splits a state into its prefix and pages by their lengths alone', () => {
    let s = ORSet.empty()
    for (const e of POOL.slice(0, 60)) s = ORSet.merge(s, ORSet.add(s, 'a', e))
    const paging = pageORSet(s)
    expect(paging.pages.length).toBeGreaterThan(5)
    const split = splitPagedORSet(joinPaging(paging))
    expect(split?.prefix).toEqual(paging.prefix)
    expect(split?.pages).toEqual(paging.pages.map((p) => p.bytes))
    expect(splitPagedORSet(Uint8Array.from([3, 1, 0, 0]))).toBeUndefined()
    expect(splitPagedORSet(Uint8Array.from([3, 2, 0, 9, 1]))).toBeUndefined()
  })
})
