// One node's end of anti-entropy exchanges: its view of the ring (index re-filed and
// sharing plan rebuilt when the ring changes), the arcs it shares with each peer, reading
// and merging states within batch limits, and the answers to the three sync requests.
// The initiator side (anti-entropy.ts) uses the same pieces, so both ends agree on what
// a peer may send and on the walk order of keys.
import { equals } from 'uint8arrays/equals'
import { utf8Length } from '../../../crdts/text.js'
import type { Clock } from '../../base/clock.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Replica } from '../../replica/replica.js'
import type { Store } from '../../store/store.js'
import { MAX_KEY_BYTES, MAX_KEYS_PER_BATCH, MAX_MESSAGE_BYTES } from '../../wire/limits.js'
import type { ErrorResponse, KeyState, Response, SyncKeysRequest, SyncPagesRequest, SyncPushRequest, SyncRangesRequest, SyncRootRequest } from '../../wire/messages.js'
import { arcOf, type ArcIndex } from './arc-index.js'
import { MAX_SYNC_BATCH_BYTES, SYNC_GROUPS } from './constants.js'
import { DEFAULT_N } from '../coordinator/constants.js'
import { keyPosition } from '../ring/hash.js'
import { groupArcs, groupHashes, rootOf, sharingPlan, type SharingPlan } from './arc-hashes.js'
import type { Ring } from '../ring/ring.js'
import { keysInRange, RangeCover, rangeHash, rangesFromWire, spanAtMostOnce } from './sync-ranges.js'
import { UnreconciledKeys, type UnreconciledKey } from './unreconciled.js'
import { assembleListed, isListed, syncedBytes, syncedForm, type ListedState, type PageAsk } from '../page-transfer/page-lists.js'

/** Estimated bytes per listed state or key beyond its key and state (protobuf tags, lengths). */
const ENTRY_OVERHEAD_BYTES = 16
/** Bytes of a full list of wanted keys next to the states of a sync-states answer. */
const MAX_WANT_BYTES = MAX_KEYS_PER_BATCH * (MAX_KEY_BYTES + ENTRY_OVERHEAD_BYTES)
/**
 * A state this large still fits a batch next to a full list of wanted keys. A larger one
 * goes alone in a batch of its own, which the messenger sends in parts.
 */
const MAX_SYNC_STATE_BYTES = MAX_SYNC_BATCH_BYTES - MAX_WANT_BYTES
/** A state alone in its batch, next to a full list of wanted keys, fits the largest message (room for framing). */
export const MAX_SYNCED_STATE_BYTES = MAX_MESSAGE_BYTES - MAX_WANT_BYTES - 1024
const NO_ARCS = new Uint32Array(0)
/**
 * How far before an answer the sender's digests may have been taken (a request's time in
 * flight, generously): an arc found equal while answering counts as equal this much earlier.
 */
const EQUAL_SLACK_MS = 60_000

export interface AntiEntropyRingView {
  readonly ring: Ring
  /** `ringVersionOf(members)` of the view the ring was built from. */
  readonly version: Uint8Array
  readonly n?: number
}

export interface SyncView {
  readonly ring: Ring
  readonly version: Uint8Array
  readonly plan: SharingPlan
}

export interface SyncEndpointInit {
  readonly self: string
  readonly store: Store
  readonly replica: Pick<Replica, 'merge'>
  readonly index: ArcIndex
  readonly clock: Clock
  readonly ring: () => AntiEntropyRingView
  readonly n?: number
  /** Anti-entropy's component logger: failed rounds at debug/info, unreconciled keys at warn. */
  readonly logger?: Logger
  /** OR-sets in pages from this many bytes on are sent by their page lists (default LIST_PAGES_FROM_BYTES). */
  readonly listPagesFromBytes?: number
  /** Sends a sync-pages request to `peer`: a responder pulls the pages of a set pushed to it by its page list. */
  readonly askPages?: (peer: string, request: SyncPagesRequest) => Promise<Response>
}

