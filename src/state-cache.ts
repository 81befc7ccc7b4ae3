// Decoded states of recently used keys. The replica is the only writer of key states, so
// it keeps this cache exact: every staged write updates it, a failed commit evicts the key.
// A hit saves a SELECT and a full decode on each read-modify-write.
import type { CrdtTypeName } from '../crdts/types.js'

export interface CachedState {
  readonly type: CrdtTypeName
  readonly state: unknown
}

export const DEFAULT_STATE_CACHE_ENTRIES = 4096

export class StateCache {
  private readonly entries = new Map<string, CachedState>()

  constructor(private readonly capacity = DEFAULT_STATE_CACHE_ENTRIES) {}

  get(key: string): CachedState | undefined {
    return this.entries.get(key)
  }

  set(key: string, entry: CachedState): void {
    if (this.capacity <= 0) return
    // Re-inserting moves the key to the young end; the oldest insertion is evicted first.
    this.entries.delete(key)
    this.entries.set(key, entry)
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}
