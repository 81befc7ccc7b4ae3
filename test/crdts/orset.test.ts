import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, InvalidValueError, ORSet, type ORSetState } from '../../crdts/index.js'
import { encodePage, endsPage, joinPaging, pageORSet } from '../../crdts/orset-pages.js'
import { chunksOf } from '../../crdts/orset-chunks.js'

const apply = (s: ORSetState, delta: ORSetState): ORSetState => ORSet.merge(s, delta)
const add = (s: ORSetState, actor: string, e: Parameters<typeof ORSet.add>[2]): ORSetState => apply(s, ORSet.add(s, actor, e))
const remove = (s: ORSetState, e: Parameters<typeof ORSet.remove>[1]): ORSetState => apply(s, ORSet.remove(s, e))

describe('ORSet', () => {
  it('keeps an element when an add and a remove of it are concurrent (add wins)', () => {
    const base = add(ORSet.empty(), 'a', 'x')
    const removedAtA = remove(base, 'x')
    // b has seen the first add and adds x again without seeing the remove.
    const readdedAtB = add(base, 'b', 'x')
    expect(ORSet.has(ORSet.merge(removedAtA, readdedAtB), 'x')).toBe(true)
    expect(ORSet.has(ORSet.merge(readdedAtB, removedAtA), 'x')).toBe(true)
  })

  it('keeps an element added concurrently on a replica that never saw it', () => {
    const atA = remove(add(ORSet.empty(), 'a', 'x'), 'x')
    const atB = add(ORSet.empty(), 'b', 'x')
    expect(ORSet.value(ORSet.merge(atA, atB))).toEqual(['x'])
  })

  it('removes an element whose add the remove observed', () => {
    const atA = add(ORSet.empty(), 'a', 'x')
    const atB = remove(ORSet.merge(ORSet.empty(), atA), 'x')
    expect(ORSet.has(ORSet.merge(atA, atB), 'x')).toBe(false)
    expect(ORSet.has(ORSet.merge(atB, atA), 'x')).toBe(false)
  })

  it('removes an element only through its delta, even when the delta arrives before the add', () => {
    const atA = add(ORSet.empty(), 'a', 'x')
    const removal = ORSet.remove(atA, 'x')
    const c = ORSet.merge(ORSet.empty(), removal)
    expect(ORSet.has(ORSet.merge(c, ORSet.add(ORSet.empty(), 'a', 'x')), 'x')).toBe(false)
  })

  it('shows an element again after a re-add that follows its remove', () => {
    let s = add(ORSet.empty(), 'a', { id: 1 })
    s = remove(s, { id: 1 })
    expect(ORSet.has(s, { id: 1 })).toBe(false)
    s = add(s, 'b', { id: 1 })
    expect(ORSet.has(s, { id: 1 })).toBe(true)
    expect(ORSet.value(s)).toEqual([{ id: 1 }])
  })

  it('treats elements with the same canonical JSON as one element', () => {
    let s = add(ORSet.empty(), 'a', { b: 1, a: [1, 2] })
    s = add(s, 'a', { a: [1, 2], b: 1 })
    expect(ORSet.value(s)).toEqual([{ a: [1, 2], b: 1 }])
    expect(ORSet.has(s, -0)).toBe(false)
    s = add(s, 'a', -0)
    expect(ORSet.has(s, 0)).toBe(true)
    s = remove(s, { b: 1, a: [1, 2] })
    expect(ORSet.value(s)).toEqual([0])
  })

  it('returns elements sorted by canonical JSON', () => {
    let s = ORSet.empty()
    for (const e of ['b', 10, 'a', 2, null, [1], { z: 0 }, true]) s = add(s, 'a', e)
    expect(ORSet.value(s)).toEqual(['"a"', '"b"', '10', '2', '[1]', 'null', 'true', '{"z":0}'].map((t) => JSON.parse(t)))
  })

  it('keeps no tombstones: 10,000 add/remove cycles of one element leave a small state', () => {
    let s = ORSet.empty()
    for (let i = 0; i < 10_000; i++) {
      s = add(s, i % 2 === 0 ? 'node-a' : 'node-b', 'x')
      s = remove(s, 'x')
    }
    expect(ORSet.value(s)).toEqual([])
    // Two context entries (actor, contiguous counter) and no element: a tombstone per remove
    // would take at least 10,000 bytes.
    expect(ORSet.encode(s).length).toBeLessThan(64)
    s = add(s, 'node-a', 'x')
    expect(ORSet.encode(s).length).toBeLessThan(64)
  })

  it('keeps the context compact when deltas arrive out of order', () => {
    let source = ORSet.empty()
    const deltas: ORSetState[] = []
    for (let i = 0; i < 50; i++) {
      const d = ORSet.add(source, 'a', i)
      deltas.push(d)
      source = ORSet.merge(source, d)
    }
    let replica = ORSet.empty()
    for (const d of deltas.reverse()) replica = ORSet.merge(replica, d)
    expect(ORSet.equals(replica, source)).toBe(true)
    expect(replica.context.get('a')).toEqual({ contiguous: 50, cloud: [] })
  })

  it('returns a delta holding only the new dot and the superseded dots', () => {
    let s = add(ORSet.empty(), 'a', 'x')
    s = ORSet.merge(s, add(ORSet.empty(), 'b', 'x'))
    for (let i = 0; i < 100; i++) s = add(s, 'a', `other-${i}`)
    const delta = ORSet.add(s, 'c', 'x')
    expect(delta.entries.map((e) => [e.key, e.dots])).toEqual([['"x"', [{ actor: 'c', counter: 1 }]]])
    expect([...delta.context.entries()].sort()).toEqual([
      ['a', { contiguous: 1, cloud: [] }],
      ['b', { contiguous: 1, cloud: [] }],
      ['c', { contiguous: 1, cloud: [] }],
    ])
    expect(ORSet.remove(s, 'absent').entries).toEqual([])
    expect(ORSet.remove(s, 'absent').context.size).toBe(0)
  })

  it('does not let later changes to a caller object reach into the state', () => {
    const element = { list: [1, 2] }
    const s = add(ORSet.empty(), 'a', element)
    element.list.push(3)
    expect(ORSet.value(s)).toEqual([{ list: [1, 2] }])
    expect(Object.isFrozen(ORSet.value(s)[0])).toBe(true)
  })

  it('validates elements and actors', () => {
    expect(() => ORSet.add(ORSet.empty(), 'a', undefined as never)).toThrow(InvalidValueError)
    expect(() => ORSet.remove(ORSet.empty(), { d: new Date() } as never)).toThrow(InvalidValueError)
    expect(() => ORSet.add(ORSet.empty(), '', 'x')).toThrow(RangeError)
    expect(() => ORSet.add(ORSet.empty(), 'x'.repeat(257), 'x')).toThrow(RangeError)
    expect(() => ORSet.add(ORSet.empty(), 5 as never, 'x')).toThrow(TypeError)
  })

  it('rejects encodings whose dots lie outside the context or tag two elements', () => {
    const valid = ORSet.encode(add(add(ORSet.empty(), 'a', 'x'), 'a', 'y'))
    // Layout (format version 2): tag, version, context (1 actor, "a", contiguous 2, no cloud),
    // then one page: its length 18, its actor table (1 actor, "a"), 2 elements, "\"x\"" with 1
    // dot (0, 1), "\"y\"" with 1 dot (0, 2).
    expect([...valid]).toEqual([3, 2, 1, 1, 97, 2, 0, 18, 1, 1, 97, 2, 3, 34, 120, 34, 1, 0, 1, 3, 34, 121, 34, 1, 0, 2])
    const outside = valid.slice()
    outside[25] = 3
    expect(() => ORSet.decode(outside)).toThrow(/outside the causal context/)
    const shared = valid.slice()
    shared[25] = 1
    expect(() => ORSet.decode(shared)).toThrow(/tags two elements/)
    const unsorted = Uint8Array.from([3, 2, 1, 1, 97, 2, 0, 18, 1, 1, 97, 2, 3, 34, 121, 34, 1, 0, 1, 3, 34, 120, 34, 1, 0, 2])
    expect(() => ORSet.decode(unsorted)).toThrow(/ascending/)
    const foreignActor = Uint8Array.from([3, 2, 1, 1, 97, 2, 0, 18, 1, 1, 98, 2, 3, 34, 120, 34, 1, 0, 1, 3, 34, 121, 34, 1, 0, 2])
    expect(() => ORSet.decode(foreignActor)).toThrow(/not in the causal context/)
    const unusedActor = Uint8Array.from([3, 2, 2, 1, 97, 2, 0, 1, 98, 1, 0, 20, 2, 1, 97, 1, 98, 2, 3, 34, 120, 34, 1, 0, 1, 3, 34, 121, 34, 1, 0, 2])
    expect(() => ORSet.decode(unusedActor)).toThrow(/tags no element/)
    const emptyPage = Uint8Array.from([3, 2, 1, 1, 97, 2, 0, 2, 0, 0])
    expect(() => ORSet.decode(emptyPage)).toThrow(CrdtDecodeError)
    const nonCanonicalJson = Uint8Array.from([3, 2, 1, 1, 97, 1, 0, 11, 1, 1, 97, 1, 3, 49, 46, 48, 1, 0, 1]) // "1.0"
    expect(() => ORSet.decode(nonCanonicalJson)).toThrow(/canonical/)
  })

  it('cuts pages after the elements that end pages, and decodes only that cut', () => {
    // "e41" and "e97" end pages (orset-pages.ts endsPage); "e5" and "e6" do not.
    expect([endsPage('"e41"'), endsPage('"e97"'), endsPage('"e5"'), endsPage('"e6"')]).toEqual([true, true, false, false])
    let s = ORSet.empty()
    for (const e of ['e41', 'e5', 'e6', 'e97']) s = add(s, 'a', e)
    // Sorted: "e41" | "e5" "e6" "e97" | — two pages, the second ending with "e97".
    const paging = pageORSet(s)
    expect(chunksOf(s).map((c) => c.map((e) => e.key))).toEqual([['"e41"'], ['"e5"', '"e6"', '"e97"']])
    expect(paging.pages).toHaveLength(2)
    const bytes = ORSet.encode(s)
    expect(bytes).toEqual(joinPaging(paging))
    expect(ORSet.equals(ORSet.decode(bytes), s)).toBe(true)
    // The same elements in one page: "e41" would stand inside it.
    const onePage = joinPaging({ prefix: paging.prefix, pages: [encodePage(s.entries, 0, s.entries.length)] })
    expect(() => ORSet.decode(onePage)).toThrow(/inside a page/)
    // "e5" cut off into a page of its own: that page ends with an element that does not end pages.
    const split = ORSet.encode(ORSet.applyRemove(s, 'e6'))
    expect(ORSet.decode(split).entries.map((e) => e.key)).toEqual(['"e41"', '"e5"', '"e97"'])
  })

  it('still decodes format version 1 (states written before pages), strictly', () => {
    const v1 = Uint8Array.from([3, 1, 1, 1, 97, 2, 0, 2, 3, 34, 120, 34, 1, 0, 1, 3, 34, 121, 34, 1, 0, 2])
    const decoded = ORSet.decode(v1)
    expect(ORSet.value(decoded)).toEqual(['x', 'y'])
    expect(ORSet.encode(decoded)[1]).toBe(2)
    const shared = v1.slice()
    shared[21] = 1
    expect(() => ORSet.decode(shared)).toThrow(/tags two elements/)
    const unsorted = Uint8Array.from([3, 1, 1, 1, 97, 2, 0, 2, 3, 34, 121, 34, 1, 0, 1, 3, 34, 120, 34, 1, 0, 2])
    expect(() => ORSet.decode(unsorted)).toThrow(/ascending/)
    expect(() => ORSet.decode(Uint8Array.from([3, 3, 0]))).toThrow(/version 3/)
  })
})