/** Counters both ends update; AntiEntropyStats extends them. */
export interface SyncCounters {
  /** States sent, as initiator (sync-push) and responder (sync-states). */
  keysSent: number
  /** States received and merged, both roles. */
  keysReceived: number
  /** Received states Replica.merge refused (type mismatch, bad bytes, clock drift). */
  mergeErrors: number
  /** States above the largest message (MAX_SYNCED_STATE_BYTES): never sent, reported as unreconciled. */
  oversizedStates: number
  /** Pages of big sets received by their page lists (page-lists.ts), and their bytes. */
  pagesReceived: number
  pageBytesReceived: number
  /** Page lists not put back together (a page the sender no longer held, or one that did not match): the key waits for a later round. */
  pageTransfersFailed: number
  /** Keys not reconciled with some peer right now (a gauge: it goes down as they settle). */
  unreconciledKeys: number
}

export interface PeerSyncStatus {
  readonly id: string
  /** The last exchange with this peer (either side started it) found the shared arcs equal, and it is still current (see PeerComparison). */
  readonly inSync: boolean
  /** Clock time of that exchange. */
  readonly lastExchange: number
}

/** What one exchange with a peer found, as of the moment our digests were taken. */
export type ExchangeOutcome = 'equal' | 'differ' | 'view-mismatch'

interface ExchangeRecord {
  readonly at: number
  readonly outcome: ExchangeOutcome
  /** The ring version the digests were compared at. */
  readonly ringVersion: Uint8Array
  /** `index.changeSeq` when our digests were taken: later changes are not covered. */
  readonly seq: number
}

/** Whether the latest exchange with a peer still shows the arcs this node shares with it equal. */
export interface PeerComparison {
  readonly id: string
  readonly inSync: boolean
  /** Why not, when not in sync. */
  readonly reason?: string
  readonly lastExchange?: number
}

export class SyncEndpoint {
  private plan: SharingPlan | undefined
  private planN = 0
  /** Per peer of the current plan: 1 for each arc shared with it. */
  private readonly sharedMasks = new Map<string, Uint8Array>()
  /** The latest exchange with each peer, either side started it. */
  private readonly exchanges = new Map<string, ExchangeRecord>()
  /** Per peer: when each arc of `ring` last compared equal with it (clock ms, 0: not since the ring changed). */
  private readonly equalArcs = new Map<string, { readonly ring: Ring; readonly at: Float64Array }>()
  private readonly logger: Logger
  /** Keys whose states could not be reconciled, per peer (unreconciled.ts). */
  readonly unreconciled: UnreconciledKeys
  /** Pulls of pushed page lists, at most one per peer (answerPush). */
  private readonly pulls = new Map<string, Promise<void>>()
  /**
   * Listed states being put back together, by peer and key: when both ends start a round at
   * once (a peer comes back), one end's answer and the other's push list the same set, and
   * fetching its pages twice from the same peer would move it twice.
   */
  private readonly assembling = new Set<string>()
  private stopped = false

  constructor(
    private readonly init: SyncEndpointInit,
    private readonly counters: SyncCounters,
  ) {
    this.logger = init.logger ?? silentLogger
    this.unreconciled = new UnreconciledKeys({
      now: () => init.clock.now(),
      logger: this.logger,
      onSize: (size) => {
        counters.unreconciledKeys = size
      },
    })
  }

  /** The current ring view, with the index re-filed and the sharing plan rebuilt when it changed. */
  view(): SyncView {
    const { ring, version, n: viewN } = this.init.ring()
    const n = viewN ?? this.init.n ?? DEFAULT_N
    const { index, store } = this.init
    if (index.ring === undefined) index.rebuild(ring, store)
    else if (index.ring !== ring) index.setRing(ring)
    if (this.plan === undefined || this.plan.ring !== ring || this.planN !== n) {
      this.plan = sharingPlan(ring, this.init.self, n)
      this.planN = n
      this.sharedMasks.clear()
      this.unreconciled.retainPeers(this.plan.peers)
    }
    return { ring, version, plan: this.plan }
  }

  /** Neither the ring nor the index moved on since `view` was taken. */
  isCurrent(view: SyncView): boolean {
    return this.init.ring().ring === view.ring && this.init.index.ring === view.ring
  }

