// Decoded states of recently used keys. The replica is the only writer of key states, so
// it keeps this cache exact: every staged write updates it, a failed commit evicts the key.
// A hit saves a SELECT and a full decode on each read-modify-write. The budget is in
// encoded bytes (a proxy for decoded size), so many small counters fit and a few large
// sets cannot crowd memory. Eviction is least recently used, in constant time (lru-cache).
import { LRUCache } from 'lru-cache'
import type { KeyContent } from '../../crdts/key-content.js'
import type { ORSetPaging } from '../../crdts/orset-pages.js'
import type { CrdtTypeName } from '../../crdts/types.js'

export interface CachedState {
  readonly type: CrdtTypeName
  readonly state: unknown
  /** A key in a type conflict: everything it holds (src/replica.ts). */
  readonly content?: KeyContent
  /** An OR-set's state in pages, as the store holds it (src/replica/paged-states.ts); absent until a write needs it. */
  readonly paging?: ORSetPaging
}

export const DEFAULT_STATE_CACHE_BYTES = 32 * 1024 * 1024
/** Per-entry overhead counted on top of the encoded size (map entry, key string, object). */
const ENTRY_OVERHEAD_BYTES = 128

export class StateCache {
  /** Absent with a budget below one byte: lru-cache needs a positive maxSize. */
  private readonly entries: LRUCache<string, CachedState> | undefined

  constructor(budgetBytes = DEFAULT_STATE_CACHE_BYTES) {
    const maxSize = Math.floor(budgetBytes)
    this.entries = maxSize >= 1 ? new LRUCache<string, CachedState>({ maxSize }) : undefined
  }

  /** A hit makes the key the most recently used. */
  get(key: string): CachedState | undefined {
    return this.entries?.get(key)
  }

  /** `encodedBytes`: the size of the state's encoding. */
  set(key: string, entry: CachedState, encodedBytes: number): void {
    if (this.entries === undefined) return
    const cost = encodedBytes + key.length * 2 + ENTRY_OVERHEAD_BYTES
    // Larger than the whole budget: not cached, and the key's older state must go too.
    if (cost > this.entries.maxSize) this.entries.delete(key)
    // The entry itself, its cost passed beside it: no copy per write.
    else this.entries.set(key, entry, { size: cost })
  }

  delete(key: string): void {
    this.entries?.delete(key)
  }

  get size(): number {
    return this.entries?.size ?? 0
  }

  get bytes(): number {
    return this.entries?.calculatedSize ?? 0
  }
}
