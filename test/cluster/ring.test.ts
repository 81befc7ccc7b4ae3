import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_VNODES, TOKENS_PER_VNODE } from '../../src/cluster/ring/constants.js'
import { MAX_VNODES } from '../../src/wire/limits.js'
import { InvalidRingError } from '../../src/cluster/ring/errors.js'
import { keyPosition, RING_SIZE } from '../../src/cluster/ring/hash.js'
import {
  buildRing,
  inRange,
  ownership,
  preferenceList,
  preferenceListAt,
  rangesOf,
  successors,
  type Ring,
  type RingRange,
} from '../../src/cluster/ring/ring.js'
import { primaryMovement } from './ring-helpers.js'

const memberId = fc.string({ minLength: 1, maxLength: 24 })
const membership = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.integer({ min, max }).chain((m) => fc.uniqueArray(memberId, { minLength: m, maxLength: m }))
const ringOf = (ids: readonly string[]): Ring => buildRing(ids.map((id) => ({ id, vnodes: DEFAULT_VNODES })))
const position = fc.bigInt(0n, RING_SIZE - 1n)

function maxOverMean(ring: Ring): number {
  return Math.max(...ownership(ring).values()) * ring.members.length
}

function rangeLength(range: RingRange): bigint {
  const length = (range.end - range.start + RING_SIZE) % RING_SIZE
  return length === 0n ? RING_SIZE : length
}

describe('keyPosition', () => {
  it('is the first 8 bytes of SHA-256, big-endian', () => {
    // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 ...
    expect(keyPosition('')).toBe(0xe3b0c44298fc1c14n)
    // SHA-256("abc") = ba7816bf 8f01cfea ...
    expect(keyPosition('abc')).toBe(0xba7816bf8f01cfean)
  })
})

describe('buildRing', () => {
  it('places vnodes × TOKENS_PER_VNODE sorted tokens per member, default vnodes when omitted', () => {
    const ring = buildRing([{ id: 'a' }, { id: 'b', vnodes: 3 }])
    expect(ring.members).toEqual(['a', 'b'])
    expect(ring.tokens.length).toBe((DEFAULT_VNODES + 3) * TOKENS_PER_VNODE)
    for (let i = 1; i < ring.tokens.length; i++) expect(ring.tokens[i - 1]! <= ring.tokens[i]!).toBe(true)
    expect(ring.owners.filter((o) => o === 1).length).toBe(3 * TOKENS_PER_VNODE)
  })

  it('leaves members with zero vnodes off the ring', () => {
    const ring = buildRing([{ id: 'a', vnodes: 0 }, { id: 'b', vnodes: 1 }])
    expect(ring.members).toEqual(['b'])
    expect(preferenceList(ring, 'k', 3)).toEqual(['b'])
  })

  it('refuses duplicate ids and out-of-range vnodes', () => {
    expect(() => buildRing([{ id: 'a' }, { id: 'a' }])).toThrow(InvalidRingError)
    expect(() => buildRing([{ id: 'a', vnodes: 0 }, { id: 'a' }])).toThrow(InvalidRingError)
    expect(() => buildRing([{ id: 'a', vnodes: -1 }])).toThrow(InvalidRingError)
    expect(() => buildRing([{ id: 'a', vnodes: 1.5 }])).toThrow(InvalidRingError)
    expect(() => buildRing([{ id: 'a', vnodes: MAX_VNODES + 1 }])).toThrow(InvalidRingError)
  })

  it('answers empty for an empty membership', () => {
    const ring = buildRing([])
    expect(preferenceList(ring, 'k', 3)).toEqual([])
    expect([...successors(ring, 'k')]).toEqual([])
    expect(ownership(ring).size).toBe(0)
    expect(rangesOf(ring, 'a', 3)).toEqual([])
  })

  it('is the same ring for any input order', () => {
    fc.assert(
      fc.property(
        membership(1, 20).chain((ids) => fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids, { minLength: ids.length }))),
        fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
        ([ids, shuffled], keys) => {
          const a = ringOf(ids)
          const b = ringOf(shuffled)
          expect(b.members).toEqual(a.members)
          // Byte comparison: deep equality over 10k-element typed arrays is slow.
          expect(Buffer.from(b.tokens.buffer).equals(Buffer.from(a.tokens.buffer))).toBe(true)
          expect(Buffer.from(b.owners.buffer).equals(Buffer.from(a.owners.buffer))).toBe(true)
          for (const key of keys) expect(preferenceList(b, key, 3)).toEqual(preferenceList(a, key, 3))
        },
      ),
      { numRuns: 50 },
    )
  })

  it('builds a 64-member ring in milliseconds', () => {
    const members = Array.from({ length: 64 }, (_, i) => ({ id: `12D3KooWpeer${i}` }))
    const times: number[] = []
    for (let i = 0; i < 7; i++) {
      const start = performance.now()
      buildRing(members)
      times.push(performance.now() - start)
    }
    times.sort((a, b) => a - b)
    // Typically ~4 ms on a loaded 2-core machine; the bound only catches a complexity regression.
    expect(times[3]).toBeLessThan(100)
  })
})

