// Named errors of the database API. Each message says what went wrong and what to do.
// Value errors come from the CRDT library so that one class is thrown for one mistake.
import type { CrdtTypeName } from '../../crdts/types.js'

export { InvalidValueError, ValueTooLargeError } from '../../crdts/index.js'

import { RumorDbError } from './error-base.js'

export { RumorDbError }

/** How each type is named in messages, with the handle that reads and writes it. */
const TYPE_LABELS: { readonly [T in CrdtTypeName]: { readonly noun: string; readonly handle: string } } = {
  gcounter: { noun: 'a G-counter', handle: 'db.gcounter' },
  pncounter: { noun: 'a PN-counter', handle: 'db.counter' },
  orset: { noun: 'an OR-set', handle: 'db.set' },
  lww: { noun: 'an LWW register', handle: 'db.register' },
  map: { noun: 'a map', handle: 'db.map' },
}

export class TypeMismatchError extends RumorDbError {
  readonly key: string
  readonly existing: CrdtTypeName
  readonly requested: CrdtTypeName
  constructor(key: string, existing: CrdtTypeName, requested: CrdtTypeName) {
    super(
      'TYPE_MISMATCH',
      `key ${JSON.stringify(key)} holds ${TYPE_LABELS[existing].noun} (${existing}), not ${TYPE_LABELS[requested].noun} (${requested}): ` +
        `a key's type is fixed by its first write; use ${TYPE_LABELS[existing].handle}(${JSON.stringify(key)}) or another key`,
    )
    this.key = key
    this.existing = existing
    this.requested = requested
  }
}

/** A write to a map field (db.map) that holds another type, or a path through a field that is not a map. */
export class FieldTypeMismatchError extends TypeMismatchError {
  readonly path: readonly string[]
  constructor(key: string, path: readonly string[], existing: CrdtTypeName, requested: CrdtTypeName) {
    super(key, existing, requested)
    this.path = path
    this.message =
      `key ${JSON.stringify(key)}: map field ${JSON.stringify(path.join('.'))} holds ${TYPE_LABELS[existing].noun} (${existing}), ` +
      `not ${TYPE_LABELS[requested].noun} (${requested}); write it as a ${existing}, or remove the field first to change its type`
  }
}

/**
 * Two sides of a partition created the key with different types. Replicas keep every
 * side's writes and converge on them; reads show the conflict until one type is kept.
 */
export class TypeConflictError extends RumorDbError {
  readonly key: string
  /** Every side's type and value, in type order. */
  readonly values: readonly { readonly type: CrdtTypeName; readonly value: unknown }[]
  constructor(key: string, values: readonly { readonly type: CrdtTypeName; readonly value: unknown }[]) {
    super(
      'TYPE_CONFLICT',
      `key ${JSON.stringify(key)} was written as ${values.map((v) => TYPE_LABELS[v.type].noun).join(' and as ')} on two sides of a partition; ` +
        `both are kept: resolve it by keeping one type, db.resolve(${JSON.stringify(key)}, '${values[0]?.type ?? 'lww'}') ` +
        `(HTTP: POST /v1/kv/<key>/resolve with {"keep":"${values[0]?.type ?? 'lww'}"}; CLI: rumordb resolve KEY TYPE)`,
    )
    this.key = key
    this.values = values
  }
}

export class InvalidKeyError extends RumorDbError {
  constructor(reason: string) {
    super('INVALID_KEY', `invalid key: ${reason}; keys are non-empty UTF-8 strings of at most 1024 bytes`)
  }
}

export class DatabaseClosedError extends RumorDbError {
  constructor() {
    super('CLOSED', 'the database is closed; open it again with openDatabase()')
  }
}

export class InvalidTokenError extends RumorDbError {
  constructor(reason: string) {
    super('INVALID_TOKEN', `invalid session token: ${reason}; pass the token exactly as a write on this key returned it`)
  }
}

/** A change-feed cursor that is malformed or was issued by another database. */
export class InvalidCursorError extends RumorDbError {
  constructor(reason: string) {
    super('INVALID_CURSOR', `invalid cursor: ${reason}; pass a cursor exactly as this database's watch gave it, or watch without one and read the keys you need again`)
  }
}

/**
 * A change feed cursor from before what this node purged (tombstones of keys deleted or
 * expired longer ago than the purge window, src/database/tombstone-purge.ts): deletes the
 * consumer has not seen may be gone without a trace, so the feed cannot resume from it.
 */
export class CursorTooOldError extends RumorDbError {
  /** Changes at or before this time (ms) may have been purged. */
  readonly purgedThrough: number
  constructor(purgedThrough: number) {
    super(
      'CURSOR_TOO_OLD',
      `the cursor is from before ${new Date(purgedThrough).toISOString()}, and this node has purged tombstones of keys deleted up to then, so deletes after the cursor may be missing from the feed; read the keys again (keys / scan, or watch without a cursor) and resume from the new cursors`,
    )
    this.purgedThrough = purgedThrough
  }
}

