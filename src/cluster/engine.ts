// One node of the cluster: membership, the quorum coordinator, the replica side of the
// protocols, hinted handoff and anti-entropy, wired to one Transport, one Store, one
// Clock and one Random. The same engine runs over libp2p (node/) and in the simulator.
import type { CrdtTypeName } from '../../crdts/types.js'
import { backoffDelay } from '../base/backoff.js'
import type { Clock, TimerHandle } from '../base/clock.js'
import { silentLogger, type Logger } from '../base/logger.js'
import type { Operation } from '../base/operations.js'
import type { Random } from '../base/random.js'
import type { Replica } from '../replica/replica.js'
import type { Store } from '../store/store.js'
import type { Transport } from '../transport/transport.js'
import type { Request, Response } from '../wire/messages.js'
import { AntiEntropy } from './anti-entropy/anti-entropy.js'
import { ArcIndex } from './anti-entropy/arc-index.js'
import type { LargeMessageLimits } from './messaging/large-messages.js'
import { encodeIndexSnapshot, IndexSnapshotError, readIndexSnapshot, type SavedIndex } from './anti-entropy/index-snapshot.js'
import { ClockOffsets } from './membership/clock-offsets.js'
import { hintExtras } from './handoff/hints.js'
import { Coordinator, type ClusterReadOptions, type ClusterReadResult, type ClusterWriteOptions, type ClusterWriteResult } from './coordinator/coordinator.js'
import { DEFAULT_N } from './coordinator/constants.js'
import { HintedHandoff } from './handoff/hinted-handoff.js'
import { KeyedWrites } from './coordinator/keyed-writes.js'
import { DEFAULT_IDEMPOTENCY_TTL_MS, operationId, outcomeId, type KeyedWrite } from '../replica/idempotency.js'
import type { AppliedResult, ResolveOptions } from '../replica/write-path.js'
import { Membership, type MemberView, type RingCache } from './membership/membership.js'
import { createMessenger, type Messenger } from './messaging/messenger.js'
import { responseFromError } from './messaging/remote-errors.js'
import { RequestRouter } from './request-router.js'
import { ReturnSync } from './sync/return-sync.js'
import { peerReports, syncStatus, type SyncStatus } from './sync/sync-status.js'

export interface EngineConfig {
  readonly n?: number
  readonly r?: number
  readonly w?: number
  readonly vnodes?: number
  /** Addresses this node announces (libp2p multiaddrs in production); read when it announces. */
  readonly addrs?: readonly string[] | (() => readonly string[])
  readonly heartbeatIntervalMs?: number
  readonly antiEntropyIntervalMs?: number
  readonly handoffIntervalMs?: number
  readonly phiThreshold?: number
  readonly sessionReadTimeoutMs?: number
  /** How long idempotency records and claims are kept (default 24 h). */
  readonly idempotencyTtlMs?: number
  /** Hints older than this are dropped (default 24 h; DEFAULT_HINT_WINDOW_MS says why). At most tombstonePurgeMs. */
  readonly hintWindowMs?: number
  /** Hints kept for one owner at most, in number (default 100,000) and bytes (default 256 MiB). */
  readonly maxHintsPerOwner?: number
  readonly maxHintBytesPerOwner?: number
  /** Register timestamps further ahead of this node's clock are refused (default 500 ms). */
  readonly maxClockOffsetMs?: number
  /**
   * Publish each write's delta as a rumor (default true). Off, a write reaches the other
   * replicas only through the coordinator, hinted handoff and anti-entropy.
   */
  readonly rumors?: boolean
  /**
   * How long (ms) a delta no write waits on may wait to share a message with others to the
   * same replica (default 30 ms, DEFAULT_REPLICATION_LINGER_MS; 0: never). Writes that wait
   * for acknowledgements never do.
   */
  readonly replicationLingerMs?: number
  /**
   * Anti-entropy sends an OR-set kept in pages by its page list from this many bytes of
   * state on (default 64 KiB, LIST_PAGES_FROM_BYTES; 0: every set in pages), and the other
   * side asks for the pages it lacks (src/cluster/page-transfer/page-lists.ts).
   */
  readonly listPagesFromBytes?: number
  /** Rings are immutable and depend only on the membership view: engines may share them. */
  readonly ringCache?: RingCache
}

