// Anti-entropy (DESIGN.md, "Spreading changes"): every interval this node picks a live peer
// it shares arcs with (the peers in a shuffled round: each is met within two rounds of them,
// where independent random picks leave a long tail) and reconciles those arcs; a peer that
// comes back gets a round at once besides (roundOnReturn, started by return-sync.ts). Equal
// replicas cost one 16-byte hash each way; otherwise the differing groups of arcs are
// narrowed by range until each holds a few keys, and only those keys are listed, and only
// differing states travel, both ways, through Replica.merge (durable, listeners fire).
//
//   A → sync-root  {ringVersion, root}           B: other view → sync-arcs [] (A skips);
//                                                   same root → sync-equal; else ↓
//   B → sync-arcs  {(group end, aggregate)…}     B groups its shared arcs (≤ 64 groups)
//   A → sync-ranges{ranges, A's aggregates}      A splits each differing range holding more
//   B → sync-differ{which differ}                than 16 of its keys in 8; repeated while it
//                                                   pays (range-narrowing.ts)
//   A → sync-keys  {ranges, A's (key, digest)}   the narrowed ranges, ≤ 1024 keys
//   B → sync-states{B's differing states, want}  both directions at once
//   A merges, → sync-push {wanted states}; B merges → ack
//
// So d differences among N keys cost O(d · log N) bytes in one round. Anything that goes
// wrong ends the round (counted, logged at debug or info); the next round starts over.
// Each end records what an exchange found, with the ring version and the index's change
// number at the moment its digests were taken, so the sync status can say whether a peer
// is in sync now, not whether it once was. A state that cannot be merged or sent is kept
// as an unreconciled key (unreconciled.ts) and logged at warn. When the replicas differ
// nearly everywhere (one was wiped), narrowing stops and our keys in the differing arcs
// are listed 1024 per round (or 3 MiB of states), a per-peer cursor moving the walk
// forward across rounds.
import { equals } from 'uint8arrays/equals'
import type { TimerHandle } from '../../base/clock.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Random } from '../../base/random.js'
import { TransportTimeoutError } from '../../transport/transport.js'
import { MAX_KEYS_PER_BATCH } from '../../wire/limits.js'
import type { Request, Response } from '../../wire/messages.js'
import { DEFAULT_ANTI_ENTROPY_INTERVAL_MS, PURGE_CONFIRM_MS } from './constants.js'
import { groupHashes, matchGroups, rootOf } from './arc-hashes.js'
import {
  SyncEndpoint,
  uniqueStates,
  type PeerComparison,
  type PeerSyncStatus,
  type SyncCounters,
  type SyncEndpointInit,
  type SyncView,
} from './sync-endpoint.js'
import { arcOf, arcStart } from './arc-index.js'
import { answerPages } from '../page-transfer/page-lists.js'
import { keyPosition } from '../ring/hash.js'
import { preferenceListAt } from '../ring/ring.js'
import { narrowDifferences } from './range-narrowing.js'
import {
  arcsOf,
  keyCountInRange,
  keysInRange,
  RangeCover,
  rangeHash,
  rangesToWire,
  selectNarrowed,
  selectRanges,
  splitByKeys,
  type Selection,
  type WalkSelection,
} from './sync-ranges.js'
import type { RingRange } from '../ring/ring.js'
import type { UnreconciledKey } from './unreconciled.js'

export { sharedArcs } from './arc-hashes.js'
export type { AntiEntropyRingView, PeerComparison, PeerSyncStatus } from './sync-endpoint.js'
export type { UnreconciledKey } from './unreconciled.js'

const MAX_RANGES_PER_REQUEST = MAX_KEYS_PER_BATCH / 2

