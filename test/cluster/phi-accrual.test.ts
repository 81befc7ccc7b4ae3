import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PhiAccrualDetector, phiOfNormal, type PhiAccrualOptions } from '../../src/cluster/membership/phi-accrual.js'
import { seededRandom } from '../../src/base/random.js'

// Upper-tail quantiles of the standard normal: P(Z > z) = 10^-phi.
const Z_PHI_1 = 1.2815515655446004
const Z_PHI_3 = 3.090232306167813
const Z_PHI_8 = 5.612001244174788

/** Sends heartbeats at the given intervals starting at t = 0; returns the last time. */
function feed(detector: PhiAccrualDetector, peer: string, intervals: readonly number[]): number {
  let now = 0
  detector.heartbeat(peer, now)
  for (const interval of intervals) {
    now += interval
    detector.heartbeat(peer, now)
  }
  return now
}

/** Silence (ms after `last`) at which phi first reaches the threshold, to 1e-6 ms. */
function crossing(detector: PhiAccrualDetector, peer: string, last: number): number {
  let low = 0
  let high = 1
  while (detector.isAvailable(peer, last + high)) high *= 2
  while (high - low > 1e-6) {
    const mid = (low + high) / 2
    if (detector.isAvailable(peer, last + mid)) low = mid
    else high = mid
  }
  return high
}

describe('phiOfNormal', () => {
  it('is -log10 of the normal upper tail', () => {
    expect(phiOfNormal(0)).toBeCloseTo(Math.log10(2), 6)
    expect(phiOfNormal(1)).toBeCloseTo(0.7995455414919704, 6)
    expect(phiOfNormal(-1)).toBeCloseTo(0.07502601295781802, 6)
    expect(phiOfNormal(Z_PHI_1)).toBeCloseTo(1, 6)
    expect(phiOfNormal(Z_PHI_3)).toBeCloseTo(3, 6)
    expect(phiOfNormal(Z_PHI_8)).toBeCloseTo(8, 6)
  })

  it('is finite far in the tail, where the probability underflows', () => {
    // ln Q(y) ≈ -y²/2 - ln(y√(2π)) for large y.
    const y = 60
    const asymptotic = (y * y / 2 + Math.log(y * Math.sqrt(2 * Math.PI))) / Math.LN10
    expect(phiOfNormal(y)).toBeCloseTo(asymptotic, 2)
    expect(phiOfNormal(-60)).toBe(0)
  })

  it('never decreases', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), (y, step) => {
        expect(phiOfNormal(y + step)).toBeGreaterThanOrEqual(phiOfNormal(y))
      }),
      { numRuns: 2000 },
    )
  })
})

