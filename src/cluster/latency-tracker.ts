// Request timeouts that adapt to each peer: p99 of its recent round trips plus a margin,
// kept within bounds, so a slow link is not taken for a dead peer and a dead peer on a
// fast link is noticed quickly.
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  LATENCY_WINDOW,
  MAX_REQUEST_TIMEOUT_MS,
  MIN_REQUEST_TIMEOUT_MS,
  REQUEST_TIMEOUT_MARGIN_MS,
} from './engine-constants.js'

export class LatencyTracker {
  private readonly samples = new Map<string, number[]>()

  record(peer: string, ms: number): void {
    let window = this.samples.get(peer)
    if (window === undefined) {
      window = []
      this.samples.set(peer, window)
    }
    window.push(Math.max(0, ms))
    if (window.length > LATENCY_WINDOW) window.shift()
  }

  /** p-th percentile (0..1) of the peer's recent round trips, or undefined without samples. */
  percentile(peer: string, p: number): number | undefined {
    const window = this.samples.get(peer)
    if (window === undefined || window.length === 0) return undefined
    const sorted = [...window].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
  }

  timeoutFor(peer: string): number {
    const p99 = this.percentile(peer, 0.99)
    if (p99 === undefined) return DEFAULT_REQUEST_TIMEOUT_MS
    return Math.min(MAX_REQUEST_TIMEOUT_MS, Math.max(MIN_REQUEST_TIMEOUT_MS, Math.ceil(p99 * 2 + REQUEST_TIMEOUT_MARGIN_MS)))
  }

  forget(peer: string): void {
    this.samples.delete(peer)
  }
}
