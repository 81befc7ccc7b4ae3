// A replica applies operations and remote states to the keys it stores. It is what the
// quorum coordinator calls on the node that applies a write, and what the embedded
// database calls directly while the network is off. Every change is one group-committed
// store batch that also carries the clock, so the HLC never goes back across restarts.
import {
  ClockDriftError,
  crdtTypes,
  decodeTimestamp,
  encodeTimestamp,
  GCounter,
  HybridLogicalClock,
  FieldTypeError,
  LWWRegister,
  ORMap,
  ORSet,
  type ORMapState,
  type LWWRegisterState,
  type LWWWrite,
  PNCounter,
} from '../../crdts/index.js'
import {
  deletionDelta,
  encodeContent,
  everSeen,
  isMultiTypeEncoding,
  joinContent,
  singleContent,
  visibleEntries,
  withState,
  type KeyContent,
} from '../../crdts/key-content.js'
import { decodeRecord, encodeRecord, expired, expiresAt, isDue, joinRecords, recordEquals, setExpiry, sweepAt, type Expiry, type KeyRecord } from '../../crdts/key-record.js'
import { pageORSet, type ORSetPaging } from '../../crdts/orset-pages.js'
import type { ORSetState } from '../../crdts/orset.js'
import type { Timestamp } from '../../crdts/hlc.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import type { Clock } from '../base/clock.js'
import { heldBack, LogThrottle } from '../base/log-throttle.js'
import { silentLogger, type Logger } from '../base/logger.js'
import { DatabaseClosedError, FieldTypeMismatchError, TypeMismatchError } from '../base/errors.js'
import type { KeyOperation, Operation } from '../base/operations.js'
import { checkRemoteState } from './remote-guard.js'
import { writerActor } from './incarnations.js'
import { pagedWrite, pagingBytes, pagingDigest } from './paged-states.js'
import { StateCache } from './state-cache.js'
import { equals } from 'uint8arrays/equals'
import { stateDigest } from '../store/digest.js'
import type { DeletedKey, KeyWrite, Store, WriteBatch } from '../store/store.js'
import { NEEDS_DELETED_CLASSIFICATION } from '../store/migrations.js'
import { decodeNumberMeta, encodeNumberMeta } from '../base/number-meta.js'

export const META_ACTOR = 'actor'
/** Replica.purgeEpoch, as decimal text. */
export const META_PURGE_EPOCH = 'purge-epoch'
/** Replica.purgedThrough, as decimal text. */
export const META_PURGED_THROUGH = 'purged-through'
/** Rows classified per store page by classifyDeleted. */
const CLASSIFY_PAGE = 1000
export const META_HLC = 'hlc'

/**
 * A key's current state, decoded: its type and state, and, when two types were written to
 * it concurrently (a type conflict) or something was deleted from it (crdts/key-content.ts),
 * the whole content; then `type` and `state` are those of the first visible type as a
 * reader sees it, or, when none is visible (the key was deleted), the first type's empty
 * state with `deleted` set.
 */
export interface KeyState {
  readonly type: CrdtTypeName
  readonly state: unknown
  readonly deleted?: boolean
  readonly content?: KeyContent
  /** A single-type OR-set's state in pages, once a write made it (src/replica/paged-states.ts). */
  readonly paging?: ORSetPaging
  /** When the key expires (crdts/key-record.ts), once a write gave it a time to live; `content` is then set too. */
  readonly expiry?: Expiry
}

/** How a key's next state goes to the store: its bytes (the prefix, for a state in pages) and pages. */
type StoredForm = Pick<KeyWrite, 'state' | 'pages' | 'digest' | 'expiresAt'>

export interface AppliedWrite {
  readonly key: string
  /** The type written; undefined for a delete. */
  readonly type: CrdtTypeName | undefined
  /** The state of `type` after the write, as a reader sees it; undefined for a delete. */
  readonly state: unknown
  /** What other replicas need to learn the write, encoded: the mutator's delta, or a delete's tombstones. */
  readonly delta: Uint8Array
  /** Compact proof of the write, for session tokens (empty for a delete). */
  readonly witness: Uint8Array
  /** A delete: whether the key held anything visible that it removed. */
  readonly deleted?: boolean
}

