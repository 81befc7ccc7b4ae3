// Range narrowing (range-narrowing.ts) and the range queries it rests on (sync-ranges.ts):
// binary-searched slices agree with a plain inRange filter, aggregates with the XOR of
// the keys' fingerprints, splits partition a range, and narrowing finds every difference
// in ranges of a few keys, or stops when nearly everything differs.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ArcIndex, keyFingerprint, type IndexedKey } from '../../src/cluster/anti-entropy/arc-index.js'
import { sharingPlan } from '../../src/cluster/anti-entropy/arc-hashes.js'
import { LEAF_KEYS, narrowDifferences, splitRange, SPLIT_PARTS } from '../../src/cluster/anti-entropy/range-narrowing.js'
import { keysInRange, rangeHash } from '../../src/cluster/anti-entropy/sync-ranges.js'
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
        expect(rangeHash(index, ring, range, accept)).toEqual(xorOf(expected))
      }),
      { numRuns: 500, seed: SEED },
    )
  })

  it('a split partitions the range into parts of near-equal key counts, never between keys at one position', () => {
    const keyAt = (p: bigint, i: number): IndexedKey => ({ key: `x${i}`, position: p, digest: new Uint8Array(16) })
    fc.assert(
      fc.property(position, position, fc.array(position, { maxLength: 200 }), fc.integer({ min: 2, max: 16 }), (start, end, raw, parts) => {
        const range = { start, end }
        // Some keys share a position, as 64-bit collisions would.
        const inside = raw.filter((p) => inRange(range, p))
        const keys = [...inside, ...inside.slice(0, 3)].map(keyAt)
        const split = splitRange(range, keys, parts)
        expect(split.length).toBeLessThanOrEqual(parts)
        expect(split[0]!.range.start).toBe(start)
        expect(split[split.length - 1]!.range.end).toBe(end)
        for (let i = 1; i < split.length; i++) expect(split[i]!.range.start).toBe(split[i - 1]!.range.end)
        for (const key of keys) {
          const holders = split.filter((p) => inRange(p.range, key.position))
          expect(holders).toHaveLength(1)
          expect(holders[0]!.keys).toContain(key)
        }
        expect(split.reduce((n, p) => n + p.keys.length, 0)).toBe(keys.length)
        if (new Set(keys.map((k) => k.position)).size === keys.length && keys.length >= parts) {
          expect(split).toHaveLength(parts)
          for (const p of split) expect(p.keys.length).toBeLessThanOrEqual(Math.ceil(keys.length / parts))
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
      keysOf: (r) => [...keysInRange(mine, ring, r, all)],
      hashOf: (r) => rangeHash(mine, ring, r, all),
      compare: async (ranges, hashes) => {
        compared += ranges.length
        return ranges.map((r, i) => !rangeHash(theirs, ring, r, all).every((b, j) => b === hashes[i]![j]))
      },
    })
    for (const r of narrowed) expect(r.keys.length).toBeLessThanOrEqual(LEAF_KEYS)
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
      keysOf: (r) => [...keysInRange(mine, ring, r, all)],
      hashOf: (r) => rangeHash(mine, ring, r, all),
      compare: async (ranges) => {
        requests++
        return ranges.map(() => true)
      },
    })
    expect(requests).toBe(1)
    expect(narrowed).toHaveLength(SPLIT_PARTS)
    expect(narrowed.reduce((n, r) => n + r.keys.length, 0)).toBe(5000)
  })
})