  /** Ascending indices of the arcs shared with `peer` in the view. */
  arcsWith(view: SyncView, peer: string): Uint32Array {
    return view.plan.peers.get(peer) ?? NO_ARCS
  }

  /** Whether an arc of the view's ring is shared with `peer`. */
  sharedWith(view: SyncView, peer: string): (arc: number) => boolean {
    const cached = view.plan === this.plan
    let mask = cached ? this.sharedMasks.get(peer) : undefined
    if (mask === undefined) {
      mask = new Uint8Array(view.ring.tokens.length)
      for (const arc of this.arcsWith(view, peer)) mask[arc] = 1
      if (cached) this.sharedMasks.set(peer, mask)
    }
    const shared = mask
    return (arc) => arc >= 0 && shared[arc] === 1
  }

  positionOf(key: string): bigint {
    return this.init.index.get(key)?.position ?? keyPosition(key)
  }

  /**
   * Merges `peer`'s states in one turn, so the store commits them in one transaction; a
   * state listed by its pages is first put back together, its missing pages asked of the
   * peer through `ask` (page-lists.ts). Returns how many merged; the others are counted and
   * kept as unreconciled.
   */
  async mergeAll(states: readonly KeyState[], peer: string, ask?: PageAsk): Promise<number> {
    const whole: KeyState[] = []
    for (const s of states) {
      if (!isListed(s)) whole.push(s)
      else if (ask === undefined) this.unreconciled.add(s.key, peer, 'listed by its pages, with no way to ask for them')
      else {
        const assembled = await this.assemble(s, peer, ask)
        if (assembled !== undefined) whole.push(assembled)
      }
    }
    const results = await Promise.allSettled(whole.map((s) => this.init.replica.merge(s.key, s.state)))
    let merged = 0
    results.forEach((r, i) => {
      const { key } = whole[i]!
      if (r.status === 'fulfilled') {
        merged++
        this.unreconciled.clear(key, peer)
      } else {
        this.counters.mergeErrors++
        this.unreconciled.add(key, peer, `merge failed: ${describeError(r.reason)}`)
      }
    })
    this.counters.keysReceived += merged
    return merged
  }

  /** `listed` put back together (page-lists.ts), or undefined (counted, and kept as unreconciled). */
  private async assemble(listed: ListedState, peer: string, ask: PageAsk): Promise<KeyState | undefined> {
    const transfer = `${peer}\u0000${listed.key}`
    // The transfer under way merges it (and clears this), or fails and leaves it for a later round.
    if (this.assembling.has(transfer)) return undefined
    this.assembling.add(transfer)
    const before = { pages: 0, bytes: 0 }
    const counting: PageAsk = async (request) => {
      const answer = await ask(request)
      if (answer.type === 'sync-page-data') {
        before.pages += answer.pages.length
        for (const page of answer.pages) before.bytes += page.length
      }
      return answer
    }
    try {
      const state = await assembleListed(listed, this.init.store.getKey(listed.key), counting)
      return { key: listed.key, state }
    } catch (err) {
      this.counters.pageTransfersFailed++
      this.unreconciled.add(listed.key, peer, `its pages could not be fetched: ${describeError(err)}`)
      return undefined
    } finally {
      this.assembling.delete(transfer)
      this.counters.pagesReceived += before.pages
      this.counters.pageBytesReceived += before.bytes
    }
  }

  /**
   * Of the keys `peer` just sent us states of, those we keep only tombstones of: the peer
   * showed them, so it needs our tombstones (tombstones are not indexed, arc-index.ts).
   */
  deletedHere(states: readonly KeyState[]): string[] {
    return states.filter((s) => this.init.store.getDigestEntry(s.key)?.deleted === true).map((s) => s.key)
  }