export interface MergeResult {
  readonly key: string
  readonly type: CrdtTypeName
  readonly state: unknown
  /** Nothing of the key is visible after the merge. */
  readonly deleted?: boolean
  /** False when the incoming state was already included. */
  readonly changed: boolean
}

/** Extra rows committed atomically with a write (idempotency records, hints, …). */
export type BatchExtras = Omit<WriteBatch, 'keys'>

/**
 * Where a change came from: 'local' for a write made through this node's database API
 * (whichever replica applied it), 'remote' for anything a peer sent (a write another node
 * coordinated, replication, anti-entropy, hinted handoff).
 */
export type ChangeOrigin = 'local' | 'remote'

/** A committed change of one key, as listeners see it. */
export interface CommittedChange {
  readonly key: string
  readonly type: CrdtTypeName
  /** As a reader sees it (the type's empty state once deleted). */
  readonly state: unknown
  /** Nothing of the key is visible any more. */
  readonly deleted?: boolean
  /** The key's expiry came (a sweep removed it); `deleted` is set too. */
  readonly expired?: boolean
  readonly origin: ChangeOrigin
  /** The encoded HLC the store keeps as the key's last change (StoredKey.hlc): the change feed's cursor. */
  readonly cursor: Uint8Array
}

export interface ApplyOptions {
  /** Default 'local'. */
  readonly origin?: ChangeOrigin
  /** Rows committed atomically with the write, built from it (idempotency records, hints). */
  readonly extras?: (write: AppliedWrite) => BatchExtras
  /**
   * A time to live: the key expires this many milliseconds after the write (by this node's
   * hybrid logical clock). Without it a write keeps the key's expiry, unless the key read as
   * missing (never written, deleted, expired): then it starts a key that does not expire.
   */
  readonly ttlMs?: number
}

export interface MergeOptions {
  /** Default 'remote'. */
  readonly origin?: ChangeOrigin
  /** Rows committed atomically with the merge (even when the state was already included). */
  readonly extras?: BatchExtras
}

export type CommitListener = (change: CommittedChange) => void

/** A replica's refusal counters before its first merge. */
export function zeroReplicaStats(): ReplicaStats {
  return { clockDriftRefused: 0, remoteStatesRefused: 0, tombstonesPurged: 0 }
}

export interface ReplicaStats {
  /** States from other nodes refused before merging (remote-guard.ts): forged entries of this node, no room left. */
  remoteStatesRefused: number
  /** Remote registers refused because their timestamp was too far ahead of our clock. */
  clockDriftRefused: number
  /** Rows of keys that showed nothing deleted by the purge (src/cluster/purge) since open. */
  tombstonesPurged: number
}

export interface ReplicaInit {
  readonly store: Store
  readonly clock: Clock
  readonly actor: string
  readonly maxClockOffsetMs?: number
  /** Memory budget of the decoded-state cache in encoded bytes (default 32 MiB; 0 disables it). */
  readonly cacheBytes?: number
  /**
   * OR-sets up to this many bytes are stored whole, larger ones in pages (default
   * INLINE_STATE_BYTES; the simulator passes -1 so that every set goes in pages).
   */
  readonly inlineStateBytes?: number
  /** `rumordb:replica`: states refused on merge (warn, at most once a minute per kind). */
  readonly logger?: Logger
}

type AnyCrdt = {
  merge(a: unknown, b: unknown): unknown
  equals(a: unknown, b: unknown): boolean
  encode(s: unknown): Uint8Array
  decode(b: Uint8Array): unknown
  empty(): unknown
  value(s: unknown): unknown
  witness(delta: unknown): Uint8Array
}

export function crdtOf(type: CrdtTypeName): AnyCrdt {
  return crdtTypes[type] as unknown as AnyCrdt
}

