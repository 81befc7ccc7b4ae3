import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ClockDriftError,
  compareTimestamps,
  CrdtDecodeError,
  decodeTimestamp,
  encodeTimestamp,
  HybridLogicalClock,
  MAX_LOGICAL,
  MAX_WALL_MS,
  type Timestamp,
} from '../../crdts/index.js'

function clockAt(start: number, init: { maxOffsetMs?: number; initial?: Timestamp } = {}) {
  const wall = { ms: start }
  return { wall, clock: new HybridLogicalClock({ now: () => wall.ms, ...init }) }
}

const timestamp = fc.record({ wallMs: fc.integer({ min: 0, max: MAX_WALL_MS }), logical: fc.integer({ min: 0, max: MAX_LOGICAL }) })

describe('HybridLogicalClock', () => {
  it('follows the wall clock while it moves forward', () => {
    const { wall, clock } = clockAt(1000)
    expect(clock.now()).toEqual({ wallMs: 1000, logical: 0 })
    expect(clock.now()).toEqual({ wallMs: 1000, logical: 1 })
    wall.ms = 1005
    expect(clock.now()).toEqual({ wallMs: 1005, logical: 0 })
    expect(clock.last()).toEqual({ wallMs: 1005, logical: 0 })
  })

  it('stays strictly monotonic when the wall clock jumps backwards (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 200 }), (walls) => {
        const { wall, clock } = clockAt(5000)
        let prev = clock.now()
        for (const ms of walls) {
          if (Number.isNaN(ms)) {
            // Receiving a remote timestamp in the past still moves the clock forward.
            const next = clock.update({ wallMs: Math.max(0, wall.ms - 10), logical: 3 })
            expect(compareTimestamps(next, prev)).toBe(1)
            prev = next
            continue
          }
          wall.ms = ms
          const next = clock.now()
          expect(compareTimestamps(next, prev)).toBe(1)
          expect(next.wallMs).toBeGreaterThanOrEqual(ms)
          prev = next
        }
      }),
      { numRuns: 100 },
    )
  })

  it('continues after the timestamp it was restarted with', () => {
    const { clock } = clockAt(10, { initial: { wallMs: 50, logical: 7 } })
    expect(clock.last()).toEqual({ wallMs: 50, logical: 7 })
    expect(clock.now()).toEqual({ wallMs: 50, logical: 8 })
  })

  it('applies the receive rule', () => {
    // Remote ahead (within the offset): adopt its wall time, logical + 1.
    let { clock } = clockAt(1000)
    clock.now()
    expect(clock.update({ wallMs: 1200, logical: 4 })).toEqual({ wallMs: 1200, logical: 5 })
    // Same wall time on both sides: max logical + 1.
    ;({ clock } = clockAt(1000, { initial: { wallMs: 1000, logical: 9 } }))
    expect(clock.update({ wallMs: 1000, logical: 3 })).toEqual({ wallMs: 1000, logical: 10 })
    ;({ clock } = clockAt(1000, { initial: { wallMs: 1000, logical: 2 } }))
    expect(clock.update({ wallMs: 1000, logical: 30 })).toEqual({ wallMs: 1000, logical: 31 })
    // Local clock ahead of both: keep local wall time, logical + 1.
    ;({ clock } = clockAt(1000, { initial: { wallMs: 1100, logical: 2 } }))
    expect(clock.update({ wallMs: 1050, logical: 30 })).toEqual({ wallMs: 1100, logical: 3 })
    // Wall clock ahead of both: wall time, logical 0.
    ;({ clock } = clockAt(2000, { initial: { wallMs: 1100, logical: 2 } }))
    expect(clock.update({ wallMs: 1500, logical: 30 })).toEqual({ wallMs: 2000, logical: 0 })
  })

  it('returns from update a timestamp above the remote and every earlier local one (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 2400 }), fc.nat(5))), (events) => {
        const { wall, clock } = clockAt(1000)
        let prev = clock.now()
        for (const [ms, remoteMs, logical] of events) {
          wall.ms = ms
          const remote = { wallMs: remoteMs, logical }
          if (remoteMs - ms > 500) {
            expect(() => clock.update(remote)).toThrow(ClockDriftError)
            continue
          }
          const next = clock.update(remote)
          expect(compareTimestamps(next, remote)).toBe(1)
          expect(compareTimestamps(next, prev)).toBe(1)
          prev = next
        }
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a remote timestamp too far ahead and leaves the clock unchanged', () => {
    const { clock } = clockAt(1000, { maxOffsetMs: 100 })
    const before = clock.now()
    expect(() => clock.update({ wallMs: 1101, logical: 0 })).toThrow(ClockDriftError)
    expect(() => clock.update({ wallMs: 1101, logical: 0 })).toThrow(/ahead/)
    expect(clock.last()).toEqual(before)
    expect(clock.now()).toEqual({ wallMs: 1000, logical: 1 })
    expect(clock.update({ wallMs: 1100, logical: 0 })).toEqual({ wallMs: 1100, logical: 1 })
  })

  it('moves one millisecond ahead when the logical counter is exhausted', () => {
    const { clock } = clockAt(1000, { initial: { wallMs: 1000, logical: MAX_LOGICAL - 1 } })
    expect(clock.now()).toEqual({ wallMs: 1000, logical: MAX_LOGICAL })
    expect(clock.now()).toEqual({ wallMs: 1001, logical: 0 })
    const remote = clockAt(1000, { initial: { wallMs: 1000, logical: 3 } }).clock
    expect(remote.update({ wallMs: 1000, logical: MAX_LOGICAL })).toEqual({ wallMs: 1001, logical: 0 })
  })

  it('rejects invalid remote and initial timestamps and a broken wall clock', () => {
    const { clock } = clockAt(1000)
    expect(() => clock.update({ wallMs: 1.5, logical: 0 })).toThrow(RangeError)
    expect(() => clock.update({ wallMs: 1, logical: MAX_LOGICAL + 1 })).toThrow(RangeError)
    expect(() => new HybridLogicalClock({ now: () => 0, initial: { wallMs: -1, logical: 0 } })).toThrow(RangeError)
    expect(() => new HybridLogicalClock({ now: () => Number.NaN }).now()).toThrow(RangeError)
  })
})

describe('timestamp codec', () => {
  it('round-trips and orders bytes like compareTimestamps (property)', () => {
    fc.assert(
      fc.property(timestamp, timestamp, (a, b) => {
        const ea = encodeTimestamp(a)
        expect(ea.length).toBe(8)
        expect(decodeTimestamp(ea)).toEqual(a)
        expect(Math.sign(Buffer.compare(ea, encodeTimestamp(b)))).toBe(compareTimestamps(a, b))
      }),
      { numRuns: 300 },
    )
  })

  it('writes 48-bit milliseconds then 16-bit logical, big-endian', () => {
    expect([...encodeTimestamp({ wallMs: MAX_WALL_MS, logical: 1 })]).toEqual([255, 255, 255, 255, 255, 255, 0, 1])
    expect([...encodeTimestamp({ wallMs: 256, logical: 258 })]).toEqual([0, 0, 0, 0, 1, 0, 1, 2])
  })

  it('rejects anything but 8 bytes', () => {
    expect(() => decodeTimestamp(new Uint8Array(7))).toThrow(CrdtDecodeError)
    expect(() => decodeTimestamp(new Uint8Array(9))).toThrow(CrdtDecodeError)
    expect(() => decodeTimestamp('12345678' as never)).toThrow(CrdtDecodeError)
    expect(() => encodeTimestamp({ wallMs: 2 ** 48, logical: 0 })).toThrow(RangeError)
  })
})
