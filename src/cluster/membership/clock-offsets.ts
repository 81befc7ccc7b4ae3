// Whether this node's wall clock agrees with the cluster's (DESIGN.md, hybrid logical
// clock). Every heartbeat carries its sender's wall clock; the sender's time minus ours at
// receipt is one sample of that peer's offset, less the heartbeat's delay (the network's,
// and the time it waited on a busy event loop, which can be seconds). A delay only ever
// lowers a sample, so the peer's offset is the largest of its last few samples: the least
// delayed, as NTP's clock filter keeps the sample with the least delay. (The median made a
// node whose loop ran behind see every peer's clock behind, and refuse register writes.)
//
// This node's clock is off when more than half of the cluster's live nodes, itself
// included, are more than maxOffsetMs away from it: with 3 nodes when both peers disagree
// with it. Two nodes cannot tell which of them is wrong, so neither is ever off (nor is a
// node alone). While off, the node refuses register writes, whose HLC timestamps would come
// from the wrong clock; it recovers by itself when new heartbeats show its clock agreeing.
//
// The read side: a register answer stamped more than maxOffsetMs ahead of this node's
// clock must not win a read here (the replicas refuse such deltas; a read must not bring
// the value back). That is decided here too, so both rules use one limit and one log.
import type { Clock } from '../../base/clock.js'
import { ClockSkewError } from '../../base/errors.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import { heldBack, LogThrottle, LOG_THROTTLE_INTERVAL_MS } from '../../base/log-throttle.js'
import { DEFAULT_MAX_CLOCK_OFFSET_MS } from './constants.js'

/** Offset samples kept per peer; the largest of these is its offset. */
export const CLOCK_OFFSET_SAMPLES = 8
/** A peer's offset counts once this many heartbeats measured it (one late heartbeat is not a verdict). */
export const MIN_CLOCK_OFFSET_SAMPLES = 3
/** An ignored future register is logged at most once per peer and key in this interval (a LogThrottle). */
export const FUTURE_REGISTER_LOG_INTERVAL_MS = LOG_THROTTLE_INTERVAL_MS
/** Sample storage starts with room for this many peers and doubles. */
const INITIAL_PEER_SLOTS = 8
/** Offsets are kept as int32 ms (±24 days); a clock further off is just as wrong. */
const MAX_STORED_OFFSET_MS = 2 ** 31 - 1

export interface ClockOffsetsInit {
  readonly self: string
  readonly clock: Clock
  /** Live peers (this node excluded): only their offsets, and their number, count. */
  readonly livePeers: () => readonly string[]
  readonly maxOffsetMs?: number
  readonly logger?: Logger
}

/** Clock counters before the first measurement. */
export function zeroClockOffsetStats(): ClockOffsetStats {
  return { writesRefused: 0, futureRegistersIgnored: 0, timesFoundOff: 0 }
}

export interface ClockOffsetStats {
  /** Register writes refused (coordinated here or sent here to apply) while this node's clock was off. */
  writesRefused: number
  /** Register answers to reads that were not joined: stamped more than maxOffsetMs ahead of this node's clock. */
  futureRegistersIgnored: number
  /** Times this node found its own clock off the cluster's. */
  timesFoundOff: number
}

/** The clock status of a node that has measured no peer yet (or runs without a network). */
export function idleClockStatus(maxOffsetMs: number = DEFAULT_MAX_CLOCK_OFFSET_MS): ClockStatus {
  return { ...zeroClockOffsetStats(), off: false, offsetMs: 0, peersMeasured: 0, peersDisagreeing: 0, maxOffsetMs }
}

export interface ClockStatus extends ClockOffsetStats {
  /** This node's clock is off the cluster's: it refuses register writes. */
  readonly off: boolean
  /** This node's clock minus the cluster's (median over the measured live peers), ms; 0 before any. */
  readonly offsetMs: number
  /** Live peers with enough heartbeats to have an offset. */
  readonly peersMeasured: number
  /** Live peers whose offset is over the limit. */
  readonly peersDisagreeing: number
  readonly maxOffsetMs: number
}

