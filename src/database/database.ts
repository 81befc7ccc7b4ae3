// The embedded database: `openDatabase({ dataDir })` → typed handles per key, change
// subscriptions and scans, durable in SQLite. With the network off, this node is the only
// replica and applies every write itself.
import { decodeRecord, expired, isCrdtTypeName, isDue, isMultiTypeEncoding, ORSet, visibleEntries, type JsonValue, type KeyContent, type ORSetState } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { conflictOf } from '../replica/key-view.js'
import { CRDT_TYPE_NAMES } from '../base/operations.js'
import type { Engine, EngineStatus } from '../cluster/engine.js'
import type { MemberView } from '../cluster/membership/membership.js'
import { ArcIndex } from '../cluster/anti-entropy/arc-index.js'
import { saveIndexSnapshot } from '../cluster/anti-entropy/index-snapshot.js'
import { buildRing } from '../cluster/ring/ring.js'
import { syncStatus, type SyncStatus } from '../cluster/sync/sync-status.js'
import type { Clock, TimerHandle } from '../base/clock.js'
import { DatabaseClosedError, InvalidOptionError, InvalidTokenError } from '../base/errors.js'
import {
  CounterHandle,
  GCounterHandle,
  type DeleteResult,
  RegisterHandle,
  SetHandle,
  type KeyAccess,
  type ReadOptions,
  type DeleteOptions,
  type WriteOptions,
  type WriteResult,
} from './handles.js'
import { MapHandle } from './map-handles.js'
import { decodeIdempotencyRecord, fingerprint, outcomeId, validateIdempotencyKey, type KeyedWrite } from '../replica/idempotency.js'
import { DELETE, type KeyOperation, type Operation } from '../base/operations.js'
import { crdtOf, Replica, type KeyState, type ReplicaStats } from '../replica/replica.js'
import { decodeSessionToken, encodeDeleteToken, encodeSessionToken } from '../replica/session-token.js'
import { DATABASE_FILE } from '../store/index.js'
import type { Store } from '../store/store.js'
import { Subscriptions, type Change, type ChangeListener } from './subscriptions.js'
import { validateKey } from '../base/validation.js'
import { checkOptions } from '../base/options.js'
import { DELETE_OPTIONS, GET_OPTIONS, KEYS_OPTIONS, RESOLVE_OPTIONS, SCAN_OPTIONS, WATCH_OPTIONS, WRITE_OPTIONS } from './database-options.js'
import { ChangeFeed, type FeedEvent } from './change-feed.js'
import { ExpirySweep } from './expiry-sweep.js'
import { encodeNumberMeta } from '../base/number-meta.js'
import { DEFAULT_TOMBSTONE_PURGE_MS, TombstonePurge } from './tombstone-purge.js'
import { silentLogger, type Logger } from '../base/logger.js'
import type { PathWriteResult, WritePath } from '../replica/write-path.js'

export { DATABASE_FILE }
const META_HEALTH_PROBE = 'health-probe'

export interface KeyValue {
  readonly key: string
  readonly type: CrdtTypeName
  /** For a page of an OR-set (GetOptions `after` / `limit`): that page's elements. */
  readonly value: unknown
  readonly replicas: number
  /** A page of an OR-set: how many elements the whole set holds. */
  readonly size?: number
  /** A page of an OR-set with more elements after it: pass this as `after` for the next page. */
  readonly next?: JsonValue
}

/** db.get's options: a read's, and for an OR-set, a page of its elements. */
export interface GetOptions extends ReadOptions {
  /** Only the elements that sort after this one (by canonical JSON; it need not be in the set). */
  readonly after?: JsonValue
  /** At most this many elements (a positive integer). */
  readonly limit?: number
}

export type DatabaseStatus =
  | ({ readonly networked: true } & EngineStatus)
  | {
      readonly networked: false
      readonly id: string
      readonly keys: number
      readonly pendingHints: number
      readonly members: Record<'alive' | 'suspect' | 'left', number>
      /** The replica's counters (tombstones purged, states refused), as a networked node reports them. */
      readonly replica: ReplicaStats
    }
