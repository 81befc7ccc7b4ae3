// Which slot of the anti-entropy index (arc-index.ts) holds a key. Keys that arrive in
// ascending order (a store scan, a saved index) go into a sorted array found by binary
// search; any other key into a hash map. Inserting a million keys into a Map costs about
// a second (hashing and rehashing every string); appending them to an array costs almost
// nothing, and a lookup by binary search (about 20 comparisons) stays near a microsecond.
// Order here is JavaScript's `<` (UTF-16 code units), which is native and fast; a scan in
// UTF-8 order that is out of that order for a few keys (characters above U+FFFF) sends
// those keys to the map. Keys are held in chunks of 4,096: one array of a million entries
// takes tens of milliseconds to allocate, all in one turn of the event loop.
import { ShardedMap } from '../../base/sharded-map.js'

export class KeySlots {
  /** Per slot below `used`: its key, undefined for a free slot. */
  private keyAt = new Chunked<string | undefined>()
  private used = 0
  /** The first `sorted` entries: keys in ascending order and the slot each was given; a sorted key whose slot now holds another key (or none) is gone. */
  private sortedKeys = new Chunked<string>()
  private sortedSlots = new Int32Array(0)
  private sorted = 0
  private readonly unsorted = new ShardedMap<number>()
  private readonly free: number[] = []
  private count = 0

  get size(): number {
    return this.count
  }

  /** Slots ever handed out: every slot is below this. */
  get capacity(): number {
    return this.used
  }

  keyOf(slot: number): string | undefined {
    return slot < this.used ? this.keyAt.get(slot) : undefined
  }

  get(key: string): number | undefined {
    const slot = this.unsorted.get(key)
    if (slot !== undefined) return slot
    const keys = this.sortedKeys
    let lo = 0
    let hi = this.sorted - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const k = keys.get(mid)!
      if (k === key) {
        const at = this.sortedSlots[mid]!
        return this.keyAt.get(at) === key ? at : undefined
      }
      if (k < key) lo = mid + 1
      else hi = mid - 1
    }
    return undefined
  }

  /** Room for `n` more sorted keys without growing their slot array. */
  reserve(n: number): void {
    this.growSorted(this.sorted + n)
  }

  /** Gives `key` (not held yet) a slot. Keys added in ascending order are found without the map. */
  add(key: string): number {
    const reused = this.free.pop()
    const slot = reused ?? this.used++
    this.keyAt.set(slot, key)
    const last = this.sorted === 0 ? undefined : this.sortedKeys.get(this.sorted - 1)!
    if (reused === undefined && (last === undefined || last < key)) this.pushSorted(key, slot)
    else this.unsorted.set(key, slot)
    this.count++
    return slot
  }

  /**
   * `add` for keys in ascending order: the next slots when no slot was ever freed and the
   * keys come after every sorted key (else one `add` each). Returns the first key's slot.
   */
  appendAscending(keys: readonly string[]): number {
    const first = this.used
    const last = this.sorted === 0 ? undefined : this.sortedKeys.get(this.sorted - 1)!
    if (this.free.length > 0 || keys.length === 0 || (last !== undefined && !(last < keys[0]!))) {
      const slots = keys.map((key) => this.add(key))
      return slots[0] ?? first
    }
    this.reserve(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      if (i > 0 && !(keys[i - 1]! < key)) throw new RangeError('KeySlots.appendAscending: keys not in ascending order')
      this.keyAt.set(first + i, key)
      this.pushSorted(key, first + i)
    }
    this.used += keys.length
    this.count += keys.length
    return first
  }

  /** Frees the slot `key` holds. */
  delete(key: string, slot: number): void {
    this.unsorted.delete(key)
    this.keyAt.set(slot, undefined)
    this.free.push(slot)
    this.count--
  }

  /** Slots in use, in slot order. */
  *slots(): Generator<number> {
    for (let slot = 0; slot < this.used; slot++) if (this.keyAt.get(slot) !== undefined) yield slot
  }

  /** Slots in use in ascending key order: the sorted keys merged with the others. */
  slotsInKeyOrder(): number[] {
    const loose = [...this.unsorted.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))
    const out: number[] = []
    let j = 0
    for (let i = 0; i < this.sorted; i++) {
      const key = this.sortedKeys.get(i)!
      const slot = this.sortedSlots[i]!
      if (this.keyAt.get(slot) !== key) continue
      while (j < loose.length && loose[j]![0] < key) out.push(loose[j++]![1])
      out.push(slot)
    }
    while (j < loose.length) out.push(loose[j++]![1])
    return out
  }

  clear(): void {
    this.keyAt = new Chunked()
    this.used = 0
    this.sortedKeys = new Chunked()
    this.sortedSlots = new Int32Array(0)
    this.sorted = 0
    this.unsorted.clear()
    this.free.length = 0
    this.count = 0
  }

  private pushSorted(key: string, slot: number): void {
    this.growSorted(this.sorted + 1)
    this.sortedKeys.set(this.sorted, key)
    this.sortedSlots[this.sorted] = slot
    this.sorted++
  }

  private growSorted(needed: number): void {
    if (needed <= this.sortedSlots.length) return
    const slots = new Int32Array(Math.max(1024, needed, this.sortedSlots.length * 2))
    slots.set(this.sortedSlots.subarray(0, this.sorted))
    this.sortedSlots = slots
  }
}

const CHUNK_BITS = 12
const CHUNK = 1 << CHUNK_BITS

/** An array in chunks of 4,096 entries, each allocated on first write. */
class Chunked<T> {
  private readonly chunks: T[][] = []

  get(i: number): T | undefined {
    return this.chunks[i >>> CHUNK_BITS]?.[i & (CHUNK - 1)]
  }

  set(i: number, value: T): void {
    const c = i >>> CHUNK_BITS
    let chunk = this.chunks[c]
    if (chunk === undefined) {
      while (this.chunks.length <= c) this.chunks.push(new Array<T>(CHUNK))
      chunk = this.chunks[c]!
    }
    chunk[i & (CHUNK - 1)] = value
  }
}