export interface SyncSendOptions {
  /**
   * How long the peer has to answer each request frame (each part of a large message gets
   * at least the messenger's part timeout). Undefined: the messenger's adaptive timeout.
   * The send enforces it, rejecting with TransportTimeoutError: a round sets no timer of
   * its own, which could cut short a large answer pulled in parts.
   */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export type SyncSend = (peer: string, request: Request, options?: SyncSendOptions) => Promise<Response>

export interface AntiEntropyInit extends SyncEndpointInit {
  readonly random: Random
  /** Sends one request; the caller's wrapper encodes it and counts bytes. */
  readonly send: SyncSend
  /** Peers the failure detector holds alive. */
  readonly livePeers: () => readonly string[]
  /** Mean time between rounds; each wait is drawn from [0.5, 1.5) × this. */
  readonly intervalMs?: number
  /** Passed to every send of a round as `timeoutMs` (see SyncSendOptions); default: the messenger's adaptive timeout. */
  readonly requestTimeoutMs?: number
}

export type RoundOutcome =
  /** Shared arcs were equal. */
  | 'equal'
  /** Differences were found and (partly, if over a batch) exchanged. */
  | 'synced'
  /** The two nodes hold different membership views (or n): skipped until they converge. */
  | 'view-mismatch'
  | 'failed'
  /** Cut short by stop(). */
  | 'aborted'
  | 'no-peer'
  /** A round was already running (for roundOnReturn: one with that peer). */
  | 'busy'
  /** The index is still being built from the store (ArcIndex.build): no round yet. */
  | 'indexing'

export interface RoundResult {
  readonly outcome: RoundOutcome
  readonly peer?: string
  /** States received and merged. */
  readonly received: number
  /** States sent. */
  readonly sent: number
  readonly error?: unknown
}

export interface AntiEntropyStats extends SyncCounters {
  /** Rounds started with a peer (all outcomes but no-peer and busy). */
  rounds: number
  /** Of those, rounds started because the peer came back or joined (roundOnReturn). */
  returnRounds: number
  equalRounds: number
  syncedRounds: number
  viewMismatchRounds: number
  failedRounds: number
  requestsServed: number
  /** Requests answered with an error. */
  requestErrors: number
}

/** Anti-entropy's counters before its first round. */
export function zeroAntiEntropyStats(): AntiEntropyStats {
  return {
      rounds: 0,
      returnRounds: 0,
      equalRounds: 0,
      syncedRounds: 0,
      viewMismatchRounds: 0,
      failedRounds: 0,
      keysSent: 0,
      keysReceived: 0,
      mergeErrors: 0,
      oversizedStates: 0,
      pagesReceived: 0,
      pageBytesReceived: 0,
      pageTransfersFailed: 0,
      unreconciledKeys: 0,
      requestsServed: 0,
      requestErrors: 0,
  }
}

/** A peer answered a sync step with an error or an unexpected message. */
export class AntiEntropyPeerError extends Error {
  override readonly name = 'AntiEntropyPeerError'
  constructor(readonly peer: string, step: string, answer: Response) {
    super(
      answer.type === 'error'
        ? `peer ${peer} refused ${step}: ${answer.code} ${answer.message}`
        : `peer ${peer} answered ${step} with ${answer.type}; it may run an incompatible rumordb version`,
    )
  }
}

export class AntiEntropyTimeoutError extends Error {
  override readonly name = 'AntiEntropyTimeoutError'
  constructor(readonly peer: string, step: string, timeoutMs: number, options?: ErrorOptions) {
    super(`peer ${peer} did not answer ${step} within ${timeoutMs} ms; the next round will try again`, options)
  }
}

export class AntiEntropy {
  readonly stats = zeroAntiEntropyStats()
  private readonly self: string
  private readonly intervalMs: number
  private readonly requestTimeoutMs: number | undefined
  private readonly endpoint: SyncEndpoint
  private readonly logger: Logger
  /** Per peer: where the next key walk starts (sync-ranges.ts). */
  private readonly cursors = new Map<string, bigint>()
  private started = false
  /** The peers this round of exchanges has yet to meet, in a random order (pickPeer). */
  private pending: string[] = []
  private timer: TimerHandle | undefined
  /** The scheduled (or runRound) round in flight: one at a time. */
  private running: Promise<RoundResult> | undefined
  /** Rounds started by roundOnReturn, in flight beside the scheduled one. */
  private readonly returning = new Set<Promise<RoundResult>>()
  /** The abort of every round in flight, by peer: at most one round per peer. */
  private readonly inFlight = new Map<string, AbortController>()

