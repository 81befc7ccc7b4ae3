// One simulated machine as the test harness sees it: a stable handle by peer id whose
// transport endpoint, clock and random stream are replaced when the node restarts.
import { seededRandom, type Random } from '../base/random.js'
import type { SimClock } from './sim-clock.js'
import type { SimTransport } from './sim-transport.js'

export interface AddNodeOptions {
  /** Initial wall-clock skew of the node, ms. */
  readonly skewMs?: number
}

/** One simulated machine. The handle is stable; transport, clock and random are replaced on restart. */
export class SimNode {
  /** @internal */ endpointRef: SimTransport
  /** @internal */ randomRef: Random
  /** @internal */ skew: number
  /** @internal */ crashed = false

  constructor(
    readonly id: string,
    /** Creation order in the network. */
    readonly index: number,
    endpoint: SimTransport,
    random: Random,
    skewMs: number,
  ) {
    this.endpointRef = endpoint
    this.randomRef = random
    this.skew = skewMs
  }

  /** This incarnation's transport: give it to the engine. */
  get transport(): SimTransport {
    return this.endpointRef
  }

  /** This incarnation's clock: give it to the engine. */
  get clock(): SimClock {
    return this.endpointRef.clock
  }

  /** This incarnation's seeded random stream (a restart gets a new one). */
  get random(): Random {
    return this.randomRef
  }

  /** 0 at first, +1 on every restart. */
  get incarnation(): number {
    return this.endpointRef.incarnation
  }

  /** Not crashed (its transport may still be unstarted or stopped). */
  get up(): boolean {
    return !this.crashed
  }

  get skewMs(): number {
    return this.skew
  }

  /**
   * A Store `schedule` for group commit on this node's current clock: commits pending when
   * the node crashes never run (they were not durable). Pass it to InMemoryStore and to
   * `crashCopy({ schedule })`.
   */
  readonly schedule = (fn: () => void): void => {
    this.endpointRef.clock.schedule(fn)
  }
}

/** The seeded stream of one incarnation of a node: fixed by the network seed, the peer id and the incarnation. */
export function nodeRandom(seed: number, peerId: string, incarnation: number): Random {
  return seededRandom(mixSeed(seed, hashString(peerId), incarnation + 1))
}

function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Combines 32-bit values into one well-mixed 32-bit seed (murmur3 finalizer per step). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}
