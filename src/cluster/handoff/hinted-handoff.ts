// Hinted handoff: deltas kept for an owner that was unreachable are delivered when the
// failure detector sees it alive again (at once when it comes back: return-sync.ts; else
// at the next pass), oldest first, in batches of HANDOFF_BATCH sent
// together (they share replicate-batch messages: replication-batcher.ts; one pass delivers
// every hint while the owner keeps answering), with
// exponential backoff and jitter between failed attempts. A hint is removed only after the owner acknowledged a durable
// commit, and hints live in the store, so they survive restarts.
//
// Hints are kept only for members, at most DEFAULT_MAX_HINTS_PER_OWNER and
// DEFAULT_MAX_HINT_BYTES_PER_OWNER per owner, and for DEFAULT_HINT_WINDOW_MS (as Cassandra's
// max_hint_window): a hint refused or expired is counted and its data left to anti-entropy,
// which brings every replica level from any replica that has it. A write that only nodes
// outside its replicas acknowledged (every replica unreachable) has no such replica: for it
// a dropped hint is a lost write, which is why the window is long (24 h) and why the README
// states it. A peer cannot make this node hold hints for owners that do not exist, nor
// without bound.
//
// What is pending per owner, and when each owner is due next, is kept in memory: read from
// the store once, then told by whoever stores a hint (noteAdded) and by the removals made
// here. So pending() and a pass cost O(owners), and a pass reads hints only for owners that
// are alive and due. Any time a pass finds an owner's hints gone, the count is set to what
// the store holds, so a count that went wrong mends itself at the owner's next pass.
import { backoffDelay } from '../../base/backoff.js'
import type { Clock, TimerHandle } from '../../base/clock.js'
import { heldBack, LogThrottle } from '../../base/log-throttle.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Random } from '../../base/random.js'
import type { Store, StoredHint } from '../../store/store.js'
import type { ReplicateItem } from '../../wire/messages.js'
import { groupHints, type HintGroup } from './hint-groups.js'
import {
  DEFAULT_HANDOFF_INTERVAL_MS,
  DEFAULT_HINT_WINDOW_MS,
  DEFAULT_MAX_HINT_BYTES_PER_OWNER,
  DEFAULT_MAX_HINTS_PER_OWNER,
  HANDOFF_BASE_BACKOFF_MS,
  HANDOFF_BATCH,
  HANDOFF_MAX_BACKOFF_MS,
} from './constants.js'
import type { MemberHealth } from '../membership/membership.js'

export interface HintedHandoffInit {
  readonly store: Store
  readonly clock: Clock
  readonly random: Random
  /** Hands a delta to `peer`: true once it acknowledged a durable commit (Coordinator.sendDelta). */
  readonly replicate: (peer: string, item: ReplicateItem) => Promise<boolean>
  readonly health: (peer: string) => MemberHealth | undefined
  readonly intervalMs?: number
  /** Hints older than this are dropped (default 24 h, DEFAULT_HINT_WINDOW_MS). */
  readonly windowMs?: number
  readonly maxHintsPerOwner?: number
  readonly maxHintBytesPerOwner?: number
  /** `rumordb:handoff`: backlogs starting (info), hints delivered (info per pass), dropped (warn). */
  readonly logger?: Logger
}

/** Hinted-handoff counters before the first hint. */
export function zeroHandoffStats(): HandoffStats {
  return { queued: 0, delivered: 0, failedAttempts: 0, dropped: 0, refused: 0, expired: 0 }
}

export interface HandoffStats {
  /** Hints stored here for an owner that could not take a delta, since start (noteAdded). */
  queued: number
  delivered: number
  failedAttempts: number
  dropped: number
  /** Hints not kept: their owner is not a member, or its hints are at their bound (left to anti-entropy). */
  refused: number
  /** Hints dropped because they were older than the hint window (left to anti-entropy). */
  expired: number
}

/** pendingFor() counts at most this many hints per target; the sync status shows "1000+". */
export const PENDING_COUNT_LIMIT = 1000

/** One owner with hints here: how many, and when the next attempt is due. */
interface Owner {
  pending: number
  /** Bytes of the pending hints' states (an estimate after a failed commit). */
  bytes: number
  /** createdAt of the oldest pending hint (Infinity: unknown or none). */
  oldestAt: number
  /** Failed attempts in a row (backoff). */
  attempts: number
  /** Clock time before which no attempt is made (0: due now). */
  notBefore: number
  /** Seen suspected while backing off: when it is alive again, it returned (peerReturned). */
  suspectedInBackoff: boolean
  /**
   * Hints per batch to this owner: halved after a batch that failed, doubled after one that
   * went through, between 1 and HANDOFF_BATCH. A batch is one message; under loss a big one
   * (sent in parts) fails more often than a small one, and retried whole, with the hints
   * written meanwhile, it only grows (nemesis seed 1612: batches of 3, 7, 9, 15, 16 hints
   * each failed until the hints expired).
   */
  batch: number
}

