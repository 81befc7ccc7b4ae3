// The quorum coordinator (DESIGN.md, write and read paths). An unkeyed write is applied
// with this node's own actor id when this node is one of the key's preferred replicas (any
// of the top n coordinates, as in Dynamo and Riak's put FSM), else by the first live member
// of the preference list with its actor id; a keyed write by the applier its replicas agreed
// on (keyed-writes.ts). The delta then goes to the other preferred replicas, or, for each
// unreachable one, to the next live member on the ring with a hint naming the owner. The call returns after `w`
// durable acknowledgements, or, when fewer are possible, with the true count and
// `quorum: false`: the write is durable where it landed and propagates from there.
// Reads (read-path.ts) ask `r` live replicas, join their states and repair the ones that
// were behind; keyed writes first choose their applier (keyed-writes.ts).
import { CrdtDecodeError, decodeRecord, encodeContent, entryOf, isMultiTypeEncoding, resolveContent, typeOfEncoded, visibleEntries, type ContentEntry } from '../../../crdts/index.js'
import type { CrdtTypeName } from '../../../crdts/types.js'
import type { Clock } from '../../base/clock.js'
import { heldBack, LogThrottle } from '../../base/log-throttle.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Random } from '../../base/random.js'
import {
  ClockSkewError,
  IdempotencyUnavailableError,
  QuorumNotMetError,
  TypeMismatchError,
  WriteOutcomeUnknownError,
} from '../../base/errors.js'
import { outcomeId, outcomeRecord, type KeyedWrite } from '../../replica/idempotency.js'
import type { KeyOperation } from '../../base/operations.js'
import { crdtOf, type AppliedWrite, type BatchExtras, type Replica } from '../../replica/replica.js'
import { PeerUnreachableError, TransportStoppedError } from '../../transport/transport.js'
import { MAX_HINT_AGE_MS } from '../../wire/limits.js'
import type { AppliedResponse, Broadcast, IdempotencyRecordPayload, ReplayedResponse, ReplicateItem, Request, Response } from '../../wire/messages.js'
import type { AppliedResult, PathReadOptions, PathReadResult, PathWriteOptions, PathWriteResult, ReplayedResult, WritePath } from '../../replica/write-path.js'
import { DEFAULT_N, MAX_RUMOR_STATE_BYTES } from './constants.js'
import type { KeyedWrites } from './keyed-writes.js'
import { clampReplicas, isUnreachable, mergeExtras, requiredAcks, untilCount } from './quorum.js'
import { ReadPath } from './read-path.js'
import { ReplicationBatcher, type ReplicationStats } from './replication-batcher.js'
import { hintExtras } from '../handoff/hints.js'
import { errorFromResponse, RemoteError } from '../messaging/remote-errors.js'
import type { Membership } from '../membership/membership.js'
import { preferenceList, successors } from '../ring/ring.js'

export type ClusterWriteOptions = PathWriteOptions
export type ClusterWriteResult = PathWriteResult
export type ClusterReadOptions = PathReadOptions
export type ClusterReadResult = PathReadResult

export interface CoordinatorInit {
  readonly self: string
  readonly replica: Replica
  readonly membership: Membership
  readonly clock: Clock
  readonly random: Random
  /** `timeoutMs` overrides the peer's adaptive request timeout. */
  readonly send: (peer: string, request: Request, options?: { readonly timeoutMs?: number }) => Promise<Response>
  readonly broadcast: (message: Broadcast) => void
  /** When no other node can take a delta: merges it here and keeps it as a hint for `target`, dated `createdAt` (Delivery.madeAt). */
  readonly keepHint: (target: string, key: string, state: Uint8Array, via: { readonly record?: IdempotencyRecordPayload; readonly createdAt?: number }) => Promise<void>
  /** Claims for keyed writes (keyed-writes.ts). */
  readonly keyed: KeyedWrites
  /** How long idempotency records are kept. */
  readonly idempotencyTtlMs: number
  readonly defaults?: { readonly n?: number; readonly r?: number; readonly w?: number }
  readonly sessionReadTimeoutMs?: number
  /** Broadcast each write's delta as a rumor (default true). */
  readonly rumors?: boolean
  /** How long a delta no write waits on may wait to share a message (replication-batcher.ts). */
  readonly replicationLingerMs?: number
  /** A hint for `target` was staged here with a write or a merge, `committed` by that write (hinted handoff counts it). */
  readonly hintStored?: (target: string, key: string, committed: Promise<unknown>, bytes: number, createdAt: number) => void
  /** Whether a hint for `target` may be kept here (a member, within the hints' bounds); default yes. */
  readonly admitHint?: (target: string, bytes: number) => boolean
  /** `rumordb:coordinator`: OUTCOME_UNKNOWN and IDEMPOTENCY_UNAVAILABLE (warn), quorum missed (debug). */
  readonly logger?: Logger
}

