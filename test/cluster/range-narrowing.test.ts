// Range narrowing (range-narrowing.ts) and the range queries it rests on (sync-ranges.ts):
// binary-searched slices agree with a plain inRange filter, aggregates with the XOR of
// the keys' fingerprints, splits partition a range, and narrowing finds every difference
// in ranges of a few keys, or stops when nearly everything differs.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ArcIndex, clockwiseOffset, type IndexedKey } from '../../src/cluster/anti-entropy/arc-index.js'
import { keyFingerprint } from '../../src/base/key-hashes.js'
import { sharingPlan } from '../../src/cluster/anti-entropy/arc-hashes.js'
import { LEAF_KEYS, narrowDifferences, SPLIT_PARTS } from '../../src/cluster/anti-entropy/range-narrowing.js'
import { keyCountInRange, keysInRange, rangeHash, splitByKeys } from '../../src/cluster/anti-entropy/sync-ranges.js'
import { RING_SIZE } from '../../src/cluster/ring/hash.js'
import { buildRing, inRange, type Ring, type RingRange } from '../../src/cluster/ring/ring.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
const position = fc.bigInt(0n, RING_SIZE - 1n)

async function indexWith(ring: Ring, keys: readonly string[], stateOf: (key: string) => number = () => 1): Promise<ArcIndex> {
  const store = new InMemoryStore()
  if (keys.length > 0) {
    await store.write({ keys: keys.map((key) => ({ key, type: 'gcounter' as const, state: new Uint8Array([stateOf(key)]), hlc: new Uint8Array(8) })) })
  }
  const index = new ArcIndex()
  index.rebuild(ring, store)
  return index
}

function xorOf(keys: readonly IndexedKey[]): Uint8Array {
  const out = new Uint8Array(16)
  for (const k of keys) keyFingerprint(k.key, k.digest).forEach((b, i) => (out[i]! ^= b))
  return out
}

const sortKeys = (keys: Iterable<IndexedKey>): string[] => [...keys].map((k) => k.key).sort()

