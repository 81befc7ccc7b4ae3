// The pieces sync status is built from, without a cluster: the arc index numbers committed
// changes per arc, and the unreconciled-key list is bounded, logs each new entry once at
// warn, and clears per (key, peer).
import { describe, expect, it } from 'vitest'
import { GCounter } from '../../crdts/index.js'
import { arcOf, ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { keyPosition } from '../../src/cluster/ring/hash.js'
import { buildRing } from '../../src/cluster/ring/ring.js'
import { UnreconciledKeys } from '../../src/cluster/anti-entropy/unreconciled.js'
import { recordingLogger, type RecordedLine } from '../../src/base/logger.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

const ring = buildRing([{ id: 'a', vnodes: 4 }, { id: 'b', vnodes: 4 }])
const ringWithC = buildRing([{ id: 'a', vnodes: 4 }, { id: 'b', vnodes: 4 }, { id: 'c', vnodes: 4 }])

function counter(n: number): Uint8Array {
  return GCounter.encode(GCounter.increment(GCounter.empty(), 'a', n))
}

async function put(store: InMemoryStore, index: ArcIndex, key: string, n: number): Promise<void> {
  await store.write({ keys: [{ key, type: 'gcounter', state: counter(n), hlc: new Uint8Array(8) }] })
  index.update(key)
}

/** Two keys in different arcs. */
function keysInTwoArcs(): [string, string] {
  const first = 'k0'
  const other = Array.from({ length: 100 }, (_, i) => `k${i + 1}`).find((k) => arcOf(ring, keyPosition(k)) !== arcOf(ring, keyPosition(first)))!
  return [first, other]
}

describe('ArcIndex change numbers', () => {
  it('a changed digest takes the next number in its arc only; an unchanged one takes none', async () => {
    const store = new InMemoryStore()
    const index = new ArcIndex()
    index.rebuild(ring, store)
    const [p, q] = keysInTwoArcs()
    const [arcP, arcQ] = [arcOf(ring, keyPosition(p)), arcOf(ring, keyPosition(q))]
    const start = index.changeSeq
    await put(store, index, p, 1)
    expect(index.changeSeq).toBe(start + 1)
    expect(index.lastChange(arcP)).toBe(start + 1)
    expect(index.lastChange(arcQ)).toBe(start)
    await put(store, index, p, 1)
    expect(index.changeSeq).toBe(start + 1)
    await put(store, index, q, 2)
    expect(index.lastChangeIn(Uint32Array.of(arcP))).toBe(start + 1)
    expect(index.lastChangeIn(Uint32Array.of(arcP, arcQ))).toBe(start + 2)
  })

  it('re-filing under a ring with other tokens marks every arc changed', async () => {
    const store = new InMemoryStore()
    const index = new ArcIndex()
    index.rebuild(ring, store)
    await put(store, index, 'k0', 1)
    const before = index.changeSeq
    index.setRing(ringWithC)
    const all = Uint32Array.from(ringWithC.tokens.keys())
    expect(index.changeSeq).toBeGreaterThan(before)
    for (const arc of all) expect(index.lastChange(arc)).toBe(index.changeSeq)
  })
})

describe('UnreconciledKeys', () => {
  function list(limit?: number): { keys: UnreconciledKeys; lines: RecordedLine[]; sizes: number[] } {
    const lines: RecordedLine[] = []
    const sizes: number[] = []
    let now = 1000
    const keys = new UnreconciledKeys({ now: () => now++, logger: recordingLogger(lines), limit, onSize: (n) => sizes.push(n) })
    return { keys, lines, sizes }
  }

  it('logs a new entry at warn once; a repeat refreshes its reason at debug and keeps its first time', () => {
    const { keys, lines } = list()
    keys.add('k', 'p', 'merge failed: one')
    keys.add('k', 'p', 'merge failed: two')
    expect(keys.list()).toEqual([{ key: 'k', peer: 'p', reason: 'merge failed: two', since: 1000 }])
    expect(lines.map((l) => l.level)).toEqual(['warn', 'debug'])
    expect(lines[0]).toMatchObject({ fields: { key: 'k', peer: 'p', reason: 'merge failed: one' } })
  })

  it('is per (key, peer): clearing with one peer leaves the other', () => {
    const { keys, lines } = list()
    keys.add('k', 'p', 'r')
    keys.add('k', 'q', 'r')
    keys.clear('k', 'p')
    keys.clear('k', 'p')
    expect(keys.list().map((u) => u.peer)).toEqual(['q'])
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(1)
    keys.clearWhere('q', (key) => key === 'k')
    expect(keys.size).toBe(0)
  })

  it('keeps at most `limit` entries, the newest (a repeated failure counts as new)', () => {
    const { keys, sizes } = list(3)
    for (const k of ['a', 'b', 'c']) keys.add(k, 'p', 'r')
    keys.add('a', 'p', 'again')
    keys.add('d', 'p', 'r')
    expect(keys.list().map((u) => u.key)).toEqual(['c', 'a', 'd'])
    expect(sizes[sizes.length - 1]).toBe(3)
  })

  it('drops the entries of peers that no longer share ranges', () => {
    const { keys } = list()
    keys.add('k', 'gone', 'r')
    keys.add('k', 'here', 'r')
    keys.retainPeers(new Set(['here']))
    expect(keys.list().map((u) => u.peer)).toEqual(['here'])
  })
})