/** The coordinator's counters before its first request. */
export function zeroCoordinatorStats(): CoordinatorStats {
  return { writes: 0, reads: 0, quorumMissed: 0, fallbackWrites: 0, hintsKeptLocally: 0, readRepairs: 0, rumorsSent: 0, deltasReplicated: 0, replicationBatches: 0 }
}

export interface CoordinatorStats extends ReplicationStats {
  writes: number
  reads: number
  quorumMissed: number
  fallbackWrites: number
  hintsKeptLocally: number
  readRepairs: number
  /** Writes whose delta was also broadcast, because it missed a replica. */
  rumorsSent: number
}

export class Coordinator implements WritePath {
  readonly stats = zeroCoordinatorStats()
  private readonly background = new Set<Promise<unknown>>()
  private readonly logger: Logger
  /** A broken replica, or a partition under a client's retries, repeats these warnings: once a minute per peer. */
  private readonly throttle: LogThrottle

  private readonly reads: ReadPath
  private readonly replication: ReplicationBatcher

  constructor(private readonly init: CoordinatorInit) {
    this.logger = init.logger ?? silentLogger
    this.throttle = new LogThrottle(() => init.clock.now())
    this.replication = new ReplicationBatcher({ send: init.send, clock: init.clock, stats: this.stats, lingerMs: init.replicationLingerMs })
    this.reads = new ReadPath({
      ...init,
      stats: this.stats,
      repair: (peer, key, state) => this.track(this.replicate(peer, key, state).catch(() => false)),
    })
  }

  /**
   * Joins what `r` live replicas hold of the key (read-path.ts). Throws TypeConflictError
   * for a key written with different types on two sides of a partition.
   */
  read(key: string, type: CrdtTypeName | undefined, options: ClusterReadOptions = {}): Promise<ClusterReadResult> {
    return this.reads.read(key, type, options)
  }

  /**
   * Sends a delta to `peer` in the per-peer batches writes use (replication-batcher.ts), at
   * once: hinted handoff's deliveries. True once `peer` acknowledged a durable commit.
   */
  sendDelta(peer: string, item: ReplicateItem): Promise<boolean> {
    return this.replication.replicate(peer, item, { urgent: true })
  }

  /** Resolves when replication work started by earlier calls has finished (for stop()). */
  async drain(): Promise<void> {
    this.replication.flushAll()
    while (this.background.size > 0) await Promise.allSettled([...this.background])
  }