  constructor(private readonly init: AntiEntropyInit) {
    this.self = init.self
    this.intervalMs = init.intervalMs ?? DEFAULT_ANTI_ENTROPY_INTERVAL_MS
    this.requestTimeoutMs = init.requestTimeoutMs
    this.logger = init.logger ?? silentLogger
    const askPages = (peer: string, request: Request): Promise<Response> =>
      this.init.send(peer, request, this.requestTimeoutMs === undefined ? {} : { timeoutMs: this.requestTimeoutMs })
    this.endpoint = new SyncEndpoint({ ...init, askPages }, this.stats)
  }

  /** Starts the periodic rounds. Idempotent. */
  start(): void {
    if (this.started) return
    this.started = true
    this.endpoint.resume()
    this.schedule()
  }

  /**
   * Whether every other replica of `key` compared the key's arc equal with this node at or
   * after `since` (clock ms), and within the last PURGE_CONFIRM_MS: tombstones are left out
   * of the digests, so each then showed nothing of the key if this node shows nothing.
   * True for a key this node holds without being one of its replicas (it wrote it for one
   * that was away, and handed it on as a hint): anti-entropy never compares that copy, so
   * it cannot bring anything back. False while the index is not ready. The tombstone purge
   * asks this (src/database/tombstone-purge.ts).
   */
  confirmedEqual(key: string, since: number): boolean {
    if (!this.init.index.ready) return false
    const view = this.endpoint.view()
    const position = keyPosition(key)
    const replicas = preferenceListAt(view.ring, position, view.plan.n)
    if (!replicas.includes(this.self)) return true
    const arc = arcOf(view.ring, position)
    const from = Math.max(since, this.init.clock.now() - PURGE_CONFIRM_MS)
    return replicas.every((member) => member === this.self || this.endpoint.lastEqual(member, view.ring, arc) >= from)
  }

  /** Clears the timer and aborts every round in flight. Idempotent. */
  async stop(): Promise<void> {
    this.started = false
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const controller of this.inFlight.values()) controller.abort(new Error('anti-entropy stopped'))
    await Promise.all([this.running, ...this.returning])
    await this.endpoint.stop()
  }

  /** One exchange with `peer`, or with a random live peer sharing arcs. Never two at once; never throws. */
  async runRound(peer?: string): Promise<RoundResult> {
    if (this.running !== undefined) return { outcome: 'busy', received: 0, sent: 0 }
    const round = this.round(peer)
    this.running = round
    try {
      return await round
    } finally {
      this.running = undefined
    }
  }

  /**
   * One exchange with `peer`, which has just come back (return-sync.ts), beside the
   * scheduled rounds: those leave the schedule as it is. 'busy' while a round with that
   * peer is in flight, 'no-peer' if it shares no arcs with this node. Never throws.
   */
  async roundOnReturn(peer: string): Promise<RoundResult> {
    if (!this.started) return { outcome: 'aborted', peer, received: 0, sent: 0 }
    if (this.inFlight.has(peer)) return { outcome: 'busy', peer, received: 0, sent: 0 }
    const round = this.round(peer, true)
    this.returning.add(round)
    try {
      return await round
    } finally {
      this.returning.delete(round)
    }
  }