export interface EngineInit {
  readonly store: Store
  readonly transport: Transport
  readonly clock: Clock
  readonly random: Random
  readonly replica: Replica
  readonly config?: EngineConfig
  /** Operator-facing events; each part logs under its own component name. Silent by default. */
  readonly logger?: Logger
  /**
   * The anti-entropy index as the last clean close saved it (index-snapshot.ts), taken
   * out of the store by this open: loaded instead of reading the whole store.
   */
  readonly indexSnapshot?: SavedIndex
  /** Bounds of messages sent in parts (default DEFAULT_LARGE_MESSAGE_LIMITS). */
  readonly largeMessages?: Partial<LargeMessageLimits>
}

import type { EngineStatus } from './engine-status.js'
export { idleEngineStatus, STATUS_ALIASES, STATUS_GAUGES, type EngineStatus } from './engine-status.js'

const JOIN_RETRY_BASE_MS = 200
const JOIN_RETRY_MAX_MS = 10_000
const JOIN_ATTEMPTS = 8

export class Engine {
  readonly self: string
  readonly membership: Membership
  readonly coordinator: Coordinator
  readonly keyed: KeyedWrites
  readonly handoff: HintedHandoff
  readonly antiEntropy: AntiEntropy
  readonly arcIndex: ArcIndex
  readonly messenger: Messenger
  private readonly router: RequestRouter
  private readonly returnSync: ReturnSync
  private readonly joinTimers = new Map<string, TimerHandle>()
  private readonly offs: (() => void)[] = []
  private started = false
  private membershipReady = false
  /** Bumped by every start and stop: a build from an earlier start stops at its next page. */
  private generation = 0
  private indexFailed = false
  /** The saved index, until the first build uses (or discards) it. */
  private savedIndex: SavedIndex | undefined
  /** Committed changes the index was told of, and the replica's count when it started listening. */
  private indexedChanges = 0
  private indexedFrom = 0

