// How the database's handles reach replicas. With the network off, the local replica is
// the only one; with it on, the cluster coordinator (src/cluster/coordinator.ts) answers
// the same two calls, so handles, errors and results are the same in both modes.
import type { CrdtTypeName } from '../crdts/types.js'
import { InvalidOptionError, QuorumNotMetError, StaleReadError, TypeMismatchError } from './errors.js'
import type { Operation } from './operations.js'
import { crdtOf, type AppliedWrite, type BatchExtras, type Replica } from './replica.js'

export interface PathWriteOptions {
  readonly n?: number
  readonly w?: number
  readonly requireQuorum?: boolean
  /** Identifies the write across retries: a replica applies one id at most once. */
  readonly idempotencyKey?: string
  /** Rows committed atomically with the write when this node applies it. */
  readonly localExtras?: (applied: AppliedWrite) => BatchExtras
}

export interface PathWriteResult {
  readonly type: CrdtTypeName
  readonly state: unknown
  readonly witness: Uint8Array
  readonly acks: number
  readonly required: number
  readonly quorum: boolean
  /** Whether localExtras were committed with the write. */
  readonly appliedLocally: boolean
}

export interface PathReadOptions {
  readonly n?: number
  readonly r?: number
  /** The state returned must include the write this witness names (session token). */
  readonly witness?: Uint8Array
  readonly timeoutMs?: number
}

export interface PathReadResult {
  /** Undefined when no replica has the key. */
  readonly type: CrdtTypeName | undefined
  /** The joined state (the type's empty state for a missing key of a requested type). */
  readonly state: unknown
  readonly replicas: number
}

export interface WritePath {
  write(key: string, op: Operation, options?: PathWriteOptions): Promise<PathWriteResult>
  /** With `type` undefined the key's own type is used (state undefined when the key is missing). */
  read(key: string, type: CrdtTypeName | undefined, options?: PathReadOptions): Promise<PathReadResult>
}

/** Network off: this node is the only replica. */
export class LocalWritePath implements WritePath {
  constructor(private readonly replica: Replica) {}

  async write(key: string, op: Operation, options: PathWriteOptions = {}): Promise<PathWriteResult> {
    const required = options.w ?? 1
    if (!Number.isSafeInteger(required) || required < 1) throw new InvalidOptionError(`w must be a positive integer, got ${String(options.w)}`)
    const applied = await this.replica.apply(key, op, options.localExtras)
    // One replica: asking for more acknowledgements than that is a quorum this node cannot meet.
    const quorum = required <= 1
    if (!quorum && options.requireQuorum === true) throw new QuorumNotMetError(key, 1, required)
    return { type: op.type, state: applied.state, witness: applied.witness, acks: 1, required, quorum, appliedLocally: true }
  }

  async read(key: string, requested: CrdtTypeName | undefined, options: PathReadOptions = {}): Promise<PathReadResult> {
    const current = this.replica.read(key)
    if (current !== undefined && requested !== undefined && current.type !== requested) throw new TypeMismatchError(key, current.type, requested)
    const type = requested ?? current?.type
    if (type === undefined) return { type: undefined, state: undefined, replicas: 1 }
    const crdt = crdtOf(type)
    const state = current?.state ?? crdt.empty()
    if (options.witness !== undefined && !(crdt as unknown as { covers(s: unknown, w: Uint8Array): boolean }).covers(state, options.witness)) {
      throw new StaleReadError(key)
    }
    return { type: current?.type, state, replicas: 1 }
  }
}
