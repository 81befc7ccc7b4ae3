// The tombstone purge: what a delete (or an expiry) leaves behind goes away once it can no
// longer matter. A key that shows nothing (only tombstones, crdts/removal.ts) is purged on
// this node — its row and pages deleted — when both hold:
//   - it has not changed for the purge window (DatabaseOptions.tombstonePurgeMs, default
//     24 h, at least the hint window: a hint written before the delete is gone by then);
//   - every other replica of the key compared the key's arc equal with this node since then,
//     and recently (Engine.purgeConfirmed): anti-entropy leaves tombstones out of its
//     digests, so equal means the replica shows nothing of the key either, and nothing the
//     tombstone removed can come back from it. A replica that is down, partitioned or
//     behind holds the purge up; nothing is purged on a guess.
// Purging moves this node to a new incarnation of its actor first (Replica.purge,
// src/replica/incarnations.ts), so its later writes of a purged key are never covered by a
// copy of the tombstone another replica still holds.
import type { Clock } from '../base/clock.js'
import { DatabaseClosedError } from '../base/errors.js'
import type { Logger } from '../base/logger.js'
import type { Replica } from '../replica/replica.js'
import { StoreClosedError } from '../store/errors.js'
import type { DeletedKey } from '../store/store.js'
import { PeriodicPass } from './periodic-pass.js'

/** How long a key must have shown nothing before it may be purged (Cassandra's gc_grace_seconds is 10 days). */
export const DEFAULT_TOMBSTONE_PURGE_MS = 24 * 60 * 60 * 1000
/** How often the purge looks for old tombstones (a quarter of the window when that is shorter). */
export const PURGE_INTERVAL_MS = 10_000
/** Tombstones read and purged per group-committed batch; a pass goes on while batches are full. */
const BATCH = 1000
/** Tombstones looked at in one pass at most, purged or not: a pass never holds the loop long. */
const MAX_PER_PASS = 100_000
/** The longest rest between periodic passes that found old tombstones but could purge none. */
const MAX_REST_MS = 5 * 60_000
/** Free pages given back to the file system after each purged batch at most (4 MiB of 4 KiB pages). */
const RELEASE_PAGES = 1024

/** Whether every other replica of `key` agreed, since `since` (clock ms), that it shows nothing of it. */
export type PurgeConfirmation = (key: string, since: number) => boolean

export class TombstonePurge {
  private readonly periodic: PeriodicPass
  /**
   * While passes find old tombstones yet may purge none of them (a replica that is away holds
   * them up), the periodic passes rest until this clock time, twice as long each time up to
   * MAX_REST_MS (or the window), instead of walking them every interval.
   */
  private restUntil = 0
  private restMs = 0

  constructor(
    private readonly replica: Replica,
    private readonly clock: Clock,
    private readonly windowMs: number,
    /** Undefined: this node is the only replica (no network), nothing to confirm. */
    private readonly confirmed: PurgeConfirmation | undefined,
    private readonly logger: Logger,
    private readonly intervalMs = Math.max(1, Math.min(PURGE_INTERVAL_MS, Math.floor(windowMs / 4))),
  ) {
    this.periodic = new PeriodicPass(clock, intervalMs, (halt) => this.scheduledPass(halt), logger, 'tombstone purge')
  }

  /** A periodic pass, unless passes are resting (restUntil). */
  private async scheduledPass(halt: () => void): Promise<void> {
    const now = this.clock.now()
    if (now < this.restUntil) {
      this.replica.store.releaseFreePages(RELEASE_PAGES)
      return
    }
    const { purged, seen } = await this.sweep(halt)
    if (seen > 0 && purged === 0) {
      this.restMs = Math.min(MAX_REST_MS, this.windowMs, Math.max(2 * this.intervalMs, 2 * this.restMs))
      this.restUntil = now + this.restMs
    } else {
      this.restMs = 0
      this.restUntil = 0
    }
  }

  start(): void {
    this.periodic.start()
  }

  /** No pass starts after this; resolves once a running pass ended. */
  stop(): Promise<void> {
    return this.periodic.stop()
  }

  /** One pass over the tombstones older than the window, oldest first; resolves with how many rows went. */
  async pass(): Promise<number> {
    return (await this.sweep(() => undefined)).purged
  }

  private async sweep(halt: () => void): Promise<{ purged: number; seen: number }> {
    let purged = 0
    let seen = 0
    let after: DeletedKey | undefined
    while (!this.periodic.isStopped && seen < MAX_PER_PASS) {
      let page: DeletedKey[]
      try {
        page = this.replica.store.scanDeleted(this.replica.wallNow() - this.windowMs, BATCH, after)
      } catch (err) {
        // The store closed under the database (a test, a crash): nothing to purge any more.
        if (err instanceof StoreClosedError) {
          halt()
          break
        }
        throw err
      }
      seen += page.length
      const due = this.confirmed === undefined ? page : page.filter((k) => (this.confirmed as PurgeConfirmation)(k.key, k.deletedAt))
      try {
        if (due.length > 0) {
          const n = await this.replica.purge(due)
          // The file shrinks with what was purged (a file created by this version; see Store.releaseFreePages).
          if (n > 0) this.replica.store.releaseFreePages(RELEASE_PAGES)
          purged += n
        }
      } catch (err) {
        if (err instanceof DatabaseClosedError || err instanceof StoreClosedError) break
        throw err
      }
      if (page.length < BATCH) break
      after = page[page.length - 1]
    }
    if (purged > 0) this.logger.debug({ purged }, `purged ${purged} tombstones older than ${this.windowMs} ms`)
    // Pages freed otherwise (expired idempotency records, delivered hints) go back too, a few MiB a pass.
    if (!this.periodic.isStopped) this.replica.store.releaseFreePages(RELEASE_PAGES)
    return { purged, seen }
  }
}