const SCAN_PAGE = 256
const PRUNE_INTERVAL_MS = 60 * 60 * 1000
/** When this node left its cluster (close({ leave: true })), as decimal ms: a networked open checks it. */
export const META_LEFT_AT = 'left-at'

export interface ReplicationOptions {
  /** Replicas per key (default min(3, members)). */
  readonly n?: number
  /** Replicas asked by a read (default 2). */
  readonly r?: number
  /** Durable acknowledgements a write waits for (default 2). */
  readonly w?: number
}

export interface ScanEntry {
  readonly key: string
  readonly type: CrdtTypeName
  readonly value: unknown
  /** A key written with different types on two sides of a partition: every side (resolve() ends it). */
  readonly conflict?: readonly { readonly type: CrdtTypeName; readonly value: unknown }[]
}

/** What resolve() answers: the type kept, its value, and the acknowledgements of the resolution. */
export interface ResolveResult {
  readonly key: string
  readonly type: CrdtTypeName
  readonly value: unknown
  readonly acks: number
  readonly quorum: boolean
}

export interface ScanOptions {
  readonly prefix?: string
}

export interface DatabaseInit {
  readonly dataDir: string
  readonly store: Store
  readonly engine: Engine | undefined
  readonly clock: Clock
  readonly replica: Replica
  readonly path: WritePath
  readonly onListenerError?: (err: unknown, change: Change) => void
  /** `rumordb:expiry`: keys the expiry sweep could not remove (warn). */
  readonly logger?: Logger
  /** DatabaseOptions.tombstonePurgeMs, checked (default DEFAULT_TOMBSTONE_PURGE_MS). */
  readonly tombstonePurgeMs?: number
  /** `rumordb:purge`: purges that failed (warn), tombstones purged (debug). */
  readonly purgeLogger?: Logger
}

export class Database implements KeyAccess {
  readonly dataDir: string
  private readonly store: Store
  private readonly clock: Clock
  /** @internal The local replica, for the simulator and tests. */
  readonly replica: Replica
  private readonly path: WritePath
  /** @internal The cluster engine, for the simulator and tests; undefined when local. */
  readonly engine: Engine | undefined
  private readonly subscriptions: Subscriptions
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly pendingIdempotency = new Map<string, Promise<unknown>>()
  /** Open change feeds: ended at close. */
  private readonly feeds = new Set<ChangeFeed>()
  private pruneTimer: TimerHandle | undefined
  /** Removes keys whose time to live ran out (expiry-sweep.ts). */
  private readonly sweep: ExpirySweep
  /** Deletes old tombstones every replica agrees on (tombstone-purge.ts). */
  private readonly purge: TombstonePurge
  private closing: Promise<void> | undefined

  constructor(init: DatabaseInit) {
    this.dataDir = init.dataDir
    this.store = init.store
    this.clock = init.clock
    this.replica = init.replica
    this.path = init.path
    this.engine = init.engine
    this.subscriptions = new Subscriptions(
      init.onListenerError ?? ((err, change) => console.error(`rumordb: a subscriber for ${JSON.stringify(change.key)} threw`, err)),
    )
    this.replica.onCommitted((change) => {
      if (!this.subscriptions.wants(change.key)) return
      this.subscriptions.emit(change.deleted === true ? deletedChange(change.key, change.origin) : changeOf(change.key, change.type, change.state, change.origin))
    })
    this.schedulePrune()
    this.sweep = new ExpirySweep(this.replica, this.clock, init.logger ?? silentLogger)
    this.sweep.start()
    const engine = init.engine
    this.purge = new TombstonePurge(
      this.replica,
      this.clock,
      init.tombstonePurgeMs ?? DEFAULT_TOMBSTONE_PURGE_MS,
      engine === undefined ? undefined : (key, since) => engine.antiEntropy.confirmedEqual(key, since),
      init.purgeLogger ?? silentLogger,
    )
    this.purge.start()
  }