  async write(key: string, op: KeyOperation, options: ClusterWriteOptions = {}): Promise<ClusterWriteResult> {
    this.stats.writes++
    const { self, membership } = this.init
    // No replica applied the write before this: a hint of its delta is as old as this (Delivery.madeAt).
    const madeAt = this.init.clock.now()
    const { ring } = membership.ring()
    const n = clampReplicas(options.n ?? this.init.defaults?.n ?? DEFAULT_N, ring.members.length)
    const required = requiredAcks(options.w ?? this.init.defaults?.w, n)
    const preferred = preferenceList(ring, key, n)
    const keyed = options.idempotency

    // 1. One replica applies the operation with its own actor id: for a keyed write the one
    // a majority accepted (keyed-writes.ts), otherwise this node when it is a preferred
    // replica, else the first live preferred replica.
    let landed: Landed
    if (keyed !== undefined) {
      const decision = await this.init.keyed.decide(key, keyed, preferred).catch((err: unknown) => this.unavailable(err, preferred))
      if (decision.kind === 'replay') return { kind: 'replayed', record: decision.record }
      const outcome = await this.applyKeyed(decision.applier, key, op, keyed, options.ttlMs)
      if ('kind' in outcome) return outcome
      landed = outcome
    } else {
      landed = await this.applyUnkeyed(key, op, preferred, options.ttlMs)
    }
    const { applier, applied, failed } = landed
    const record = keyed === undefined ? undefined : this.recordFor(keyed, key, applied)

    // 2. The delta goes to the other preferred replicas, or to fallbacks with hints.
    const slots = preferred.filter((p) => p !== applier)
    if (landed.heldFor !== undefined) slots.splice(slots.indexOf(landed.heldFor), 1)
    const acked = new Set<string>([applier])
    // Whether this node's replica told its listeners of the write: it applied it, or merged its delta with a change.
    const here = { notified: applier === self }
    const walk = successors(ring, key)
    const used = new Set<string>([...preferred, applier])
    const nextFallback = (): string | undefined => {
      for (;;) {
        const next = walk.next()
        if (next.done === true) return undefined
        const candidate = next.value
        if (used.has(candidate) || !membership.isLive(candidate)) continue
        used.add(candidate)
        return candidate
      }
    }
    // Replicas the delta did not reach directly: it went to a fallback or a local hint.
    let missed = landed.heldFor !== undefined ? 1 : 0
    // A write that is not acknowledged enough yet waits on these deliveries: they must not linger.
    const urgent = acked.size < required
    const deliveries = slots.map((target) =>
      this.deliver(key, applied.delta, target, !failed.has(target) && membership.isLive(target), nextFallback, { record, here, urgent, madeAt }).then(
        (holder) => {
          acked.add(holder)
          if (holder !== target) missed++
        },
        (err: unknown) => {
          missed++
          throw err
        },
      ),
    )
    await untilCount(deliveries, () => acked.size >= required)
    // 3. A rumor only where direct delivery missed a replica: gossip may route around the
    // broken link, while a rumor after a delivered write would only repeat it to every node.
    this.track(
      Promise.allSettled(deliveries).then(() => {
        if (missed > 0 && this.init.rumors !== false && applied.delta.length <= MAX_RUMOR_STATE_BYTES) {
          this.stats.rumorsSent++
          this.init.broadcast({ type: 'rumor', key, state: applied.delta })
        }
      }),
    )

    const acks = acked.size
    const quorum = acks >= required
    if (!quorum) {
      this.stats.quorumMissed++
      this.logger.debug({ key, acks, required }, `write to ${JSON.stringify(key)} reached ${acks} of ${required} replicas; it propagates from where it landed`)
      if (options.requireQuorum === true) throw new QuorumNotMetError(key, acks, required)
    }
    return {
      kind: 'applied',
      type: applied.type,
      state: applied.state,
      witness: applied.witness,
      acks,
      required,
      quorum,
      notifiedHere: here.notified,
      ...(applied.deleted === undefined ? {} : { deleted: applied.deleted }),
    }
  }

  /**
   * An unkeyed write: applied here when this node is a preferred replica (no round trip
   * before the local commit; nothing needs one applier, since only keyed writes are
   * deduplicated across nodes), else by the first live preferred replica. The next one is
   * tried only when the request certainly did not apply (refused before it left, or
   * answered with a refusal): after an ambiguous failure, applying elsewhere could count it
   * twice. With no preferred replica reachable, this node applies it and keeps a hint for
   * the first owner, so the write is never refused for lack of peers.
   */
  private async applyUnkeyed(key: string, op: KeyOperation, preferred: readonly string[], ttlMs: number | undefined): Promise<Landed> {
    const { self, membership } = this.init
    const failed = new Set<string>()
    if (preferred.includes(self)) return { applier: self, applied: await this.applyLocally(key, op, ttlMs), failed }
    // One id for every attempt of this write: a replica applies it at most once.
    const opId = Buffer.from(this.init.random.bytes(16)).toString('base64url')
    for (const peer of preferred) {
      if (!membership.isLive(peer)) continue
      const response = await this.applyRemotely(peer, key, op, { idempotencyKey: opId }, ttlMs)
      if (response === 'not-applied') {
        failed.add(peer)
        continue
      }
      if (response.type !== 'applied') throw new RemoteError(peer, 'INTERNAL', `unexpected ${response.type} answer to an unkeyed apply`)
      return { applier: peer, applied: fromAppliedResponse(response), failed }
    }
    const owner = preferred.find((p) => p !== self) ?? self
    const now = this.init.clock.now()
    const hinted = owner !== self && (this.init.admitHint?.(owner, 0) ?? true)
    let bytes = 0
    const applying = this.applyLocally(key, op, ttlMs, (w) => {
      if (!hinted) return {}
      bytes = w.delta.length
      return hintExtras(owner, key, w.delta, now)
    })
    if (hinted) this.init.hintStored?.(owner, key, applying, bytes, now)
    const applied = await applying
    this.stats.fallbackWrites++
    return { applier: self, applied, failed, heldFor: owner === self ? undefined : owner }
  }

