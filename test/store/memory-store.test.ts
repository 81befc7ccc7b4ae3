import { describe, expect, it } from 'vitest'
import { DatabaseLockedError } from '../../src/store/errors.js'
import { InMemoryStore, MemoryData } from '../../src/store/memory-store.js'
import type { KeyWrite } from '../../src/store/store.js'
import { memoryHarness } from './harness.js'
import { runStoreTests } from './store-acceptance.js'

runStoreTests('InMemoryStore', memoryHarness)

const kw = (key: string, state = new Uint8Array([1])): KeyWrite => ({ key, type: 'orset', state, hlc: new Uint8Array(8) })

/** A scheduler the test drives by hand, like the simulator's event queue. */
function manualScheduler() {
  const queue: (() => void)[] = []
  return {
    schedule: (fn: () => void) => void queue.push(fn),
    get size() {
      return queue.length
    },
    runAll() {
      for (let fn = queue.shift(); fn !== undefined; fn = queue.shift()) fn()
    },
  }
}

describe('InMemoryStore', () => {
  it('commits only when the injected scheduler runs, once per turn', async () => {
    const sched = manualScheduler()
    const store = new InMemoryStore({ schedule: sched.schedule })
    let settled = 0
    const a = store.write({ keys: [kw('a')] }).then(() => settled++)
    const b = store.write({ keys: [kw('b')] }).then(() => settled++)
    expect(sched.size).toBe(1)
    await Promise.resolve()
    expect(settled).toBe(0)
    expect(store.crashCopy().countKeys()).toBe(0)
    sched.runAll()
    await Promise.all([a, b])
    expect(settled).toBe(2)
    expect(store.stats().commits).toBe(1)
    expect(store.crashCopy().countKeys()).toBe(2)
  })

  it('crashCopy copies a store of 300,000 keys (more than a spread of arguments can pass)', async () => {
    const store = new InMemoryStore()
    const state = new Uint8Array([1])
    for (let i = 0; i < 300_000; i += 50_000) {
      // Keys in ascending order: each lands at the end of the sorted list.
      const keys = Array.from({ length: 50_000 }, (_, j) => `k${String(i + j).padStart(6, '0')}`)
      await store.write({ keys: keys.map((key) => ({ key, type: 'gcounter' as const, state, hlc: new Uint8Array(8) })) })
    }
    const copy = store.crashCopy()
    expect(copy.countKeys()).toBe(300_000)
    expect(copy.scan({ after: 'k199998', limit: 2 }).map((k) => k.key)).toEqual(['k199999', 'k200000'])
  })

  it('crashCopy holds committed data only and is independent of the original', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: [kw('committed')], hints: { add: [{ target: 't', key: 'k', type: 'lww', state: new Uint8Array([1]), createdAt: 1 }] } })
    const pending = store.write({ keys: [kw('staged')] })
    const crashed = store.crashCopy()
    expect(crashed.scan({}).map((k) => k.key)).toEqual(['committed'])
    await crashed.write({ keys: [kw('only-in-copy')] })
    await pending
    expect(store.getKey('only-in-copy')).toBeUndefined()
    expect(store.getKey('staged')).toBeDefined()
    expect(crashed.getKey('staged')).toBeUndefined()
    // Hint ids continue after the committed ones.
    await crashed.write({ hints: { add: [{ target: 't', key: 'k2', type: 'lww', state: new Uint8Array([1]), createdAt: 2 }] } })
    expect(crashed.listHints().map((h) => h.id)).toEqual([1, 2])
  })

  it('refuses to open data that another open store holds, like a locked file', async () => {
    const data = new MemoryData('memory:node-1')
    const first = new InMemoryStore({ data })
    expect(() => new InMemoryStore({ data })).toThrow(DatabaseLockedError)
    expect(() => new InMemoryStore({ data })).toThrow(/memory:node-1/)
    await first.close()
    const second = new InMemoryStore({ data })
    expect(second.countKeys()).toBe(0)
  })

  it('returns copies, so a caller mutating a result cannot change committed data', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: [kw('k', new Uint8Array([1, 2]))] })
    const got = store.getKey('k')
    got?.state.fill(0)
    expect(store.getKey('k')?.state).toEqual(new Uint8Array([1, 2]))
  })
})