  /** Our states of `keys` for `peer` (big sets listed by their pages), in order, at most one batch. */
  statesFor(keys: readonly string[], peer: string): KeyState[] {
    const states: KeyState[] = []
    let budget = MAX_SYNC_BATCH_BYTES
    for (const key of keys) {
      if (states.length === MAX_KEYS_PER_BATCH) break
      const stored = this.init.store.getKey(key)
      if (stored === undefined) continue
      const form = syncedForm(key, stored, this.init.listPagesFromBytes)
      const size = stateSize(key, form)
      if (size > MAX_SYNCED_STATE_BYTES) {
        this.oversized(key, size, peer)
        continue
      }
      // Too large to share a batch: alone in this one, or first in a later one.
      if (size > MAX_SYNC_STATE_BYTES) {
        if (states.length === 0) states.push(form)
        break
      }
      if (size > budget) break
      states.push(form)
      budget -= size
    }
    return states
  }

  /**
   * Remembers what an exchange with `peer` found. `seq` is `index.changeSeq` read when our
   * digests were taken, in the same turn: the comparison covers changes up to it.
   */
  record(peer: string, outcome: ExchangeOutcome, view: SyncView, seq: number): void {
    this.exchanges.set(peer, { at: this.init.clock.now(), outcome, ringVersion: view.version, seq })
    // Every shared arc was equal: so was every key we could not reconcile with it.
    if (outcome === 'equal') this.unreconciled.clearWhere(peer, (key) => this.sharedWith(view, peer)(this.init.index.arcOfKey(key)))
  }

  /**
   * Notes that `arcs` of the view's ring compared equal with `peer`, as of `at` (the clock
   * time our digests were taken): the purge asks this (lastEqual).
   */
  noteEqual(peer: string, view: SyncView, arcs: ArrayLike<number>, at: number): void {
    let entry = this.equalArcs.get(peer)
    if (entry === undefined || entry.ring !== view.ring) {
      entry = { ring: view.ring, at: new Float64Array(view.ring.tokens.length) }
      this.equalArcs.set(peer, entry)
    }
    for (let i = 0; i < arcs.length; i++) {
      const arc = arcs[i]!
      if (arc >= 0 && arc < entry.at.length && entry.at[arc]! < at) entry.at[arc] = at
    }
  }

  /**
   * When arc `arc` of `ring` last compared equal with `peer` (clock ms): both showed the same
   * keys with the same states in it, tombstones left out. 0 when never since the ring changed.
   */
  lastEqual(peer: string, ring: Ring, arc: number): number {
    const entry = this.equalArcs.get(peer)
    return entry === undefined || entry.ring !== ring ? 0 : (entry.at[arc] ?? 0)
  }

