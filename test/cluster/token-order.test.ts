import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sortByPosition } from '../../src/cluster/ring/token-order.js'

describe('sortByPosition', () => {
  it('orders by (high, low) word and keeps equal positions in input order', () => {
    // High words from a tiny pool force the equal-high-word path that real rings rarely hit.
    const word = fc.oneof(fc.constantFrom(0, 1, 0x7ff, 0x800, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }))
    fc.assert(
      fc.property(fc.array(fc.tuple(word, fc.constantFrom(0, 5, 0xffffffff, 12345)), { maxLength: 300 }), (pairs) => {
        const hi = Uint32Array.from(pairs.map(([h]) => h))
        const lo = Uint32Array.from(pairs.map(([, l]) => l))
        const expected = pairs.map((_, i) => i).sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || a - b)
        expect([...sortByPosition(hi, lo)]).toEqual(expected)
      }),
      { numRuns: 300 },
    )
  })
})