  /** A keyed write at the applier a majority accepted; never anywhere else. */
  private async applyKeyed(applier: string, key: string, op: KeyOperation, keyed: KeyedWrite, ttlMs: number | undefined): Promise<Landed | ReplayedResult> {
    const failed = new Set<string>()
    if (applier === this.init.self) {
      const recorded = this.init.replica.store.getIdempotency(outcomeId(keyed.id), this.init.clock.now())
      if (recorded !== undefined) return { kind: 'replayed', record: recorded }
      const expiresAt = this.init.clock.now() + this.init.idempotencyTtlMs
      const applied = await this.applyLocally(key, op, ttlMs, (w) => ({ idempotency: [outcomeRecord(keyed, w, expiresAt)] }))
      return { applier, applied, failed }
    }
    const response = await this.applyRemotely(applier, key, op, { idempotencyKey: keyed.id, fingerprint: keyed.fingerprint }, ttlMs)
    if (response === 'not-applied') {
      // Not by this request; an earlier attempt through another node may have been.
      throw this.outcomeUnknown(new WriteOutcomeUnknownError(key, applier, 'is the only node that may apply this keyed write and could not take it; for'))
    }
    if (response.type === 'replayed') return { kind: 'replayed', record: response.result }
    return { applier, applied: fromAppliedResponse(response), failed }
  }

  /** The outcome record of a keyed write, as its applier committed it, for the other replicas. */
  private recordFor(keyed: KeyedWrite, key: string, applied: LandedWrite): IdempotencyRecordPayload {
    const { result } = outcomeRecord(keyed, { key, ...applied }, 0)
    return { id: keyed.id, result }
  }

  /**
   * Resolves a type conflict by keeping `keep`: every other type is removed as the live
   * replicas hold it now (observed-remove: a concurrent write of a removed type that no
   * replica asked had seen survives), and the result goes to the key's replicas like a
   * write's delta. Throws TypeMismatchError when the key holds no `keep`.
   */
  async resolve(key: string, keep: CrdtTypeName, options: { readonly n?: number; readonly w?: number; readonly requireQuorum?: boolean } = {}): Promise<AppliedResult> {
    this.stats.writes++
    const { ring } = this.init.membership.ring()
    const n = clampReplicas(options.n ?? this.init.defaults?.n ?? DEFAULT_N, ring.members.length)
    const { preferred, joined } = await this.reads.gather(key, { n, r: n })
    const content = joined.content
    const visible = content === undefined ? [] : visibleEntries(content)
    if (content === undefined || !visible.some((e) => e.type === keep)) throw new TypeMismatchError(key, visible[0]?.type ?? keep, keep)
    const resolved = resolveContent(content, keep)
    const state = encodeContent(resolved)
    const required = requiredAcks(options.w ?? this.init.defaults?.w, n)
    const acked = new Set<string>()
    const walk = successors(ring, key)
    const used = new Set<string>(preferred)
    const nextFallback = (): string | undefined => {
      for (let next = walk.next(); next.done !== true; next = walk.next()) {
        if (used.has(next.value) || !this.init.membership.isLive(next.value)) continue
        used.add(next.value)
        return next.value
      }
      return undefined
    }
    const deliveries = preferred.map((target) =>
      this.deliver(key, state, target, target === this.init.self || this.init.membership.isLive(target), nextFallback, { urgent: true }).then((holder) => {
        acked.add(holder)
      }),
    )
    await untilCount(deliveries, () => acked.size >= required)
    this.track(Promise.allSettled(deliveries))
    const quorum = acked.size >= required
    if (!quorum && options.requireQuorum === true) throw new QuorumNotMetError(key, acked.size, required)
    const kept = entryOf(resolved, keep) as ContentEntry
    return { kind: 'applied', type: keep, state: kept.state, witness: new Uint8Array(0), acks: acked.size, required, quorum, notifiedHere: acked.has(this.init.self) }
  }