/**
 * A node that left its cluster, opened again on the network with its old data after longer
 * than the tombstone purge window: the others purged tombstones since, without waiting for
 * it (it had left), so its copies could bring back keys deleted while it was away.
 */
export class RejoinTooLateError extends RumorDbError {
  readonly leftAt: number
  constructor(leftAt: number, windowMs: number) {
    super(
      'REJOIN_TOO_LATE',
      `this node left its cluster at ${new Date(leftAt).toISOString()}, longer ago than the tombstone purge window (${windowMs} ms): its data could bring back keys deleted since; start it with an empty data directory (move the old one away) to join again`,
    )
    this.leftAt = leftAt
  }
}

export class InvalidOptionError extends RumorDbError {
  constructor(reason: string) {
    super('INVALID_OPTION', reason)
  }
}

/**
 * A write (or, with `operation: 'read'`, a read) with requireQuorum reached fewer replicas
 * than it required. `acks`: replicas that acknowledged the write, or answered the read.
 */
export class QuorumNotMetError extends RumorDbError {
  readonly acks: number
  readonly required: number
  readonly operation: 'write' | 'read'
  constructor(key: string, acks: number, required: number, operation: 'write' | 'read' = 'write') {
    super(
      'QUORUM_NOT_MET',
      operation === 'write'
        ? `write to ${JSON.stringify(key)} reached ${acks} of ${required} required replicas; it is durable where it landed and will ` +
            'propagate when peers return; retry later or lower w, or drop requireQuorum to accept it'
        : `read of ${JSON.stringify(key)} heard from ${acks} of ${required} required replicas; the others may hold writes this ` +
            'answer would miss; retry later or lower r, or drop requireQuorum to accept it',
    )
    this.acks = acks
    this.required = required
    this.operation = operation
  }
}

export class StaleReadError extends RumorDbError {
  constructor(key: string) {
    super(
      'STALE_READ',
      `no reachable replica has the write that the session token names for ${JSON.stringify(key)} yet; retry later, or read from the node that took the write`,
    )
  }
}

export class WriteOutcomeUnknownError extends RumorDbError {
  readonly key: string
  readonly peer: string
  constructor(key: string, peer: string, reason = 'stopped answering while applying a write to') {
    super(
      'OUTCOME_UNKNOWN',
      `replica ${peer} ${reason} ${JSON.stringify(key)}: it may or may not have been applied; ` +
        'retry with the same idempotencyKey (a write with that key is applied at most once, whichever node the retry goes through)',
    )
    this.key = key
    this.peer = peer
  }
}

/**
 * A write with an idempotency key needs a majority of the key's replicas to agree on the one
 * node that applies it; this request could not reach one. It applied nothing itself.
 */
export class IdempotencyUnavailableError extends RumorDbError {
  readonly key: string
  readonly reached: number
  readonly required: number
  constructor(key: string, reached: number, required: number) {
    super(
      'IDEMPOTENCY_UNAVAILABLE',
      `a write to ${JSON.stringify(key)} with an idempotency key needs ${required} of the key's replicas to agree on who applies it, ` +
        `and only ${reached} did: this request applied nothing (an earlier attempt with the same key may have); ` +
        'retry later with the same idempotencyKey, or write without one (writes without a key never wait for peers)',
    )
    this.key = key
    this.reached = reached
    this.required = required
  }
}

/**
 * This node's wall clock is off the cluster's (more than half of the live nodes disagree
 * with it by more than maxClockOffsetMs), so it refuses register writes: their timestamps
 * would come from the wrong clock. Nothing was applied. Also what a coordinator throws when
 * the replica it asked to apply a register write refused for this reason.
 */
export class ClockSkewError extends RumorDbError {
  /** The node whose clock is off. */
  readonly node: string
  /** Its clock minus the cluster's, ms (positive: ahead). */
  readonly offsetMs: number
  readonly maxOffsetMs: number
  constructor(node: string, offsetMs: number, maxOffsetMs: number) {
    super(
      'CLOCK_SKEW',
      `node ${node}'s wall clock is ${Math.abs(Math.round(offsetMs))} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'} the cluster's ` +
        `(limit ${maxOffsetMs} ms), so it refuses register writes: nothing was written; fix that node's clock (sync it with NTP), ` +
        'and it accepts them again by itself once its clock agrees; counters and sets are not affected',
    )
    this.node = node
    this.offsetMs = offsetMs
    this.maxOffsetMs = maxOffsetMs
  }
}