  /**
   * Purges now the tombstones that may go (tombstone-purge.ts) instead of at the next
   * periodic pass (every 10 s); resolves with how many keys' rows were deleted.
   */
  purgeTombstones(): Promise<number> {
    if (this.closing !== undefined) return Promise.reject(new DatabaseClosedError())
    return this.purge.pass()
  }

  /** This node's actor id: the identity its writes carry inside CRDT states. */
  get actorId(): string {
    return this.replica.actor
  }

  /** This node's id in the cluster (the peer id), or the actor id when local. */
  get nodeId(): string {
    return this.engine?.self ?? this.replica.actor
  }

  /** Whether the database replicates through a transport. */
  get networked(): boolean {
    return this.engine !== undefined
  }

  /** A key's type, value and how many replicas answered; undefined when no replica has it. */
  get(key: string, options: GetOptions = {}): Promise<KeyValue | undefined> {
    return this.track(async () => {
      checkOptions(options, GET_OPTIONS, 'db.get')
      this.assertOpen()
      validateKey(key)
      const token = options.token === undefined ? undefined : decodeSessionToken(key, options.token)
      const type = token === undefined || token.type === 'delete' ? undefined : token.type
      const result = await this.path.read(key, type, { r: options.r, requireQuorum: options.requireQuorum, token })
      if (result.type === undefined) return undefined
      const { after, limit } = options
      if (after === undefined && limit === undefined) return { key, type: result.type, value: crdtOf(result.type).value(result.state), replicas: result.replicas }
      if (result.type !== 'orset') {
        throw new InvalidOptionError(`db.get: after and limit page the elements of a set, but ${JSON.stringify(key)} holds a ${result.type}; read it without them`)
      }
      const state = result.state as ORSetState
      const size = ORSet.size(state)
      // One element past the page says whether another page follows.
      const page = ORSet.valuesAfter(state, after, limit === undefined ? size : limit + 1)
      const value = limit === undefined ? page : page.slice(0, limit)
      return { key, type: result.type, value, replicas: result.replicas, size, ...(page.length > value.length ? { next: value[value.length - 1] } : {}) }
    })
  }

  /** Keys this node stores, in key order (a cluster node lists the keys it replicates). */
  keys(options: { prefix?: string; after?: string; limit?: number } = {}): { key: string; type: CrdtTypeName }[] {
    checkOptions(options, KEYS_OPTIONS, 'db.keys')
    this.assertOpen()
    const limit = options.limit ?? 1000
    const out: { key: string; type: CrdtTypeName }[] = []
    // Deleted keys are stored (their tombstones) but not listed: read on until the page is full.
    let after = options.after
    while (out.length < limit) {
      const want = limit - out.length
      const page = this.store.scan({ prefix: options.prefix, after, limit: want })
      for (const row of page) if (!this.deletedRow(row.state)) out.push({ key: row.key, type: row.type })
      if (page.length < want) break
      after = page[page.length - 1]?.key
    }
    return out
  }

  /** The cluster's members as this node sees them (itself included). */
  members(): { self: string; members: MemberView[] } {
    this.assertOpen()
    if (this.engine === undefined) {
      return { self: this.nodeId, members: [{ id: this.nodeId, addrs: [], vnodes: 0, incarnation: 0, status: 'alive' }] }
    }
    return { self: this.engine.self, members: this.engine.members() }
  }

  /** Counters for status pages and metrics. */
  status(): DatabaseStatus {
    this.assertOpen()
    if (this.engine !== undefined) return { networked: true, ...this.engine.status() }
    return { networked: false, id: this.nodeId, keys: this.store.countKeys(), pendingHints: 0, members: { alive: 1, suspect: 0, left: 0 }, replica: { ...this.replica.stats } }
  }

  /**
   * Digests of the data this node holds, per replica set, and whether the last
   * anti-entropy exchange with each peer found them equal. Two nodes holding the same
   * keys report the same digests. With the network off: the whole store as one range.
   */
  syncStatus(): SyncStatus {
    this.assertOpen()
    if (this.engine !== undefined) return this.engine.syncStatus()
    const index = new ArcIndex()
    const ring = buildRing([{ id: this.nodeId, vnodes: 1 }])
    index.rebuild(ring, this.store)
    return syncStatus(index, ring, this.nodeId, 1, [])
  }

