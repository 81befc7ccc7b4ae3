import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/base/backoff.js'

describe('backoffDelay', () => {
  const options = { baseMs: 100, maxMs: 1000 }
  it('doubles the ceiling per failure up to the maximum, waiting between half and all of it', () => {
    const low = { next: () => 0 }
    const high = { next: () => 0.999999 }
    expect([1, 2, 3, 4, 5, 6].map((f) => backoffDelay(f, options, low))).toEqual([50, 100, 200, 400, 500, 500])
    expect(backoffDelay(3, options, high)).toBeCloseTo(400, 3)
    expect(backoffDelay(9, options, high)).toBeCloseTo(1000, 3)
  })
})