interface Verdict {
  readonly off: boolean
  /** This node's clock minus the disagreeing peers' (median), ms. */
  readonly offsetMs: number
  readonly disagreeing: number
  readonly nodes: number
}

export class ClockOffsets {
  readonly maxOffsetMs: number
  readonly stats = zeroClockOffsetStats()
  // Every node measures every peer, so a simulation of 1,000 nodes in one process holds a
  // million of these: one int32 slab with a slot per peer, not an array per peer.
  private readonly slots = new Map<string, number>()
  private samples = new Int32Array(INITIAL_PEER_SLOTS * CLOCK_OFFSET_SAMPLES)
  private counts = new Uint8Array(INITIAL_PEER_SLOTS)
  /** Peers whose offset is over the limit (live or not): kept current as samples arrive. */
  private readonly disagreeing = new Set<string>()
  private readonly logger: Logger
  /** Ignored future registers: one line per peer and key a minute. */
  private readonly futureLog = new LogThrottle(() => this.init.clock.now(), FUTURE_REGISTER_LOG_INTERVAL_MS)
  private off = false

  constructor(private readonly init: ClockOffsetsInit) {
    this.maxOffsetMs = init.maxOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS
    if (!(this.maxOffsetMs >= 0)) throw new RangeError('maxClockOffsetMs must be a non-negative number of milliseconds')
    this.logger = init.logger ?? silentLogger
  }

  /** A heartbeat from `peer` sent at its `remoteTime`, received at `receivedAt` on this node's clock. */
  record(peer: string, remoteTime: number, receivedAt: number): void {
    // 0 is what a sender that does not fill the field sends: not a clock reading.
    if (peer === this.init.self || !(remoteTime > 0) || !Number.isFinite(receivedAt)) return
    const slot = this.slotOf(peer)
    const count = this.counts[slot] as number
    // Oldest first: the new sample goes last, dropping the oldest once the window is full.
    const base = slot * CLOCK_OFFSET_SAMPLES
    if (count === CLOCK_OFFSET_SAMPLES) this.samples.copyWithin(base, base + 1, base + CLOCK_OFFSET_SAMPLES)
    else this.counts[slot] = count + 1
    const offset = Math.max(-MAX_STORED_OFFSET_MS, Math.min(MAX_STORED_OFFSET_MS, Math.round(remoteTime - receivedAt)))
    this.samples[base + Math.min(count, CLOCK_OFFSET_SAMPLES - 1)] = offset
    const median = this.offsetOf(peer)
    const disagrees = median !== undefined && Math.abs(median) > this.maxOffsetMs
    if (disagrees === this.disagreeing.has(peer)) return
    if (disagrees) this.disagreeing.add(peer)
    else this.disagreeing.delete(peer)
    // Judged again only when a peer's view flips, so a heartbeat costs O(1); liveness
    // changes are picked up by the next write, read or status that asks.
    this.verdict()
  }

  /** The peer's clock minus ours (the least delayed of recent heartbeats), ms; undefined until measured. */
  offsetOf(peer: string): number | undefined {
    const slot = this.slots.get(peer)
    if (slot === undefined || (this.counts[slot] as number) < MIN_CLOCK_OFFSET_SAMPLES) return undefined
    const base = slot * CLOCK_OFFSET_SAMPLES
    let largest = -Infinity
    for (let i = base; i < base + (this.counts[slot] as number); i++) largest = Math.max(largest, this.samples[i] as number)
    return largest
  }

  isOff(): boolean {
    return this.verdict().off
  }

  /** The error to refuse a register write with while this node's clock is off (counted), else undefined. */
  registerWriteRefusal(): ClockSkewError | undefined {
    const verdict = this.verdict()
    if (!verdict.off) return undefined
    this.stats.writesRefused++
    return new ClockSkewError(this.init.self, verdict.offsetMs, this.maxOffsetMs)
  }

