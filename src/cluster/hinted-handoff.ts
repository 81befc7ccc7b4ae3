// Hinted handoff: deltas kept for an owner that was unreachable are delivered when the
// failure detector sees it alive again, oldest first, with exponential backoff and jitter
// between failed attempts. A hint is removed only after the owner acknowledged a durable
// commit, and hints live in the store, so they survive restarts.
import { backoffDelay } from '../backoff.js'
import type { Clock, TimerHandle } from '../clock.js'
import type { Random } from '../random.js'
import type { Store, StoredHint } from '../store/store.js'
import type { Request, Response } from '../wire/messages.js'
import { DEFAULT_HANDOFF_INTERVAL_MS, HANDOFF_BASE_BACKOFF_MS, HANDOFF_BATCH, HANDOFF_MAX_BACKOFF_MS } from './engine-constants.js'
import type { MemberHealth } from './membership.js'

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

  constructor(private readonly init: HintedHandoffInit) {}

  start(): void {
    if (this.started) return
    this.started = true
    this.schedule()
  }

  async stop(): Promise<void> {
    this.started = false
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  pending(): number {
    return this.init.store.listHints().length
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
      if (list.length < HANDOFF_BATCH) list.push(hint)
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

  private async deliver(target: string, hints: StoredHint[]): Promise<void> {
    const delivered: StoredHint[] = []
    for (const hint of hints) {
      try {
        const response = await this.init.send(target, { type: 'replicate', key: hint.key, state: hint.state })
        if (response.type !== 'ack') throw new Error(`owner answered ${response.type}`)
        delivered.push(hint)
      } catch {
        this.stats.failedAttempts++
        this.fail(target)
        break
      }
    }
    if (delivered.length > 0) {
      this.backoff.delete(target)
      await this.remove(delivered, 'delivered')
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