  /** Deep health: a write to the database commits. Throws what went wrong. */
  async checkWritable(): Promise<void> {
    this.assertOpen()
    await this.store.write({ meta: [{ name: META_HEALTH_PROBE, value: new TextEncoder().encode(String(this.clock.now())) }] })
  }

  counter(key: string): CounterHandle {
    return new CounterHandle(this, key)
  }
  gcounter(key: string): GCounterHandle {
    return new GCounterHandle(this, key)
  }
  set(key: string): SetHandle {
    return new SetHandle(this, key)
  }
  register(key: string): RegisterHandle {
    return new RegisterHandle(this, key)
  }
  /** A map (a document) whose fields are counters, sets, registers and nested maps. */
  map(key: string): MapHandle {
    return new MapHandle(this, key)
  }

  /** Calls `fn` after every committed change of a key starting with `prefix`. Returns `off()`. */
  subscribe(prefix: string, fn: ChangeListener): () => void {
    this.assertOpen()
    return this.subscriptions.add(prefix, fn)
  }

  /**
   * The change feed: every key under `prefix` that changed after `since` (a cursor an
   * earlier event gave; from the start without it), then every change as it commits, in
   * commit order, until the loop ends or the database closes. Each event carries `{ key,
   * type, value, size (sets), deleted, origin, cursor }`; resuming with the last cursor seen
   * misses nothing committed after it, across restarts (change-feed.ts says what it does not
   * promise). Throws InvalidCursorError for a malformed cursor or one of another database,
   * and CursorTooOldError (also from the iterator, while it catches up) for a cursor from
   * before tombstones this node purged: then read the keys again and watch from there.
   */
  watch(prefix = '', options: { since?: string } = {}): AsyncIterableIterator<FeedEvent> {
    checkOptions(options, WATCH_OPTIONS, 'db.watch')
    this.assertOpen()
    if (typeof prefix !== 'string') throw new InvalidOptionError('watch(prefix): prefix must be a string ("" for every key)')
    const feed = new ChangeFeed(
      {
        store: this.store,
        actor: this.replica.actor,
        purgedThrough: () => this.replica.purgedThrough(),
        onCommitted: (fn) => this.replica.onCommitted(fn),
        read: (key) => {
          const state = this.replica.readNow(key)
          // Read back from the store (catching up, resuming), an expiry shows as the live event did.
          return state?.deleted === true && isDue(state.expiry, this.replica.wallNow()) ? { ...state, expired: true as const } : state
        },
        event: (key, state, cursor, origin) => {
          const base = { key, cursor, ...(origin === undefined ? {} : { origin }) }
          if ('deleted' in state && state.deleted === true) {
            return { ...base, type: undefined, value: undefined, deleted: true, ...('expired' in state && state.expired === true ? { expired: true as const } : {}) }
          }
          const { type, state: value } = state as Pick<KeyState, 'type' | 'state'>
          return Object.assign(lazyValue(type, value), base, { type })
        },
      },
      prefix,
      options.since,
    )
    this.feeds.add(feed)
    const end = feed.return.bind(feed)
    feed.return = async () => {
      this.feeds.delete(feed)
      return end()
    }
    return feed
  }