export class Replica {
  readonly actor: string
  readonly hlc: HybridLogicalClock
  readonly store: Store
  readonly stats = zeroReplicaStats()
  private readonly clock: Clock
  private readonly listeners = new Set<CommitListener>()
  private readonly cache: StateCache
  private readonly inlineStateBytes: number | undefined
  /** Key writes staged whose commit has not settled. */
  private keyWritesInFlight = 0
  /** Committed key changes announced to listeners so far. */
  private changesNotified = 0
  private closed = false
  /** The time of this node's latest tombstone purge (0: none): the incarnation its new writes use (incarnations.ts). */
  private epoch: number
  private readonly logger: Logger
  /** A node with a bad clock (or a broken peer) sends refused states over and over. */
  private readonly throttle: LogThrottle

  constructor(init: ReplicaInit) {
    this.store = init.store
    this.clock = init.clock
    this.actor = init.actor
    this.cache = new StateCache(init.cacheBytes)
    this.inlineStateBytes = init.inlineStateBytes
    this.logger = init.logger ?? silentLogger
    this.throttle = new LogThrottle(() => init.clock.now())
    const persisted = init.store.getMeta(META_HLC)
    this.hlc = new HybridLogicalClock({
      now: () => init.clock.now(),
      maxOffsetMs: init.maxClockOffsetMs,
      initial: persisted === undefined ? undefined : decodeTimestamp(persisted),
    })
    this.epoch = decodeNumberMeta(init.store.getMeta(META_PURGE_EPOCH))
  }

  /** The time of this node's latest tombstone purge, 0 before any (incarnations.ts). */
  get purgeEpoch(): number {
    return this.epoch
  }

  /**
   * Deletes the rows of keys that show nothing (tombstones), each only if it still has the
   * listed digest: a write or merge since changed it and keeps it. The caller decided that
   * every replica holds nothing the tombstones remove (src/cluster/purge). First moves this
   * node to a new incarnation, durably, so no later write of it can be covered by a copy of
   * these tombstones elsewhere (incarnations.ts); the feed learns how far it purged
   * (META_PURGED_THROUGH). Resolves with how many rows went.
   */
  async purge(keys: readonly DeletedKey[]): Promise<number> {
    if (this.closed) throw new DatabaseClosedError()
    if (keys.length === 0) return 0
    const epoch = Math.max(this.epoch + 1, this.wallNow())
    await this.store.write({ meta: [{ name: META_PURGE_EPOCH, value: encodeNumberMeta(epoch) }] })
    this.epoch = epoch
    const through = Math.max(decodeNumberMeta(this.store.getMeta(META_PURGED_THROUGH)), ...keys.map((k) => k.deletedAt))
    const purged = await this.store.purge(keys, [{ name: META_PURGED_THROUGH, value: encodeNumberMeta(through) }])
    // Purged or not (a write since kept it), each is read from the store again: no lookup per key here.
    for (const { key } of keys) this.cache.delete(key)
    this.stats.tombstonesPurged += purged
    return purged
  }

  /** The latest change time (ms) of a tombstone purged here, 0 before any: the feed refuses cursors from before it. */
  purgedThrough(): number {
    return decodeNumberMeta(this.store.getMeta(META_PURGED_THROUGH))
  }

  /** Key changes committed and announced to listeners since this replica was created. */
  get committedChanges(): number {
    return this.changesNotified
  }

  /** Whether no key write is staged and uncommitted. */
  get idle(): boolean {
    return this.keyWritesInFlight === 0
  }

  /**
   * Refuses every later write and merge (DatabaseClosedError): what the store holds no
   * longer changes through this replica, so a closing database can describe it exactly.
   */
  close(): void {
    this.closed = true
  }

  /** Called after every committed key change, in commit order. Returns `off()`. */
  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** The key's state, including writes staged but not yet committed. */
  read(key: string): KeyState | undefined {
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    const stored = this.store.getKey(key)
    if (stored === undefined) return undefined
    const entry = isMultiTypeEncoding(stored.state)
      ? keyStateOf(decodeRecord(stored.state))
      : { type: stored.type, state: crdtOf(stored.type).decode(stored.state) }
    this.cache.set(key, entry, stored.state.length)
    return entry
  }

  /** read(), with a due expiry applied: the key as a reader sees it now (`deleted` once expired). */
  readNow(key: string): KeyState | undefined {
    const current = this.read(key)
    if (current?.expiry === undefined) return current
    const nowMs = this.wallNow()
    return isDue(current.expiry, nowMs) ? keyStateOf(expired(recordOf(current), nowMs)) : current
  }

