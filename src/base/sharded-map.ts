// A Map split over a fixed number of smaller Maps by a cheap hash of the key. A JS Map
// grows by rehashing every entry at once: at a million entries one insert stalls the
// event loop for a quarter of a second. Split 64 ways, each rehash moves 1/64 of the
// entries, so no single insert holds the loop for more than a few milliseconds.

const SHARDS = 64

export class ShardedMap<V> {
  private readonly shards = Array.from({ length: SHARDS }, () => new Map<string, V>())
  private count = 0

  get size(): number {
    return this.count
  }

  get(key: string): V | undefined {
    return this.shardOf(key).get(key)
  }

  set(key: string, value: V): void {
    const shard = this.shardOf(key)
    const before = shard.size
    shard.set(key, value)
    this.count += shard.size - before
  }

  delete(key: string): boolean {
    const deleted = this.shardOf(key).delete(key)
    if (deleted) this.count--
    return deleted
  }

  clear(): void {
    for (const shard of this.shards) shard.clear()
    this.count = 0
  }

  *values(): Generator<V> {
    for (const shard of this.shards) yield* shard.values()
  }

  *entries(): Generator<[string, V]> {
    for (const shard of this.shards) yield* shard.entries()
  }

  /** FNV-1a over the key's last (up to) 16 UTF-16 code units and its length: keys often share long prefixes. */
  private shardOf(key: string): Map<string, V> {
    let h = 0x811c9dc5 ^ key.length
    for (let i = Math.max(0, key.length - 16); i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    return this.shards[(h >>> 0) % SHARDS]!
  }
}
