// The pure parts of anti-entropy: ring versions, shared arcs, arc groups, and the ranges
// one exchange covers.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arcOf, ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { RING_SIZE } from '../../src/cluster/ring/hash.js'
import { groupArcs, groupHashes, matchGroups, rootOf, sharedArcs, sharingPlan } from '../../src/cluster/anti-entropy/arc-hashes.js'
import { ringVersionOf } from '../../src/cluster/ring/ring-version.js'
import { buildRing, inRange, preferenceListAt, type Ring, type RingRange } from '../../src/cluster/ring/ring.js'
import { arcsInRange, RangeCover, rangesFromWire, rangesToWire, selectRanges, spanAtMostOnce } from '../../src/cluster/anti-entropy/sync-ranges.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

const position = fc.bigInt(0n, RING_SIZE - 1n)
const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 })
const ringOf = (members: readonly string[], vnodes = 2): Ring => buildRing(members.map((id) => ({ id, vnodes })))

async function indexWith(ring: Ring, keys: readonly string[]): Promise<ArcIndex> {
  const store = new InMemoryStore()
  if (keys.length > 0) {
    await store.write({ keys: keys.map((key) => ({ key, type: 'gcounter' as const, state: new Uint8Array([1, 2]), hlc: new Uint8Array(8) })) })
  }
  const index = new ArcIndex()
  index.rebuild(ring, store)
  return index
}

describe('ringVersionOf', () => {
  it('depends on the set of (id, vnodes), not on order', () => {
    const a = ringVersionOf([{ id: 'x', vnodes: 3 }, { id: 'y', vnodes: 4 }])
    expect(a).toHaveLength(16)
    expect(ringVersionOf([{ id: 'y', vnodes: 4 }, { id: 'x', vnodes: 3 }])).toEqual(a)
    expect(ringVersionOf([{ id: 'x', vnodes: 3 }, { id: 'y', vnodes: 5 }])).not.toEqual(a)
    expect(ringVersionOf([{ id: 'x', vnodes: 3 }])).not.toEqual(a)
    // Length-prefixed ids: "ab"+"c" is not "a"+"bc".
    expect(ringVersionOf([{ id: 'ab' }, { id: 'c' }])).not.toEqual(ringVersionOf([{ id: 'a' }, { id: 'bc' }]))
  })
})

describe('sharedArcs', () => {
  it('is exactly the arcs whose n-member preference list holds both members, and symmetric', () => {
    fc.assert(
      fc.property(ids, fc.integer({ min: 1, max: 4 }), (members, n) => {
        const ring = ringOf(members)
        for (const self of members) {
          for (const peer of members) {
            if (peer === self) continue
            const shared = sharedArcs(ring, self, peer, n)
            expect(sharedArcs(ring, peer, self, n)).toEqual(shared)
            const expected: number[] = []
            for (let i = 0; i < ring.tokens.length; i++) {
              const list = preferenceListAt(ring, ring.tokens[i]!, n)
              if (list.includes(self) && list.includes(peer)) expected.push(i)
            }
            expect(shared).toEqual(expected)
          }
        }
      }),
    )
  })

  it('with n ≥ members shares every non-empty arc with every peer, as the walks would', () => {
    fc.assert(
      fc.property(ids, fc.integer({ min: 0, max: 2 }), (members, extra) => {
        fc.pre(members.length >= 2)
        const ring = ringOf(members, 3)
        const n = members.length + extra
        const plan = sharingPlan(ring, members[0]!, n)
        expect(plan.n).toBe(members.length)
        expect([...plan.peers.keys()].sort()).toEqual(members.slice(1).sort())
        const arcs = Array.from(ring.tokens.keys()).filter((i) => i === 0 || ring.tokens[i] !== ring.tokens[i - 1])
        for (const [peer, shared] of plan.peers) {
          expect(Array.from(shared)).toEqual(arcs)
          expect(sharedArcs(ring, peer, members[0]!, n)).toEqual(arcs)
        }
      }),
    )
  })

  it('plans nothing for a member off the ring or with n = 1', () => {
    const ring = ringOf(['a', 'b'])
    expect(sharingPlan(ring, 'z', 3).peers.size).toBe(0)
    expect(sharingPlan(ring, 'a', 1).peers.size).toBe(0)
    expect(sharingPlan(ring, 'a', 2).peers.get('b')).toHaveLength(ring.tokens.length)
  })
})

