import { describe, expect, it } from 'vitest'
import { StateCache } from '../../src/replica/state-cache.js'

describe('StateCache', () => {
  it('keeps entries within its byte budget, evicting the oldest first', () => {
    const cache = new StateCache(1000)
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, { type: 'gcounter', state: i }, 100)
    expect(cache.bytes).toBeLessThanOrEqual(1000)
    expect(cache.get('k0')).toBeUndefined()
    expect(cache.get('k9')).toEqual({ type: 'gcounter', state: 9 })
  })

  it('re-setting a key refreshes it and does not count it twice', () => {
    const cache = new StateCache(10_000)
    cache.set('a', { type: 'lww', state: 1 }, 10)
    const once = cache.bytes
    cache.set('a', { type: 'lww', state: 2 }, 10)
    expect(cache.bytes).toBe(once)
    expect(cache.get('a')?.state).toBe(2)
    cache.delete('a')
    expect(cache.bytes).toBe(0)
    expect(cache.size).toBe(0)
  })

  it('evicts the least recently used: a read keeps a key in', () => {
    const cache = new StateCache(1000)
    for (let i = 0; i < 4; i++) cache.set(`k${i}`, { type: 'gcounter', state: i }, 100)
    expect(cache.size).toBe(4)
    cache.get('k0')
    cache.set('k4', { type: 'gcounter', state: 4 }, 100)
    expect(cache.get('k0')?.state).toBe(0)
    expect(cache.get('k1')).toBeUndefined()
  })

  it('a state too large to cache also drops the older state of its key', () => {
    const cache = new StateCache(1000)
    cache.set('k', { type: 'orset', state: 'small' }, 10)
    cache.set('k', { type: 'orset', state: 'big' }, 10_000)
    expect(cache.get('k')).toBeUndefined()
    expect(cache.bytes).toBe(0)
  })

  it('does not cache an entry larger than the whole budget, and a zero budget caches nothing', () => {
    const cache = new StateCache(100)
    cache.set('big', { type: 'orset', state: [] }, 10_000)
    expect(cache.get('big')).toBeUndefined()
    const off = new StateCache(0)
    off.set('x', { type: 'gcounter', state: 1 }, 1)
    expect(off.size).toBe(0)
  })
})
