// Exponential backoff with "equal jitter": after the k-th failure wait between half and
// all of min(max, base·2^(k-1)), so retries from many nodes spread out instead of
// arriving together, and no wait is shorter than half the ceiling.
import type { Random } from './random.js'

export interface BackoffOptions {
  readonly baseMs: number
  readonly maxMs: number
}

/** Delay before the next try after `failures` consecutive failures (>= 1). */
export function backoffDelay(failures: number, options: BackoffOptions, random: Pick<Random, 'next'>): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1))
  return ceiling / 2 + random.next() * (ceiling / 2)
}
