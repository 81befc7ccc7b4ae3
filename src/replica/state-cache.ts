// Decoded states of recently used keys. The replica is the only writer of key states, so
// it keeps this cache exact: every staged write updates it, a failed commit evicts the key.
// A hit saves a SELECT and a full decode on each read-modify-write. The budget is in
// encoded bytes (a proxy for decoded size), so many small counters fit and a few large
// sets cannot crowd memory.
import type { KeyContent } from '../../crdts/key-content.js'
import type { CrdtTypeName } from '../../crdts/types.js'

export interface CachedState {
  readonly type: CrdtTypeName
  readonly state: unknown
  /** A key in a type conflict: everything it holds (src/replica.ts). */
  readonly content?: KeyContent
}

export const DEFAULT_STATE_CACHE_BYTES = 32 * 1024 * 1024
/** Per-entry overhead counted on top of the encoded size (map entry, key string, object). */
const ENTRY_OVERHEAD_BYTES = 128

interface Entry extends CachedState {
  readonly cost: number
}

export class StateCache {
  private readonly entries = new Map<string, Entry>()
  private used = 0

  constructor(private readonly budgetBytes = DEFAULT_STATE_CACHE_BYTES) {}

  get(key: string): CachedState | undefined {
    return this.entries.get(key)
  }

  /** `encodedBytes`: the size of the state's encoding. */
  set(key: string, entry: CachedState, encodedBytes: number): void {
    this.delete(key)
    const cost = encodedBytes + key.length * 2 + ENTRY_OVERHEAD_BYTES
    if (cost > this.budgetBytes) return
    // Re-inserting moves the key to the young end; the oldest insertions are evicted first.
    this.entries.set(key, { ...entry, cost })
    this.used += cost
    for (const [oldest, e] of this.entries) {
      if (this.used <= this.budgetBytes) break
      this.entries.delete(oldest)
      this.used -= e.cost
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.entries.delete(key)
    this.used -= e.cost
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.used
  }
}
