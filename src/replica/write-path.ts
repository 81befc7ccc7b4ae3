// How the database's handles reach replicas. With the network off, the local replica is
// the only one; with it on, the cluster coordinator (src/cluster/coordinator.ts) answers
// the same two calls, so handles, errors and results are the same in both modes.
import { encodeContent, entryOf, resolveContent, visibleEntries, type ContentEntry } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { isDeleted, typedView } from './key-view.js'
import type { Clock } from '../base/clock.js'
import { InvalidOptionError, QuorumNotMetError, StaleReadError, TypeMismatchError } from '../base/errors.js'
import { outcomeId, outcomeRecord, type KeyedWrite } from './idempotency.js'
import type { KeyOperation } from '../base/operations.js'
import type { Replica } from './replica.js'
import { tokenCovered, type SessionToken } from './session-token.js'

export interface PathWriteOptions {
  readonly n?: number
  readonly w?: number
  readonly requireQuorum?: boolean
  /** A client idempotency key: the write applies at most once, cluster-wide, for the key's TTL. */
  readonly idempotency?: KeyedWrite
  /** The key expires this many milliseconds after the write (ApplyOptions.ttlMs). */
  readonly ttlMs?: number
}

export interface AppliedResult {
  readonly kind: 'applied'
  /** Undefined for a delete. */
  readonly type: CrdtTypeName | undefined
  readonly state: unknown
  /** A delete: whether it removed anything. */
  readonly deleted?: boolean
  readonly witness: Uint8Array
  readonly acks: number
  readonly required: number
  readonly quorum: boolean
  /**
   * Whether this node's replica told its listeners of the write: it applied it, or merged it
   * with a change. Otherwise the Database emits the write's 'local' change itself.
   */
  readonly notifiedHere: boolean
}

/** The keyed write was applied before: its outcome record (src/idempotency.ts). */
export interface ReplayedResult {
  readonly kind: 'replayed'
  readonly record: Uint8Array
}

export type PathWriteResult = AppliedResult | ReplayedResult

export interface PathReadOptions {
  readonly n?: number
  readonly r?: number
  /** Throw QuorumNotMetError instead of answering from fewer than `r` replicas. */
  readonly requireQuorum?: boolean
  /** The state returned must include the write or delete this session token names. */
  readonly token?: SessionToken
  readonly timeoutMs?: number
}

export interface PathReadResult {
  /** Undefined when no replica has the key. */
  readonly type: CrdtTypeName | undefined
  /** The joined state (the type's empty state for a missing key of a requested type). */
  readonly state: unknown
  readonly replicas: number
}

export interface ResolveOptions {
  readonly n?: number
  readonly w?: number
  readonly requireQuorum?: boolean
}

export interface WritePath {
  /** A typed write or a delete (DELETE). */
  write(key: string, op: KeyOperation, options?: PathWriteOptions): Promise<PathWriteResult>
  /**
   * With `type` undefined the key's own type is used (state undefined when the key is
   * missing). Throws TypeConflictError for a key written with two types concurrently.
   */
  read(key: string, type: CrdtTypeName | undefined, options?: PathReadOptions): Promise<PathReadResult>
  /** Ends a type conflict by keeping `keep` (observed-remove of the other types). */
  resolve(key: string, keep: CrdtTypeName, options?: ResolveOptions): Promise<AppliedResult>
}

/** Network off: this node is the only replica. */
export class LocalWritePath implements WritePath {
  constructor(
    private readonly replica: Replica,
    private readonly clock: Clock,
    private readonly idempotencyTtlMs: number,
    /** The configured w: never lowered, so asking for more than this one replica is a quorum missed. */
    private readonly defaultW?: number,
  ) {}

  async write(key: string, op: KeyOperation, options: PathWriteOptions = {}): Promise<PathWriteResult> {
    const required = options.w ?? this.defaultW ?? 1
    if (!Number.isSafeInteger(required) || required < 1) throw new InvalidOptionError(`w must be a positive integer, got ${String(options.w)}`)
    const keyed = options.idempotency
    if (keyed !== undefined) {
      const recorded = this.replica.store.getIdempotency(outcomeId(keyed.id), this.clock.now())
      if (recorded !== undefined) return { kind: 'replayed', record: recorded }
    }
    const expiresAt = this.clock.now() + this.idempotencyTtlMs
    const applied = await this.replica.apply(key, op, {
      origin: 'local',
      ttlMs: options.ttlMs,
      extras: keyed === undefined ? undefined : (w) => ({ idempotency: [outcomeRecord(keyed, w, expiresAt)] }),
    })
    // One replica: asking for more acknowledgements than that is a quorum this node cannot meet.
    const quorum = required <= 1
    if (!quorum && options.requireQuorum === true) throw new QuorumNotMetError(key, 1, required)
    const { type, state, witness, deleted } = applied
    return { kind: 'applied', type, state, witness, acks: 1, required, quorum, notifiedHere: true, ...(deleted === undefined ? {} : { deleted }) }
  }

  async read(key: string, requested: CrdtTypeName | undefined, options: PathReadOptions = {}): Promise<PathReadResult> {
    // One replica: requiring more answers than that is a quorum this node cannot meet.
    const required = options.r ?? 1
    if (required > 1 && options.requireQuorum === true) throw new QuorumNotMetError(key, 1, required, 'read')
    const content = this.replica.readContent(key)
    const view = typedView(key, requested, content)
    if (view.type === undefined) return { type: undefined, state: undefined, replicas: 1 }
    if (options.token !== undefined && !tokenCovered(options.token, content, () => view)) throw new StaleReadError(key)
    return { type: content === undefined || isDeleted(content) ? undefined : view.type, state: view.state, replicas: 1 }
  }

  async resolve(key: string, keep: CrdtTypeName, options: ResolveOptions = {}): Promise<AppliedResult> {
    const content = this.replica.readContent(key)
    const visible = content === undefined ? [] : visibleEntries(content)
    if (content === undefined || !visible.some((e) => e.type === keep)) throw new TypeMismatchError(key, visible[0]?.type ?? keep, keep)
    const resolved = resolveContent(content, keep)
    await this.replica.merge(key, encodeContent(resolved), { origin: 'local' })
    const required = options.w ?? this.defaultW ?? 1
    const quorum = required <= 1
    if (!quorum && options.requireQuorum === true) throw new QuorumNotMetError(key, 1, required)
    const state = (entryOf(resolved, keep) as ContentEntry).state
    return { kind: 'applied', type: keep, state, witness: new Uint8Array(0), acks: 1, required, quorum, notifiedHere: true }
  }
}
