// What a frame suffers on its way from one node to another. A link is directed; the
// network applies a default to every pair and lets tests override single links.
import type { Random } from '../base/random.js'

export interface LatencyModel {
  /** Fixed one-way delay, ms. */
  readonly baseMs: number
  /**
   * Random delay added to the base, ms: the mean for `exponential` (a long tail, like a
   * loaded LAN), the maximum for `uniform`. 0 keeps frames in order.
   */
  readonly jitterMs: number
  readonly jitter: 'exponential' | 'uniform'
}

export interface LinkConfig {
  readonly latency: LatencyModel
  /** Probability that a frame is lost. */
  readonly loss: number
  /** Probability that a frame is delivered twice (each copy independently delayed). */
  readonly duplicate: number
  /** Probability that a frame is held back by an extra uniform delay in [0, reorderDelayMs). */
  readonly reorder: number
  readonly reorderDelayMs: number
  /**
   * Probability that an answer is lost with its connection reset: the request was handled
   * (applied, committed), but the requester gets ConnectionResetError instead of the answer.
   */
  readonly reset: number
}

/** A partial config: unset fields come from the network default. */
export type LinkOverrides = Partial<Omit<LinkConfig, 'latency'>> & { latency?: Partial<LatencyModel> }

/** A quiet LAN: 1 ms plus 0.5 ms mean exponential jitter; nothing lost, duplicated or held back. */
export const DEFAULT_LINK: LinkConfig = {
  latency: { baseMs: 1, jitterMs: 0.5, jitter: 'exponential' },
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 20,
  reset: 0,
}

export function mergeLink(base: LinkConfig, overrides: LinkOverrides): LinkConfig {
  const link: LinkConfig = {
    ...base,
    ...withoutUndefined(overrides),
    latency: { ...base.latency, ...withoutUndefined(overrides.latency ?? {}) },
  }
  validateLink(link)
  return link
}

/** One-way delay of one frame copy, ms. */
export function sampleDelay(link: LinkConfig, random: Random): number {
  const { baseMs, jitterMs, jitter } = link.latency
  let delay = baseMs
  if (jitterMs > 0) {
    const u = random.next()
    delay += jitter === 'uniform' ? u * jitterMs : -Math.log(1 - u) * jitterMs
  }
  if (link.reorder > 0 && random.next() < link.reorder) delay += random.next() * link.reorderDelayMs
  return delay
}

function validateLink(link: LinkConfig): void {
  const probability = (name: string, p: number) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`link ${name} must be a probability in [0, 1], got ${p}`)
  }
  const nonNegative = (name: string, v: number) => {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`link ${name} must be a finite number >= 0, got ${v}`)
  }
  probability('loss', link.loss)
  probability('duplicate', link.duplicate)
  probability('reorder', link.reorder)
  probability('reset', link.reset)
  nonNegative('reorderDelayMs', link.reorderDelayMs)
  nonNegative('latency.baseMs', link.latency.baseMs)
  nonNegative('latency.jitterMs', link.latency.jitterMs)
  if (link.latency.jitter !== 'exponential' && link.latency.jitter !== 'uniform') {
    throw new RangeError(`link latency.jitter must be 'exponential' or 'uniform', got ${String(link.latency.jitter)}`)
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The default link and the per-link overrides, merged once per change rather than per frame. */
export class LinkTable {
  private base: LinkConfig
  private readonly overrides = new Map<string, LinkOverrides>()
  private readonly merged = new Map<string, LinkConfig>()

  constructor(defaults: LinkOverrides) {
    this.base = mergeLink(DEFAULT_LINK, defaults)
  }

  get(from: string, to: string): LinkConfig {
    return this.merged.size === 0 ? this.base : (this.merged.get(linkKey(from, to)) ?? this.base)
  }

  setDefault(overrides: LinkOverrides): void {
    this.base = mergeLink(this.base, overrides)
    for (const [key, o] of this.overrides) this.merged.set(key, mergeLink(this.base, o))
  }

  set(from: string, to: string, overrides: LinkOverrides): void {
    const merged = mergeLink(this.base, overrides)
    this.overrides.set(linkKey(from, to), overrides)
    this.merged.set(linkKey(from, to), merged)
  }

  clear(from: string, to: string): void {
    this.overrides.delete(linkKey(from, to))
    this.merged.delete(linkKey(from, to))
  }
}

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`
}