  /** The key as stored (its content and expiry), a due expiry not yet applied; undefined when missing. */
  readRecord(key: string): KeyRecord | undefined {
    const current = this.read(key)
    return current === undefined ? undefined : recordOf(current)
  }

  /**
   * Everything the key holds, every type of a conflict included, as a reader sees it now:
   * removed once its expiry is due (crdts/key-record.ts); undefined when missing.
   */
  readContent(key: string): KeyContent | undefined {
    const record = this.readRecord(key)
    return record === undefined ? undefined : expired(record, this.wallNow()).content
  }

  /**
   * The wall time expiries are judged by: this node's hybrid logical clock, which is never
   * behind a timestamp it has seen, without issuing a timestamp.
   */
  wallNow(): number {
    return Math.max(this.clock.now(), this.hlc.last().wallMs)
  }

  /**
   * Marks the tombstones of a store written before schema v5 (StoredKey.deletedAt): its
   * migration cannot decode states, so it leaves NEEDS_DELETED_CLASSIFICATION when some rows
   * may be tombstones, and this decodes those once, at open, before the anti-entropy index
   * or the purge read the marks. Resolves with how many rows it marked.
   */
  async classifyDeleted(): Promise<number> {
    if (this.store.getMeta(NEEDS_DELETED_CLASSIFICATION) === undefined) return 0
    let marked = 0
    let after: string | undefined
    for (;;) {
      const page = this.store.scan(after === undefined ? { limit: CLASSIFY_PAGE } : { after, limit: CLASSIFY_PAGE })
      const keys: KeyWrite[] = []
      for (const stored of page) {
        if (stored.paged !== undefined || stored.deletedAt !== undefined || !isMultiTypeEncoding(stored.state)) continue
        if (this.read(stored.key)?.deleted !== true) continue
        keys.push({ key: stored.key, type: stored.type, state: stored.state, hlc: stored.hlc, digest: stored.digest, deletedAt: decodeTimestamp(stored.hlc).wallMs })
      }
      if (keys.length > 0) await this.store.write({ keys })
      marked += keys.length
      if (page.length < CLASSIFY_PAGE) break
      after = page[page.length - 1]!.key
    }
    await this.store.write({ meta: [{ name: NEEDS_DELETED_CLASSIFICATION, value: null }] })
    return marked
  }

  /** Keys of the store whose expiry is due now and that still show something (at most `limit`). */
  dueKeys(limit: number): string[] {
    return this.store.scanExpiring(this.wallNow(), limit)
  }

  /**
   * Removes the key when its expiry is due (as a delete does, keeping the expiry), and tells
   * listeners with `expired` set. Does nothing when it is not due or already removed. Resolves
   * after commit with whether anything changed.
   */
  async expire(key: string): Promise<boolean> {
    if (this.closed) throw new DatabaseClosedError()
    const record = this.readRecord(key)
    if (record === undefined) return false
    const nowMs = this.wallNow()
    if (!isDue(record.expiry, nowMs)) return false
    const next = expired(record, nowMs)
    if (recordEquals(next, record)) return false
    const { next: state, form } = storedFormOf(next, this.inlineStateBytes)
    await this.commit(key, state, keyBatch(key, state, form, this.hlc.now(), undefined), { key, type: state.type, state: state.state, deleted: true, expired: true, origin: 'local' })
    return true
  }

  /**
   * The key's state of `type` (its empty state when the key is missing). Throws
   * TypeMismatchError when the key holds another type; a key in a type conflict answers for
   * each of its conflicting types.
   */
  readTyped(key: string, type: CrdtTypeName): unknown {
    return typedState(key, this.read(key), type)
  }

