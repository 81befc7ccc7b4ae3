// A key with its expiry (crdts/key-record.ts): canonical bytes and strict decoding, the
// expiry-aware join (commutative and idempotent at a given time, an inflation of both
// sides), convergence of replicas that receive the same records in any order at any times
// once they exchange what they hold, and what expiring removes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CrdtDecodeError,
  decodeRecord,
  deleteContent,
  encodeContent,
  encodeRecord,
  expired,
  isDue,
  joinContent,
  joinRecords,
  recordEquals,
  setExpiry,
  singleContent,
  sweepAt,
  visibleEntries,
  crdtTypes,
  type Expiry,
  type KeyRecord,
} from '../../crdts/index.js'
import { contentUniverse } from './content-arb.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261205)
const RUNS = 200
const params = { seed: SEED, numRuns: RUNS }
const { arb: contentArb } = contentUniverse(SEED)

/** Expiry registers of a few writers over a short stretch of time: ties, renewals and "never". */
const expiryArb: fc.Arbitrary<Expiry> = fc
  .record({ wallMs: fc.integer({ min: 0, max: 10 }), logical: fc.integer({ min: 0, max: 2 }), actor: fc.constantFrom('alice', 'bob'), at: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }) })
  .map(({ wallMs, logical, actor, at }) => setExpiry(actor, at, { wallMs, logical }))

const recordArb: fc.Arbitrary<KeyRecord> = fc
  .record({ content: contentArb, expiry: fc.option(expiryArb, { nil: undefined }) })
  .map(({ content, expiry }) => (expiry === undefined ? { content } : { content, expiry }))
const nowArb = fc.integer({ min: 0, max: 14 })

const same = (a: KeyRecord, b: KeyRecord): boolean => recordEquals(a, b) && Buffer.compare(encodeRecord(a), encodeRecord(b)) === 0
/** The join a replica makes (Replica.merge): expiry-aware, then the key's own expiry applied when due. */
const merge = (a: KeyRecord, b: KeyRecord, now: number): KeyRecord => expired(joinRecords(a, b, now), now)

