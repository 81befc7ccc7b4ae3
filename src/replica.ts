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
  LWWRegister,
  ORSet,
  type LWWRegisterState,
  PNCounter,
  typeOfEncoded,
} from '../crdts/index.js'
import type { CrdtTypeName } from '../crdts/types.js'
import type { Clock } from './clock.js'
import { TypeMismatchError } from './errors.js'
import type { Operation } from './operations.js'
import { StateCache } from './state-cache.js'
import type { Store, WriteBatch } from './store/store.js'

export const META_ACTOR = 'actor'
export const META_HLC = 'hlc'

/** A key's current state, decoded. */
export interface KeyState {
  readonly type: CrdtTypeName
  readonly state: unknown
}

export interface AppliedWrite {
  readonly key: string
  readonly type: CrdtTypeName
  /** The state after the write. */
  readonly state: unknown
  /** The delta the mutator produced: what other replicas need to learn the write. */
  readonly delta: unknown
  /** Compact proof of the write, for session tokens. */
  readonly witness: Uint8Array
}

export interface MergeResult {
  readonly key: string
  readonly type: CrdtTypeName
  readonly state: unknown
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
  readonly state: unknown
  readonly origin: ChangeOrigin
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

export interface ReplicaStats {
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
  readonly stats: ReplicaStats = { clockDriftRefused: 0 }
  private readonly listeners = new Set<CommitListener>()
  private readonly cache: StateCache

  constructor(init: ReplicaInit) {
    this.store = init.store
    this.actor = init.actor
    this.cache = new StateCache(init.cacheBytes)
    const persisted = init.store.getMeta(META_HLC)
    this.hlc = new HybridLogicalClock({
      now: () => init.clock.now(),
      maxOffsetMs: init.maxClockOffsetMs,
      initial: persisted === undefined ? undefined : decodeTimestamp(persisted),
    })
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
    const entry = { type: stored.type, state: crdtOf(stored.type).decode(stored.state) }
    this.cache.set(key, entry, stored.state.length)
    return entry
  }

  /** Throws TypeMismatchError when the key exists with another type. */
  readTyped(key: string, type: CrdtTypeName): unknown {
    const current = this.read(key)
    if (current === undefined) return crdtOf(type).empty()
    if (current.type !== type) throw new TypeMismatchError(key, current.type, type)
    return current.state
  }

  /**
   * Applies `op` with this replica's actor id. Validation and type checks happen before
   * anything is staged, so a refused operation changes nothing. Resolves after commit.
   */
  async apply(key: string, op: Operation, options: ApplyOptions = {}): Promise<AppliedWrite> {
    const current = this.readTyped(key, op.type)
    const timestamp = this.hlc.now()
    const delta = mutate(current, op, this.actor, timestamp)
    const crdt = crdtOf(op.type)
    const state = crdt.merge(current, delta)
    const applied: AppliedWrite = { key, type: op.type, state, delta, witness: crdt.witness(delta) }
    const batch: WriteBatch = {
      ...options.extras?.(applied),
      keys: [{ key, type: op.type, state: crdt.encode(state), hlc: encodeTimestamp(timestamp) }],
    }
    batch.meta = [...(batch.meta ?? []), { name: META_HLC, value: encodeTimestamp(timestamp) }]
    await this.commit(key, op.type, state, batch)
    this.notify({ key, type: op.type, state, origin: options.origin ?? 'local' })
    return applied
  }

  /**
   * Joins an encoded state (a delta or a full state from another replica) into the key.
   * Throws CrdtDecodeError on bad bytes and TypeMismatchError when the key holds another
   * type; nothing is staged in either case.
   */
  async merge(key: string, encoded: Uint8Array, options: MergeOptions = {}): Promise<MergeResult> {
    const extras = options.extras
    const type = typeOfEncoded(encoded)
    const crdt = crdtOf(type)
    const incoming = crdt.decode(encoded)
    const current = this.readTyped(key, type)
    if (type === 'lww' && incoming !== null) {
      // A register from a node whose clock runs far ahead would win every later write:
      // refuse it (ClockDriftError) instead of merging; the clock stays unchanged.
      try {
        this.hlc.update((incoming as LWWRegisterState & object).timestamp)
      } catch (err) {
        if (err instanceof ClockDriftError) this.stats.clockDriftRefused++
        throw err
      }
    }
    const state = crdt.merge(current, incoming)
    if (crdt.equals(state, current) && this.store.getKey(key) !== undefined) {
      if (extras !== undefined) await this.store.write(extras)
      return { key, type, state, changed: false }
    }
    const timestamp = this.hlc.now()
    await this.commit(key, type, state, {
      ...extras,
      keys: [{ key, type, state: crdt.encode(state), hlc: encodeTimestamp(timestamp) }],
      meta: [...(extras?.meta ?? []), { name: META_HLC, value: encodeTimestamp(timestamp) }],
    })
    this.notify({ key, type, state, origin: options.origin ?? 'remote' })
    return { key, type, state, changed: true }
  }

  /** Stages the batch (the cache follows at once) and waits for its commit. */
  private async commit(key: string, type: CrdtTypeName, state: unknown, batch: WriteBatch): Promise<void> {
    const written = this.store.write(batch)
    this.cache.set(key, { type, state }, batch.keys?.[0]?.state.length ?? 0)
    try {
      await written
    } catch (err) {
      this.cache.delete(key)
      throw err
    }
  }

  private notify(change: CommittedChange): void {
    for (const listener of this.listeners) listener(change)
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
  }
}