  /**
   * Applies `op` with this replica's actor id. Validation and type checks happen before
   * anything is staged, so a refused operation changes nothing. Resolves after commit.
   */
  async apply(key: string, op: KeyOperation, options: ApplyOptions = {}): Promise<AppliedWrite> {
    if (this.closed) throw new DatabaseClosedError()
    if (op.op === 'delete') return this.delete(key, options)
    const ttlMs = options.ttlMs
    if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) throw new RangeError(`ttl must be a positive integer number of milliseconds, got ${String(ttlMs)}`)
    const timestamp = this.hlc.now()
    const held = this.read(key)
    // A key of one type without an expiry (the common case) is its own live state: no record
    // is built for it. Otherwise a due expiry first removes what the key held, so the write
    // starts a new key.
    const plain = held !== undefined && held.content === undefined && held.expiry === undefined
    const live = held === undefined || plain ? undefined : expired(recordOf(held), timestamp.wallMs)
    const expiry = nextExpiry(live, ttlMs === undefined ? undefined : timestamp.wallMs + ttlMs, this.actor, timestamp)
    const stored = plain ? held : live === undefined ? undefined : keyStateOf(live)
    const current = typedState(key, stored, op.type)
    const delta = mutateKey(key, current, op, (type, state) => writerActor(this.actor, this.epoch, type, state), timestamp)
    const crdt = crdtOf(op.type)
    // A remove's delta names no element (only the dots it removes), so merging it means a
    // pass over the whole set; the set without the element is the same state.
    const state = op.type === 'orset' && op.op === 'remove' ? ORSet.applyRemove(current as never, op.element) : crdt.merge(current, delta)
    const conflict = stored?.content
    const content = conflict === undefined ? undefined : withState(conflict, op.type, state)
    const { next, form } =
      content === undefined && expiry === undefined ? plainFormOf(op.type, state, this.inlineStateBytes) : storedFormOf(withExpiry(content ?? singleContent(op.type, state), expiry), this.inlineStateBytes)
    // What a reader sees of the written type (counters after a delete count from their tombstone).
    const seen = content === undefined ? state : (visibleEntries(content).find((e) => e.type === op.type)?.state ?? crdt.empty())
    // The delta carries the key's expiry, so a replica judges the write by the expiry it was made under.
    const encodedDelta = expiry === undefined ? crdt.encode(delta) : encodeRecord({ content: singleContent(op.type, delta), expiry })
    const applied: AppliedWrite = { key, type: op.type, state: seen, delta: encodedDelta, witness: crdt.witness(delta) }
    await this.commit(key, next, keyBatch(key, next, form, timestamp, options.extras?.(applied)), {
      key,
      type: op.type,
      state: seen,
      origin: options.origin ?? 'local',
      // A write can leave a deleted key showing nothing (removing an element it no longer shows): still a delete, as reads say.
      ...deletedFlag(next),
    })
    return applied
  }

  /**
   * Removes everything the key holds here (crdts/key-content.ts: each type's tombstone of
   * what it saw). A key this replica never held gets an empty tombstone, so a delete always
   * replicates and is acknowledged like a write; it removes nothing anywhere.
   */
  private async delete(key: string, options: ApplyOptions): Promise<AppliedWrite> {
    if (options.ttlMs !== undefined) throw new RangeError('a delete takes no ttl')
    const timestamp = this.hlc.now()
    const record = this.readRecord(key)
    const live = record === undefined ? undefined : expired(record, timestamp.wallMs)
    const content = live?.content ?? NOTHING_SEEN
    const deleted = visibleEntries(content).length > 0
    const delta = deletionDelta(content)
    const joined = joinContent(content, delta)
    const { next, form } = storedFormOf(withExpiry(joined, live?.expiry), this.inlineStateBytes)
    // The delta is its own witness: a state that joined it includes the delete (session-token.ts).
    const encoded = encodeContent(delta)
    const applied: AppliedWrite = { key, type: undefined, state: undefined, delta: encoded, witness: encoded, deleted }
    const batch = keyBatch(key, next, form, timestamp, options.extras?.(applied))
    await this.commit(key, next, batch, { key, type: next.type, state: next.state, deleted: true, origin: options.origin ?? 'local' })
    return applied
  }

  /**
   * Joins an encoded state (a delta, a full state, or a multi-type content from another
   * replica) into the key. A state of another type than the key's makes a type conflict:
   * both are kept (crdts/key-content.ts), so replicas converge without losing either side.
   * Throws CrdtDecodeError on bad bytes and ClockDriftError for a register from too far in
   * the future; nothing is staged then.
   */
  async merge(key: string, encoded: Uint8Array, options: MergeOptions = {}): Promise<MergeResult> {
    if (this.closed) throw new DatabaseClosedError()
    const extras = options.extras
    const incomingRecord = decodeRecord(encoded)
    const incoming = incomingRecord.content
    const before = this.read(key)
    const currentRecord = before === undefined ? undefined : recordOf(before)
    const current = currentRecord?.content
    try {
      checkRemoteState(key, incoming, current, this.actor, this.epoch)
    } catch (err) {
      this.stats.remoteStatesRefused++
      this.warnRefused('remote-state', key, err)
      throw err
    }
    // An expiry moves the clock too: a write made after the key expired elsewhere carries an
    // expiry stamped after that time, so this node then judges the old expiry due as well.
    for (const stamped of [...registerWrites(incoming), ...(incomingRecord.expiry === undefined ? [] : [incomingRecord.expiry])]) {
      // A register (or a register's tombstone, or a register in a map field) from a node
      // whose clock runs far ahead would win every later write: refuse it (ClockDriftError)
      // instead of merging; the clock stays unchanged. The clock moves past a tombstone too,
      // so a write here after a delete from elsewhere is newer than what the delete removed.
      try {
        this.hlc.update(stamped.timestamp)
      } catch (err) {
        if (err instanceof ClockDriftError) {
          this.stats.clockDriftRefused++
          this.warnRefused('clock-drift', key, err)
        }
        throw err
      }
    }
    // The join applies the key's expiry too when it is due: what it brought in (a write made
    // under that expiry by a node that had not reached it yet) is removed as a sweep would.
    const nowMs = this.wallNow()
    const joined = expired(currentRecord === undefined ? incomingRecord : joinRecords(currentRecord, incomingRecord, nowMs), nowMs)
    // Nothing new, and the store holds the state's current encoding. Only OR-sets changed
    // format (version 2): one stored in version 1 is written again, so its digest agrees
    // with nodes that hold the new one.
    if (currentRecord !== undefined && before !== undefined && recordEquals(joined, currentRecord) && this.storedAsCurrent(key, before)) {
      if (extras !== undefined) await this.store.write(extras)
      return { key, type: before.type, state: before.state, changed: false, ...deletedFlag(before) }
    }
    const { next, form } = storedFormOf(joined, this.inlineStateBytes)
    // A key that showed something and is gone now that its expiry is due: an expiry, as the sweep would report it.
    const expiredHere = next.deleted === true && before !== undefined && before.deleted !== true && isDue(joined.expiry, nowMs)
    await this.commit(key, next, keyBatch(key, next, form, this.hlc.now(), extras), {
      key,
      type: next.type,
      state: next.state,
      origin: options.origin ?? 'remote',
      ...deletedFlag(next),
      ...(expiredHere ? { expired: true } : {}),
    })
    return { key, type: next.type, state: next.state, changed: true, ...deletedFlag(next) }
  }

  /**
   * Stages the batch (the cache follows at once), waits for its commit and tells the
   * listeners; until then the write counts as in flight.
   */
  private async commit(key: string, next: KeyState, batch: WriteBatch, change: Omit<CommittedChange, 'cursor'>): Promise<void> {
    const written = this.store.write(batch)
    this.cache.set(key, next, next.paging === undefined ? (batch.keys?.[0]?.state.length ?? 0) : pagingBytes(next.paging))
    this.keyWritesInFlight++
    try {
      try {
        await written
      } catch (err) {
        this.cache.delete(key)
        throw err
      }
      this.notify({ ...change, cursor: (batch.keys?.[0] as KeyWrite).hlc })
    } finally {
      this.keyWritesInFlight--
    }
  }

  /**
   * Whether the store holds `current` (the key's state) in its current encoding: always, for
   * a key without an OR-set; else its digest is compared with the current encoding's. A
   * single-type set's paging is cached on the way, for the writes that follow.
   */
  private storedAsCurrent(key: string, current: KeyState): boolean {
    const content = current.content ?? singleContent(current.type, current.state)
    if (!content.some((entry) => entry.type === 'orset')) return true
    const stored = this.store.getDigest(key)
    if (stored === undefined) return false
    if (current.content !== undefined) return equals(stored, stateDigest(encodeRecord(recordOf(current))))
    const paging = current.paging ?? pageORSet(current.state as ORSetState)
    if (current.paging === undefined) this.cache.set(key, { ...current, paging }, pagingBytes(paging))
    return equals(stored, pagingDigest(paging))
  }

  /** Refusals are counted every time and logged at most once a minute per kind, with how many were held back. */
  private warnRefused(kind: 'clock-drift' | 'remote-state', key: string, err: unknown): void {
    const held = this.throttle.admit(kind)
    if (held === undefined) return
    const what = kind === 'clock-drift' ? 'a register from a clock too far ahead' : 'a state from another node'
    this.logger.warn({ key, kind, err }, `refused ${what} for ${JSON.stringify(key)}: ${(err as Error)?.message ?? String(err)}${heldBack(held)}`)
  }

  private notify(change: CommittedChange): void {
    this.changesNotified++
    for (const listener of this.listeners) listener(change)
  }
}

