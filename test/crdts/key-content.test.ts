// The content of one key over every type (crdts/key-content.ts): the join laws, canonical
// bytes, strict decoding, and resolution by observed-remove, on states drawn from real
// histories of each type (test/crdts/universe.ts).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  contentEquals,
  CrdtDecodeError,
  crdtTypes,
  decodeContent,
  deleteContent,
  deletionDelta,
  encodeContent,
  everSeen,
  joinContent,
  resolveContent,
  singleContent,
  visibleEntries,
  type ContentEntry,
  type CrdtTypeName,
  type KeyContent,
} from '../../crdts/index.js'
import { contextHas } from '../../crdts/causal-context.js'
import type { ORSetState } from '../../crdts/orset.js'
import { contentUniverse } from './content-arb.js'
import { SPECS } from './specs.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261204)
const { pools, arb: contentArb } = contentUniverse(SEED)
const RUNS = 200

const same = (a: KeyContent, b: KeyContent): boolean => contentEquals(a, b) && Buffer.compare(encodeContent(a), encodeContent(b)) === 0
const params = { seed: SEED, numRuns: RUNS }

describe(`key content (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/key-content.test.ts)`, () => {
  it('join is commutative, associative and idempotent, with canonical bytes', () => {
    fc.assert(
      fc.property(contentArb, contentArb, contentArb, (a, b, c) => {
        expect(same(joinContent(a, b), joinContent(b, a))).toBe(true)
        expect(same(joinContent(joinContent(a, b), c), joinContent(a, joinContent(b, c)))).toBe(true)
        expect(same(joinContent(a, a), a)).toBe(true)
      }),
      params,
    )
  })

  it('round-trips through its encoding; a single type without tombstone keeps its own encoding', () => {
    fc.assert(
      fc.property(contentArb, (a) => {
        const bytes = encodeContent(a)
        expect(same(decodeContent(bytes), a)).toBe(true)
        const only = a[0] as ContentEntry
        if (a.length === 1 && only.tombstone === undefined) {
          expect(Buffer.compare(bytes, (crdtTypes[only.type] as { encode(s: unknown): Uint8Array }).encode(only.state))).toBe(0)
        }
      }),
      params,
    )
  })

  it('decoding is strict: truncated, reordered or non-canonical contents throw CrdtDecodeError only', () => {
    const conflict: KeyContent = [
      { type: 'gcounter', state: crdtTypes.gcounter.increment(crdtTypes.gcounter.empty(), 'a', 2) },
      { type: 'lww', state: crdtTypes.lww.empty() },
    ]
    const bytes = encodeContent(conflict)
    for (let cut = 1; cut < bytes.length; cut++) expect(() => decodeContent(bytes.subarray(0, cut))).toThrow(CrdtDecodeError)
    expect(() => decodeContent(Uint8Array.of(...bytes, 0))).toThrow(CrdtDecodeError)
    // One entry without a tombstone must be written as that type's own encoding.
    const lone = encodeContent([{ type: 'gcounter', state: crdtTypes.gcounter.empty(), tombstone: crdtTypes.gcounter.empty() }])
    const withoutTombstone = Uint8Array.of(...lone.subarray(0, 4), 0, ...lone.subarray(5, 5 + 1 + (lone[5] as number)))
    expect(() => decodeContent(withoutTombstone)).toThrow(CrdtDecodeError)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        try {
          decodeContent(Uint8Array.of(0x10, 1, ...garbage))
        } catch (err) {
          expect(err).toBeInstanceOf(CrdtDecodeError)
        }
      }),
      params,
    )
  })

  it('resolving keeps one type and hides the others as observed; a later write of a removed type shows again', () => {
    fc.assert(
      fc.property(contentArb, fc.nat(), (content, pick) => {
        const visible = visibleEntries(content)
        fc.pre(visible.length > 0)
        const keep = (visible[pick % visible.length] as ContentEntry).type
        const resolved = resolveContent(content, keep)
        expect(visibleEntries(resolved).map((e) => e.type)).toEqual([keep])
        // Joining the resolution with what it observed changes nothing (idempotent remove).
        expect(same(joinContent(resolved, content), resolved)).toBe(true)
        // A write of a removed type that the resolver had not seen makes it visible again.
        for (const entry of content) {
          if (entry.type === keep || entry.type === 'lww') continue
          const crdt = crdtTypes[entry.type] as { merge(a: unknown, b: unknown): unknown; increment?: unknown }
          const later =
            entry.type === 'orset'
              ? crdtTypes.orset.merge(entry.state as never, crdtTypes.orset.add(entry.state as never, 'zed', 'late'))
              : crdt.merge(entry.state, (crdtTypes[entry.type] as typeof crdtTypes.gcounter).increment(entry.state as never, 'zed', 1))
          const back = joinContent(resolved, singleContent(entry.type, later))
          expect(visibleEntries(back).map((e) => e.type)).toContain(entry.type)
        }
      }),
      params,
    )
  })
})

