// Keeps discovered peers connected: dials each discovered peer at once, retries failed
// dials with exponential backoff and jitter, and tries to get a lost peer back. Ordinary
// peers get a bounded number of attempts per discovery (mDNS rediscovers live ones);
// persistent peers (the bootstrap list, explicit dials) are retried at the backoff
// ceiling for as long as the node runs. stop() cancels every timer and dial in flight.
import type { PeerId } from '@libp2p/interface'
import { backoffDelay as sharedBackoffDelay } from '../../src/base/backoff.js'
import type { TransportLogger } from './logger.js'

export interface BackoffOptions {
  /** Delay ceiling of the first retry; doubles per attempt. */
  readonly baseMs: number
  readonly maxMs: number
  /** Dials per discovery of an ordinary peer (the first one included). */
  readonly attempts: number
}

export interface RedialerInit extends BackoffOptions {
  dial(peer: PeerId, signal: AbortSignal): Promise<void>
  isConnected(peer: PeerId): boolean
  /** Uniform in [0, 1). */
  random(): number
  onDialFailed?(peer: PeerId, err: unknown): void
  log: TransportLogger
}

interface Entry {
  readonly peer: PeerId
  persistent: boolean
  /** Failed dials since the last success or discovery. */
  failures: number
  timer?: ReturnType<typeof setTimeout>
  inFlight?: AbortController
}

/** Delay before retry number `failures` (≥ 1): uniform in [ceiling/2, ceiling), ceiling = min(max, base·2^(failures-1)). */
export function backoffDelay(failures: number, options: Pick<BackoffOptions, 'baseMs' | 'maxMs'>, random: () => number): number {
  return sharedBackoffDelay(failures, options, { next: random })
}

export class Redialer {
  private readonly entries = new Map<string, Entry>()
  private stopped = false

  constructor(private readonly init: RedialerInit) {}

  /** A peer was discovered: dial it now unless it is connected or a dial is already planned. */
  discovered(peer: PeerId, persistent = false): void {
    if (this.stopped) return
    const entry = this.entry(peer)
    entry.persistent ||= persistent
    if (this.init.isConnected(peer) || entry.inFlight !== undefined) return
    if (entry.timer !== undefined) {
      clearTimeout(entry.timer)
      entry.timer = undefined
    }
    entry.failures = 0
    this.dial(entry)
  }

  /** A peer we heard of second-hand (a member announcement): dial it unless it is already being taken care of. */
  suggested(peer: PeerId): void {
    if (this.stopped || this.entries.has(peer.toString()) || this.init.isConnected(peer)) return
    this.discovered(peer)
  }

  /** The last connection to a peer of the cluster closed: try to get it back after a short delay. */
  lost(peer: PeerId): void {
    if (this.stopped) return
    const entry = this.entry(peer)
    if (entry.inFlight !== undefined || entry.timer !== undefined) return
    entry.failures = Math.max(entry.failures, 1)
    this.schedule(entry)
  }

  /** A connection opened (either way): nothing to retry. */
  connected(peer: PeerId): void {
    const entry = this.entries.get(peer.toString())
    if (entry === undefined) return
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    entry.failures = 0
    if (!entry.persistent && entry.inFlight === undefined) this.entries.delete(peer.toString())
  }

  /** Peers with a retry planned or a dial in flight. */
  pending(): number {
    let n = 0
    for (const e of this.entries.values()) if (e.timer !== undefined || e.inFlight !== undefined) n++
    return n
  }

  stop(): void {
    this.stopped = true
    for (const entry of this.entries.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer)
      entry.timer = undefined
      entry.inFlight?.abort(new Error('transport stopped'))
    }
    this.entries.clear()
  }

  private entry(peer: PeerId): Entry {
    const key = peer.toString()
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = { peer, persistent: false, failures: 0 }
      this.entries.set(key, entry)
    }
    return entry
  }

  private dial(entry: Entry): void {
    const controller = new AbortController()
    entry.inFlight = controller
    this.init.dial(entry.peer, controller.signal).then(
      () => {
        entry.inFlight = undefined
        if (!this.stopped) this.connected(entry.peer)
      },
      (err: unknown) => {
        entry.inFlight = undefined
        if (this.stopped) return
        entry.failures++
        this.init.onDialFailed?.(entry.peer, err)
        this.init.log.debug({ peer: entry.peer.toString(), failures: entry.failures, err: String(err) }, 'dial failed')
        if (this.init.isConnected(entry.peer)) return this.connected(entry.peer)
        this.schedule(entry)
      },
    )
  }

  private schedule(entry: Entry): void {
    if (!entry.persistent && entry.failures >= this.init.attempts) {
      this.init.log.info({ peer: entry.peer.toString(), attempts: entry.failures }, 'giving up dialing peer until it is discovered again')
      this.entries.delete(entry.peer.toString())
      return
    }
    const delay = backoffDelay(entry.failures, this.init, this.init.random)
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      if (this.stopped) return
      if (this.init.isConnected(entry.peer)) return this.connected(entry.peer)
      this.dial(entry)
    }, delay)
  }
}
