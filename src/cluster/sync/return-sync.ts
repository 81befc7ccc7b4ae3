// When a peer comes back (a partition heals, it restarts, it first joins), what the two
// sides wrote meanwhile should cross at once, not at the next anti-entropy round (up to
// 1.5 intervals away, and then with a random peer) or handoff pass. So a return starts,
// on the next turn of the event loop, one anti-entropy exchange with that peer (the arcs
// both hold) and the delivery of the hints kept for it. The periodic schedule is left as
// it is: it still makes convergence certain when a return goes unnoticed.
//
// A flapping peer must not become a storm: per peer, at most one exchange started here
// is in flight, and one starts at most every RETURN_SYNC_SPACING_MS. A return within the
// spacing is not dropped but deferred to its end, and the returns in between join it, so
// a peer that flaps for T ms gets at most 1 + T / spacing exchanges from each node.
import type { Clock, TimerHandle } from '../../base/clock.js'

/**
 * Least time between two exchanges one node starts with one returning peer: the default
 * anti-entropy interval, so returns at most double the exchanges a peer sees. It does not
 * follow a longer configured interval: a return is rare, and worth an exchange.
 */
export const RETURN_SYNC_SPACING_MS = 1000

export interface ReturnSyncInit {
  readonly clock: Clock
  /** Whether the failure detector holds `peer` alive now (a deferred return checks again). */
  readonly isLive: (peer: string) => boolean
  /** One anti-entropy exchange with `peer` (AntiEntropy.roundOnReturn); never rejects. */
  readonly exchange: (peer: string) => Promise<unknown>
  /** Hands the hints kept for `peer` over now (HintedHandoff.deliverNow). */
  readonly handOff: (peer: string) => Promise<unknown>
  readonly spacingMs?: number
}

interface PeerState {
  /** Clock time the last exchange started here (-Infinity: none yet). */
  lastStart: number
  inFlight: boolean
  /** The next start, scheduled. */
  due: TimerHandle | undefined
}

export class ReturnSync {
  private readonly peers = new Map<string, PeerState>()
  private readonly spacingMs: number
  private readonly running = new Set<Promise<unknown>>()
  private started = false

  constructor(private readonly init: ReturnSyncInit) {
    this.spacingMs = init.spacingMs ?? RETURN_SYNC_SPACING_MS
  }

  /** Returns count from now on. Idempotent. */
  start(): void {
    this.started = true
  }

  /** `peer` came back: an exchange and its hints on the next turn, or at the end of the spacing. */
  peerReturned(peer: string): void {
    if (!this.started) return
    let state = this.peers.get(peer)
    if (state === undefined) {
      state = { lastStart: -Infinity, inFlight: false, due: undefined }
      this.peers.set(peer, state)
    }
    if (state.due !== undefined) return
    const wait = state.inFlight ? this.spacingMs : Math.max(0, state.lastStart + this.spacingMs - this.init.clock.now())
    this.arm(peer, state, wait)
  }

  /** Clears every deferred start and waits for the exchanges in flight. Idempotent. */
  async stop(): Promise<void> {
    this.started = false
    for (const state of this.peers.values()) if (state.due !== undefined) this.init.clock.clearTimeout(state.due)
    this.peers.clear()
    await Promise.allSettled([...this.running])
  }

  private arm(peer: string, state: PeerState, wait: number): void {
    state.due = this.init.clock.setTimeout(() => {
      state.due = undefined
      this.fire(peer, state)
    }, wait)
  }

  private fire(peer: string, state: PeerState): void {
    if (!this.started || !this.init.isLive(peer)) return
    // Still exchanging since the last start (a slow exchange): this one waits another spacing.
    if (state.inFlight) return this.arm(peer, state, this.spacingMs)
    state.lastStart = this.init.clock.now()
    state.inFlight = true
    const work = Promise.allSettled([this.init.exchange(peer), this.init.handOff(peer)]).then(() => {
      state.inFlight = false
      this.running.delete(work)
    })
    this.running.add(work)
  }
}
