// Hinted handoff: deltas kept for an owner that was unreachable are delivered when the
// failure detector sees it alive again, oldest first, in batches of HANDOFF_BATCH sent
// together (one pass delivers every hint while the owner keeps answering), with
// exponential backoff and jitter between failed attempts. A hint is removed only after the owner acknowledged a durable
// commit, and hints live in the store, so they survive restarts.
import { backoffDelay } from '../../base/backoff.js'
import type { Clock, TimerHandle } from '../../base/clock.js'
import type { Random } from '../../base/random.js'
import type { Store, StoredHint } from '../../store/store.js'
import type { Request, Response } from '../../wire/messages.js'
import { DEFAULT_HANDOFF_INTERVAL_MS, HANDOFF_BASE_BACKOFF_MS, HANDOFF_BATCH, HANDOFF_MAX_BACKOFF_MS } from './constants.js'
import type { MemberHealth } from '../membership/membership.js'

export interface HintedHandoffInit {
  readonly store: Store
  readonly clock: Clock
  readonly random: Random
  readonly send: (peer: string, request: Request) => Promise<Response>
  readonly health: (peer: string) => MemberHealth | undefined
  readonly intervalMs?: number
}

export interface HandoffStats {
  delivered: number
  failedAttempts: number
  dropped: number
}

/** pendingFor() counts at most this many hints per target; the sync status shows "1000+". */
export const PENDING_COUNT_LIMIT = 1000

interface Backoff {
  attempts: number
  notBefore: number
}

export class HintedHandoff {
  readonly stats: HandoffStats = { delivered: 0, failedAttempts: 0, dropped: 0 }
  private readonly backoff = new Map<string, Backoff>()
  private timer: TimerHandle | undefined
  private running: Promise<void> | undefined
  private started = false
  /** Set by stop(): a pass in progress sends no further batch. */
  private stopping = false

  constructor(private readonly init: HintedHandoffInit) {}

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
    await this.running
  }

  pending(): number {
    return this.init.store.listHints().length
  }

  /**
   * Hints waiting for `target`, counted up to `limit`: the sync status asks on every
   * scrape, and SQLite answers from the (target, id) index reading at most `limit` rows.
   */
  pendingFor(target: string, limit = PENDING_COUNT_LIMIT): number {
    return this.init.store.listHints(target, limit).length
  }

  /** The target of the oldest hint, if any hint is pending (one row by primary key). */
  oldestTarget(): string | undefined {
    return this.init.store.listHints(undefined, 1)[0]?.target
  }

  /** One pass over every target with hints; resolves when the pass is done. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  /** The owner was seen again: forget its backoff so the next pass tries at once. */
  peerReturned(peer: string): void {
    this.backoff.delete(peer)
  }

  private async pass(): Promise<void> {
    const targets = new Map<string, StoredHint[]>()
    for (const hint of this.init.store.listHints()) {
      const list = targets.get(hint.target) ?? []
      list.push(hint)
      targets.set(hint.target, list)
    }
    const now = this.init.clock.now()
    await Promise.all(
      [...targets].map(async ([target, hints]) => {
        const health = this.init.health(target)
        if (health === 'left' || health === undefined) {
          // The owner left (or was never a member): the other replicas and anti-entropy
          // carry the data now, so the hints have no one to go to.
          if (health === 'left') await this.remove(hints, 'dropped')
          return
        }
        if (health !== 'alive') return
        const b = this.backoff.get(target)
        if (b !== undefined && now < b.notBefore) return
        await this.deliver(target, hints)
      }),
    )
  }

  /** Batch after batch, each sent at once; stops at the first batch with a failure. */
  private async deliver(target: string, hints: StoredHint[]): Promise<void> {
    for (let start = 0; start < hints.length && !this.stopping; start += HANDOFF_BATCH) {
      const batch = hints.slice(start, start + HANDOFF_BATCH)
      const outcomes = await Promise.all(batch.map((hint) => this.handOver(target, hint)))
      const delivered = batch.filter((_, i) => outcomes[i])
      if (delivered.length > 0) await this.remove(delivered, 'delivered')
      if (delivered.length < batch.length) {
        this.stats.failedAttempts++
        this.fail(target)
        return
      }
      this.backoff.delete(target)
    }
  }

  /** True once the owner acknowledged a durable commit of the hint's state. */
  private async handOver(target: string, hint: StoredHint): Promise<boolean> {
    try {
      const response = await this.init.send(target, { type: 'replicate', key: hint.key, state: hint.state })
      return response.type === 'ack'
    } catch {
      return false
    }
  }

  private fail(target: string): void {
    const attempts = (this.backoff.get(target)?.attempts ?? 0) + 1
    const delay = backoffDelay(attempts, { baseMs: HANDOFF_BASE_BACKOFF_MS, maxMs: HANDOFF_MAX_BACKOFF_MS }, this.init.random)
    this.backoff.set(target, { attempts, notBefore: this.init.clock.now() + delay })
  }

  private async remove(hints: StoredHint[], outcome: 'delivered' | 'dropped'): Promise<void> {
    await this.init.store.write({ hints: { remove: hints.map((h) => h.id) } })
    this.stats[outcome] += hints.length
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