describe('balance (exact arc lengths, strict bounds)', () => {
  it('the most loaded of 3..64 members owns at most 1.3× the mean share', () => {
    fc.assert(
      fc.property(membership(3, 64), (ids) => {
        expect(maxOverMean(ringOf(ids))).toBeLessThanOrEqual(1.3)
      }),
      { numRuns: 60 },
    )
  })

  it('holds at 64 members, the hardest case', () => {
    fc.assert(
      fc.property(fc.uniqueArray(memberId, { minLength: 64, maxLength: 64 }), (ids) => {
        expect(maxOverMean(ringOf(ids))).toBeLessThanOrEqual(1.3)
      }),
      { numRuns: 40 },
    )
  })

  it('ownership sums to 1 and matches where sampled keys land', () => {
    const ring = ringOf(['a', 'b', 'c', 'd', 'e'])
    const shares = ownership(ring)
    expect([...shares.values()].reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12)
    const counts = new Map<string, number>()
    const keys = 20_000
    for (let i = 0; i < keys; i++) {
      const owner = preferenceList(ring, `key-${i}`, 1)[0]!
      counts.set(owner, (counts.get(owner) ?? 0) + 1)
    }
    // σ of a sampled share is ≤ 0.0036 here; 0.015 is > 4σ, and the keys are fixed.
    for (const [id, share] of shares) expect(Math.abs((counts.get(id) ?? 0) / keys - share)).toBeLessThan(0.015)
  })

  it('gives a member with twice the vnodes about twice the share', () => {
    const ring = buildRing([{ id: 'big', vnodes: 256 }, ...['a', 'b', 'c', 'd'].map((id) => ({ id, vnodes: 128 }))])
    const shares = ownership(ring)
    expect(shares.get('big')! / shares.get('a')!).toBeGreaterThan(1.6)
    expect(shares.get('big')! / shares.get('a')!).toBeLessThan(2.5)
  })
})

