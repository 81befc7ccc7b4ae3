// Request timeouts that adapt to each peer: p99 of its recent round trips plus a margin,
// kept within bounds, so a slow link is not taken for a dead peer and a dead peer on a
// fast link is noticed quickly.
import { DEFAULT_REQUEST_TIMEOUT_MS, LATENCY_WINDOW, MAX_REQUEST_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_MARGIN_MS } from './constants.js'

/** A peer's timeout is recomputed (a sort of its window) after this many new samples. */
const RECOMPUTE_EVERY = 16

export class LatencyTracker {
  private readonly samples = new Map<string, number[]>()
  /** Timeouts computed from a recent window, and how many samples arrived since. */
  private readonly timeouts = new Map<string, { timeoutMs: number; stale: number }>()

  record(peer: string, ms: number): void {
    let window = this.samples.get(peer)
    if (window === undefined) {
      window = []
      this.samples.set(peer, window)
    }
    window.push(Math.max(0, ms))
    if (window.length > LATENCY_WINDOW) window.shift()
    const cached = this.timeouts.get(peer)
    if (cached !== undefined) cached.stale++
  }

  /** p-th percentile (0..1) of the peer's recent round trips, or undefined without samples. */
  percentile(peer: string, p: number): number | undefined {
    const window = this.samples.get(peer)
    if (window === undefined || window.length === 0) return undefined
    const sorted = [...window].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
  }

  /** p99 × 2 plus a margin, within bounds; the default without samples. Up to RECOMPUTE_EVERY samples behind. */
  timeoutFor(peer: string): number {
    const cached = this.timeouts.get(peer)
    if (cached !== undefined && cached.stale < RECOMPUTE_EVERY) return cached.timeoutMs
    const p99 = this.percentile(peer, 0.99)
    if (p99 === undefined) return DEFAULT_REQUEST_TIMEOUT_MS
    const timeoutMs = Math.min(MAX_REQUEST_TIMEOUT_MS, Math.max(MIN_REQUEST_TIMEOUT_MS, Math.ceil(p99 * 2 + REQUEST_TIMEOUT_MARGIN_MS)))
    this.timeouts.set(peer, { timeoutMs, stale: 0 })
    return timeoutMs
  }

  forget(peer: string): void {
    this.samples.delete(peer)
    this.timeouts.delete(peer)
  }
}