describe('arc groups', () => {
  it('cover the shared arcs in at most maxGroups runs, and the peer recovers them from the ends', async () => {
    const ring = ringOf(['a', 'b', 'c'], 8)
    const index = await indexWith(ring, Array.from({ length: 500 }, (_, i) => `g${i}`))
    const arcs = sharingPlan(ring, 'a', 2).peers.get('b')!
    for (const maxGroups of [1, 2, 7, 1024]) {
      const ends = groupArcs(arcs, (arc) => index.keyCount(arc), maxGroups)
      expect(ends.length).toBeLessThanOrEqual(maxGroups)
      expect(ends[ends.length - 1]).toBe(arcs.length)
      const hashes = groupHashes(ring, arcs, ends, index)
      expect(matchGroups(ring, arcs, hashes)).toEqual(ends)
    }
    // Ends that are not ends of our shared arcs, or that stop short: another view.
    const hashes = groupHashes(ring, arcs, groupArcs(arcs, () => 1, 1024), index)
    expect(matchGroups(ring, arcs, hashes.slice(0, -1))).toBeUndefined()
    expect(matchGroups(ring, arcs, [{ end: ring.tokens[arcs[0]!]! + 1n, hash: new Uint8Array(16) }])).toBeUndefined()
    expect(matchGroups(ring, arcs, [])).toBeUndefined()
  })

  it('root changes with any arc aggregate and with n', async () => {
    const ring = ringOf(['a', 'b'], 4)
    const arcs = sharingPlan(ring, 'a', 2).peers.get('b')!
    const empty = await indexWith(ring, [])
    const one = await indexWith(ring, ['k'])
    expect(rootOf(ring, arcs, empty, 2)).not.toEqual(rootOf(ring, arcs, one, 2))
    expect(rootOf(ring, arcs, empty, 2)).not.toEqual(rootOf(ring, arcs, empty, 3))
    expect(rootOf(ring, arcs, one, 2)).toEqual(rootOf(ring, arcs, await indexWith(ring, ['k']), 2))
  })

  it('root is SHA-256 over n, the arc count and each (end token, aggregate), big-endian: peers of any version agree', async () => {
    const ring = ringOf(['a', 'b', 'c'], 8)
    const index = await indexWith(ring, Array.from({ length: 300 }, (_, i) => `r${i}`))
    for (const n of [2, 3]) {
      const arcs = sharingPlan(ring, 'a', n).peers.get('b')!
      const buf = Buffer.alloc(8 + arcs.length * 24)
      buf.writeUInt32BE(n, 0)
      buf.writeUInt32BE(arcs.length, 4)
      arcs.forEach((arc, k) => {
        buf.writeBigUInt64BE(ring.tokens[arc]!, 8 + k * 24)
        Buffer.from(index.arcHash(arc)).copy(buf, 16 + k * 24)
      })
      const expected = createHash('sha256').update('rumordb:anti-entropy-root:v1\0', 'utf8').update(buf).digest().subarray(0, 16)
      expect(Buffer.from(rootOf(ring, arcs, index, n))).toEqual(expected)
    }
  })
})