  /**
   * Asks `peer` to apply the operation. 'not-applied' only when this request certainly did
   * not apply there: refused before it left, or answered with a refusal, and no earlier
   * attempt was ambiguous. After an ambiguous failure (timeout, reset) it retries once with
   * the same id (the replica applies an id at most once); if that fails too, or is refused
   * (a refusal after an ambiguous attempt proves nothing about the first one), the outcome
   * is unknown: WriteOutcomeUnknownError.
   */
  private async applyRemotely(
    peer: string,
    key: string,
    op: KeyOperation,
    ids: { readonly idempotencyKey: string; readonly fingerprint?: string },
    ttlMs: number | undefined,
  ): Promise<AppliedResponse | ReplayedResponse | 'not-applied'> {
    const request: Request = { type: 'apply', key, op, ...ids, ...(ttlMs === undefined ? {} : { ttlMs }) }
    let ambiguous = false
    for (;;) {
      try {
        const response = await this.init.send(peer, request)
        if (response.type === 'applied' || response.type === 'replayed') return response
        throw errorFromResponse(peer, response, key, op.op === 'delete' ? undefined : op.type)
      } catch (err) {
        // After an ambiguous attempt nothing proves the first one did not apply.
        if (ambiguous) throw this.outcomeUnknown(new WriteOutcomeUnknownError(key, peer))
        // A replica whose clock is off refused a register: certainly not applied there.
        if (err instanceof ClockSkewError) {
          if (ids.fingerprint === undefined) return 'not-applied'
          throw err
        }
        if (!isUnreachable(err)) throw err
        const certain = err instanceof PeerUnreachableError || err instanceof TransportStoppedError || err instanceof RemoteError
        if (certain) return 'not-applied'
        ambiguous = true // one more attempt with the same id: the replica applies an id once
      }
    }
  }

  private async applyLocally(key: string, op: KeyOperation, ttlMs: number | undefined, extras?: (w: AppliedWrite) => BatchExtras): Promise<LandedWrite> {
    const { delta, state, witness, type, deleted } = await this.init.replica.apply(key, op, { origin: 'local', extras, ttlMs })
    return { delta, state, witness, type, ...(deleted === undefined ? {} : { deleted }) }
  }

  /**
   * Gets the delta durably onto `target`, or onto a fallback with a hint for it, or, when
   * nobody else can take it, into a hint kept here. Resolves with the node that holds it.
   */
  private async deliver(key: string, delta: Uint8Array, target: string, tryTarget: boolean, nextFallback: () => string | undefined, via: Delivery): Promise<string> {
    if (tryTarget && (await this.replicate(target, key, delta, via))) return target
    for (let fallback = nextFallback(); fallback !== undefined; fallback = nextFallback()) {
      if (await this.replicate(fallback, key, delta, { ...via, hintFor: target })) return fallback
    }
    await this.init.keepHint(target, key, delta, { record: via.record, createdAt: via.madeAt })
    this.stats.hintsKeptLocally++
    return this.init.self
  }

  private async replicate(peer: string, key: string, state: Uint8Array, via: Delivery & { readonly hintFor?: string } = {}): Promise<boolean> {
    const { hintFor, record, here } = via
    const now = this.init.clock.now()
    const madeAt = Math.min(via.madeAt ?? now, now)
    if (peer === this.init.self) {
      const hinted = hintFor !== undefined && (this.init.admitHint?.(hintFor, state.length) ?? true)
      const extras = mergeExtras(hinted ? hintExtras(hintFor, key, state, madeAt) : undefined, this.recordRow(record))
      const merging = this.init.replica.merge(key, state, { origin: 'local', extras })
      if (hinted) this.init.hintStored?.(hintFor, key, merging, state.length, madeAt)
      if ((await merging).changed && here !== undefined) here.notified = true
      return true
    }
    const hint = hintFor === undefined ? {} : { hintFor, hintAgeMs: Math.min(now - madeAt, MAX_HINT_AGE_MS) }
    const item = { key, state, ...hint, ...(record === undefined ? {} : { record }) }
    return this.replication.replicate(peer, item, { urgent: via.urgent === true })
  }