  /**
   * Whether a read here must leave out `peer`'s register answer for `key` stamped at
   * `wallMs`: it is more than maxOffsetMs ahead of this node's clock. Counted, and logged
   * at most once per peer and key a minute. Not while this node's own clock is off: then
   * ours is the wrong clock and the answer may well be right.
   */
  ignoresRegister(peer: string, key: string, wallMs: number): boolean {
    const now = this.init.clock.now()
    const aheadMs = wallMs - now
    if (!(aheadMs > this.maxOffsetMs) || this.isOff()) return false
    this.stats.futureRegistersIgnored++
    const held = this.futureLog.admit(`${peer}\u0000${key}`)
    if (held !== undefined) {
      this.logger.warn(
        { peer, key, aheadMs, maxOffsetMs: this.maxOffsetMs },
        `ignored ${peer}'s register ${JSON.stringify(key)} in a read: it is stamped ${aheadMs} ms ahead of this node's clock ` +
          `(limit ${this.maxOffsetMs} ms); that node's clock is probably wrong: fix it (NTP)${heldBack(held)}`,
      )
    }
    return true
  }

  status(): ClockStatus {
    const verdict = this.verdict()
    const offsets = this.init.livePeers().flatMap((p) => {
      const offset = this.offsetOf(p)
      return offset === undefined ? [] : [offset]
    })
    const offsetMs = verdict.off ? verdict.offsetMs : offsets.length === 0 ? 0 : -median(offsets)
    return {
      ...this.stats,
      off: verdict.off,
      offsetMs,
      peersMeasured: offsets.length,
      peersDisagreeing: offsets.filter((o) => Math.abs(o) > this.maxOffsetMs).length,
      maxOffsetMs: this.maxOffsetMs,
    }
  }

  private slotOf(peer: string): number {
    let slot = this.slots.get(peer)
    if (slot !== undefined) return slot
    slot = this.slots.size
    if (slot === this.counts.length) {
      const samples = new Int32Array(this.samples.length * 2)
      samples.set(this.samples)
      this.samples = samples
      const counts = new Uint8Array(this.counts.length * 2)
      counts.set(this.counts)
      this.counts = counts
    }
    this.slots.set(peer, slot)
    return slot
  }

  private verdict(): Verdict {
    if (this.disagreeing.size === 0) return this.settle({ off: false, offsetMs: 0, disagreeing: 0, nodes: 0 })
    const live = this.init.livePeers()
    const against = live.filter((p) => this.disagreeing.has(p))
    const nodes = live.length + 1
    const offsets = against.map((p) => this.offsetOf(p) as number)
    return this.settle({
      off: against.length * 2 > nodes,
      offsetMs: offsets.length === 0 ? 0 : -median(offsets),
      disagreeing: against.length,
      nodes,
    })
  }

  /** Logs when the verdict changes: the operator must learn that register writes stop here. */
  private settle(verdict: Verdict): Verdict {
    if (verdict.off === this.off) return verdict
    this.off = verdict.off
    const fields = { offsetMs: verdict.offsetMs, disagreeing: verdict.disagreeing, liveNodes: verdict.nodes, maxOffsetMs: this.maxOffsetMs }
    if (verdict.off) {
      this.stats.timesFoundOff++
      this.logger.warn(
        fields,
        `this node's wall clock is ${describeOffset(verdict.offsetMs)} the cluster's: ${verdict.disagreeing} of ${verdict.nodes} live nodes ` +
          `disagree by more than ${this.maxOffsetMs} ms; refusing register writes until it is fixed: sync it (NTP)`,
      )
    } else {
      this.logger.info(fields, "this node's wall clock agrees with the cluster's again: accepting register writes")
    }
    return verdict
  }

}

export function describeOffset(offsetMs: number): string {
  return `${Math.abs(Math.round(offsetMs))} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'}`
}

function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2)
}