describe('ranges', () => {
  const ring = ringOf(['a', 'b', 'c'], 1)
  const range = fc.record({ start: position, end: position })

  it('travel as (start, end) pairs', () => {
    const ranges: RingRange[] = [{ start: 5n, end: 9n }, { start: RING_SIZE - 1n, end: 3n }]
    expect(rangesFromWire(rangesToWire(ranges))).toEqual(ranges)
    expect(rangesFromWire([1n])).toBeUndefined()
    expect(spanAtMostOnce(ranges)).toBe(true)
    expect(spanAtMostOnce([{ start: 0n, end: 0n }])).toBe(true)
    expect(spanAtMostOnce([{ start: 0n, end: 0n }, { start: 1n, end: 2n }])).toBe(false)
    expect(spanAtMostOnce([{ start: 0n, end: RING_SIZE / 2n + 1n }, { start: 0n, end: RING_SIZE / 2n }])).toBe(false)
  })

  it('arcsInRange lists exactly the arcs holding positions of the range, whole ones only when wholly inside', () => {
    fc.assert(
      fc.property(range, fc.array(position, { maxLength: 40 }), (r, probes) => {
        const spans = arcsInRange(ring, r)
        const byArc = new Map(spans.map((s) => [s.arc, s.partial]))
        expect(byArc.size).toBe(spans.length)
        for (const p of [...probes, r.start, r.end, r.start + 1n < RING_SIZE ? r.start + 1n : 0n, ...ring.tokens]) {
          const arc = arcOf(ring, p)
          if (inRange(r, p)) expect(byArc.has(arc)).toBe(true)
          else if (byArc.get(arc) === false) throw new Error(`arc ${arc} marked whole but ${p} is outside ${r.start}..${r.end}`)
        }
      }),
    )
  })

  it('RangeCover answers inRange on the admitted arcs', () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), fc.array(position, { maxLength: 40 }), (ranges, probes) => {
        const accept = (arc: number): boolean => arc % 2 === 0
        const cover = new RangeCover(ring, ranges, accept)
        for (const p of [...probes, ...ranges.flatMap((r) => [r.start, r.end]), ...ring.tokens]) {
          const expected = accept(arcOf(ring, p)) && ranges.some((r) => inRange(r, p))
          expect(cover.has(p)).toBe(expected)
        }
      }),
    )
  })

  it('successive selections from the cursor list every key of the arcs, in batches, and cover them', async () => {
    const keys = Array.from({ length: 700 }, (_, i) => `s${i}`)
    const index = await indexWith(ring, keys)
    const arcs = [...Array(ring.tokens.length).keys()].filter((a) => a % 3 !== 1)
    const inArcs = keys.filter((k) => arcs.includes(arcOf(ring, index.get(k)!.position)))
    expect(inArcs.length).toBeGreaterThan(200)
    for (const [batch, maxRanges] of [[64, 512], [1000, 512], [50, 1]] as const) {
      let cursor = 0n
      const listed: string[] = []
      for (let round = 0; round < 100; round++) {
        const sel = selectRanges(index, ring, arcs, cursor, batch, maxRanges)
        expect(sel.entries.length).toBeLessThanOrEqual(batch)
        expect(sel.ranges.length).toBeLessThanOrEqual(maxRanges)
        const cover = new RangeCover(ring, sel.ranges, () => true)
        // The ranges hold exactly the listed keys among ours in those arcs.
        expect(inArcs.filter((k) => cover.has(index.get(k)!.position)).sort()).toEqual(sel.entries.map((e) => e.key).sort())
        listed.push(...sel.entries.map((e) => e.key))
        cursor = sel.cursor
        if (sel.complete || new Set(listed).size === inArcs.length) break
      }
      expect(new Set(listed)).toEqual(new Set(inArcs))
      // One cycle: only the last batch may run on past where the first began.
      expect(listed.length).toBeLessThanOrEqual(inArcs.length + batch)
    }
  })

  it('selects nothing for no arcs and everything in one range for the whole ring', async () => {
    const index = await indexWith(ring, ['x1', 'x2', 'x3'])
    expect(selectRanges(index, ring, [], 0n, 10, 10)).toEqual({ ranges: [], entries: [], cursor: 0n, complete: true })
    const all = [...Array(ring.tokens.length).keys()]
    const sel = selectRanges(index, ring, all, 12345n, 10, 10)
    expect(sel.complete).toBe(true)
    expect(sel.ranges).toEqual([{ start: 12345n, end: 12345n }])
    expect(sel.entries).toHaveLength(3)
  })
})