describe(`key record (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/key-record.test.ts)`, () => {
  it('round-trips through canonical bytes; a key without expiry keeps its content encoding', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const bytes = encodeRecord(r)
        expect(same(decodeRecord(bytes), r)).toBe(true)
        if (r.expiry === undefined) expect(Buffer.compare(bytes, encodeContent(r.content))).toBe(0)
      }),
      params,
    )
  })

  it('decoding is strict: cut, extended or mutated bytes throw CrdtDecodeError or decode to a record with the same bytes', () => {
    fc.assert(
      fc.property(recordArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (r, where, byte) => {
        const bytes = encodeRecord(r)
        for (const cut of [1, Math.floor(bytes.length / 2), bytes.length - 1]) expect(() => decodeRecord(bytes.subarray(0, cut))).toThrow(CrdtDecodeError)
        expect(() => decodeRecord(Uint8Array.of(...bytes, 0))).toThrow(CrdtDecodeError)
        const mutated = Uint8Array.from(bytes)
        mutated[where % bytes.length] = byte
        try {
          const back = decodeRecord(mutated)
          expect(Buffer.compare(encodeRecord(back), mutated)).toBe(0)
        } catch (err) {
          expect(err).toBeInstanceOf(CrdtDecodeError)
        }
      }),
      params,
    )
    // An expiry that is not a time, or an empty register, is refused.
    const content = singleContent('gcounter', crdtTypes.gcounter.increment(crdtTypes.gcounter.empty(), 'a', 1))
    const withText = encodeRecord({ content, expiry: crdtTypes.lww.set(null, 'a', 'soon', { wallMs: 1, logical: 0 }) as Expiry })
    expect(() => decodeRecord(withText)).toThrow(/not a time/)
  })

  it('at a given time the join is commutative, idempotent and an inflation of both sides', () => {
    fc.assert(
      fc.property(recordArb, recordArb, nowArb, (a, b, now) => {
        const ab = merge(a, b, now)
        expect(same(ab, merge(b, a, now))).toBe(true)
        expect(same(merge(a, a, now), expired(a, now))).toBe(true)
        // Joining either side again changes nothing: nothing of it is lost.
        expect(same(merge(ab, a, now), ab)).toBe(true)
        expect(same(merge(ab, b, now), ab)).toBe(true)
        // Later, the same: time only removes more.
        expect(same(merge(merge(ab, a, now + 1), ab, now + 1), merge(ab, a, now + 1))).toBe(true)
      }),
      params,
    )
  })

  it('what a due expiry removed stays removed, whatever is joined later (a renewal included)', () => {
    fc.assert(
      fc.property(recordArb, recordArb, nowArb, fc.nat({ max: 3 }), (r, b, now, later) => {
        fc.pre(isDue(r.expiry, now))
        const removed = deleteContent(r.content)
        // r as a replica stores it until its sweep: due, not yet removed.
        const result = merge(merge(r, b, now + later), r, now + later)
        expect(same({ ...result, content: joinContent(result.content, removed) }, result)).toBe(true)
      }),
      params,
    )
  })

  it('replicas that get the same records in any order, at any times, agree once they exchange what they hold', () => {
    const deliveries = fc.array(fc.tuple(fc.nat(), nowArb), { minLength: 1, maxLength: 12 })
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), fc.array(deliveries, { minLength: 3, maxLength: 3 }), nowArb, (records, plans, finalNow) => {
        // Each replica joins every record, in its own order, at non-decreasing times of its own clock.
        const states = plans.map((plan) => {
          const order = [...records.keys()].sort((x, y) => ((plan[x % plan.length]?.[0] ?? 0) - (plan[y % plan.length]?.[0] ?? 0)) || x - y)
          let now = 0
          let state: KeyRecord | undefined
          for (const [i, index] of order.entries()) {
            now = Math.max(now, plan[i % plan.length]?.[1] ?? 0)
            const r = records[index] as KeyRecord
            state = state === undefined ? expired(r, now) : merge(state, r, now)
          }
          return { state: state as KeyRecord, now }
        })
        // One exchange, each replica joining the others' states in its own order, at a time
        // no earlier than its own.
        const final = states.map((mine, i) => {
          let state = mine.state
          const now = Math.max(mine.now, finalNow)
          for (let k = 1; k < states.length; k++) state = merge(state, (states[(i + k) % states.length] as { state: KeyRecord }).state, now)
          return { state, now }
        })
        // Judged at one time (each reader's clock passes every expiry eventually).
        const at = Math.max(...final.map((f) => f.now))
        const seen = final.map((f) => expired(f.state, at))
        for (const s of seen) expect(same(s, seen[0] as KeyRecord)).toBe(true)
      }),
      params,
    )
  })

  it('an expiry removes what the key held, as a delete; a write after it shows; the sweep index follows what shows', () => {
    fc.assert(
      fc.property(recordArb, nowArb, (r, now) => {
        const e = expired(r, now)
        if (!isDue(r.expiry, now)) {
          expect(same(e, r)).toBe(true)
          return
        }
        expect(visibleEntries(e.content)).toEqual([])
        expect(same({ ...e, content: joinContent(e.content, deleteContent(r.content)) }, e)).toBe(true)
        expect(sweepAt(e)).toBeUndefined()
        // A write made after the expiry (it sets a newer register that does not expire) shows.
        const later: KeyRecord = { content: singleContent('gcounter', crdtTypes.gcounter.increment(crdtTypes.gcounter.empty(), 'zed', 1)), expiry: setExpiry('zed', null, { wallMs: 99, logical: 0 }) }
        const back = merge(e, later, now)
        expect(visibleEntries(back.content).map((x) => x.type)).toContain('gcounter')
        expect(isDue(back.expiry, 1000)).toBe(false)
      }),
      params,
    )
  })
})