export class HintedHandoff {
  readonly stats = zeroHandoffStats()
  /** Owners with hints here, or in backoff; an owner with neither is forgotten. */
  private readonly owners = new Map<string, Owner>()
  private total = 0
  private readonly logger: Logger
  /** A flapping owner starts a backlog over and over: one info line a minute each. */
  private readonly backlogLog: LogThrottle
  private timer: TimerHandle | undefined
  private running: Promise<void> | undefined
  /** Deliveries in flight, by owner: a pass and a return never send one owner's hints twice at once. */
  private readonly delivering = new Map<string, Promise<void>>()
  private started = false
  /** Set by stop(): a pass in progress sends no further batch. */
  private stopping = false

  constructor(private readonly init: HintedHandoffInit) {
    this.logger = init.logger ?? silentLogger
    this.backlogLog = new LogThrottle(() => init.clock.now())
    // The one full read: from here on the counts follow noteAdded() and the removals.
    for (const hint of init.store.listHints()) {
      const owner = this.ownerOf(hint.target)
      owner.pending++
      owner.bytes += hint.state.length
      owner.oldestAt = Math.min(owner.oldestAt, hint.createdAt)
    }
    for (const owner of this.owners.values()) this.total += owner.pending
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.schedule()
  }

  async stop(): Promise<void> {
    this.started = false
    this.stopping = true
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer)
    this.timer = undefined
    await Promise.allSettled([this.running, ...this.delivering.values()])
  }

  /**
   * Whether a hint of `bytes` for `target` may be kept: it is a member (not left), and its
   * hints are within their bounds. Counts and logs a refusal; the caller then stores the
   * state without a hint.
   */
  admit(target: string, bytes: number): boolean {
    const health = this.init.health(target)
    const owner = this.owners.get(target)
    const reason =
      health === undefined || health === 'left'
        ? `${target} is not a member`
        : (owner?.pending ?? 0) >= (this.init.maxHintsPerOwner ?? DEFAULT_MAX_HINTS_PER_OWNER)
          ? `${target} already has ${owner?.pending} hints here`
          : (owner?.bytes ?? 0) + bytes > (this.init.maxHintBytesPerOwner ?? DEFAULT_MAX_HINT_BYTES_PER_OWNER)
            ? `${target}'s hints here would pass ${this.init.maxHintBytesPerOwner ?? DEFAULT_MAX_HINT_BYTES_PER_OWNER} bytes`
            : undefined
    if (reason === undefined) return true
    this.stats.refused++
    const held = this.backlogLog.admit(`refused\u0000${target}`)
    if (held !== undefined) this.logger.warn({ owner: target }, `not keeping a hint: ${reason}; anti-entropy brings the data over instead${heldBack(held)}`)
    return false
  }

  /**
   * A hint for `target` was just staged here (whoever stores it: the coordinator, a peer's
   * replicate request, a local fallback), so it is counted from the moment the store shows
   * it; `committed` is the write holding it: if that fails, the hint was never kept. Call it
   * once per hint, right after issuing the write.
   */
  noteAdded(target: string, key: string, committed: Promise<unknown>, bytes: number, createdAt: number): void {
    this.stats.queued++
    const owner = this.ownerOf(target)
    owner.pending++
    owner.bytes += bytes
    owner.oldestAt = Math.min(owner.oldestAt, createdAt)
    this.total++
    committed.catch(() => {
      const current = this.owners.get(target)
      if (current !== undefined) this.settle(target, Math.max(0, current.pending - 1))
    })
    this.logger.debug({ owner: target, key }, `keeping a hint for ${target}: ${JSON.stringify(key)}`)
    if (owner.pending !== 1) return
    const held = this.backlogLog.admit(target)
    if (held === undefined) return
    this.logger.info(
      { owner: target },
      `keeping hints for ${target}, which could not take writes; they are handed over once it is seen alive${heldBack(held)}`,
    )
  }

  /** Hints kept here for every owner. O(1). */
  pending(): number {
    return this.total
  }

  /** Hints waiting for `target`, counted up to `limit`. O(1). */
  pendingFor(target: string, limit = PENDING_COUNT_LIMIT): number {
    return Math.min(this.owners.get(target)?.pending ?? 0, limit)
  }

  /** The target of the oldest hint, if any hint is pending (one row by primary key). */
  oldestTarget(): string | undefined {
    return this.init.store.listHints(undefined, 1)[0]?.target
  }

  /** One pass over the owners with hints that are due; resolves when the pass is done. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  /**
   * The owner came back (return-sync.ts): its backoff is forgotten and its hints are handed
   * over now, not at the next pass, if it is alive. Resolves when that delivery ends.
   */
  deliverNow(peer: string): Promise<void> {
    this.peerReturned(peer)
    const owner = this.owners.get(peer)
    if (this.stopping || owner === undefined || owner.pending === 0 || this.init.health(peer) !== 'alive') return Promise.resolve()
    return this.deliverOnce(peer)
  }

  /** The owner was seen again: forget its backoff so the next pass tries at once. */
  peerReturned(peer: string): void {
    const owner = this.owners.get(peer)
    if (owner === undefined) return
    owner.attempts = 0
    owner.notBefore = 0
    owner.suspectedInBackoff = false
    this.forgetIfIdle(peer, owner)
  }

  private async pass(): Promise<void> {
    const now = this.init.clock.now()
    const work: Promise<void>[] = []
    const window = this.init.windowMs ?? DEFAULT_HINT_WINDOW_MS
    for (const [target, owner] of this.owners) {
      if (owner.pending === 0) continue
      if (owner.oldestAt < now - window) {
        work.push(this.expire(target, now - window))
        continue
      }
      const health = this.init.health(target)
      // The owner left: the other replicas and anti-entropy carry the data now, so the
      // hints have no one to go to. Never a member (undefined): kept, as they were.
      if (health === 'left') work.push(this.dropAll(target))
      else if (health === 'suspect' && owner.attempts > 0) owner.suspectedInBackoff = true
      else if (health === 'alive') {
        // Back from suspicion: a return, as a new connection is (a partition no connection
        // noticed heals without one), so the backoff of attempts made before is forgotten.
        if (owner.suspectedInBackoff) this.peerReturned(target)
        if (now >= owner.notBefore) work.push(this.deliverOnce(target))
      }
    }
    await Promise.all(work)
  }

  /** deliver(), unless a delivery to `target` is in flight already: then that one. */
  private deliverOnce(target: string): Promise<void> {
    let delivery = this.delivering.get(target)
    if (delivery === undefined) {
      delivery = this.deliver(target).finally(() => this.delivering.delete(target))
      this.delivering.set(target, delivery)
    }
    return delivery
  }

  /** Batch after batch, each sent at once; stops at the first batch with a failure. */
  private async deliver(target: string): Promise<void> {
    let delivered = 0
    let failed = false
    while (!this.stopping) {
      const batch = this.init.store.listHints(target, this.ownerOf(target).batch)
      if (batch.length === 0) {
        this.settle(target, 0)
        break
      }
      // A hint past its window is never handed over: the tombstone of a delete made after its
      // write may be purged by now (tombstone-purge.ts), and the hint would bring back what
      // the delete removed.
      const cutoff = this.init.clock.now() - (this.init.windowMs ?? DEFAULT_HINT_WINDOW_MS)
      if (batch.some((hint) => hint.createdAt < cutoff)) {
        await this.expire(target, cutoff)
        continue
      }
      const groups = groupHints(batch)
      const outcomes = await Promise.all(groups.map((group) => this.handOver(target, group)))
      const handed = groups.flatMap((group, i) => (outcomes[i] === true ? group.hints : []))
      if (handed.length > 0) await this.remove(target, handed, 'delivered')
      delivered += handed.length
      const sizing = this.ownerOf(target)
      if (handed.length < batch.length) {
        sizing.batch = Math.max(1, Math.floor(batch.length / 2))
        // What was not handed over is still here, whatever the count said.
        this.settle(target, Math.max(this.ownerOf(target).pending, batch.length - handed.length))
        this.stats.failedAttempts++
        failed = true
        this.fail(target)
        break
      }
      sizing.batch = Math.min(HANDOFF_BATCH, sizing.batch * 2)
      sizing.attempts = 0
      sizing.notBefore = 0
    }
    if (delivered === 0) return
    const left = this.pendingFor(target, Infinity)
    this.logger.info(
      { owner: target, delivered, pending: left },
      `handed ${delivered} hint${delivered === 1 ? '' : 's'} over to ${target}` +
        (failed ? `; ${left} left, retried after a backoff` : left > 0 ? `; ${left} left` : ''),
    )
  }

  /** Drops the hints of `target` created before `cutoff`; the rest stay (and say when the next expire). */
  private async expire(target: string, cutoff: number): Promise<void> {
    const hints = this.init.store.listHints(target)
    const old = hints.filter((h) => h.createdAt < cutoff)
    if (old.length > 0) await this.remove(target, old, 'expired')
    const owner = this.owners.get(target)
    if (owner !== undefined) {
      owner.oldestAt = hints.filter((h) => h.createdAt >= cutoff).reduce((min, h) => Math.min(min, h.createdAt), Infinity)
      owner.bytes = hints.filter((h) => h.createdAt >= cutoff).reduce((sum, h) => sum + h.state.length, 0)
    }
    if (old.length === 0) return
    this.logger.warn(
      { owner: target, expired: old.length },
      `dropped ${old.length} hint${old.length === 1 ? '' : 's'} for ${target} older than the hint window; anti-entropy brings that data over from the key's other replicas when it is back (a write no replica ever had is lost)`,
    )
  }

  private async dropAll(target: string): Promise<void> {
    const hints = this.init.store.listHints(target)
    if (hints.length > 0) await this.remove(target, hints, 'dropped')
    this.settle(target, 0)
    if (hints.length === 0) return
    this.logger.warn(
      { owner: target, dropped: hints.length },
      `dropped ${hints.length} hint${hints.length === 1 ? '' : 's'} for ${target}, which left the cluster; ` +
        'the keys\' other replicas and anti-entropy carry that data now',
    )
  }

  /** True once the owner acknowledged a durable commit of the group's delta (hint-groups.ts). */
  private async handOver(target: string, group: HintGroup): Promise<boolean> {
    try {
      return await this.init.replicate(target, { key: group.key, state: group.state })
    } catch {
      return false
    }
  }

  private fail(target: string): void {
    const owner = this.ownerOf(target)
    owner.attempts++
    const delay = backoffDelay(owner.attempts, { baseMs: HANDOFF_BASE_BACKOFF_MS, maxMs: HANDOFF_MAX_BACKOFF_MS }, this.init.random)
    owner.notBefore = this.init.clock.now() + delay
    this.logger.debug({ owner: target, attempts: owner.attempts, retryInMs: delay }, `handing hints over to ${target} failed; retrying in ${delay} ms`)
  }

  /** Counted as gone from the moment the store shows them gone (the removal is staged), and back if it fails. */
  private async remove(target: string, hints: StoredHint[], outcome: 'delivered' | 'dropped' | 'expired'): Promise<void> {
    const removed = this.init.store.write({ hints: { remove: hints.map((h) => h.id) } })
    const before = this.owners.get(target)?.pending ?? 0
    const owner = this.owners.get(target)
    if (owner !== undefined) owner.bytes = Math.max(0, owner.bytes - hints.reduce((sum, h) => sum + h.state.length, 0))
    const after = Math.max(0, before - hints.length)
    this.settle(target, after)
    try {
      await removed
    } catch (err) {
      this.settle(target, this.ownerOf(target).pending + before - after)
      throw err
    }
    this.stats[outcome] += hints.length
  }

  /** Sets what is pending for `target` (exact after a read of the store, else the count less what was removed). */
  private settle(target: string, pending: number): void {
    const owner = this.owners.get(target)
    if (owner === undefined) return
    this.total += pending - owner.pending
    owner.pending = pending
    if (pending === 0) {
      owner.bytes = 0
      owner.oldestAt = Infinity
    }
    this.forgetIfIdle(target, owner)
  }

  private ownerOf(target: string): Owner {
    let owner = this.owners.get(target)
    if (owner === undefined) {
      owner = { pending: 0, bytes: 0, oldestAt: Infinity, attempts: 0, notBefore: 0, suspectedInBackoff: false, batch: HANDOFF_BATCH }
      this.owners.set(target, owner)
    }
    return owner
  }

  private forgetIfIdle(target: string, owner: Owner): void {
    if (owner.pending === 0 && owner.attempts === 0) this.owners.delete(target)
  }

  private schedule(): void {
    if (!this.started) return
    this.timer = this.init.clock.setTimeout(() => {
      void this.runOnce()
        .catch(() => undefined)
        .finally(() => this.schedule())
    }, this.init.intervalMs ?? DEFAULT_HANDOFF_INTERVAL_MS)
  }
}
