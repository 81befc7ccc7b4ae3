// What a commit must know of a row it overwrites with a whole state: that the row exists,
// whether it is a tombstone (for the store's counts), and its ring position (the head of
// its index entry, which never changes). A commit learns this with a SELECT per key before
// its upsert, a quarter of a counter write's SQLite time; rows this process wrote whole, or
// read whole by key (a replica's cache miss reads the row its write then replaces), are
// remembered here instead, so their next commit skips that SELECT. Rows in pages are not
// remembered: their commit reads the page list anyway.
//
// Bounded by entries in two generations: when the newer one fills, the older is dropped
// whole, so eviction costs nothing per write and a key used in either stays found.

export interface RowFacts {
  /** The row shows nothing (keys.deleted_at is set). */
  readonly deleted: boolean
  /** The first 8 bytes of the row's index entry (base/key-hashes.ts keyPosition). */
  readonly position: Uint8Array
}

/** Rows per generation: two generations of ~100 bytes per row stay under ~16 MB. */
export const ROW_FACTS_PER_GENERATION = 65_536

export class RowFactsCache {
  private current = new Map<string, RowFacts>()
  private previous = new Map<string, RowFacts>()

  constructor(private readonly perGeneration = ROW_FACTS_PER_GENERATION) {}

  /** The facts of a row written whole by this process and not changed since, or undefined. */
  get(key: string): RowFacts | undefined {
    const hit = this.current.get(key)
    if (hit !== undefined) return hit
    const old = this.previous.get(key)
    // Used again: moved to the newer generation, which shadows the older copy.
    if (old !== undefined) this.set(key, old)
    return old
  }

  /** What the committed row is now: after its transaction committed, or as a read found it. */
  set(key: string, facts: RowFacts): void {
    this.current.set(key, facts)
    if (this.current.size < this.perGeneration) return
    this.previous = this.current
    this.current = new Map()
  }

  /** The row went, or is kept in pages: the next commit of the key reads it again. */
  delete(key: string): void {
    this.current.delete(key)
    this.previous.delete(key)
  }
}