  /** Answers sync-* requests; undefined for any other request. */
  handle(from: string, request: Request): Promise<Response> | undefined {
    switch (request.type) {
      case 'sync-root':
        return this.serve(from, request, () => this.endpoint.answerRoot(from, request))
      case 'sync-ranges':
        return this.serve(from, request, () => this.endpoint.answerRanges(from, request))
      case 'sync-keys':
        return this.serve(from, request, () => this.endpoint.answerKeys(from, request))
      case 'sync-push':
        return this.serve(from, request, () => this.endpoint.answerPush(from, request))
      // Pages of a set this node listed, to anti-entropy's other end or to a node reading the
      // key (RequestRouter's read): like a read, for any peer, and answered while the index is built.
      case 'sync-pages':
        this.stats.requestsServed++
        return Promise.resolve(answerPages(this.init.store.getKey(request.key), request))
      default:
        return undefined
    }
  }

  /** The last exchange with each peer that had one, in id order. */
  peerSyncStatus(): PeerSyncStatus[] {
    return this.endpoint.peerSyncStatus()
  }

  /** Per peer sharing arcs with this node: whether the latest exchange still shows them equal (sync-endpoint.ts). */
  comparisons(): PeerComparison[] {
    return this.endpoint.comparisons()
  }

  /** Keys anti-entropy could not merge or send, per peer, oldest first. */
  unreconciled(): UnreconciledKey[] {
    return this.endpoint.unreconciledKeys()
  }

  // ---- initiator ------------------------------------------------------------------------

  private schedule(): void {
    const delay = Math.round(this.intervalMs * (0.5 + this.init.random.next()))
    this.timer = this.init.clock.setTimeout(() => {
      this.timer = undefined
      void this.runRound().then(() => {
        if (this.started && this.timer === undefined) this.schedule()
      })
    }, delay)
  }

  private async round(requested: string | undefined, onReturn = false): Promise<RoundResult> {
    if (!this.init.index.ready) return { outcome: 'indexing', received: 0, sent: 0 }
    let view: SyncView
    try {
      view = this.endpoint.view()
    } catch (err) {
      this.logger.warn({ err }, 'anti-entropy cannot read the ring view; the round is skipped')
      return { outcome: 'failed', received: 0, sent: 0, error: err }
    }
    const peer = requested ?? this.pickPeer(view)
    if (peer === undefined || (onReturn && !view.plan.peers.has(peer))) return { outcome: 'no-peer', received: 0, sent: 0 }
    // A round with this peer started on its return is still running: it covers this one.
    if (this.inFlight.has(peer)) return { outcome: 'busy', peer, received: 0, sent: 0 }
    this.stats.rounds++
    if (onReturn) this.stats.returnRounds++
    const controller = new AbortController()
    this.inFlight.set(peer, controller)
    try {
      const result = await this.exchange(peer, view, controller.signal)
      if (result.outcome === 'equal') this.stats.equalRounds++
      else if (result.outcome === 'synced') this.stats.syncedRounds++
      else if (result.outcome === 'view-mismatch') this.stats.viewMismatchRounds++
      return result
    } catch (err) {
      if (controller.signal.aborted) return { outcome: 'aborted', peer, received: 0, sent: 0, error: err }
      this.stats.failedRounds++
      // Timeouts come with every partition and crash (the failure detector reports those);
      // a peer refusing a step is rarer and worth seeing without debug on.
      const level = err instanceof AntiEntropyTimeoutError ? 'debug' : 'info'
      this.logger[level]({ peer, err }, `anti-entropy round with ${peer} failed; the next round starts over`)
      return { outcome: 'failed', peer, received: 0, sent: 0, error: err }
    } finally {
      this.inFlight.delete(peer)
    }
  }