/** The key's next state with the rows committed with it, stamped with this node's clock (the store keeps it as the key's last change, and as the clock to restart from). */
function keyBatch(key: string, next: KeyState, form: StoredForm, timestamp: Timestamp, extras: BatchExtras | undefined): WriteBatch {
  const hlc = encodeTimestamp(timestamp)
  // A key that shows nothing is a tombstone: left out of the anti-entropy index, purged once old (src/cluster/purge).
  const deleted = next.deleted === true && form.pages === undefined ? { deletedAt: timestamp.wallMs } : {}
  return { ...extras, keys: [{ key, type: next.type, ...form, hlc, ...deleted }], meta: [...(extras?.meta ?? []), { name: META_HLC, value: hlc }] }
}

/** A joined record as the cache and the store take it: a single-type OR-set in pages. */
function storedFormOf(joined: KeyRecord, inlineBytes: number | undefined): { next: KeyState; form: StoredForm } {
  const next = keyStateOf(joined)
  const at = sweepAt(joined)
  const expiring = at === undefined ? {} : { expiresAt: at }
  if (next.content !== undefined || next.type !== 'orset') return { next, form: { state: encodeRecord(joined), ...expiring } }
  const paging = pageORSet(next.state as ORSetState)
  return { next: { ...next, paging }, form: pagedWrite(paging, inlineBytes) }
}