describe('membership changes', () => {
  it('a join moves at most 1.5× the ideal 1/(m+1) of keys, all to the joiner', () => {
    fc.assert(
      fc.property(membership(3, 64), memberId, (ids, joiner) => {
        fc.pre(!ids.includes(joiner))
        const before = ringOf(ids)
        const movement = primaryMovement(before, ringOf([...ids, joiner]))
        expect(movement.moved).toBeLessThanOrEqual(1.5 / (ids.length + 1))
        for (const [, to] of movement.changes) expect(to).toBe(joiner)
        // Consistent hashing moves exactly the joiner's share, no more.
        expect(movement.moved).toBeCloseTo(ownership(ringOf([...ids, joiner])).get(joiner)!, 12)
      }),
      { numRuns: 50 },
    )
  })

  it("a removed member's keys move only to others, and nobody else's move", () => {
    fc.assert(
      fc.property(
        membership(2, 40).chain((ids) => fc.tuple(fc.constant(ids), fc.constantFrom(...ids))),
        fc.array(fc.string(), { minLength: 20, maxLength: 50 }),
        fc.integer({ min: 1, max: 5 }),
        ([ids, leaver], keys, n) => {
          const before = ringOf(ids)
          const after = ringOf(ids.filter((id) => id !== leaver))
          for (const [from, to] of primaryMovement(before, after).changes) {
            expect(from).toBe(leaver)
            expect(to).not.toBe(leaver)
          }
          // Replica sets change minimally too: the survivors keep their order, and the
          // list is topped up from further clockwise.
          for (const key of keys) {
            const old = preferenceList(before, key, n)
            const now = preferenceList(after, key, n)
            expect(now).not.toContain(leaver)
            const survivors = old.filter((id) => id !== leaver)
            expect(now.slice(0, survivors.length)).toEqual(survivors)
          }
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('preference lists and successors', () => {
  it('lists min(n, members) distinct members, all members when n exceeds them', () => {
    fc.assert(
      fc.property(membership(1, 12), fc.string(), fc.integer({ min: 0, max: 15 }), (ids, key, n) => {
        const list = preferenceList(ringOf(ids), key, n)
        expect(list.length).toBe(Math.min(n, ids.length))
        expect(new Set(list).size).toBe(list.length)
        for (const id of list) expect(ids).toContain(id)
        if (n >= ids.length) expect([...list].sort()).toEqual([...ids].sort())
      }),
      { numRuns: 100 },
    )
  })

  it('starts with the primary owner, the member of the first token at or after the key', () => {
    const ring = ringOf(['a', 'b', 'c'])
    for (let i = 0; i < ring.tokens.length; i += 97) {
      const token = ring.tokens[i]!
      const owner = ring.members[ring.owners[i]!]!
      expect(preferenceListAt(ring, token, 1)).toEqual([owner])
      // One past the last token wraps to the first.
      if (i === ring.tokens.length - 1) expect(preferenceListAt(ring, token + 1n, 1)).toEqual([ring.members[ring.owners[0]!]])
    }
    expect(preferenceListAt(ring, RING_SIZE - 1n, 1)).toEqual([ring.members[ring.owners[0]!]])
  })

  it('refuses a negative or fractional n', () => {
    const ring = ringOf(['a'])
    expect(() => preferenceList(ring, 'k', -1)).toThrow(RangeError)
    expect(() => preferenceList(ring, 'k', 1.5)).toThrow(RangeError)
  })

  it('successors walk every member once, extend the preference list, and skip filtered ones', () => {
    fc.assert(
      fc.property(membership(1, 16), fc.string(), fc.func(fc.boolean()), (ids, key, suspected) => {
        const ring = ringOf(ids)
        const walk = [...successors(ring, key)]
        expect([...walk].sort()).toEqual([...ids].sort())
        expect(walk.slice(0, 3)).toEqual(preferenceList(ring, key, 3))
        const live = (id: string): boolean => !suspected(id)
        expect([...successors(ring, key, live)]).toEqual(walk.filter(live))
      }),
      { numRuns: 100 },
    )
  })

  it('successors are lazy: a sloppy quorum stops after the live nodes it needs', () => {
    const ring = ringOf(Array.from({ length: 10 }, (_, i) => `m${i}`))
    let asked = 0
    const fallback: string[] = []
    for (const id of successors(ring, 'k', () => (asked++, true))) {
      fallback.push(id)
      if (fallback.length === 2) break
    }
    expect(asked).toBe(2)
  })
})

describe('rangesOf', () => {
  it('contains exactly the positions whose n replicas include the member', () => {
    fc.assert(
      fc.property(
        membership(1, 10),
        fc.integer({ min: 1, max: 4 }),
        fc.array(position, { minLength: 20, maxLength: 40 }),
        (ids, n, randomPositions) => {
          const ring = buildRing(ids.map((id) => ({ id, vnodes: 4 })))
          const ranges = new Map(ids.map((id) => [id, rangesOf(ring, id, n)]))
          // Ranges are (start, end]: probe at, just after and just before token boundaries.
          const probes = [...randomPositions]
          for (let i = 0; i < ring.tokens.length; i += 3) {
            const t = ring.tokens[i]!
            probes.push(t, (t + 1n) % RING_SIZE, (t - 1n + RING_SIZE) % RING_SIZE)
          }
          for (const p of probes) {
            const replicas = preferenceListAt(ring, p, n)
            for (const id of ids) {
              expect(ranges.get(id)!.some((r) => inRange(r, p))).toBe(replicas.includes(id))
            }
          }
          // Each position has exactly min(n, m) replicas, so the lengths add up exactly.
          let total = 0n
          for (const list of ranges.values()) for (const r of list) total += rangeLength(r)
          expect(total).toBe(BigInt(Math.min(n, ids.length)) * RING_SIZE)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('returns disjoint ranges, and the whole ring when n covers every member', () => {
    const ring = ringOf(['a', 'b', 'c', 'd'])
    const whole = rangesOf(ring, 'a', 4)
    expect(whole).toHaveLength(1)
    expect(whole[0]!.start).toBe(whole[0]!.end)
    expect(rangesOf(ring, 'stranger', 2)).toEqual([])
    expect(rangesOf(ring, 'a', 0)).toEqual([])
    const ranges = rangesOf(ring, 'a', 2)
    let covered = 0n
    for (const r of ranges) covered += rangeLength(r)
    const overlaps = ranges.some((r, i) => ranges.some((s, j) => i !== j && inRange(s, r.end)))
    expect(overlaps).toBe(false)
    expect(covered < RING_SIZE).toBe(true)
  })
})

describe('inRange', () => {
  it('treats ranges as (start, end], wrapping, with start === end the whole ring', () => {
    expect(inRange({ start: 10n, end: 20n }, 10n)).toBe(false)
    expect(inRange({ start: 10n, end: 20n }, 11n)).toBe(true)
    expect(inRange({ start: 10n, end: 20n }, 20n)).toBe(true)
    expect(inRange({ start: 20n, end: 10n }, 5n)).toBe(true)
    expect(inRange({ start: 20n, end: 10n }, RING_SIZE - 1n)).toBe(true)
    expect(inRange({ start: 20n, end: 10n }, 15n)).toBe(false)
    expect(inRange({ start: 7n, end: 7n }, 123n)).toBe(true)
  })
})