  /** Every key (optionally under a prefix) in key order, with its type and value. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<ScanEntry> {
    checkOptions(options, SCAN_OPTIONS, 'db.scan')
    const prefix = options.prefix ?? ''
    let after: string | undefined
    for (;;) {
      this.assertOpen()
      const page = this.store.scan({ prefix, after, limit: SCAN_PAGE })
      for (const row of page) {
        const visible = visibleEntries(this.contentOf(row.state))
        const shown = visible[0]
        if (shown === undefined) continue
        const conflict = conflictOf(visible)
        yield { key: row.key, type: shown.type, value: crdtOf(shown.type).value(shown.state), ...(conflict === undefined ? {} : { conflict }) }
      }
      if (page.length < SCAN_PAGE) return
      after = page[page.length - 1]?.key
    }
  }

  write(key: string, op: Operation, options: WriteOptions = {}): Promise<WriteResult<unknown>> {
    return this.track(async () => {
      checkOptions(options, WRITE_OPTIONS, 'db.write')
      this.assertOpen()
      validateKey(key)
      return this.once(key, op, options.idempotencyKey, (keyed) => this.applyWrite(key, op, options, keyed), options.ttl)
    })
  }

  /**
   * Deletes the key, whatever its type: removes what the replica that applies the delete
   * holds of it (observed-remove). A write that replica had not seen (made concurrently
   * elsewhere) survives and shows again. A deleted key reads as missing and can be written
   * again with any type, which also ends a type conflict. `deleted` says whether there was
   * anything to remove. Takes an idempotency key like a write.
   */
  delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    return this.track(async () => {
      checkOptions(options, DELETE_OPTIONS, 'db.delete')
      this.assertOpen()
      validateKey(key)
      return this.once(key, DELETE, options.idempotencyKey, (keyed) => this.applyDelete(key, options, keyed))
    })
  }

  /** Runs a write at most once per idempotency key: attempts of one key through this node run one after another, and the second finds the first's record. */
  private once<R>(key: string, op: KeyOperation, id: string | undefined, run: (keyed?: KeyedWrite) => Promise<R>, ttl?: number): Promise<R> {
    // Without a key the write's own promise, not one more wrapped around it.
    return id === undefined ? run() : this.onceKeyed(key, op, id, run, ttl)
  }

  private async onceKeyed<R>(key: string, op: KeyOperation, id: string, run: (keyed?: KeyedWrite) => Promise<R>, ttl?: number): Promise<R> {
    validateIdempotencyKey(id)
    const pending = this.pendingIdempotency.get(id)
    if (pending !== undefined) await pending.catch(() => undefined)
    const running = run({ id, fingerprint: fingerprint(key, op, ttl) })
    this.pendingIdempotency.set(id, running)
    try {
      return await running
    } finally {
      if (this.pendingIdempotency.get(id) === running) this.pendingIdempotency.delete(id)
    }
  }

  /**
   * Ends a type conflict (two sides of a partition created `key` with different types) by
   * keeping `keep`: the other types are removed as the reachable replicas hold them now. A
   * write of a removed type that none of them had seen yet survives, and the conflict shows
   * again (observed-remove, like an OR-set remove). Throws TypeMismatchError when the key
   * holds no `keep`; resolving a key without conflict just confirms its type.
   */
  resolve(key: string, keep: CrdtTypeName, options: { w?: number; requireQuorum?: boolean } = {}): Promise<ResolveResult> {
    return this.track(async () => {
      checkOptions(options, RESOLVE_OPTIONS, 'db.resolve')
      this.assertOpen()
      validateKey(key)
      if (!isCrdtTypeName(keep)) throw new InvalidOptionError(`resolve(key, keep): keep must be one of ${CRDT_TYPE_NAMES.join(', ')}, got ${JSON.stringify(keep)}`)
      const result = await this.path.resolve(key, keep, { w: options.w, requireQuorum: options.requireQuorum })
      return { key, type: keep, value: crdtOf(keep).value(result.state), acks: result.acks, quorum: result.quorum }
    })
  }

  readState(key: string, type: CrdtTypeName, options: ReadOptions = {}): Promise<unknown> {
    return this.track(async () => {
      this.assertOpen()
      validateKey(key)
      const token = options.token === undefined ? undefined : decodeSessionToken(key, options.token)
      // A delete's token fits a read of any type (the key reads as that type's empty value, or a later write).
      const fits = token !== undefined && (token.type === type || token.type === 'delete')
      const result = await this.path.read(key, type, { r: options.r, requireQuorum: options.requireQuorum, token: fits ? token : undefined })
      // A token of another type: the key's own type mismatch (thrown by the read) says more.
      if (token !== undefined && !fits) throw new InvalidTokenError(`it was issued for a ${token.type}, not a ${type}`)
      return result.state
    })
  }

  /**
   * Waits for in-flight operations, disconnects, commits and releases the data directory.
   * Idempotent. With `leave: true` a networked node first leaves the cluster for good: the
   * others show it `left` (not suspect) and move its key ranges to the remaining members;
   * opening the same data directory later rejoins, within the tombstone purge window (after
   * it, the open refuses with RejoinTooLateError). Without it, the others see it suspect and
   * keep hints for it until it is back.
   */
  close(options: { readonly leave?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (this.pruneTimer !== undefined) this.clock.clearTimeout(this.pruneTimer)
      await this.sweep.stop()
      await this.purge.stop()
      await Promise.allSettled([...this.inFlight])
      await this.engine?.stop({ leave: options.leave === true })
      // A later networked open of this data checks how long ago it left (createDatabase).
      if (options.leave === true && this.engine !== undefined) await this.store.write({ meta: [{ name: META_LEFT_AT, value: encodeNumberMeta(this.clock.now()) }] })
      this.replica.close()
      await this.saveIndex()
      this.subscriptions.clear()
      await Promise.all([...this.feeds].map((feed) => feed.return()))
      await this.store.close()
    })()
    return this.closing
  }

  /**
   * Saves the anti-entropy index for the next open when it is exactly the store's content
   * (Engine.indexSnapshot). Best effort: without it the next open rebuilds the index.
   */
  private async saveIndex(): Promise<void> {
    const snapshot = this.engine?.indexSnapshot()
    if (snapshot === undefined) return
    await saveIndexSnapshot(this.store, snapshot).catch(() => undefined)
  }

  private async applyWrite(key: string, op: Operation, options: WriteOptions, keyed?: KeyedWrite): Promise<WriteResult<unknown>> {
    const recorded = this.recorded(keyed)
    if (recorded !== undefined) return this.replayed(key, keyed as KeyedWrite, recorded)
    const result: PathWriteResult = await this.path.write(key, op, { n: options.n, w: options.w, requireQuorum: options.requireQuorum, idempotency: keyed, ttlMs: options.ttl })
    if (result.kind === 'replayed') return this.replayed(key, keyed as KeyedWrite, result.record)
    const { state } = result
    const type = op.type
    // Every write through this database is one 'local' change for subscribers: the replica
    // emits it when it applied the write or merged it with a change, and here otherwise (only
    // other nodes applied it, or this replica already held something newer), as this node's
    // replica joined with the applier's state: the applier's alone may lack what this
    // replica merged meanwhile, and the subscriber's last event must not show less than the
    // store holds.
    if (!result.notifiedHere && this.subscriptions.wants(key)) this.subscriptions.emit(changeOf(key, type, this.joinedWithLocal(key, type, state), 'local'))
    return writeResultOf(type, state, () => encodeSessionToken(key, type, result.witness), result.acks, result.quorum)
  }

  /** `state` (of `type`) joined with what this node's replica shows of the key, when it shows that type alone. */
  private joinedWithLocal(key: string, type: CrdtTypeName, state: unknown): unknown {
    const local = this.replica.readNow(key)
    if (local === undefined || local.deleted === true || local.type !== type || (local.content !== undefined && visibleEntries(local.content).length !== 1)) return state
    return crdtOf(type).merge(local.state, state)
  }

  /** Whether stored bytes are those of a deleted or expired key: only a multi-type content can be. */
  private deletedRow(state: Uint8Array): boolean {
    return isMultiTypeEncoding(state) && visibleEntries(this.contentOf(state)).length === 0
  }

  /** Stored bytes as a reader sees them now: removed once their expiry is due. */
  private contentOf(state: Uint8Array): KeyContent {
    return expired(decodeRecord(state), this.replica.wallNow()).content
  }

  private async applyDelete(key: string, options: DeleteOptions, keyed?: KeyedWrite): Promise<DeleteResult> {
    const recorded = this.recorded(keyed)
    const first = recorded === undefined ? await this.path.write(key, DELETE, { n: options.n, w: options.w, requireQuorum: options.requireQuorum, idempotency: keyed }) : undefined
    if (first === undefined || first.kind === 'replayed') {
      const outcome = decodeIdempotencyRecord((keyed as KeyedWrite).id, (keyed as KeyedWrite).fingerprint, recorded ?? (first as { record: Uint8Array }).record)
      return { key, deleted: outcome.deleted === true, replayed: true, ...(outcome.token === '' ? {} : { token: outcome.token }) }
    }
    if (!first.notifiedHere && this.subscriptions.wants(key)) this.subscriptions.emit(deletedChange(key, 'local'))
    const token = encodeDeleteToken(key, first.witness)
    return { key, deleted: first.deleted === true, acks: first.acks, quorum: first.quorum, ...(token === undefined ? {} : { token }) }
  }

  /** A keyed write's outcome record here: final (records are never rewritten), so no need to ask the cluster. */
  private recorded(keyed: KeyedWrite | undefined): Uint8Array | undefined {
    return keyed === undefined ? undefined : this.store.getIdempotency(outcomeId(keyed.id), this.clock.now())
  }

  /**
   * The first result of a keyed write. A write on a set of more than MAX_RECORDED_ELEMENTS
   * recorded only the set's size: its value is the set as a read finds it now (it includes
   * the write), built when the caller reads it.
   */
  private async replayed(key: string, keyed: KeyedWrite, record: Uint8Array): Promise<WriteResult<unknown>> {
    const outcome = decodeIdempotencyRecord(keyed.id, keyed.fingerprint, record)
    if (outcome.value !== undefined || outcome.size === undefined) return { ...outcome, replayed: true }
    const { state } = await this.path.read(key, 'orset')
    return Object.assign(lazyValue('orset', state), { token: outcome.token, size: outcome.size, replayed: true })
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn()
    this.inFlight.add(p)
    const done = (): void => {
      this.inFlight.delete(p)
    }
    p.then(done, done)
    return p
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new DatabaseClosedError()
  }

  private schedulePrune(): void {
    this.pruneTimer = this.clock.setTimeout(() => {
      if (this.closing !== undefined) return
      this.store.pruneIdempotency(this.clock.now()).catch(() => undefined)
      this.schedulePrune()
    }, PRUNE_INTERVAL_MS)
  }
}

