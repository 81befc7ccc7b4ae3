// The expiry sweep: once a second, the keys whose time to live ran out (the store's
// keys_expires_at index, Store.scanExpiring) are removed on this node as a delete removes
// them (Replica.expire), so the change feed and subscribers see them go and an expired key
// leaves only tombstones. Reads do not wait for it: a due key reads as missing at once.
import type { Clock } from '../base/clock.js'
import { DatabaseClosedError } from '../base/errors.js'
import type { Logger } from '../base/logger.js'
import type { Replica } from '../replica/replica.js'
import { StoreClosedError } from '../store/errors.js'
import { PeriodicPass } from './periodic-pass.js'

export const SWEEP_INTERVAL_MS = 1000
/** Keys expired per group-committed batch; a pass goes on batch after batch while there are due keys. */
const BATCH = 256

export class ExpirySweep {
  private readonly periodic: PeriodicPass
  /** Keys this sweep expired since start. */
  expiredKeys = 0

  constructor(
    private readonly replica: Replica,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    this.periodic = new PeriodicPass(clock, SWEEP_INTERVAL_MS, (halt) => this.pass(halt), logger, 'expiry sweep')
  }

  start(): void {
    this.periodic.start()
  }

  /** No pass starts after this; resolves once a running pass ended. */
  stop(): Promise<void> {
    return this.periodic.stop()
  }

  private async pass(halt: () => void): Promise<void> {
    while (!this.periodic.isStopped) {
      let due: string[]
      try {
        due = this.replica.dueKeys(BATCH)
      } catch (err) {
        // The store closed under the database (a test, a crash): nothing to sweep any more.
        if (err instanceof StoreClosedError) return halt()
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
