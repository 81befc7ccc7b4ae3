// A background pass run every `intervalMs` on the database's clock, one at a time: the
// expiry sweep and the tombstone purge. A failed pass is logged at warn and the next one
// comes on schedule; stop() lets a running pass finish and starts no other.
import type { Clock, TimerHandle } from '../base/clock.js'
import type { Logger } from '../base/logger.js'

export class PeriodicPass {
  private timer: TimerHandle | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    /** What runs; `halt()` ends the schedule from inside (the store closed under it). */
    private readonly run: (halt: () => void) => Promise<unknown>,
    private readonly logger: Logger,
    /** Names the pass in the warning: "expiry sweep", "tombstone purge". */
    private readonly name: string,
  ) {}

  /** Whether stop() (or the pass itself) ended the schedule. */
  get isStopped(): boolean {
    return this.stopped
  }

  start(): void {
    this.schedule()
  }

  /** No pass starts after this; resolves once a running pass ended. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    await this.running
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = this.clock.setTimeout(() => {
      this.running = this.run(() => (this.stopped = true))
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, `${this.name} failed: ${(err as Error)?.message ?? String(err)}; retrying in ${this.intervalMs} ms`))
        .finally(() => {
          this.running = undefined
          this.schedule()
        })
    }, this.intervalMs)
  }
}
