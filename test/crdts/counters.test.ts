import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, GCounter, PNCounter, type GCounterState } from '../../crdts/index.js'

const inc = (s: GCounterState, actor: string, n?: number): GCounterState => GCounter.merge(s, GCounter.increment(s, actor, n))

describe('GCounter', () => {
  it('sums per-actor totals and returns only the actor total as delta', () => {
    let s = inc(GCounter.empty(), 'a')
    s = inc(s, 'b', 5)
    s = inc(s, 'a', 2)
    expect(GCounter.value(s)).toBe(8)
    expect(GCounter.increment(s, 'a', 4)).toEqual({ actors: ['a'], counts: [7] })
  })

  it('keeps the per-actor maximum, so duplicated deltas count once', () => {
    const s = GCounter.empty()
    const d1 = GCounter.increment(s, 'a', 3)
    const s1 = GCounter.merge(s, d1)
    const d2 = GCounter.increment(s1, 'a', 1)
    const replica = GCounter.merge(GCounter.merge(GCounter.merge(GCounter.empty(), d2), d1), d2)
    expect(GCounter.value(replica)).toBe(4)
  })

  it('produces an empty delta for a zero increment of an unknown actor', () => {
    expect(GCounter.equals(GCounter.increment(GCounter.empty(), 'a', 0), GCounter.empty())).toBe(true)
    expect(GCounter.encode(GCounter.increment(GCounter.empty(), 'a', 0))).toEqual(Uint8Array.from([1, 1, 0]))
  })

  it('rejects bad amounts and actors with RangeError (TypeError for a non-string actor)', () => {
    const s = GCounter.empty()
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, '1' as never]) {
      expect(() => GCounter.increment(s, 'a', bad)).toThrow(RangeError)
    }
    expect(() => GCounter.increment(s, '')).toThrow(RangeError)
    expect(() => GCounter.increment(s, 'é'.repeat(129))).toThrow(RangeError)
    expect(() => GCounter.increment(s, '\ud800')).toThrow(RangeError)
    expect(() => GCounter.increment(s, null as never)).toThrow(TypeError)
    expect(GCounter.value(GCounter.increment(s, 'é'.repeat(128)))).toBe(1)
  })

  it('refuses to pass Number.MAX_SAFE_INTEGER for one actor', () => {
    const s = inc(GCounter.empty(), 'a', Number.MAX_SAFE_INTEGER - 1)
    const full = inc(s, 'a')
    expect(GCounter.value(full)).toBe(Number.MAX_SAFE_INTEGER)
    expect(() => GCounter.increment(full, 'a')).toThrow(RangeError)
    expect(GCounter.value(GCounter.decode(GCounter.encode(full)))).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('encodes 50 actors canonically and compactly', () => {
    let a = GCounter.empty()
    let b = GCounter.empty()
    const actors = Array.from({ length: 50 }, (_, i) => `12D3KooW-peer-${i}`)
    for (const actor of actors) a = inc(a, actor, 3)
    for (const actor of [...actors].reverse()) b = inc(b, actor, 3)
    expect(GCounter.encode(a)).toEqual(GCounter.encode(b))
    // Per actor: length byte, id, one count byte.
    expect(GCounter.encode(a).length).toBe(3 + actors.reduce((n, x) => n + 2 + x.length, 0))
  })

  it('rejects zero entries, unsorted actors and a wrong tag', () => {
    expect(() => GCounter.decode(Uint8Array.from([1, 1, 1, 1, 97, 0]))).toThrow(/zero/)
    expect(() => GCounter.decode(Uint8Array.from([1, 1, 2, 1, 98, 1, 1, 97, 1]))).toThrow(/ascending/)
    expect(() => GCounter.decode(Uint8Array.from([1, 1, 2, 1, 97, 1, 1, 97, 1]))).toThrow(/ascending/)
    expect(() => GCounter.decode(Uint8Array.from([2, 1, 0, 0]))).toThrow(CrdtDecodeError)
    expect(() => GCounter.decode(Uint8Array.from([1, 2, 0]))).toThrow(/version/)
  })
})

describe('PNCounter', () => {
  it('counts increments minus decrements, also below zero', () => {
    let s = PNCounter.empty()
    s = PNCounter.merge(s, PNCounter.increment(s, 'a', 3))
    s = PNCounter.merge(s, PNCounter.decrement(s, 'b', 5))
    s = PNCounter.merge(s, PNCounter.decrement(s, 'a'))
    expect(PNCounter.value(s)).toBe(-3)
    expect(PNCounter.decrement(s, 'a', 2)).toEqual({ p: GCounter.empty(), n: { actors: ['a'], counts: [3] } })
  })

  it('rejects bad amounts with RangeError', () => {
    expect(() => PNCounter.decrement(PNCounter.empty(), 'a', -1)).toThrow(RangeError)
    expect(() => PNCounter.increment(PNCounter.empty(), 'a', 0.5)).toThrow(RangeError)
  })
})