describe(`range queries and narrowing (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/cluster/range-narrowing.test.ts)`, () => {
  it('slices hold exactly the keys inRange on admitted arcs, and the aggregate is their XOR', async () => {
    const ring = buildRing(['a', 'b', 'c'].map((id) => ({ id, vnodes: 3 })))
    const keys = Array.from({ length: 600 }, (_, i) => `k${i}`)
    const index = await indexWith(ring, keys)
    const shared = new Set(sharingPlan(ring, 'a', 2).peers.get('b'))
    const accept = (arc: number): boolean => shared.has(arc)
    const all = keys.map((k) => index.get(k)!)
    // Bounds drawn from key positions and token positions as well: the edge cases.
    const bound = fc.oneof(position, fc.constantFrom(...ring.tokens), fc.constantFrom(...all.map((k) => k.position)))
    fc.assert(
      fc.property(bound, bound, (start, end) => {
        const range: RingRange = { start, end }
        const expected = all.filter((k) => inRange(range, k.position) && accept(index.arcOfKey(k.key)))
        const found = [...keysInRange(index, ring, range, accept)]
        expect(sortKeys(found)).toEqual(sortKeys(expected))
        expect(new Set(found.map((k) => k.key)).size).toBe(found.length)
        // Walk order is clockwise from the range's start, also for a range that wraps into one arc from both sides.
        const offsets = found.map((k) => clockwiseOffset(start, k.position))
        for (let i = 1; i < offsets.length; i++) expect(offsets[i]! >= offsets[i - 1]!).toBe(true)
        expect(rangeHash(index, ring, range, accept)).toEqual(xorOf(expected))
      }),
      { numRuns: 500, seed: SEED },
    )
  })

  it('a split partitions the range into parts of near-equal key counts, never between keys at one position', async () => {
    const ring = buildRing(['a', 'b'].map((id) => ({ id, vnodes: 2 })))
    const keys = Array.from({ length: 300 }, (_, i) => `s${i}`)
    const index = await indexWith(ring, keys)
    const all = keys.map((k) => index.get(k)!)
    const accept = (arc: number): boolean => arc % 3 !== 1
    const bound = fc.oneof(position, fc.constantFrom(...ring.tokens), fc.constantFrom(...all.map((k) => k.position)))
    fc.assert(
      fc.property(bound, bound, fc.integer({ min: 2, max: 16 }), (start, end, parts) => {
        const range = { start, end }
        const inside = all.filter((k) => inRange(range, k.position) && accept(index.arcOfKey(k.key)))
        const split = splitByKeys(index, ring, range, accept, parts)
        expect(split.length).toBeLessThanOrEqual(parts)
        expect(split[0]!.start).toBe(start)
        expect(split[split.length - 1]!.end).toBe(end)
        for (let i = 1; i < split.length; i++) expect(split[i]!.start).toBe(split[i - 1]!.end)
        const counts = split.map((p) => keyCountInRange(index, ring, p, accept))
        expect(counts.reduce((n, c) => n + c, 0)).toBe(inside.length)
        for (const key of inside) expect(split.filter((p) => inRange(p, key.position))).toHaveLength(1)
        if (inside.length >= parts) {
          expect(split).toHaveLength(parts)
          for (const c of counts) expect(c).toBeLessThanOrEqual(Math.ceil(inside.length / parts))
        }
      }),
      { numRuns: 500, seed: SEED },
    )
  })

  it('narrows sparse differences to ranges of at most LEAF_KEYS keys that hold every differing key', async () => {
    const ring = buildRing(['a', 'b'].map((id) => ({ id, vnodes: 4 })))
    const keys = Array.from({ length: 20_000 }, (_, i) => `n${i}`)
    const changed = new Set(['n7', 'n1999', 'n5000', 'n12345', 'n19999'])
    const mine = await indexWith(ring, keys)
    const theirs = await indexWith(ring, [...keys, 'only-theirs'], (k) => (changed.has(k) ? 2 : 1))
    const all = (): boolean => true
    let compared = 0
    const narrowed = await narrowDifferences([{ start: 0n, end: 0n }], {
      countOf: (r) => keyCountInRange(mine, ring, r, all),
      split: (r, parts) => splitByKeys(mine, ring, r, all, parts),
      hashOf: (r) => rangeHash(mine, ring, r, all),
      compare: async (ranges, hashes) => {
        compared += ranges.length
        return ranges.map((r, i) => !rangeHash(theirs, ring, r, all).every((b, j) => b === hashes[i]![j]))
      },
    })
    for (const r of narrowed) expect(r.count).toBeLessThanOrEqual(LEAF_KEYS)
    const differing = [...changed, 'only-theirs']
    for (const key of differing) expect(narrowed.some((r) => inRange(r.range, theirs.get(key)!.position))).toBe(true)
    // A few leaves per difference, compared in a handful of levels.
    expect(narrowed.length).toBeLessThanOrEqual(differing.length * 2)
    expect(compared).toBeLessThanOrEqual(differing.length * SPLIT_PARTS * 6)
  })

  it('stops splitting when nearly every part differs', async () => {
    const ring = buildRing(['a', 'b'].map((id) => ({ id, vnodes: 4 })))
    const keys = Array.from({ length: 5000 }, (_, i) => `d${i}`)
    const mine = await indexWith(ring, keys)
    const all = (): boolean => true
    let requests = 0
    const narrowed = await narrowDifferences([{ start: 0n, end: 0n }], {
      countOf: (r) => keyCountInRange(mine, ring, r, all),
      split: (r, parts) => splitByKeys(mine, ring, r, all, parts),
      hashOf: (r) => rangeHash(mine, ring, r, all),
      compare: async (ranges) => {
        requests++
        return ranges.map(() => true)
      },
    })
    expect(requests).toBe(1)
    expect(narrowed).toHaveLength(SPLIT_PARTS)
    expect(narrowed.reduce((n, r) => n + r.count, 0)).toBe(5000)
  })
})