  private recordRow(record: IdempotencyRecordPayload | undefined): BatchExtras | undefined {
    if (record === undefined) return undefined
    return { idempotency: [{ id: outcomeId(record.id), result: record.result, expiresAt: this.init.clock.now() + this.init.idempotencyTtlMs }] }
  }

  private outcomeUnknown(err: WriteOutcomeUnknownError): WriteOutcomeUnknownError {
    const held = this.throttle.admit(`unknown\u0000${err.peer}`)
    if (held !== undefined) {
      this.logger.warn(
        { key: err.key, peer: err.peer, code: err.code },
        `OUTCOME_UNKNOWN: replica ${err.peer} failed while applying a write to ${JSON.stringify(err.key)}; the client must retry with its idempotency key${heldBack(held)}`,
      )
    }
    return err
  }

  /** No majority agreed on who applies a keyed write: logged (once a minute), and thrown on. */
  private unavailable(err: unknown, replicas: readonly string[]): never {
    if (err instanceof IdempotencyUnavailableError) {
      const held = this.throttle.admit('unavailable')
      if (held !== undefined) {
        this.logger.warn(
          { key: err.key, peers: replicas, reached: err.reached, required: err.required },
          `IDEMPOTENCY_UNAVAILABLE: a keyed write to ${JSON.stringify(err.key)} reached ${err.reached} of the ${err.required} replicas it needs ` +
            `(${replicas.join(', ')}); nothing was applied${heldBack(held)}`,
        )
      }
    }
    throw err
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p)
    void p.finally(() => this.background.delete(p))
  }
}

/** What travels with a delta to its replicas, and whether a caller waits on it. */
interface Delivery {
  readonly record?: IdempotencyRecordPayload
  /** Set when this node's replica merged the delta with a change (its listeners were told). */
  readonly here?: { notified: boolean }
  /** A write waits on this delivery for its acknowledgements: it does not linger (replication-batcher.ts). */
  readonly urgent?: boolean
  /**
   * When the write began, before any replica applied it (this node's clock; undefined: now).
   * A hint of the delta is dated then, however late its delivery failed: its window must
   * end before a tombstone of a delete made after the write can be purged
   * (src/database/tombstone-purge.ts), or the hint would bring back what the delete removed.
   */
  readonly madeAt?: number
}

/** The applied write as the coordinator carries it on: the delta encoded for the wire. */
interface LandedWrite {
  readonly delta: Uint8Array
  readonly state: unknown
  readonly witness: Uint8Array
  /** Undefined for a delete. */
  readonly type: CrdtTypeName | undefined
  /** A delete: whether it removed anything. */
  readonly deleted?: boolean
}

interface Landed {
  readonly applier: string
  readonly applied: LandedWrite
  /** Preferred replicas an apply request certainly did not reach. */
  readonly failed: ReadonlySet<string>
  /** The owner this node applied the write for, keeping a hint (no preferred replica was reachable). */
  readonly heldFor?: string
}

function fromAppliedResponse(response: AppliedResponse): LandedWrite {
  // A write's state is its type's own encoding; a delete's is its tombstones (a key content).
  if (isMultiTypeEncoding(response.state)) return { delta: response.delta, state: undefined, witness: response.delta, type: undefined, deleted: response.deleted === true }
  const type = typeOfEncoded(response.state)
  // The witness (for the session token) is a function of the delta: derived here, not sent.
  // A delta of a key that expires carries the expiry (crdts/key-record.ts) around it.
  const crdt = crdtOf(type)
  const delta = entryOf(decodeRecord(response.delta).content, type)
  if (delta === undefined) throw new CrdtDecodeError(`the applied delta holds no ${type}`)
  return { delta: response.delta, state: crdt.decode(response.state), witness: crdt.witness(delta.state), type }
}