  /**
   * Per peer sharing arcs with this node, in id order: in sync iff the latest exchange
   * found equal digests at the current ring version, and no arc shared with the peer
   * changed after our digests were taken. O(shared arcs) per peer, no store access.
   */
  comparisons(): PeerComparison[] {
    const view = this.view()
    const out: PeerComparison[] = []
    for (const [id, arcs] of view.plan.peers) {
      const exchange = this.exchanges.get(id)
      const verdict = this.init.index.ready ? judge(exchange, view.version, this.init.index.lastChangeIn(arcs)) : { inSync: false, reason: 'the anti-entropy index is still being built' }
      out.push({ id, ...verdict, lastExchange: exchange?.at })
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** The last exchange with each peer that had one, in id order (whether it is still current, see comparisons()). */
  peerSyncStatus(): PeerSyncStatus[] {
    const view = this.view()
    return [...this.exchanges]
      .map(([id, e]) => ({ id, inSync: judge(e, view.version, this.init.index.lastChangeIn(this.arcsWith(view, id))).inSync, lastExchange: e.at }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Keys not reconciled with some peer, oldest first. */
  unreconciledKeys(): UnreconciledKey[] {
    return this.unreconciled.list()
  }

  // ---- answers ------------------------------------------------------------------------

  answerRoot(from: string, request: SyncRootRequest): Response {
    const view = this.view()
    const { ring, version } = view
    const { index } = this.init
    if (!equals(request.ringVersion, version)) {
      this.record(from, 'view-mismatch', view, index.changeSeq)
      return { type: 'sync-arcs', ringVersion: version, arcs: [] }
    }
    const arcs = this.arcsWith(view, from)
    if (equals(rootOf(ring, arcs, index, view.plan.n), request.root)) {
      this.record(from, 'equal', view, index.changeSeq)
      // The sender took its digests before asking: equal as of then at the latest.
      this.noteEqual(from, view, arcs, this.init.clock.now() - EQUAL_SLACK_MS)
      return { type: 'sync-equal' }
    }
    this.record(from, 'differ', view, index.changeSeq)
    const ends = groupArcs(arcs, (arc) => index.keyCount(arc), SYNC_GROUPS)
    return { type: 'sync-arcs', ringVersion: version, arcs: groupHashes(ring, arcs, ends, index) }
  }

  /** Per range of the request: whether our aggregate differs from the sender's. */
  answerRanges(from: string, request: SyncRangesRequest): Response {
    const view = this.view()
    if (!equals(request.ringVersion, view.version)) {
      return refuse('UNAVAILABLE', 'sync-ranges: the ring view changed since sync-root; the next round starts over')
    }
    const ranges = rangesFromWire(request.ranges)
    if (ranges === undefined) return refuse('BAD_REQUEST', 'sync-ranges: ranges must list (start, end) pairs')
    if (request.hashes.length !== ranges.length) return refuse('BAD_REQUEST', 'sync-ranges: one aggregate per range')
    if (!spanAtMostOnce(ranges)) return refuse('BAD_REQUEST', 'sync-ranges: the ranges overlap')
    const accept = this.sharedWith(view, from)
    const differ = ranges.map((range, i) => !equals(rangeHash(this.init.index, view.ring, range, accept), request.hashes[i]!))
    return { type: 'sync-differ', differ }
  }

  /** Our states the sender lacks or holds differently, in walk order, and the keys we want. */
  answerKeys(from: string, request: SyncKeysRequest): Response {
    const view = this.view()
    if (!equals(request.ringVersion, view.version)) {
      return refuse('UNAVAILABLE', 'sync-keys: the ring view changed since sync-root; the next round starts over')
    }
    const ranges = rangesFromWire(request.arcs)
    if (ranges === undefined) return refuse('BAD_REQUEST', 'sync-keys: arcs must list (start, end) pairs')
    if (!spanAtMostOnce(ranges)) return refuse('BAD_REQUEST', 'sync-keys: the ranges overlap')
    if (request.entries.length > MAX_KEYS_PER_BATCH) return refuse('BAD_REQUEST', `sync-keys: more than ${MAX_KEYS_PER_BATCH} entries`)
    const { index, store } = this.init
    const accept = this.sharedWith(view, from)
    const cover = new RangeCover(view.ring, ranges, accept)

    const theirs = new Map<string, Uint8Array>()
    for (const entry of request.entries) if (cover.has(this.positionOf(entry.key))) theirs.set(entry.key, entry.digest)
    const want: string[] = []
    let budget = MAX_SYNC_BATCH_BYTES
    // Keys the sender shows and we deleted: our tombstones go with the answer (tombstones are
    // not indexed, arc-index.ts), so what we deleted is deleted there too.
    const deleted: string[] = []
    for (const [key, digest] of theirs) {
      const mine = index.get(key)
      if (mine === undefined || !equals(mine.digest, digest)) {
        want.push(key)
        budget -= utf8Length(key) + ENTRY_OVERHEAD_BYTES
        if (mine === undefined && store.getDigestEntry(key)?.deleted === true) deleted.push(key)
      } else this.unreconciled.clear(key, from)
    }

    const states: KeyState[] = []
    for (const key of deleted) {
      const stored = store.getKey(key)
      if (stored === undefined) continue
      const form = syncedForm(key, stored, this.init.listPagesFromBytes)
      const size = stateSize(key, form)
      if (states.length === MAX_KEYS_PER_BATCH || size > budget) break
      states.push(form)
      budget -= size
    }
    const seen = new Set<string>(deleted)
    walk: for (const range of ranges) {
      for (const mine of keysInRange(index, view.ring, range, accept)) {
        const digest = theirs.get(mine.key)
        if ((digest !== undefined && equals(digest, mine.digest)) || seen.has(mine.key)) continue
        seen.add(mine.key)
        const stored = store.getKey(mine.key)
        if (stored === undefined) continue
        const form = syncedForm(mine.key, stored, this.init.listPagesFromBytes)
        const size = stateSize(mine.key, form)
        if (size > MAX_SYNCED_STATE_BYTES) {
          this.oversized(mine.key, size, from)
          continue
        }
        // Too large to share a batch: alone in this one, or first when the walk comes back.
        if (size > MAX_SYNC_STATE_BYTES) {
          if (states.length === 0) states.push(form)
          break walk
        }
        if (states.length === MAX_KEYS_PER_BATCH || size > budget) break walk
        states.push(form)
        budget -= size
      }
    }
    this.counters.keysSent += states.length
    return { type: 'sync-states', states, want }
  }

  /**
   * Merges the pushed states. A big set pushed by its page list is pulled after the answer
   * (its pages asked of the sender, which is still waiting on this answer otherwise), at
   * most one such pull per peer at a time: a list pushed while one runs waits for a later
   * round.
   */
  async answerPush(from: string, request: SyncPushRequest): Promise<Response> {
    if (request.states.length > MAX_KEYS_PER_BATCH) return refuse('BAD_REQUEST', `sync-push: more than ${MAX_KEYS_PER_BATCH} states`)
    const view = this.view()
    const accept = this.sharedWith(view, from)
    // States of arcs we do not share with the sender are not ours to keep.
    const ours = uniqueStates(request.states).filter((s) => accept(arcOf(view.ring, this.positionOf(s.key))))
    const listed = ours.filter(isListed)
    await this.mergeAll(
      ours.filter((s) => !isListed(s)),
      from,
    )
    const ask = this.init.askPages
    if (listed.length > 0 && ask !== undefined && !this.stopped && !this.pulls.has(from)) {
      const pull = this.mergeAll(listed, from, (r) => ask(from, r))
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ peer: from, err }, `anti-entropy could not pull the sets ${from} listed by their pages`))
        .finally(() => this.pulls.delete(from))
      this.pulls.set(from, pull)
    }
    return { type: 'ack' }
  }

  /** No pull starts after this (until resume()); resolves once the running ones ended. */
  async stop(): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.pulls.values()])
  }

  resume(): void {
    this.stopped = false
  }

  /** A state above the largest message: it cannot travel at all. */
  private oversized(key: string, size: number, peer: string): void {
    this.counters.oversizedStates++
    this.unreconciled.add(key, peer, `its state (${size} bytes) is above the largest message (MAX_MESSAGE_BYTES, ${MAX_MESSAGE_BYTES} bytes); remove elements to shrink it`)
  }
}

