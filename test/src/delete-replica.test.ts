// Deletes between two replicas (src/replica/replica.ts): the states they exchange after a
// delete merge on both sides, whatever order they arrive in.
import { describe, expect, it } from 'vitest'
import { systemClock } from '../../src/base/clock.js'
import { DELETE, type Operation } from '../../src/base/operations.js'
import { Replica } from '../../src/replica/replica.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

const WRITES: Operation[] = [
  { type: 'gcounter', op: 'increment', amount: 3 },
  { type: 'pncounter', op: 'decrement', amount: 2 },
  { type: 'orset', op: 'add', element: 'x' },
  { type: 'lww', op: 'set', value: 'v' },
]

describe('delete between replicas', () => {
  it.each(WRITES)('a replica takes back its own $type writes from a peer that has not seen its delete of them', async (write) => {
    const a = new Replica({ store: new InMemoryStore(), clock: systemClock, actor: 'node-a' })
    const b = new Replica({ store: new InMemoryStore(), clock: systemClock, actor: 'node-b' })
    await a.apply('k', write)
    await b.merge('k', a.store.getKey('k')!.state)
    await a.apply('k', DELETE)
    // b still holds a's write from before the delete: a must take it (it is its own, and
    // the delete covers it), not refuse it as a forged claim of its writes.
    const merged = await a.merge('k', b.store.getKey('k')!.state)
    expect(merged.deleted).toBe(true)
    await b.merge('k', a.store.getKey('k')!.state)
    expect(Buffer.compare(a.store.getKey('k')!.state, b.store.getKey('k')!.state)).toBe(0)
  })
})
