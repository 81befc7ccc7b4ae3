// Phi-accrual failure detector (Hayashibara et al. 2004, "The φ Accrual Failure
// Detector"), shaped after Akka's. Instead of a yes/no timeout it reports a suspicion
// level φ = -log10(P(a heartbeat arrives later than now)), with inter-arrival times
// modelled as normal with the mean and standard deviation of a sliding window. φ = 8
// means a 1e-8 chance that the peer is alive and merely late. The detector adapts to each
// peer's network: jittery links get more slack, steady ones are judged sooner.
//
// Pure: callers pass the time in (from their Clock), so the simulator can drive it.
import { DEFAULT_ACCEPTABLE_HEARTBEAT_PAUSE_MS, DEFAULT_FIRST_HEARTBEAT_ESTIMATE_MS, DEFAULT_MAX_SAMPLE_SIZE, DEFAULT_MIN_STD_DEVIATION_MS, DEFAULT_PHI_THRESHOLD } from './constants.js'

export interface PhiAccrualOptions {
  /** φ at or above which a peer is suspected. Default 8. */
  threshold?: number
  /** Inter-arrival samples kept per peer. Default 1000. */
  maxSampleSize?: number
  /** Floor on the modelled standard deviation, ms. Default 100. */
  minStdDeviationMs?: number
  /** Silence tolerated beyond the mean interval before φ climbs, ms. Default 1000. */
  acceptableHeartbeatPauseMs?: number
  /** Assumed interval until real samples exist (σ = estimate / 4), ms. Default 1000. */
  firstHeartbeatEstimateMs?: number
}

/** Window storage starts this small: a node monitors every member, most with few samples yet. */
const INITIAL_WINDOW_SLOTS = 8

/** Fixed-size window of inter-arrival times with running sums for O(1) mean/variance. */
class IntervalWindow {
  // Grown by doubling up to `capacity`: a full window up front is 8 kB per monitored
  // peer, which a simulation of 1,000 nodes in one process pays a million times at start.
  private samples: Float64Array
  private size = 0
  private next = 0
  private sum = 0
  private squares = 0

  constructor(private readonly capacity: number) {
    this.samples = new Float64Array(Math.min(capacity, INITIAL_WINDOW_SLOTS))
  }

  add(interval: number): void {
    const { capacity } = this
    if (this.size === this.samples.length && this.size < capacity) {
      // Not full yet, so the samples are in order from 0 and `next` is `size`.
      const grown = new Float64Array(Math.min(capacity, this.samples.length * 2))
      grown.set(this.samples)
      this.samples = grown
    }
    if (this.size === capacity) {
      const evicted = this.samples[this.next]!
      this.sum -= evicted
      this.squares -= evicted * evicted
    } else {
      this.size++
    }
    this.samples[this.next] = interval
    this.sum += interval
    this.squares += interval * interval
    this.next = (this.next + 1) % capacity
    // Subtracting evicted samples lets rounding error creep into the running sums over
    // a long-lived peer; recomputing once per lap bounds it at one window's worth.
    if (this.next === 0) this.recompute()
  }

  private recompute(): void {
    let sum = 0
    let squares = 0
    for (let i = 0; i < this.size; i++) {
      const x = this.samples[i]!
      sum += x
      squares += x * x
    }
    this.sum = sum
    this.squares = squares
  }

  get mean(): number {
    return this.sum / this.size
  }

  /** Population standard deviation (as Akka); clamped since rounding can dip below 0. */
  get stdDeviation(): number {
    const mean = this.mean
    return Math.sqrt(Math.max(0, this.squares / this.size - mean * mean))
  }
}

interface PeerState {
  readonly window: IntervalWindow
  lastHeartbeatMs: number
  /** When the transport said the connection to the peer closed; cleared by a later heartbeat. */
  lostAtMs?: number
}

export class PhiAccrualDetector {
  readonly threshold: number
  private readonly maxSampleSize: number
  private readonly minStdDeviationMs: number
  private readonly acceptableHeartbeatPauseMs: number
  private readonly firstHeartbeatEstimateMs: number
  private readonly peers = new Map<string, PeerState>()

