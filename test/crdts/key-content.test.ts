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
  encodeContent,
  joinContent,
  resolveContent,
  singleContent,
  visibleEntries,
  type ContentEntry,
  type CrdtTypeName,
  type KeyContent,
} from '../../crdts/index.js'
import { SPECS, type AnySpec } from './specs.js'
import { planArb, runPlan } from './universe.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261204)
const RUNS = 200

/** One shared history per type (states of unrelated histories could reuse dots). */
const pools: Map<CrdtTypeName, unknown[]> = new Map(
  SPECS.map((spec: AnySpec) => {
    const [plan] = fc.sample(planArb(spec, 40), { seed: SEED, numRuns: 1 })
    return [spec.crdt.name, runPlan(spec, plan!).pool]
  }),
)

const contentArb: fc.Arbitrary<KeyContent> = fc
  .subarray(['gcounter', 'pncounter', 'orset', 'lww'] as CrdtTypeName[], { minLength: 1 })
  .chain((types) =>
    fc.tuple(
      ...types.map((type) => {
        const pool = pools.get(type) as unknown[]
        return fc.record({ state: fc.constantFrom(...pool), tombstone: fc.option(fc.constantFrom(...pool), { nil: undefined }) }).map(
          ({ state, tombstone }): ContentEntry => (tombstone === undefined ? { type, state } : { type, state, tombstone }),
        )
      }),
    ),
  )

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