  constructor(private readonly init: EngineInit) {
    const { store, transport, clock, random, replica } = init
    const config = init.config ?? {}
    this.self = transport.localPeerId
    const replicas = (): number => config.n ?? DEFAULT_N
    // One logger per part, named after it (rumordb:membership, rumordb:handoff, …).
    const logger = init.logger ?? silentLogger
    let router: RequestRouter | undefined
    this.messenger = createMessenger({
      transport,
      now: () => clock.now(),
      onRequest: (from, request) => this.refuseSkewedApply(request) ?? this.serve(from, request),
      onBroadcast: (from, message) => router?.handleBroadcast(from, message),
      logger: logger.forComponent('messenger'),
      largeMessages: init.largeMessages,
    })
    const send = this.messenger.send.bind(this.messenger)
    // Heartbeats tell whether this node's clock agrees with the cluster's (clock-offsets.ts).
    const clockOffsets = new ClockOffsets({
      self: this.self,
      clock,
      livePeers: () => this.membership.livePeers(),
      maxOffsetMs: config.maxClockOffsetMs,
      logger: logger.forComponent('clock'),
    })
    this.membership = new Membership({
      self: { peerId: this.self, addrs: config.addrs, vnodes: config.vnodes },
      store,
      clock,
      send,
      broadcast: (m) => this.messenger.broadcast(m),
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      phiThreshold: config.phiThreshold,
      ringCache: config.ringCache,
      clockOffsets,
      logger: logger.forComponent('membership'),
    })
    const idempotencyTtlMs = config.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
    const keyed = new KeyedWrites({
      self: this.self,
      store,
      clock,
      random,
      ttlMs: idempotencyTtlMs,
      send,
      isLive: (peer) => this.membership.isLive(peer),
    })
    this.keyed = keyed
    this.arcIndex = new ArcIndex()
    this.savedIndex = init.indexSnapshot
    this.antiEntropy = new AntiEntropy({
      self: this.self,
      store,
      replica,
      index: this.arcIndex,
      clock,
      random,
      send,
      livePeers: () => this.membership.livePeers(),
      ring: () => ({ ...this.membership.ring(), n: replicas() }),
      intervalMs: config.antiEntropyIntervalMs,
      listPagesFromBytes: config.listPagesFromBytes,
      logger: logger.forComponent('anti-entropy'),
    })
    this.coordinator = new Coordinator({
      self: this.self,
      replica,
      membership: this.membership,
      clock,
      random,
      send,
      broadcast: (m) => this.messenger.broadcast(m),
      keepHint: (target, key, state, via) => {
        const hinted = this.handoff.admit(target, state.length)
        const createdAt = Math.min(via.createdAt ?? clock.now(), clock.now())
        const record = via.record
        const merging = replica.merge(key, state, {
          origin: 'local',
          extras: {
            ...(hinted ? hintExtras(target, key, state, createdAt) : {}),
            ...(record === undefined ? {} : { idempotency: [{ id: outcomeId(record.id), result: record.result, expiresAt: clock.now() + idempotencyTtlMs }] }),
          },
        })
        if (hinted) this.handoff.noteAdded(target, key, merging, state.length, createdAt)
        return merging.then(() => undefined)
      },
      hintStored: (target, key, committed, bytes, createdAt) => this.handoff.noteAdded(target, key, committed, bytes, createdAt),
      admitHint: (target, bytes) => this.handoff.admit(target, bytes),
      keyed,
      idempotencyTtlMs,
      // Only what was configured: a default that adapts to the cluster stays the coordinator's.
      defaults: { n: config.n, r: config.r, w: config.w },
      sessionReadTimeoutMs: config.sessionReadTimeoutMs,
      rumors: config.rumors,
      replicationLingerMs: config.replicationLingerMs,
      logger: logger.forComponent('coordinator'),
    })
    this.handoff = new HintedHandoff({
      store,
      clock,
      random,
      replicate: (peer, item) => this.coordinator.sendDelta(peer, item),
      health: (peer) => this.membership.health(peer),
      intervalMs: config.handoffIntervalMs,
      windowMs: config.hintWindowMs,
      maxHintsPerOwner: config.maxHintsPerOwner,
      maxHintBytesPerOwner: config.maxHintBytesPerOwner,
      logger: logger.forComponent('handoff'),
    })
    router = new RequestRouter({
      self: this.self,
      replica,
      store,
      membership: this.membership,
      now: () => clock.now(),
      replicas,
      keyed,
      idempotencyTtlMs,
      hints: this.handoff,
      antiEntropy: (from, request) => this.antiEntropy.handle(from, request),
      listPagesFromBytes: config.listPagesFromBytes,
    })
    this.router = router
    this.returnSync = new ReturnSync({
      clock,
      isLive: (peer) => this.membership.isLive(peer),
      exchange: (peer) => this.antiEntropy.roundOnReturn(peer),
      handOff: (peer) => this.handoff.deliverNow(peer),
    })
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const { transport, replica } = this.init
    this.indexedChanges = 0
    this.indexedFrom = replica.committedChanges
    // The saved index describes the store as opened: changes from now on go on top of it.
    if (this.savedIndex !== undefined) this.arcIndex.expectSnapshot()
    this.offs.push(
      replica.onCommitted((change) => {
        this.indexedChanges++
        this.arcIndex.update(change.key)
      }),
    )
    // Membership changes only re-file keys under the new ring; the store is not rescanned.
    this.offs.push(this.membership.onChange(() => this.arcIndex.setRing(this.membership.ring().ring)))
    // Members announce their addresses: tell the transport, so every member is reachable,
    // not only the peers this node discovered itself.
    this.offs.push(this.membership.onChange(() => this.shareAddresses()))
    // A peer back (or new) gets an exchange and its hints at once, not at the next round.
    this.offs.push(this.membership.onPeerReturned((peer) => this.returnSync.peerReturned(peer)))
    // The transport starts first so the announced addresses carry the real ports; peers it
    // reports before membership is up are picked up from peers() right after.
    // A closed connection is news before a missed heartbeat is: suspect the peer now, and
    // measure its latency afresh when it is back.
    transport.onPeerLost((peer) => {
      if (!this.membershipReady) return
      this.membership.connectionLost(peer)
      this.messenger.latency.forget(peer)
    })
    transport.onPeerSeen((peer) => {
      if (this.membershipReady) this.membership.connectionSeen(peer)
      if (this.membershipReady) this.peerSeen(peer)
    })
    await transport.start()
    await this.membership.start()
    this.membershipReady = true
    void this.buildIndex(++this.generation)
    this.shareAddresses()
    for (const peer of transport.peers()) this.peerSeen(peer)
    this.handoff.start()
    this.antiEntropy.start()
    this.returnSync.start()
  }