  constructor(options: PhiAccrualOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_PHI_THRESHOLD
    this.maxSampleSize = options.maxSampleSize ?? DEFAULT_MAX_SAMPLE_SIZE
    this.minStdDeviationMs = options.minStdDeviationMs ?? DEFAULT_MIN_STD_DEVIATION_MS
    this.acceptableHeartbeatPauseMs = options.acceptableHeartbeatPauseMs ?? DEFAULT_ACCEPTABLE_HEARTBEAT_PAUSE_MS
    this.firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? DEFAULT_FIRST_HEARTBEAT_ESTIMATE_MS
    const positive = { threshold: this.threshold, firstHeartbeatEstimateMs: this.firstHeartbeatEstimateMs, minStdDeviationMs: this.minStdDeviationMs }
    for (const [name, value] of Object.entries(positive)) {
      if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`PhiAccrualDetector: ${name} must be a positive number, got ${value}`)
    }
    if (!(this.acceptableHeartbeatPauseMs >= 0) || !Number.isFinite(this.acceptableHeartbeatPauseMs)) {
      throw new RangeError(`PhiAccrualDetector: acceptableHeartbeatPauseMs must be ≥ 0, got ${this.acceptableHeartbeatPauseMs}`)
    }
    if (!Number.isInteger(this.maxSampleSize) || this.maxSampleSize < 2) {
      throw new RangeError(`PhiAccrualDetector: maxSampleSize must be an integer ≥ 2, got ${this.maxSampleSize}`)
    }
  }

  /**
   * Records a heartbeat from a peer received at `nowMs`. Call once per heartbeat
   * message (deduplicate retransmissions first: a duplicate would log a ~0 interval).
   *
   * The first heartbeat starts monitoring and seeds the window with two samples,
   * estimate ± estimate/4 (mean = estimate, σ = estimate/4), so φ is meaningful at once
   * and real intervals take over as they arrive. A heartbeat older than the last one is
   * ignored. A heartbeat that ends a silence long enough to be suspected is not learnt
   * from, so one outage does not inflate the peer's tolerance for the next one.
   */
  heartbeat(peer: string, nowMs: number): void {
    const state = this.peers.get(peer)
    if (state === undefined) {
      const window = new IntervalWindow(this.maxSampleSize)
      const spread = this.firstHeartbeatEstimateMs / 4
      window.add(this.firstHeartbeatEstimateMs - spread)
      window.add(this.firstHeartbeatEstimateMs + spread)
      this.peers.set(peer, { window, lastHeartbeatMs: nowMs })
      return
    }
    if (nowMs < state.lastHeartbeatMs) return
    if (this.phiOf(state, nowMs) < this.threshold) state.window.add(nowMs - state.lastHeartbeatMs)
    state.lastHeartbeatMs = nowMs
  }

  /** Suspicion level of a peer at `nowMs`; 0 for a peer that has never sent a heartbeat. */
  phi(peer: string, nowMs: number): number {
    const state = this.peers.get(peer)
    return state === undefined ? 0 : this.phiOf(state, nowMs)
  }

  /**
   * Whether the peer is not suspected: φ below the threshold. A peer never heard from
   * counts as available, as in Akka: the coordinator may try it, and a failed request
   * costs less than ignoring a member that has just joined.
   */
  isAvailable(peer: string, nowMs: number): boolean {
    return this.phi(peer, nowMs) < this.threshold
  }

  /** Whether at least one heartbeat from the peer has been recorded. */
  isMonitoring(peer: string): boolean {
    return this.peers.has(peer)
  }

  /**
   * The connection to the peer closed: suspect it now rather than after a silence long
   * enough for φ. It stays suspected until the transport reconnects (connectionSeen) or a
   * heartbeat arrives more than the acceptable pause after the loss: heartbeats already on
   * their way when the connection closed prove nothing.
   */
  connectionLost(peer: string, nowMs: number): void {
    const state = this.peers.get(peer)
    if (state !== undefined) state.lostAtMs = nowMs
  }

  /** The transport (re)connected to the peer: φ judges it again from its heartbeats. */
  connectionSeen(peer: string): void {
    const state = this.peers.get(peer)
    if (state !== undefined) state.lostAtMs = undefined
  }

  /** Forgets a peer (it left); a later heartbeat starts over from the bootstrap. */
  remove(peer: string): void {
    this.peers.delete(peer)
  }

  private phiOf(state: PeerState, nowMs: number): number {
    if (state.lostAtMs !== undefined) {
      if (state.lastHeartbeatMs - state.lostAtMs <= this.acceptableHeartbeatPauseMs) return Infinity
      state.lostAtMs = undefined
    }
    const elapsed = Math.max(0, nowMs - state.lastHeartbeatMs)
    const mean = state.window.mean + this.acceptableHeartbeatPauseMs
    const stdDeviation = Math.max(state.window.stdDeviation, this.minStdDeviationMs)
    return phiOfNormal((elapsed - mean) / stdDeviation)
  }
}

/**
 * -log10(1 - Φ(y)) for the standard normal Φ, accurate to ~1e-7 relative everywhere and
 * finite for any finite y. Computed in log space: the survival probability underflows
 * doubles for y > 38, where φ is still a useful number (~300). Akka uses a logistic
 * approximation instead, which crosses φ = 8 near y = 5.23 rather than the true 5.61.
 */
export function phiOfNormal(y: number): number {
  const z = Math.abs(y) / Math.SQRT2
  const lnErfc = lnErfcNonNegative(z)
  if (y >= 0) return (Math.LN2 - lnErfc) / Math.LN10 // -log10(erfc(z) / 2)
  // Upper tail of a negative y: 1 - erfc(|z|)/2, close to 1, so use log1p.
  return -Math.log1p(-0.5 * Math.exp(lnErfc)) / Math.LN10
}

/**
 * ln erfc(z) for z ≥ 0, from the Chebyshev fit in Numerical Recipes (erfcc, fractional
 * error < 1.2e-7): erfc(z) = t·exp(-z² + P(t)) with t = 1/(1 + z/2), so its logarithm
 * needs no exp at all. The fit gives erfc(0) = 1 + 3e-8; subtracting P(1) makes it
 * exactly 1, so the two branches of phiOfNormal meet at y = 0 and φ never steps down.
 */
function lnErfcNonNegative(z: number): number {
  const t = 1 / (1 + 0.5 * z)
  return Math.log(t) - z * z + erfcPolynomial(t) - ERFC_POLYNOMIAL_AT_ZERO
}

function erfcPolynomial(t: number): number {
  return (
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
  )
}

const ERFC_POLYNOMIAL_AT_ZERO = erfcPolynomial(1)