describe('PhiAccrualDetector', () => {
  it('before the first heartbeat: phi 0, available, not monitored', () => {
    const detector = new PhiAccrualDetector()
    expect(detector.phi('p', 1e9)).toBe(0)
    expect(detector.isAvailable('p', 1e9)).toBe(true)
    expect(detector.isMonitoring('p')).toBe(false)
  })

  it('bootstraps from the first heartbeat: mean = estimate, sigma = estimate / 4', () => {
    const detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: 1000, acceptableHeartbeatPauseMs: 1000 })
    detector.heartbeat('p', 5000)
    expect(detector.isMonitoring('p')).toBe(true)
    // Silence equal to mean + pause is y = 0.
    expect(detector.phi('p', 5000 + 2000)).toBeCloseTo(Math.log10(2), 6)
    expect(crossing(detector, 'p', 5000)).toBeCloseTo(1000 + 1000 + 250 * Z_PHI_8, 3)
  })

  it('crosses the threshold when the normal model says, for a known interval distribution', () => {
    // Intervals alternate 800/1200 ms: once the bootstrap samples have left the 100-sample
    // window, mean = 1000 and population sigma = 200, so phi = 8 at mean + pause + 200·z.
    for (const pause of [0, 500]) {
      const detector = new PhiAccrualDetector({ maxSampleSize: 100, acceptableHeartbeatPauseMs: pause, minStdDeviationMs: 1 })
      const last = feed(detector, 'p', Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 800 : 1200)))
      expect(crossing(detector, 'p', last)).toBeCloseTo(1000 + pause + 200 * Z_PHI_8, 3)
    }
  })

  it('floors sigma at minStdDeviationMs for perfectly regular heartbeats', () => {
    const detector = new PhiAccrualDetector({ maxSampleSize: 50, acceptableHeartbeatPauseMs: 0, minStdDeviationMs: 100 })
    const last = feed(detector, 'p', Array(100).fill(1000))
    expect(crossing(detector, 'p', last)).toBeCloseTo(1000 + 100 * Z_PHI_8, 3)
    const custom = new PhiAccrualDetector({ maxSampleSize: 50, acceptableHeartbeatPauseMs: 0, threshold: 3 })
    const customLast = feed(custom, 'p', Array(100).fill(1000))
    expect(crossing(custom, 'p', customLast)).toBeCloseTo(1000 + 100 * Z_PHI_3, 3)
  })

  it('keeps phi low under regular heartbeats', () => {
    const detector = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 0 })
    let now = 0
    detector.heartbeat('p', now)
    for (let i = 0; i < 2000; i++) {
      now += 1000
      // Just before each heartbeat is due, the peer is exactly on time: y ≤ 0.
      expect(detector.phi('p', now)).toBeLessThan(0.5)
      detector.heartbeat('p', now)
    }
  })

  it('phi grows with silence and eventually suspects', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 50 }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        (intervals, a, b) => {
          const detector = new PhiAccrualDetector()
          const last = feed(detector, 'p', intervals)
          const [early, late] = a < b ? [a, b] : [b, a]
          expect(detector.phi('p', last + late)).toBeGreaterThanOrEqual(detector.phi('p', last + early))
          expect(detector.isAvailable('p', last + 1e7)).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('gives jittery peers more slack than steady ones with the same mean', () => {
    const seed = 20240611
    const random = seededRandom(seed)
    const options: PhiAccrualOptions = { maxSampleSize: 1000, acceptableHeartbeatPauseMs: 0 }
    const steady = new PhiAccrualDetector(options)
    const jittery = new PhiAccrualDetector(options)
    const steadyLast = feed(steady, 'p', Array(1500).fill(1000))
    const jitteryLast = feed(jittery, 'p', Array.from({ length: 1500 }, () => 500 + random.next() * 1000))
    const steadyCrossing = crossing(steady, 'p', steadyLast)
    const jitteryCrossing = crossing(jittery, 'p', jitteryLast)
    // Uniform(500, 1500): sigma = 1000/√12 ≈ 289 ms vs the 100 ms floor.
    expect(jitteryCrossing, `seed ${seed}`).toBeGreaterThan(steadyCrossing + 800)
    // The sample's sigma is within a few % of that (1000 draws), so within 10% here.
    const model = 1000 + (1000 / Math.sqrt(12)) * Z_PHI_8
    expect(Math.abs(jitteryCrossing - model), `seed ${seed}`).toBeLessThan(0.1 * model)
    expect(jittery.phi('p', jitteryLast + 1500)).toBeLessThan(steady.phi('p', steadyLast + 1500))
  })

  it('does not learn from the silence that got a peer suspected', () => {
    const detector = new PhiAccrualDetector({ maxSampleSize: 100 })
    const last = feed(detector, 'p', Array(200).fill(1000))
    const before = crossing(detector, 'p', last)
    detector.heartbeat('p', last + 60_000)
    expect(crossing(detector, 'p', last + 60_000)).toBeCloseTo(before, 6)
  })

  it('ignores a heartbeat older than the last one', () => {
    const detector = new PhiAccrualDetector()
    const last = feed(detector, 'p', Array(20).fill(1000))
    const before = detector.phi('p', last + 2500)
    detector.heartbeat('p', last - 500)
    expect(detector.phi('p', last + 2500)).toBe(before)
    // Asked about a moment before the last heartbeat, the silence so far is zero.
    expect(detector.phi('p', last - 5000)).toBe(detector.phi('p', last))
  })

  it('stays exact after huge samples have left the window', () => {
    // Squares of 1e9 ms intervals dwarf those of 1-3 ms ones; subtracting them from a
    // running sum would leave rounding noise larger than the real variance.
    const detector = new PhiAccrualDetector({ maxSampleSize: 10, threshold: 1e300, minStdDeviationMs: 1e-3, acceptableHeartbeatPauseMs: 0 })
    const last = feed(detector, 'p', [...Array(10).fill(1e9 + 0.5), ...Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 1 : 3))])
    // Window: five 1s and five 3s, mean 2, sigma 1; phi = 8 at 2 + z.
    expect(detector.phi('p', last + 2 + Z_PHI_8)).toBeCloseTo(8, 6)
  })

  it('forgets a removed peer; a new heartbeat starts from the bootstrap', () => {
    const detector = new PhiAccrualDetector()
    feed(detector, 'p', Array(20).fill(200))
    detector.remove('p')
    expect(detector.isMonitoring('p')).toBe(false)
    expect(detector.phi('p', 1e9)).toBe(0)
    detector.heartbeat('p', 0)
    expect(crossing(detector, 'p', 0)).toBeCloseTo(2000 + 250 * Z_PHI_8, 3)
  })

  it('tracks peers independently', () => {
    const detector = new PhiAccrualDetector()
    const lastA = feed(detector, 'a', Array(10).fill(300))
    detector.heartbeat('b', lastA)
    const fresh = new PhiAccrualDetector()
    fresh.heartbeat('b', 0)
    expect(detector.phi('b', lastA + 3000)).toBe(fresh.phi('b', 3000))
    // 'a' learnt ~300 ms intervals; the same silence means more for it than for 'b'.
    expect(detector.phi('a', lastA + 3000)).toBeGreaterThan(detector.phi('b', lastA + 3000))
    expect(detector.isAvailable('a', lastA + 5000)).toBe(false)
    expect(detector.isAvailable('b', lastA + 3000)).toBe(true)
  })

  it('matches a direct computation over the sliding window (reference model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.array(fc.oneof(fc.double({ min: 0, max: 3000, noNaN: true }), fc.integer({ min: 5000, max: 100_000 })), { maxLength: 200 }),
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        (maxSampleSize, intervals, silence) => {
          const options = { maxSampleSize, acceptableHeartbeatPauseMs: 300, minStdDeviationMs: 50, firstHeartbeatEstimateMs: 800 }
          const detector = new PhiAccrualDetector(options)
          const window = [600, 1000]
          const modelPhi = (elapsed: number): number => {
            const recent = window.slice(-maxSampleSize)
            const mean = recent.reduce((s, x) => s + x, 0) / recent.length
            const variance = recent.reduce((s, x) => s + (x - mean) ** 2, 0) / recent.length
            return phiOfNormal((elapsed - mean - 300) / Math.max(Math.sqrt(variance), 50))
          }
          let now = 0
          detector.heartbeat('p', now)
          for (const interval of intervals) {
            if (modelPhi(interval) < 8) window.push(interval)
            now += interval
            detector.heartbeat('p', now)
          }
          const expected = modelPhi(silence)
          expect(Math.abs(detector.phi('p', now + silence) - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, expected))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('refuses nonsensical options', () => {
    expect(() => new PhiAccrualDetector({ threshold: 0 })).toThrow(RangeError)
    expect(() => new PhiAccrualDetector({ maxSampleSize: 1 })).toThrow(RangeError)
    expect(() => new PhiAccrualDetector({ minStdDeviationMs: -1 })).toThrow(RangeError)
    expect(() => new PhiAccrualDetector({ acceptableHeartbeatPauseMs: Number.NaN })).toThrow(RangeError)
  })
})