/** storedFormOf of one type's state without an expiry, without building its record. */
function plainFormOf(type: CrdtTypeName, state: unknown, inlineBytes: number | undefined): { next: KeyState; form: StoredForm } {
  if (type !== 'orset') return { next: { type, state }, form: { state: crdtOf(type).encode(state) } }
  const paging = pageORSet(state as ORSetState)
  return { next: { type, state, paging }, form: pagedWrite(paging, inlineBytes) }
}

function withExpiry(content: KeyContent, expiry: Expiry | undefined): KeyRecord {
  return expiry === undefined ? { content } : { content, expiry }
}

/** The record a cached key state stands for. */
function recordOf(state: KeyState): KeyRecord {
  return withExpiry(state.content ?? singleContent(state.type, state.state), state.expiry)
}

/**
 * The expiry a write leaves: `at` when it gave a time to live; else the key's own, except
 * that a key that read as missing (`live` shows nothing) starts again without one.
 */
function nextExpiry(live: KeyRecord | undefined, at: number | undefined, actor: string, timestamp: Timestamp): Expiry | undefined {
  if (at !== undefined) return setExpiry(actor, at, timestamp)
  const current = live?.expiry
  if (current === undefined || expiresAt(current) === undefined) return current
  if (visibleEntries(live?.content ?? []).length > 0) return current
  return setExpiry(actor, null, timestamp)
}

/**
 * The state of `type` a write starts from: everything the key has held of it, deleted or
 * not (not what a reader sees), the type's empty state when the key holds none. Throws TypeMismatchError when the key shows only
 * other types; a key in a type conflict takes writes of each of its visible types, and a
 * deleted key a write of any type.
 */
