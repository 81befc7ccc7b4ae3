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
  contentEquals,
  decodeContent,
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
import { pagedWrite, pagingBytes, pagingDigest } from './paged-states.js'
import { StateCache } from './state-cache.js'
import { equals } from 'uint8arrays/equals'
import { stateDigest } from '../store/digest.js'
import type { KeyWrite, Store, WriteBatch } from '../store/store.js'

export const META_ACTOR = 'actor'
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
}

/** How a key's next state goes to the store: its bytes (the prefix, for a state in pages) and pages. */
type StoredForm = Pick<KeyWrite, 'state' | 'pages' | 'digest'>

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
  readonly origin: ChangeOrigin
  /** The encoded HLC the store keeps as the key's last change (StoredKey.hlc): the change feed's cursor. */
  readonly cursor: Uint8Array
}

export interface ApplyOptions {
  /** Default 'local'. */
  readonly origin?: ChangeOrigin
  /** Rows committed atomically with the write, built from it (idempotency records, hints). */
  readonly extras?: (write: AppliedWrite) => BatchExtras
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
  return { clockDriftRefused: 0, remoteStatesRefused: 0 }
}

export interface ReplicaStats {
  /** States from other nodes refused before merging (remote-guard.ts): forged entries of this node, no room left. */
  remoteStatesRefused: number
  /** Remote registers refused because their timestamp was too far ahead of our clock. */
  clockDriftRefused: number
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
  private readonly listeners = new Set<CommitListener>()
  private readonly cache: StateCache
  private readonly inlineStateBytes: number | undefined
  /** Key writes staged whose commit has not settled. */
  private keyWritesInFlight = 0
  /** Committed key changes announced to listeners so far. */
  private changesNotified = 0
  private closed = false
  private readonly logger: Logger
  /** A node with a bad clock (or a broken peer) sends refused states over and over. */
  private readonly throttle: LogThrottle

  constructor(init: ReplicaInit) {
    this.store = init.store
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
      ? keyStateOf(decodeContent(stored.state))
      : { type: stored.type, state: crdtOf(stored.type).decode(stored.state) }
    this.cache.set(key, entry, stored.state.length)
    return entry
  }

  /** Everything the key holds, every type of a conflict included; undefined when missing. */
  readContent(key: string): KeyContent | undefined {
    const current = this.read(key)
    if (current === undefined) return undefined
    return current.content ?? singleContent(current.type, current.state)
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
    const stored = this.read(key)
    const current = typedState(key, stored, op.type)
    const timestamp = this.hlc.now()
    const delta = mutateKey(key, current, op, this.actor, timestamp)
    const crdt = crdtOf(op.type)
    // A remove's delta names no element (only the dots it removes), so merging it means a
    // pass over the whole set; the set without the element is the same state.
    const state = op.type === 'orset' && op.op === 'remove' ? ORSet.applyRemove(current as never, op.element) : crdt.merge(current, delta)
    const conflict = stored?.content
    const content = conflict === undefined ? undefined : withState(conflict, op.type, state)
    const { next, form } = storedFormOf(content ?? singleContent(op.type, state), this.inlineStateBytes)
    // What a reader sees of the written type (counters after a delete count from their tombstone).
    const seen = content === undefined ? state : (visibleEntries(content).find((e) => e.type === op.type)?.state ?? crdt.empty())
    const applied: AppliedWrite = { key, type: op.type, state: seen, delta: crdt.encode(delta), witness: crdt.witness(delta) }
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
    const content = this.readContent(key) ?? NOTHING_SEEN
    const deleted = visibleEntries(content).length > 0
    const delta = deletionDelta(content)
    const joined = joinContent(content, delta)
    const { next, form } = storedFormOf(joined, this.inlineStateBytes)
    // The delta is its own witness: a state that joined it includes the delete (session-token.ts).
    const encoded = encodeContent(delta)
    const applied: AppliedWrite = { key, type: undefined, state: undefined, delta: encoded, witness: encoded, deleted }
    const batch = keyBatch(key, next, form, this.hlc.now(), options.extras?.(applied))
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
    const incoming = decodeContent(encoded)
    const before = this.read(key)
    const current = before === undefined ? undefined : (before.content ?? singleContent(before.type, before.state))
    try {
      checkRemoteState(key, incoming, current, this.actor)
    } catch (err) {
      this.stats.remoteStatesRefused++
      this.warnRefused('remote-state', key, err)
      throw err
    }
    for (const stamped of registerWrites(incoming)) {
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
    const joined = current === undefined ? incoming : joinContent(current, incoming)
    // Nothing new, and the store holds the state's current encoding. Only OR-sets changed
    // format (version 2): one stored in version 1 is written again, so its digest agrees
    // with nodes that hold the new one.
    if (current !== undefined && before !== undefined && contentEquals(joined, current) && this.storedAsCurrent(key, before)) {
      if (extras !== undefined) await this.store.write(extras)
      return { key, type: before.type, state: before.state, changed: false, ...deletedFlag(before) }
    }
    const { next, form } = storedFormOf(joined, this.inlineStateBytes)
    await this.commit(key, next, keyBatch(key, next, form, this.hlc.now(), extras), { key, type: next.type, state: next.state, origin: options.origin ?? 'remote', ...deletedFlag(next) })
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
    if (current.content !== undefined) return equals(stored, stateDigest(encodeContent(current.content)))
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
  return { ...extras, keys: [{ key, type: next.type, ...form, hlc }], meta: [...(extras?.meta ?? []), { name: META_HLC, value: hlc }] }
}

/** A joined content as the cache and the store take it: a single-type OR-set in pages. */
function storedFormOf(joined: KeyContent, inlineBytes: number | undefined): { next: KeyState; form: StoredForm } {
  const next = keyStateOf(joined)
  if (next.content !== undefined || next.type !== 'orset') return { next, form: { state: encodeContent(joined) } }
  const paging = pageORSet(next.state as ORSetState)
  return { next: { ...next, paging }, form: pagedWrite(paging, inlineBytes) }
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

/** A content as the cache and listeners see it: a single type plainly, else with its content. */
function keyStateOf(content: KeyContent): KeyState {
  const only = content[0] as KeyContent[number]
  if (content.length === 1 && only.tombstone === undefined) return { type: only.type, state: only.state }
  const shown = visibleEntries(content)[0]
  if (shown === undefined) return { type: only.type, state: crdtOf(only.type).empty(), content, deleted: true }
  return { type: shown.type, state: shown.state, content }
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
function mutateKey(key: string, state: unknown, op: Operation, actor: string, timestamp: ReturnType<HybridLogicalClock['now']>): unknown {
  try {
    return mutate(state, op, actor, timestamp)
  } catch (err) {
    if (err instanceof FieldTypeError) throw new FieldTypeMismatchError(key, err.path, err.holds, err.wanted)
    throw err
  }
}

function mutate(state: unknown, op: Operation, actor: string, timestamp: ReturnType<HybridLogicalClock['now']>): unknown {
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
      return ORMap.update(map, op.path, update.type, (current) => mutate(current, update, actor, timestamp))
    }
  }
}
