// Hybrid logical clock (Kulkarni et al. 2014): 48-bit wall milliseconds + 16-bit logical
// counter. Timestamps order writes to LWW registers, so the clock must never go backwards,
// also across restarts (callers persist `last()` and pass it back as `initial`).
import { CrdtDecodeError, ClockDriftError } from './errors.js'

export interface Timestamp {
  readonly wallMs: number
  readonly logical: number
}

export const MAX_WALL_MS = 2 ** 48 - 1
export const MAX_LOGICAL = 2 ** 16 - 1
export const DEFAULT_MAX_OFFSET_MS = 500
export const TIMESTAMP_BYTES = 8

export const ZERO_TIMESTAMP: Timestamp = Object.freeze({ wallMs: 0, logical: 0 })

export function isTimestamp(t: unknown): t is Timestamp {
  if (typeof t !== 'object' || t === null) return false
  const { wallMs, logical } = t as Timestamp
  return (
    Number.isInteger(wallMs) && wallMs >= 0 && wallMs <= MAX_WALL_MS &&
    Number.isInteger(logical) && logical >= 0 && logical <= MAX_LOGICAL
  )
}

export function assertTimestamp(t: unknown, what = 'timestamp'): asserts t is Timestamp {
  if (!isTimestamp(t)) {
    throw new RangeError(`${what} must be { wallMs: integer in [0, 2^48), logical: integer in [0, 2^16) }`)
  }
}

export function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  return 0
}

/** 8 bytes big-endian (48-bit ms, 16-bit logical), so byte order equals time order. */
export function encodeTimestamp(t: Timestamp): Uint8Array {
  assertTimestamp(t)
  const out = new Uint8Array(TIMESTAMP_BYTES)
  writeTimestampInto(out, 0, t)
  return out
}

export function writeTimestampInto(out: Uint8Array, offset: number, t: Timestamp): void {
  const high = Math.floor(t.wallMs / 2 ** 16)
  const low = t.wallMs % 2 ** 16
  out[offset] = (high >>> 24) & 0xff
  out[offset + 1] = (high >>> 16) & 0xff
  out[offset + 2] = (high >>> 8) & 0xff
  out[offset + 3] = high & 0xff
  out[offset + 4] = low >>> 8
  out[offset + 5] = low & 0xff
  out[offset + 6] = t.logical >>> 8
  out[offset + 7] = t.logical & 0xff
}

export function readTimestampAt(bytes: Uint8Array, offset: number): Timestamp {
  const b = (i: number): number => bytes[offset + i] as number
  const high = ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0
  const wallMs = high * 2 ** 16 + ((b(4) << 8) | b(5))
  return { wallMs, logical: (b(6) << 8) | b(7) }
}

export function decodeTimestamp(bytes: Uint8Array): Timestamp {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('timestamp must be a Uint8Array')
  if (bytes.length !== TIMESTAMP_BYTES) {
    throw new CrdtDecodeError(`timestamp must be ${TIMESTAMP_BYTES} bytes, got ${bytes.length}`)
  }
  return readTimestampAt(bytes, 0)
}

export interface HybridLogicalClockInit {
  /** Wall-clock milliseconds since the epoch; injected so the clock stays pure. */
  readonly now: () => number
  /** Remote timestamps further ahead of the wall clock than this are refused. */
  readonly maxOffsetMs?: number
  /** The last timestamp issued before a restart; the clock continues strictly after it. */
  readonly initial?: Timestamp
}

export class HybridLogicalClock {
  private readonly wall: () => number
  private readonly maxOffsetMs: number
  private latest: Timestamp

  constructor(init: HybridLogicalClockInit) {
    this.wall = init.now
    this.maxOffsetMs = init.maxOffsetMs ?? DEFAULT_MAX_OFFSET_MS
    if (!(this.maxOffsetMs >= 0)) throw new RangeError('maxOffsetMs must be a non-negative number')
    if (init.initial !== undefined) assertTimestamp(init.initial, 'initial')
    this.latest = init.initial === undefined ? ZERO_TIMESTAMP : stamp(init.initial.wallMs, init.initial.logical)
  }

  /** The last timestamp issued or adopted; persist it to survive restarts. */
  last(): Timestamp {
    return this.latest
  }

  /** A new timestamp, strictly greater than every one issued before, even if the wall clock stepped back. */
  now(): Timestamp {
    const pt = this.physical()
    const last = this.latest
    this.latest = pt > last.wallMs ? stamp(pt, 0) : successor(last.wallMs, last.logical)
    return this.latest
  }

  /**
   * The receive rule: returns a timestamp greater than both `remote` and every local one.
   * Throws ClockDriftError, leaving the clock unchanged, when `remote` is more than
   * maxOffsetMs ahead of the local wall clock.
   */
  update(remote: Timestamp): Timestamp {
    assertTimestamp(remote, 'remote timestamp')
    const pt = this.physical()
    if (remote.wallMs - pt > this.maxOffsetMs) throw new ClockDriftError(remote.wallMs, pt, this.maxOffsetMs)
    const last = this.latest
    const wallMs = Math.max(pt, last.wallMs, remote.wallMs)
    let next: Timestamp
    if (wallMs === last.wallMs && wallMs === remote.wallMs) {
      next = successor(wallMs, Math.max(last.logical, remote.logical))
    } else if (wallMs === last.wallMs) {
      next = successor(wallMs, last.logical)
    } else if (wallMs === remote.wallMs) {
      next = successor(wallMs, remote.logical)
    } else {
      next = stamp(wallMs, 0)
    }
    this.latest = next
    return next
  }

  private physical(): number {
    const ms = this.wall()
    if (!Number.isFinite(ms)) throw new RangeError(`wall clock returned ${ms}; it must return epoch milliseconds`)
    return Math.min(Math.max(Math.floor(ms), 0), MAX_WALL_MS)
  }
}

/**
 * The next timestamp after (wallMs, logical). When the 16-bit logical counter is exhausted
 * (65,536 events in one millisecond) the clock moves one millisecond ahead of the wall clock
 * instead of wrapping; it falls back in step as soon as the wall clock passes it.
 */
function successor(wallMs: number, logical: number): Timestamp {
  if (logical < MAX_LOGICAL) return stamp(wallMs, logical + 1)
  if (wallMs >= MAX_WALL_MS) throw new RangeError('hybrid logical clock exhausted the 48-bit millisecond range')
  return stamp(wallMs + 1, 0)
}

/** Issued timestamps are frozen: a caller mutating one must not move the clock. */
function stamp(wallMs: number, logical: number): Timestamp {
  return Object.freeze({ wallMs, logical })
}