/**
 * `{ value, size }` of a state for a write's result or a change: the value (for a set, a
 * list of every element) is built when first read, so a caller or listener that looks only
 * at the rest, or at a set's `size`, costs no pass over a big set. Object.assign onto it
 * keeps the getter.
 */
function lazyValue(type: CrdtTypeName, state: unknown): { readonly value: unknown; readonly size?: number } {
  let value: unknown
  return {
    get value() {
      value ??= crdtOf(type).value(state)
      return value
    },
    ...(type === 'orset' ? { size: ORSet.size(state as ORSetState) } : {}),
  }
}


/**
 * A write's result, with its value (lazyValue) and its session token built when first read:
 * most callers of a hot write path look at neither, and the token's base64 costs a few µs.
 */
function writeResultOf(type: CrdtTypeName, state: unknown, encodeToken: () => string, acks: number, quorum: boolean): WriteResult<unknown> {
  let value: unknown
  let token: string | undefined
  return {
    get value() {
      value ??= crdtOf(type).value(state)
      return value
    },
    get token() {
      token ??= encodeToken()
      return token
    },
    acks,
    quorum,
    ...(type === 'orset' ? { size: ORSet.size(state as ORSetState) } : {}),
  }
}

/** A change as subscribers see it (its value built when first read). */
function changeOf(key: string, type: CrdtTypeName, state: unknown, origin: 'local' | 'remote'): Change {
  return Object.assign(lazyValue(type, state), { key, type, origin })
}

/** A change after which nothing of the key is visible: a delete, or a merged one. */
function deletedChange(key: string, origin: 'local' | 'remote'): Change {
  return { key, type: undefined, value: undefined, origin, deleted: true }
}