  /**
   * Indexes the store for anti-entropy a page at a time, the event loop free between pages,
   * so a large store does not hold up start-up: the node serves reads and writes at once,
   * anti-entropy rounds (and the sync status) wait until the index is whole. Never rejects.
   */
  private async buildIndex(generation: number): Promise<void> {
    const { clock, store } = this.init
    const logger = (this.init.logger ?? silentLogger).forComponent('anti-entropy')
    const started = clock.now()
    const pause = (): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, 0))
    this.indexFailed = false
    try {
      // Started again after a stop: the index has the store already; read it afresh.
      if (this.arcIndex.indexed) return this.arcIndex.rebuild(this.membership.ring().ring, store)
      const stopped = (): boolean => this.generation !== generation
      const loaded = await this.loadSavedIndex(pause, stopped, logger)
      if (!loaded) await this.arcIndex.build(this.membership.ring().ring, store, pause, stopped)
      if (this.arcIndex.ready) logger.info({ keys: this.arcIndex.size, ms: clock.now() - started, from: loaded ? 'saved index' : 'store' }, 'anti-entropy index built')
    } catch (err) {
      if (this.generation !== generation) return
      this.indexFailed = true
      logger.error({ err }, 'building the anti-entropy index failed: anti-entropy is off until the node restarts')
    }
  }

  /** Loads the index the last clean close saved; false when there is none or it does not fit the store (then build). */
  private async loadSavedIndex(pause: () => Promise<void>, stopped: () => boolean, logger: Logger): Promise<boolean> {
    const saved = this.savedIndex
    this.savedIndex = undefined
    if (saved === undefined) return false
    const { store } = this.init
    try {
      const bytes = await saved.read()
      if (bytes === undefined) throw new IndexSnapshotError('its file is gone')
      const snapshot = await readIndexSnapshot(bytes, saved.vouched, pause)
      if (stopped()) return true
      if (snapshot.count !== saved.keys) throw new IndexSnapshotError(`it holds ${snapshot.count} keys, the store held ${saved.keys}`)
      await this.arcIndex.load(this.membership.ring().ring, store, snapshot, pause, stopped)
      return true
    } catch (err) {
      if (!(err instanceof IndexSnapshotError)) throw err
      logger.warn({ err }, `the saved anti-entropy index is not usable (${err.message}): rebuilding it from the store`)
      return false
    }
  }

  /**
   * The anti-entropy index, encoded for the next open (index-snapshot.ts); undefined unless
   * it is exactly the store's content: the index whole, no key write in flight, and every
   * committed change since it started listening indexed. Call after stop().
   */
  indexSnapshot(): Uint8Array | undefined {
    const { replica } = this.init
    if (this.indexFailed || !replica.idle || replica.committedChanges - this.indexedFrom !== this.indexedChanges) return undefined
    const snapshot = this.arcIndex.snapshot()
    return snapshot === undefined ? undefined : encodeIndexSnapshot(snapshot)
  }

  /** Stops timers, lets replication in flight finish, stops the transport. Idempotent. */
  async stop(options: { readonly leave?: boolean } = {}): Promise<void> {
    if (!this.started) return
    if (options.leave === true) await this.announceLeave()
    this.started = false
    this.membershipReady = false
    for (const timer of this.joinTimers.values()) this.init.clock.clearTimeout(timer)
    this.joinTimers.clear()
    for (const off of this.offs.splice(0)) off()
    // The index build is not awaited: between pages it waits on the clock, which may have
    // stopped (a test's frozen clock); at its next page it sees the new generation and ends.
    this.generation++
    await this.returnSync.stop()
    await this.antiEntropy.stop()
    await this.handoff.stop()
    await this.coordinator.drain()
    await this.membership.stop()
    await this.init.transport.stop()
  }

  /**
   * Leaving is explicit (DESIGN.md): this node's record becomes `left`, so the others show
   * it left rather than suspect and place its key ranges on the remaining members. The
   * heartbeat that carries it is best effort, so every live peer is also told directly.
   */
  private async announceLeave(): Promise<void> {
    await this.membership.leave()
    await Promise.allSettled(this.membership.livePeers().map((peer) => this.membership.join(peer)))
  }

  /** A keyed write may answer with its first outcome (replayed); an unkeyed one always applies. */
  write(key: string, op: Operation, options: ClusterWriteOptions & { readonly idempotency: KeyedWrite }): Promise<ClusterWriteResult>
  write(key: string, op: Operation, options?: Omit<ClusterWriteOptions, 'idempotency'>): Promise<AppliedResult>
  write(key: string, op: Operation, options?: ClusterWriteOptions): Promise<ClusterWriteResult> {
    // A register coordinated here must not be written while this node's clock is off, even
    // if another replica would apply it: refused before anything is sent or applied.
    const refusal = op.type === 'lww' ? this.membership.clockOffsets.registerWriteRefusal() : undefined
    if (refusal !== undefined) return Promise.reject(refusal)
    return this.coordinator.write(key, op, options)
  }

  /**
   * A peer asks this node to apply a register write while its clock is off: refused before
   * the router applies anything, so the coordinator gets a ClockSkewError (CLOCK_DRIFT on
   * the wire) for a request that applied nothing. Undefined for anything else.
   */
  private refuseSkewedApply(request: Request): Promise<Response> | undefined {
    if (request.type !== 'apply' || request.op.op === 'delete' || request.op.type !== 'lww') return undefined
    // A retry of a write applied here before gets its first answer: nothing new is written.
    const id = request.idempotencyKey
    const now = this.init.clock.now()
    if (id !== undefined && this.init.store.getIdempotency(request.fingerprint === undefined ? operationId(id) : outcomeId(id), now) !== undefined) {
      return undefined
    }
    const refusal = this.membership.clockOffsets.registerWriteRefusal()
    return refusal === undefined ? undefined : Promise.resolve(responseFromError(refusal))
  }

  /** A peer's request, served by the router (which keeps the hints peers ask for, within bounds). */
  private serve(from: string, request: Request): Promise<Response> {
    return this.router.handleRequest(from, request)
  }

  read(key: string, type: CrdtTypeName | undefined, options?: ClusterReadOptions): Promise<ClusterReadResult> {
    return this.coordinator.read(key, type, options)
  }

  resolve(key: string, keep: CrdtTypeName, options?: ResolveOptions): Promise<AppliedResult> {
    return this.coordinator.resolve(key, keep, options)
  }

  members(): MemberView[] {
    return this.membership.members()
  }

  /**
   * Digests of what this node holds, per replica set; per peer sharing ranges, whether it
   * is in sync now (sync-status.ts); unreconciled keys. Cheap enough for every scrape:
   * O(arcs × n) plus one indexed hint lookup per peer.
   */
  syncStatus(): SyncStatus {
    const n = this.init.config?.n ?? DEFAULT_N
    const peers = peerReports(
      this.antiEntropy.comparisons(),
      (peer) => this.membership.health(peer),
      (peer) => this.handoff.pendingFor(peer),
    )
    return syncStatus(this.arcIndex, this.membership.ring().ring, this.self, n, peers, {
      unreconciled: this.antiEntropy.unreconciled(),
      hintsPendingFor: this.handoff.oldestTarget(),
      ...(this.arcIndex.ready ? {} : { indexing: indexingReason(this.arcIndex.size, this.init.store.countShownKeys(), this.indexFailed) }),
    })
  }

  status(): EngineStatus {
    const members = { alive: 0, suspect: 0, left: 0 }
    for (const m of this.membership.members()) members[m.status]++
    return {
      id: this.self,
      keys: this.init.store.countKeys(),
      pendingHints: this.handoff.pending(),
      members,
      messages: { ...this.messenger.stats },
      coordinator: { ...this.coordinator.stats },
      antiEntropy: { ...this.antiEntropy.stats },
      handoff: { ...this.handoff.stats },
      rumors: { ...this.router.stats },
      clockDriftRefused: this.init.replica.stats.clockDriftRefused,
      replica: { ...this.init.replica.stats },
      clock: this.membership.clockOffsets.status(),
      keyedWrites: { ...this.keyed.stats },
      membership: { ...this.membership.stats },
    }
  }

  private shareAddresses(): void {
    const learn = this.init.transport.learnPeerAddresses?.bind(this.init.transport)
    if (learn === undefined) return
    for (const m of this.membership.members()) {
      if (m.id !== this.self && m.status !== 'left' && m.addrs.length > 0) learn(m.id, m.addrs)
    }
  }

  /** A discovered peer: join it (introduce ourselves, learn its table), retrying with backoff. */
  private peerSeen(peer: string, attempt = 0): void {
    if (!this.started || peer === this.self) return
    this.handoff.peerReturned(peer)
    if (attempt === 0 && this.joinTimers.has(peer)) return
    // A member we already know alive needs no join: its heartbeats keep us current, and
    // skipping it keeps a restart of a large cluster from turning into N² table transfers.
    if (attempt === 0 && this.membership.health(peer) === 'alive') return
    this.membership.join(peer).then(
      () => {
        this.joinTimers.delete(peer)
      },
      () => {
        if (!this.started || attempt + 1 >= JOIN_ATTEMPTS) {
          this.joinTimers.delete(peer)
          return
        }
        const delay = backoffDelay(attempt + 1, { baseMs: JOIN_RETRY_BASE_MS, maxMs: JOIN_RETRY_MAX_MS }, this.init.random)
        this.joinTimers.set(peer, this.init.clock.setTimeout(() => this.peerSeen(peer, attempt + 1), delay))
      },
    )
  }
}

function indexingReason(indexed: number, stored: number, failed: boolean): string {
  if (failed) return 'the anti-entropy index could not be built (see the error log): anti-entropy is off; restart the node'
  return `building the anti-entropy index (${indexed} of ${stored} keys): anti-entropy starts when it is whole`
}
