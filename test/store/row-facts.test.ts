import { describe, expect, it } from 'vitest'
import { RowFactsCache } from '../../src/store/row-facts.js'

const facts = (n: number) => ({ deleted: n % 2 === 1, position: new Uint8Array(8).fill(n) })

describe('RowFactsCache', () => {
  it('holds at most two generations, keeps a key used in the older one, and forgets on delete', () => {
    const cache = new RowFactsCache(4)
    for (let i = 0; i < 4; i++) cache.set(`k${i}`, facts(i)) // the fourth starts a new generation
    expect(cache.get('k0')).toEqual(facts(0)) // found in the older one, moved to the newer
    for (let i = 4; i < 7; i++) cache.set(`k${i}`, facts(i)) // the newer fills: the older (k1..k3) goes
    expect(cache.get('k1')).toBeUndefined()
    expect(cache.get('k0')).toEqual(facts(0))
    expect(cache.get('k6')).toEqual(facts(6))
    cache.set('k6', facts(8))
    expect(cache.get('k6')).toEqual(facts(8))
    cache.delete('k6')
    cache.delete('k0')
    expect(cache.get('k6')).toBeUndefined()
    expect(cache.get('k0')).toBeUndefined()
  })
})
