// Hints of one key for one owner go as one delta, their join (src/cluster/handoff/hint-groups.ts).
import { describe, expect, it } from 'vitest'
import { decodeRecord, GCounter, ORSet, PNCounter, type GCounterState, type ORSetState } from '../../crdts/index.js'
import { groupHints } from '../../src/cluster/handoff/hint-groups.js'
import type { StoredHint } from '../../src/store/store.js'

let id = 0
function hint(key: string, state: Uint8Array): StoredHint {
  return { id: ++id, target: 'owner', key, type: 'gcounter', state, createdAt: 1000 + id }
}

describe('groupHints', () => {
  it('joins the hints of each key into one delta the owner merges to the same state, keeping every hint with its group', () => {
    let counter = GCounter.empty()
    const counterHints: StoredHint[] = []
    for (let i = 0; i < 5; i++) {
      const delta = GCounter.increment(counter, 'writer', 2)
      counter = GCounter.merge(counter, delta)
      counterHints.push(hint('hits', GCounter.encode(delta)))
    }
    let set = ORSet.empty() as ORSetState
    const setHints: StoredHint[] = []
    for (const element of ['a', 'b', 'a']) {
      const delta = ORSet.add(set, 'writer', element)
      set = ORSet.merge(set, delta)
      setHints.push(hint('tags', ORSet.encode(delta)))
    }
    const removal = ORSet.remove(set, 'b')
    set = ORSet.merge(set, removal)
    setHints.push(hint('tags', ORSet.encode(removal)))
    const lone = hint('other', PNCounter.encode(PNCounter.decrement(PNCounter.empty(), 'writer', 1)))
    const groups = groupHints([counterHints[0]!, setHints[0]!, ...counterHints.slice(1), lone, ...setHints.slice(1)])

    expect(groups.map((g) => g.key)).toEqual(['hits', 'tags', 'other'])
    expect(groups.map((g) => g.hints.length)).toEqual([5, 4, 1])
    expect(GCounter.value(decodeRecord(groups[0]!.state).content[0]!.state as GCounterState)).toBe(10)
    expect(ORSet.value(decodeRecord(groups[1]!.state).content[0]!.state as ORSetState)).toEqual(['a'])
    expect(ORSet.equals(decodeRecord(groups[1]!.state).content[0]!.state as ORSetState, set)).toBe(true)
    expect(groups[2]!.state).toBe(lone.state)
  })

  it('hands a key whose hints do not all decode over hint by hint, as they are', () => {
    const good = hint('k', GCounter.encode(GCounter.increment(GCounter.empty(), 'w', 1)))
    const bad = hint('k', new Uint8Array([1, 2, 3]))
    const groups = groupHints([good, bad])
    expect(groups).toEqual([
      { key: 'k', state: good.state, hints: [good] },
      { key: 'k', state: bad.state, hints: [bad] },
    ])
  })
})