/** The comparison part of a peer's sync status (alive and hints are sync-status.ts's part). */
function judge(exchange: ExchangeRecord | undefined, ringVersion: Uint8Array, lastChange: number): Omit<PeerComparison, 'id' | 'lastExchange'> {
  if (exchange === undefined) return { inSync: false, reason: 'never compared' }
  if (!equals(exchange.ringVersion, ringVersion)) return { inSync: false, reason: 'ring view changed' }
  if (exchange.outcome === 'view-mismatch') return { inSync: false, reason: 'ring views differ' }
  if (exchange.outcome === 'differ') return { inSync: false, reason: 'digests differ' }
  if (exchange.seq < lastChange) return { inSync: false, reason: 'not compared since the last local change' }
  return { inSync: true }
}

/** A short, single-line account of a merge failure for the sync status. */
function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.replace(/\s+/g, ' ').slice(0, 300)
}

function refuse(code: ErrorResponse['code'], message: string): ErrorResponse {
  return { type: 'error', code, message }
}

/** First occurrence of each key. */
export function uniqueStates(states: readonly KeyState[]): KeyState[] {
  const seen = new Set<string>()
  return states.filter((s) => {
    if (seen.has(s.key)) return false
    seen.add(s.key)
    return true
  })
}

function stateSize(key: string, state: KeyState): number {
  return utf8Length(key) + syncedBytes(state) + ENTRY_OVERHEAD_BYTES
}