/** What a reader sees of one type's state `later` after a delete that had observed `seen`, computed from the states themselves. */
function expectedAfterDelete(type: CrdtTypeName, seen: unknown, later: unknown): unknown {
  const joined = (crdtTypes[type] as { merge(a: unknown, b: unknown): unknown }).merge(seen, later)
  switch (type) {
    case 'gcounter':
    case 'pncounter': {
      // Each actor's total beyond what the delete saw of it.
      const beyond = (s: { actors: readonly string[]; counts: readonly number[] }, base: { actors: readonly string[]; counts: readonly number[] }): number =>
        s.actors.reduce((sum, actor, i) => {
          const j = base.actors.indexOf(actor)
          return sum + Math.max(0, (s.counts[i] as number) - (j < 0 ? 0 : (base.counts[j] as number)))
        }, 0)
      if (type === 'gcounter') return beyond(joined as never, seen as never)
      const j = joined as { p: never; n: never }
      const b = seen as { p: never; n: never }
      return beyond(j.p, b.p) - beyond(j.n, b.n)
    }
    case 'orset': {
      // Elements with a dot the delete had not seen.
      const ctx = (seen as ORSetState).context
      return (joined as ORSetState).entries.filter((e) => e.dots.some((d) => !contextHas(ctx, d.actor, d.counter))).map((e) => e.value)
    }
    case 'lww': {
      const s = seen as { timestamp: { wallMs: number; logical: number }; actor: string } | null
      const j = joined as { timestamp: { wallMs: number; logical: number }; actor: string; value: unknown } | null
      if (j === null) return undefined
      const after = s === null || j.timestamp.wallMs > s.timestamp.wallMs || (j.timestamp.wallMs === s.timestamp.wallMs && (j.timestamp.logical > s.timestamp.logical || (j.timestamp.logical === s.timestamp.logical && j.actor > s.actor)))
      return after ? j.value : undefined
    }
  }
}

describe(`delete of a key (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/key-content.test.ts)`, () => {
  it('removes every type as observed: nothing is visible, and joining what it saw changes nothing', () => {
    fc.assert(
      fc.property(contentArb, (content) => {
        const deleted = deleteContent(content)
        expect(visibleEntries(deleted)).toEqual([])
        expect(same(joinContent(deleted, content), deleted)).toBe(true)
        expect(same(deleteContent(deleted), deleted)).toBe(true)
        // The delta a delete sends does the same on a replica that holds what it saw.
        expect(same(joinContent(content, deletionDelta(content)), deleted)).toBe(true)
        expect(same(decodeContent(encodeContent(deleted)), deleted)).toBe(true)
      }),
      params,
    )
  })

  it('a write the delete had not seen survives it, and only that write shows', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SPECS.map((s) => s.crdt.name)), fc.nat(), fc.nat(), (type, i, j) => {
        const pool = pools.get(type) as unknown[]
        const seen = pool[i % pool.length]
        const later = pool[j % pool.length]
        const deleted = deleteContent(singleContent(type, seen))
        const after = joinContent(deleted, singleContent(type, later))
        const expected = expectedAfterDelete(type, seen, later)
        const visible = visibleEntries(after)
        const crdt = crdtTypes[type] as { value(s: unknown): unknown }
        const empty = type === 'orset' ? (expected as unknown[]).length === 0 : type === 'lww' ? expected === undefined : false
        if (visible.length === 0) {
          // Invisible only when nothing came after the delete.
          expect(empty || expected === 0).toBe(true)
        } else {
          expect(crdt.value(visible[0]!.state)).toEqual(expected)
        }
        // A session token's write is still found in what the key has seen.
        const witnessing = crdtTypes[type] as { witness(s: unknown): Uint8Array; covers(s: unknown, w: Uint8Array): boolean }
        expect(witnessing.covers(everSeen(after, type), witnessing.witness(later))).toBe(true)
      }),
      params,
    )
  })

  it("a delete's tombstone does not grow with the key's elements or history", () => {
    let set = crdtTypes.orset.empty()
    for (let i = 0; i < 2000; i++) set = crdtTypes.orset.merge(set, crdtTypes.orset.add(set, i % 2 === 0 ? 'alice' : 'bob', `element number ${i}`))
    const bytes = encodeContent(deletionDelta(singleContent('orset', set)))
    expect(bytes.length).toBeLessThan(64)
    const register = crdtTypes.lww.set(null, 'alice', 'x'.repeat(10_000), { wallMs: 5, logical: 0 })
    expect(encodeContent(deleteContent(singleContent('lww', register))).length).toBeLessThan(60)
  })

  it('decoding is strict about tombstones: one holding elements or a value, or a state holding what it removed, is refused', () => {
    const set = crdtTypes.orset.merge(crdtTypes.orset.empty(), crdtTypes.orset.add(crdtTypes.orset.empty(), 'alice', 'x'))
    const good = encodeContent(deleteContent(singleContent('orset', set)))
    expect(visibleEntries(decodeContent(good))).toEqual([])
    const setBytes = crdtTypes.orset.encode(set)
    const framed = (state: Uint8Array, tombstone: Uint8Array, version = 2): Uint8Array =>
      Uint8Array.of(0x10, version, 1, crdtTypes.orset.tag, 1, state.length, ...state, tombstone.length, ...tombstone)
    // The whole set as tombstone (version 2 allows only its causal context).
    expect(() => decodeContent(framed(setBytes, setBytes))).toThrow(CrdtDecodeError)
    // A state that still holds the element its tombstone removed.
    const tomb = crdtTypes.orset.encode({ entries: [], context: set.context })
    expect(() => decodeContent(framed(setBytes, tomb))).toThrow(CrdtDecodeError)
    // Version 1 kept whole states as tombstones: read as the tombstone of that state.
    expect(same(decodeContent(framed(setBytes, setBytes, 1)), deleteContent(singleContent('orset', set)))).toBe(true)
  })
})