  /**
   * The next peer of a shuffled round over the live peers sharing arcs. Picking each time at
   * random would leave some pair unmet for many intervals now and then (coupon collector:
   * a 5-node seed went 28 picks without one pair meeting), and the sync status, which needs
   * an exchange with every such peer since the last change, would say "not in sync" that long.
   */
  private pickPeer(view: SyncView): string | undefined {
    const isCandidate = (p: string): boolean => p !== this.self && view.plan.peers.has(p)
    const live = new Set(this.init.livePeers().filter(isCandidate))
    if (live.size === 0) return undefined
    for (;;) {
      const next = this.pending.pop()
      if (next === undefined) break
      if (live.has(next)) return next
    }
    // A new round: every candidate once, in a random order (Fisher–Yates).
    const order = [...live]
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.init.random.int(i + 1)
      ;[order[i], order[j]] = [order[j] as string, order[i] as string]
    }
    this.pending = order
    return this.pending.pop()
  }

  private async exchange(peer: string, view: SyncView, signal: AbortSignal): Promise<RoundResult> {
    const { index } = this.init
    const { ring, version } = view
    const { endpoint } = this
    const arcs = endpoint.arcsWith(view, peer)
    const result = (outcome: RoundOutcome, received = 0, sent = 0): RoundResult => ({ outcome, peer, received, sent })

    const root = rootOf(ring, arcs, index, view.plan.n)
    const rootSeq = index.changeSeq
    const rootAt = this.init.clock.now()
    const first = await this.request(peer, { type: 'sync-root', ringVersion: version, root }, signal)
    if (first.type === 'sync-equal') {
      endpoint.record(peer, 'equal', view, rootSeq)
      if (endpoint.isCurrent(view)) endpoint.noteEqual(peer, view, arcs, rootAt)
      return result('equal')
    }
    if (first.type !== 'sync-arcs') throw new AntiEntropyPeerError(peer, 'sync-root', first)
    if (!equals(first.ringVersion, version) || !endpoint.isCurrent(view)) {
      endpoint.record(peer, 'view-mismatch', view, rootSeq)
      return result('view-mismatch')
    }
    const ends = matchGroups(ring, arcs, first.arcs)
    if (ends === undefined) {
      endpoint.record(peer, 'view-mismatch', view, rootSeq)
      return result('view-mismatch')
    }

    const mine = groupHashes(ring, arcs, ends, index)
    const groupSeq = index.changeSeq
    // The peer's group hashes were taken while it answered, ours now: equal as of the request.
    const groupsAt = rootAt
    const differing: RingRange[] = []
    const equalArcs: number[] = []
    let from = 0
    ends.forEach((end, g) => {
      if (!equals(mine[g]!.hash, first.arcs[g]!.hash)) differing.push({ start: arcStart(ring, arcs[from]!), end: ring.tokens[arcs[end - 1]!]! })
      else for (let i = from; i < end; i++) equalArcs.push(arcs[i]!)
      from = end
    })
    endpoint.noteEqual(peer, view, equalArcs, groupsAt)
    if (differing.length === 0) {
      endpoint.record(peer, 'equal', view, groupSeq)
      return result('equal')
    }
    endpoint.record(peer, 'differ', view, groupSeq)

    const accept = endpoint.sharedWith(view, peer)
    const narrowed = await narrowDifferences(differing, {
      countOf: (range) => keyCountInRange(index, ring, range, accept),
      split: (range, parts) => splitByKeys(index, ring, range, accept, parts),
      hashOf: (range) => rangeHash(index, ring, range, accept),
      compare: async (ranges, hashes) => {
        const answer = await this.request(peer, { type: 'sync-ranges', ringVersion: version, ranges: rangesToWire(ranges), hashes }, signal)
        if (answer.type !== 'sync-differ') throw new AntiEntropyPeerError(peer, 'sync-ranges', answer)
        return answer.differ
      },
    })
    if (narrowed.length === 0) return result('synced')
    // The narrowed ranges in one request when our keys in them fit; else (differences
    // nearly everywhere) a walk over their arcs from this peer's cursor, across rounds.
    const fits = selectNarrowed(narrowed, (range) => [...keysInRange(index, ring, range, accept)], MAX_KEYS_PER_BATCH, MAX_RANGES_PER_REQUEST)
    const walk: WalkSelection | undefined = fits === undefined
      ? selectRanges(index, ring, arcsOf(ring, narrowed, accept), this.cursors.get(peer) ?? 0n, MAX_KEYS_PER_BATCH, MAX_RANGES_PER_REQUEST)
      : undefined
    const selection: Selection = fits ?? walk!
    const second = await this.request(
      peer,
      {
        type: 'sync-keys',
        ringVersion: version,
        arcs: rangesToWire(selection.ranges),
        entries: selection.entries.map(({ key, digest }) => ({ key, digest })),
      },
      signal,
    )
    if (second.type !== 'sync-states') throw new AntiEntropyPeerError(peer, 'sync-keys', second)

    // Only states of the ranges asked about: a confused peer cannot plant other keys here.
    const cover = new RangeCover(ring, selection.ranges, endpoint.sharedWith(view, peer))
    const incoming = uniqueStates(second.states).filter((s) => cover.has(endpoint.positionOf(s.key)))
    const received = await endpoint.mergeAll(incoming, peer, (pages) => this.request(peer, pages, signal))
    // A full batch of states may have left more: resume after the last one received
    // (the responder walks the ranges in our order).
    const last = second.states[second.states.length - 1]
    const truncated = second.states.length >= MAX_KEYS_PER_BATCH && last !== undefined
    if (truncated) this.cursors.set(peer, endpoint.positionOf(last.key))
    else if (walk !== undefined) this.cursors.set(peer, walk.cursor)

    const listed = new Set(selection.entries.map((e) => e.key))
    const wanted = [...new Set(second.want)].filter((key) => listed.has(key))
    // The responder wants every listed key whose digest differs from its own: a listed
    // key it neither wants nor sent is equal on both ends.
    const unequal = new Set([...wanted, ...second.states.map((s) => s.key)])
    endpoint.unreconciled.clearWhere(peer, (key) => listed.has(key) && !unequal.has(key))
    // A state the peer sent that our tombstones covered: the peer still shows it, so it gets them.
    const deleted = endpoint.deletedHere(incoming).filter((key) => !wanted.includes(key))
    const states = endpoint.statesFor([...wanted, ...deleted], peer)
    if (states.length > 0) {
      const third = await this.request(peer, { type: 'sync-push', states }, signal)
      if (third.type !== 'ack') throw new AntiEntropyPeerError(peer, 'sync-push', third)
      this.stats.keysSent += states.length
    }
    return result('synced', received, states.length)
  }

  /**
   * One step of a round. The send times it out (per frame, so a large answer pulled in
   * parts has as long as it keeps moving); stop() ends it at once, even a send that does
   * not watch the signal.
   */
  private async request(peer: string, request: Request, signal: AbortSignal): Promise<Response> {
    signal.throwIfAborted()
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    // If the send wins, the abort must not surface as an unhandled rejection.
    aborted.catch(() => {})
    const options = this.requestTimeoutMs === undefined ? { signal } : { signal, timeoutMs: this.requestTimeoutMs }
    try {
      return await Promise.race([this.init.send(peer, request, options), aborted])
    } catch (err) {
      if (err instanceof TransportTimeoutError && !signal.aborted) throw new AntiEntropyTimeoutError(peer, request.type, err.timeoutMs, { cause: err })
      throw err
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    }
  }

  // ---- responder ------------------------------------------------------------------------

  private async serve(from: string, request: Request, answer: () => Response | Promise<Response>): Promise<Response> {
    this.stats.requestsServed++
    let response: Response
    try {
      response = this.init.index.ready
        ? await answer()
        : { type: 'error', code: 'UNAVAILABLE', message: `${request.type}: the anti-entropy index is still being built; try again later` }
    } catch (err) {
      this.logger.warn({ peer: from, err }, `anti-entropy could not answer ${request.type} from ${from}`)
      response = { type: 'error', code: 'INTERNAL', message: `${request.type} failed: ${String((err as Error)?.message ?? err)}`.slice(0, 1024) }
    }
    if (response.type === 'error') this.stats.requestErrors++
    return response
  }
}