function typedState(key: string, current: KeyState | undefined, type: CrdtTypeName): unknown {
  if (current === undefined) return crdtOf(type).empty()
  if (current.content !== undefined) {
    const visible = visibleEntries(current.content)
    if (visible.length > 0 && !visible.some((e) => e.type === type)) throw new TypeMismatchError(key, (visible[0] as { type: CrdtTypeName }).type, type)
    // From all the type has held, deleted or not: a counter's next total is above its
    // tombstone's, so the write shows.
    return everSeen(current.content, type)
  }
  if (current.type !== type) throw new TypeMismatchError(key, current.type, type)
  return current.state
}

/**
 * A record as the cache and listeners see it: a single type plainly, else with its content
 * (and expiry). A due expiry is not applied here: readers apply it (readContent).
 */
function keyStateOf(record: KeyRecord): KeyState {
  const { content, expiry } = record
  const only = content[0] as KeyContent[number]
  if (content.length === 1 && only.tombstone === undefined && expiry === undefined) return { type: only.type, state: only.state }
  const withIt = expiry === undefined ? {} : { expiry }
  const shown = visibleEntries(content)[0]
  if (shown === undefined) return { type: only.type, state: crdtOf(only.type).empty(), content, deleted: true, ...withIt }
  return { type: shown.type, state: shown.state, content, ...withIt }
}

function deletedFlag(state: KeyState): { deleted?: true } {
  return state.deleted === true ? { deleted: true } : {}
}

/** The winning write of every register in `content`: its own, and those in map fields at any depth. */
function registerWrites(content: KeyContent): LWWWrite[] {
  const out: LWWWrite[] = []
  for (const entry of content) {
    if (entry.type === 'lww') {
      const stamped = LWWRegister.merge(entry.state as LWWRegisterState, (entry.tombstone ?? null) as LWWRegisterState)
      if (stamped !== null) out.push(stamped)
    } else if (entry.type === 'map') {
      for (const map of entry.tombstone === undefined ? [entry.state] : [entry.state, entry.tombstone]) {
        for (const field of (map as ORMapState).fields) out.push(...registerWrites(field.content))
      }
    }
  }
  return out
}

/** What a delete of a key this replica never held removes: nothing, as an empty register's tombstone. */
const NOTHING_SEEN: KeyContent = Object.freeze([{ type: 'lww', state: null, tombstone: null }]) as KeyContent

/** mutate, with a map field's type mismatch reported for the key (FieldTypeMismatchError). */
/** The actor a write of `type` on `state` (everything the key held of it) uses (incarnations.ts). */
type ActorFor = (type: CrdtTypeName, state: unknown) => string

function mutateKey(key: string, state: unknown, op: Operation, actor: ActorFor, timestamp: ReturnType<HybridLogicalClock['now']>): unknown {
  try {
    return mutate(state, op, actor, timestamp)
  } catch (err) {
    if (err instanceof FieldTypeError) throw new FieldTypeMismatchError(key, err.path, err.holds, err.wanted)
    throw err
  }
}

function mutate(state: unknown, op: Operation, actorFor: ActorFor, timestamp: ReturnType<HybridLogicalClock['now']>): unknown {
  const actor = actorFor(op.type, state)
  switch (op.type) {
    case 'gcounter':
      return GCounter.increment(state as never, actor, op.amount)
    case 'pncounter':
      return op.op === 'increment'
        ? PNCounter.increment(state as never, actor, op.amount)
        : PNCounter.decrement(state as never, actor, op.amount)
    case 'orset':
      return op.op === 'add' ? ORSet.add(state as never, actor, op.element) : ORSet.remove(state as never, op.element)
    case 'lww':
      return LWWRegister.set(state as never, actor, op.value, timestamp)
    case 'map': {
      const map = state as ORMapState
      if (op.op === 'remove') return ORMap.remove(map, op.path)
      const update = op.update
      return ORMap.update(map, op.path, update.type, (current) => mutate(current, update, actorFor, timestamp))
    }
  }
}
