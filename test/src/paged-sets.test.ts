// A replica keeps OR-sets in pages (crdts/orset-pages.ts, src/replica/paged-states.ts): a
// write stores the pages it changed, the store's digest of a set is the same whichever way
// a replica reached it, and a set stored in the older whole format is written again in
// pages when a merge finds the store's digest is not the current encoding's.
import { describe, expect, it } from 'vitest'
import { createEncoder, ORSet, toUint8Array, writeString, writeUint8, writeVarUint, type ORSetState } from '../../crdts/index.js'
import { systemClock } from '../../src/base/clock.js'
import { Replica } from '../../src/replica/replica.js'
import { stateDigest } from '../../src/store/digest.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import type { StoredKey } from '../../src/store/store.js'

const clock = systemClock
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const pageDigests = (stored: StoredKey | undefined): string[] => stored?.paged?.pages.map((p) => hex(p.digest)) ?? []

/** Format version 1 of a set that only `actor` wrote, elements in order (crdts/orset.ts before pages). */
function versionOne(actor: string, elements: string[]): Uint8Array {
  const keys = elements.map((e) => JSON.stringify(e)).sort()
  const enc = createEncoder()
  writeUint8(enc, 3)
  writeUint8(enc, 1)
  writeVarUint(enc, 1)
  writeString(enc, actor)
  writeVarUint(enc, keys.length)
  writeVarUint(enc, 0)
  writeVarUint(enc, keys.length)
  keys.forEach((key, i) => {
    writeString(enc, key)
    writeVarUint(enc, 1)
    writeVarUint(enc, 0)
    writeVarUint(enc, i + 1)
  })
  return toUint8Array(enc)
}

describe('OR-sets in pages, through a replica', () => {
  it('an add or a remove on a set of 20,000 elements changes at most two of its pages in the store', async () => {
    const store = new InMemoryStore()
    const replica = new Replica({ store, clock, actor: 'node-a' })
    // 20,000 adds of node-z, built at once: entries in key order, dot i + 1 each.
    const keys = Array.from({ length: 20_000 }, (_, i) => JSON.stringify(`e${i}`)).sort()
    const big: ORSetState = ORSet.decode(versionOne('node-z', keys.map((k) => JSON.parse(k) as string)))
    await replica.merge('set', ORSet.encode(big))
    const before = pageDigests(store.getKey('set'))
    expect(before.length).toBeGreaterThan(40)
    for (const op of [{ op: 'add', element: 'new element' }, { op: 'remove', element: 'e777' }, { op: 'add', element: 'e777' }] as const) {
      const previous = pageDigests(store.getKey('set'))
      await replica.apply('set', { type: 'orset', ...op })
      const stored = store.getKey('set') as StoredKey
      const now = pageDigests(stored)
      expect(now.filter((d) => !previous.includes(d)).length).toBeLessThanOrEqual(2)
      // What the store holds is the set's encoding, and its digest that encoding's.
      const state = replica.readTyped('set', 'orset') as ORSetState
      const encoded = ORSet.encode(state)
      expect(Buffer.from(stored.state).equals(Buffer.from(encoded))).toBe(true)
      expect(stored.digest).toEqual(stateDigest(encoded))
    }
    expect(ORSet.has(replica.readTyped('set', 'orset') as ORSetState, 'new element')).toBe(true)
  })

  it('two replicas that reach one set by different writes store the same digest', async () => {
    const a = new Replica({ store: new InMemoryStore(), clock, actor: 'node-a' })
    const b = new Replica({ store: new InMemoryStore(), clock, actor: 'node-b' })
    for (let i = 0; i < 1_500; i++) await a.apply('set', { type: 'orset', op: 'add', element: `a${i}` })
    const deltas: Uint8Array[] = []
    for (let i = 0; i < 300; i++) deltas.push((await b.apply('set', { type: 'orset', op: 'add', element: `b${i}` })).delta)
    // Whole states one way, deltas the other.
    await b.merge('set', a.store.getKey('set')!.state)
    await a.apply('set', { type: 'orset', op: 'remove', element: 'a17' })
    for (const delta of deltas) await a.merge('set', delta)
    expect(hex(a.store.getDigest('set')!)).not.toBe(hex(b.store.getDigest('set')!))
    await b.merge('set', a.store.getKey('set')!.state)
    expect(hex(a.store.getDigest('set')!)).toBe(hex(b.store.getDigest('set')!))
    expect(Buffer.from(a.store.getKey('set')!.state).equals(Buffer.from(b.store.getKey('set')!.state))).toBe(true)
  })

  it('writes a set stored in format version 1 again in version 2 when a merge brings nothing new, and only then', async () => {
    const store = new InMemoryStore()
    const old = versionOne('node-z', ['x', 'y', 'z'])
    await store.write({ keys: [{ key: 'set', type: 'orset', state: old, hlc: new Uint8Array(8) }] })
    expect(store.getKey('set')?.paged).toBeUndefined()
    const replica = new Replica({ store, clock, actor: 'node-a' })
    const changes: string[] = []
    replica.onCommitted((c) => changes.push(c.key))
    const sub = ORSet.decode(versionOne('node-z', ['x']))
    const first = await replica.merge('set', ORSet.encode(sub))
    expect(first.changed).toBe(true)
    const stored = store.getKey('set') as StoredKey
    // Format version 2 now; a set this small is kept whole, in one row (INLINE_STATE_BYTES).
    expect(stored.state[1]).toBe(2)
    expect(stored.paged).toBeUndefined()
    expect(stored.digest).toEqual(stateDigest(ORSet.encode(ORSet.decode(old))))
    // Now the store holds the current encoding: the same merge is a no-op.
    const second = await replica.merge('set', ORSet.encode(sub))
    expect(second.changed).toBe(false)
    expect(changes).toEqual(['set'])
    expect(ORSet.value(replica.readTyped('set', 'orset') as ORSetState)).toEqual(['x', 'y', 'z'])
  })
})
