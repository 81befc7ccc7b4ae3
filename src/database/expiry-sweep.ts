// The expiry sweep: once a second, the keys whose time to live ran out (the store's
// keys_expires_at index, Store.scanExpiring) are removed on this node as a delete removes
// them (Replica.expire), so the change feed and subscribers see them go and an expired key
// leaves only tombstones. Reads do not wait for it: a due key reads as missing at once.
import type { Clock, TimerHandle } from '../base/clock.js'
import { DatabaseClosedError } from '../base/errors.js'
import type { Logger } from '../base/logger.js'
import type { Replica } from '../replica/replica.js'
import { StoreClosedError } from '../store/errors.js'

export const SWEEP_INTERVAL_MS = 1000
/** Keys expired per group-committed batch; a pass goes on batch after batch while there are due keys. */
const BATCH = 256

export class ExpirySweep {
  private timer: TimerHandle | undefined
  private running: Promise<void> | undefined
  private stopped = false
  /** Keys this sweep expired since start. */
  expiredKeys = 0

  constructor(
    private readonly replica: Replica,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule()
  }

  /** No pass starts after this; resolves once a running pass ended. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    await this.running
  }

  private halt(): void {
    this.stopped = true
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.clock.setTimeout(() => {
      this.running = this.pass().catch((err: unknown) => this.logger.warn({ err }, `expiry sweep failed: ${(err as Error)?.message ?? String(err)}; retrying in ${SWEEP_INTERVAL_MS} ms`)).finally(() => {
        this.running = undefined
        this.schedule()
      })
    }, SWEEP_INTERVAL_MS)
  }

  private async pass(): Promise<void> {
    while (!this.stopped) {
      let due: string[]
      try {
        due = this.replica.dueKeys(BATCH)
      } catch (err) {
        // The store closed under the database (a test, a crash): nothing to sweep any more.
        if (err instanceof StoreClosedError) return this.halt()
        throw err
      }
      const results = await Promise.allSettled(due.map((key) => this.replica.expire(key)))
      let expired = 0
      for (const [j, result] of results.entries()) {
        if (result.status === 'fulfilled') {
          if (result.value) expired++
        } else if (!(result.reason instanceof DatabaseClosedError)) {
          this.logger.warn({ key: due[j], err: result.reason }, `could not expire ${JSON.stringify(due[j])}; retrying in ${SWEEP_INTERVAL_MS} ms`)
        }
      }
      this.expiredKeys += expired
      // A full batch of keys that needed nothing (their newer writes are not committed yet)
      // would come back at once: wait for the next tick instead.
      if (due.length < BATCH || expired === 0) return
    }
  }
}
