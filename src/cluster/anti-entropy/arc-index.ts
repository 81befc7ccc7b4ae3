// What anti-entropy compares: for every arc of the ring, the XOR of the fingerprints of
// the keys stored in it, plus the keys themselves (for the diff step). All keys of one
// arc share one preference list, so arcs are the unit of reconciliation. The index is a
// cache of the store: `rebuild` derives it from a scan, `update` keeps it current after
// each committed change at the cost of one hash (and, for a new key, one more hash and
// one binary search).
//
// The index also numbers committed changes: every change of a key's digest takes the next
// sequence number, and each arc remembers the last one that touched it. Sync status
// compares them with the number an exchange saw (a peer is in sync only if no shared arc
// changed since an exchange found it equal), at the cost of one array write per change.
//
// Fingerprints and positions: base/key-hashes.ts. A first build reads them from the store
// (Store.scanIndexEntries keeps them per key), so it hashes nothing.
import { INDEX_ENTRY_BYTES, keyFingerprint, POSITION_BYTES } from '../../base/key-hashes.js'
import { DIGEST_BYTES, INDEX_RECORD_BYTES } from '../../store/digest.js'
import { compareKeys } from '../../store/key-order.js'
import type { Store } from '../../store/store.js'
import { keyPosition, RING_SIZE } from '../ring/hash.js'
import type { IndexSnapshot, IndexSnapshotReader } from './index-snapshot.js'
import { KeySlots } from './key-slots.js'
import { tokenIndexAt, type Ring } from '../ring/ring.js'


/** Keys per page of index entries while building (no hashing: a page takes a few milliseconds). */
export const BUILD_PAGE = 4096
/** Keys per page while loading a snapshot (no store reads or hashing, so a page goes faster), from the first page's. */
const LOAD_PAGE = 32_768
const FIRST_LOAD_PAGE = 1024

/** A key as the index knows it. */
export interface IndexedKey {
  readonly key: string
  /** Ring position (`keyPosition(key)`). */
  readonly position: bigint
  /** The store's 16-byte state digest. Shared: never mutate. */
  readonly digest: Uint8Array
}

/**
 * Index of the token arc owning `position` (token i owns (tokens[i-1], tokens[i]]):
 * the first token ≥ position, wrapping to 0; -1 on a ring without tokens.
 */
export function arcOf(ring: Ring, position: bigint): number {
  return ring.tokens.length === 0 ? -1 : tokenIndexAt(ring, position)
}

/** Start (exclusive) of arc i: the previous token, wrapping. */
export function arcStart(ring: Ring, arc: number): bigint {
  const { tokens } = ring
  return tokens[arc === 0 ? tokens.length - 1 : arc - 1]!
}

/** Clockwise distance from `from` to `to`, in (0, RING_SIZE]: positions after `from` sort by it. */
export function clockwiseOffset(from: bigint, to: bigint): bigint {
  return to > from ? to - from : to + RING_SIZE - from
}

/**
 * Per-key data lives in typed arrays indexed by a slot (a Map from key to slot finds it),
 * not in an object per key: far fewer bytes per key (an object, a BigInt and a 16-byte
 * Uint8Array each cost more than the data they hold).
 */
export class ArcIndex {
  private store: Store | undefined
  private current: Ring | undefined
  /** Key → slot, and each slot's key. */
  private readonly slots = new KeySlots()
  private positions = new BigUint64Array(0)
  /** Per slot, four words each: the state digest and the fingerprint, big-endian. */
  private digests = new Uint32Array(0)
  private prints = new Uint32Array(0)
  /** Per slot: its arc (-1 when not filed) and its index in that arc's slot list. */
  private arcOfSlot = new Int32Array(0)
  private placeOfSlot = new Int32Array(0)
  /** Four words per arc: the XOR of the fingerprints of its keys. */
  private words = new Uint32Array(0)
  /** Slots per arc, unordered; undefined for arcs that never held one. */
  private arcSlots: (number[] | undefined)[] = []
  /** While `load` runs: keys changed meanwhile, indexed once it is done. */
  private deferred: Set<string> | undefined
  /** While `build` runs: the last key its scan has read (undefined before the first page). */
  private building: { readonly after: string | undefined } | undefined
  /** Per arc: its slots in clockwise order, sorted on first use after the arc last changed. */
  private sorted: (Int32Array | undefined)[] = []
  /** Bumped whenever an aggregate or the ring changes: memoized values compare it. */
  private version = 0
  /** Sequence number of the last committed change (or re-filing); 0 before any. */
  private changes = 0
  /** Per arc: the sequence number of the last change in it. */
  private arcChanges = new Float64Array(0)
  private readonly memos = new WeakMap<Uint32Array, { version: number; n: number; value: Uint8Array }>()

  /** The ring the arcs belong to; undefined until the first rebuild. */
  get ring(): Ring | undefined {
    return this.current
  }

  /** Keys indexed (so far, while `build` runs). */
  get size(): number {
    return this.slots.size
  }

  /** Sequence number of the latest change to any arc: what an exchange taking digests now has seen. */
  get changeSeq(): number {
    return this.changes
  }

  /** Sequence number of the latest change in arc `arc` (0 if it never changed). */
  lastChange(arc: number): number {
    return this.arcChanges[arc] ?? 0
  }

  /** The latest change over the arcs `arcs`: O(arcs), a few microseconds for a thousand. */
  lastChangeIn(arcs: ArrayLike<number>): number {
    let last = 0
    const changes = this.arcChanges
    for (let i = 0; i < arcs.length; i++) {
      const seq = changes[arcs[i]!] ?? 0
      if (seq > last) last = seq
    }
    return last
  }

  /** Whether a build or rebuild has read a store (setRing alone does not). */
  get indexed(): boolean {
    return this.store !== undefined
  }

  /** False while `build` is still reading the store: aggregates cover only part of it. */
  get ready(): boolean {
    return this.building === undefined && this.deferred === undefined
  }

  /**
   * Scans the store's index entries and indexes every key on `ring`, in one go, hashing
   * nothing. Keys whose digest is unchanged keep their slot.
   */
  rebuild(ring: Ring, store: Store): void {
    if (this.store !== store) this.clear()
    this.store = store
    // Whatever a stopped build or load left, this scan covers the whole store.
    this.building = undefined
    this.deferred = undefined
    const seen = new Set<number>()
    let after: string | undefined
    for (;;) {
      // Committed keys, as in `build`: a staged one is indexed by `update` at its commit.
      const page = store.scanIndexEntries(after, BUILD_PAGE)
      const view = new DataView(page.records.buffer, page.records.byteOffset, page.records.byteLength)
      page.keys.forEach((key, i) => {
        const slot = this.slots.get(key)
        const at = i * INDEX_RECORD_BYTES
        seen.add(slot !== undefined && this.sameDigestAt(slot, view, at) ? slot : this.fillRecord(key, slot, view, at))
      })
      if (page.keys.length < BUILD_PAGE) break
      after = page.last
    }
    for (const slot of [...this.slots.slots()]) if (!seen.has(slot)) this.release(this.slots.keyOf(slot)!, slot)
    this.refile(ring)
  }

  /**
   * Indexes an unindexed store's keys on `ring` a page at a time, awaiting `pause()`
   * between pages, so a large store does not hold up the event loop. Committed changes
   * are indexed meanwhile: `update` files the keys the scan has passed, and the scan
   * reads the others as they are when it gets there. Resolves once every key is indexed
   * (`ready`), or early, unfinished, when `stopped()` turns true.
   */
  async build(ring: Ring, store: Store, pause: () => Promise<void>, stopped: () => boolean): Promise<void> {
    if (this.store !== undefined) throw new Error('ArcIndex.build: the index was built already')
    this.store = store
    this.deferred = undefined
    this.building = { after: undefined }
    // Room for every key now: doubling the arrays at 2^19 keys would stall the loop.
    this.grow(Math.max(1024, store.countShownKeys()))
    this.slots.reserve(store.countShownKeys())
    this.refile(ring)
    // Not even the first page in the caller's turn: it may be opening a database.
    await pause()
    while (!stopped()) {
      const { after } = this.building
      // Committed keys only, with their positions and fingerprints: a key staged meanwhile is
      // indexed by `update` once committed (the scan has passed it, or reads it when there).
      const page = store.scanIndexEntries(after, BUILD_PAGE)
      this.fillPage(page.keys, page.records)
      this.changes++
      if (page.keys.length < BUILD_PAGE) {
        this.building = undefined
        return
      }
      this.building = { after: page.last! }
      await pause()
    }
  }

  /** Indexes and files a page of Store.scanIndexEntries: keys the index does not hold yet, nothing hashed. */
  private fillPage(keys: readonly string[], records: Uint8Array): void {
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength)
    // Room first, so that no allocation below replaces the arrays (nor the view of positions).
    const needed = this.slots.capacity + keys.length
    if (needed > this.positions.length) this.grow(Math.max(1024, needed * 2))
    const halves = LITTLE_ENDIAN ? new Uint32Array(this.positions.buffer, this.positions.byteOffset, this.positions.length * 2) : undefined
    const tokens = LITTLE_ENDIAN ? new Uint32Array(this.current!.tokens.buffer, this.current!.tokens.byteOffset, this.current!.tokens.length * 2) : undefined
    for (let i = 0; i < keys.length; i++) {
      const slot = this.allocate(keys[i]!)
      const at = i * INDEX_RECORD_BYTES
      this.copyRecordWords(slot, view, at)
      const hi = view.getUint32(at + DIGEST_BYTES)
      const lo = view.getUint32(at + DIGEST_BYTES + 4)
      if (tokens === undefined || halves === undefined) {
        this.positions[slot] = view.getBigUint64(at + DIGEST_BYTES)
        this.file(slot, arcOf(this.current!, this.positions[slot]!))
      } else {
        // The position's halves written in place: a BigInt per key costs more than the rest.
        halves[slot * 2] = lo
        halves[slot * 2 + 1] = hi
        this.file(slot, arcOfHalves(tokens, hi, lo))
      }
    }
  }

  /**
   * Remembers the keys changed from now on, for `load`: a snapshot describes the store as
   * it was when opened, so every change since must be applied on top. `build` forgets them
   * (its scan reads the store as it is).
   */
  expectSnapshot(): void {
    if (this.store === undefined) this.deferred ??= new Set()
  }

  /**
   * Indexes an unindexed store from a snapshot of it (index-snapshot.ts), a page at a time
   * like `build`, without reading the store or hashing. The caller vouches that the
   * snapshot is exactly the store's keys and digests; changes committed while it loads are
   * applied once it is whole. Resolves when done, or early when `stopped()` turns true.
   * On bad snapshot bytes it throws IndexSnapshotError and the index is unindexed again.
   */
  async load(ring: Ring, store: Store, snapshot: IndexSnapshotReader, pause: () => Promise<void>, stopped: () => boolean, pageKeys = LOAD_PAGE): Promise<void> {
    if (this.store !== undefined) throw new Error('ArcIndex.load: the index was built already')
    this.store = store
    const deferred = this.deferred ?? new Set<string>()
    this.deferred = deferred
    const { count } = snapshot
    this.grow(Math.max(1024, count))
    this.slots.reserve(count)
    this.refile(ring)
    try {
      await pause()
      // Pages start small and double: until the code is compiled, a key costs several times more.
      for (let from = 0, page = Math.min(pageKeys, FIRST_LOAD_PAGE); from < count && !stopped(); from += page, page = Math.min(pageKeys, page * 2)) {
        const to = Math.min(count, from + page)
        // A fresh index numbers the keys 0, 1, … in the order given.
        if (this.slots.appendAscending(snapshot.keys(from, to)) !== from) throw new Error('ArcIndex.load: slots out of step')
        this.positions.set(snapshot.positions.subarray(from, to), from)
        this.digests.set(snapshot.digests.subarray(from * 4, to * 4), from * 4)
        this.prints.set(snapshot.prints.subarray(from * 4, to * 4), from * 4)
        this.fileFresh(from, to)
        if (to < count) await pause()
      }
    } catch (err) {
      this.clear()
      this.store = undefined
      this.deferred = undefined
      throw err
    }
    if (this.deferred !== deferred || this.slots.size < count) return
    this.deferred = undefined
    for (const key of deferred) this.update(key)
  }

  /** What `load` needs to rebuild this index, in key order; undefined until the index is whole. */
  snapshot(): IndexSnapshot | undefined {
    if (this.store === undefined || !this.ready) return undefined
    const order = this.slots.slotsInKeyOrder()
    const positions = new BigUint64Array(order.length)
    const digests = new Uint32Array(order.length * 4)
    const prints = new Uint32Array(order.length * 4)
    const keys = new Array<string>(order.length)
    for (let i = 0; i < order.length; i++) {
      const slot = order[i]!
      keys[i] = this.slots.keyOf(slot)!
      positions[i] = this.positions[slot]!
      for (let w = 0; w < 4; w++) {
        digests[i * 4 + w] = this.digests[slot * 4 + w]!
        prints[i * 4 + w] = this.prints[slot * 4 + w]!
      }
    }
    return { keys, positions, digests, prints }
  }

  /**
   * Re-files the indexed keys under another ring's arcs, without reading the store. A
   * ring with the same tokens (a membership change that moved nothing) costs O(tokens).
   */
  setRing(ring: Ring): void {
    const previous = this.current
    this.current = ring
    if (previous === undefined || !sameTokens(previous, ring)) this.refile(ring)
  }

  private refile(ring: Ring): void {
    this.current = ring
    this.version++
    const arcs = ring.tokens.length
    this.words = new Uint32Array(arcs * 4)
    this.arcSlots = new Array<number[] | undefined>(arcs)
    this.sorted = new Array<Int32Array | undefined>(arcs)
    // Arc numbers now mean other ranges: what an exchange saw before says nothing about them.
    this.changes++
    this.arcChanges = new Float64Array(arcs).fill(this.changes)
    for (const slot of this.slots.slots()) this.file(slot, arcOf(ring, this.positions[slot]!))
  }

  /**
   * Re-reads one key from the store after a committed change. Before the first rebuild
   * it does nothing: the rebuild will scan the key anyway.
   */
  update(key: string): void {
    if (this.deferred !== undefined) {
      this.deferred.add(key)
      return
    }
    const { store, current, building } = this
    if (store === undefined || current === undefined) return
    // A key the building scan has yet to reach: it will read the key then.
    if (building !== undefined && (building.after === undefined || compareKeys(key, building.after) > 0)) return
    // The digest (and the index entry a committed row keeps) only: reading a big set's state
    // would join all its pages. A key that shows nothing (a tombstone) is left out, as if
    // missing: replicas that both show nothing of a key agree, whatever each remembers of its
    // deletes, so tombstones cost anti-entropy nothing and can be purged; a peer that still
    // shows the key lists it, and the exchange sends it our tombstone (SyncEndpoint).
    const entry = store.getDigestEntry(key)
    const digest = entry === undefined || entry.deleted === true ? undefined : entry.digest
    const slot = this.slots.get(key)
    if (slot !== undefined && digest !== undefined && this.sameDigest(slot, digest)) return
    if (slot !== undefined || digest !== undefined) this.changes++
    const arc = slot === undefined ? -1 : this.arcOfSlot[slot]!
    if (slot !== undefined && digest !== undefined && arc >= 0) {
      // A new state of an indexed key: same position, same place in its arc's order, so
      // only the aggregate changes (the arc's sorted order stays valid).
      this.arcChanges[arc] = this.changes
      this.xor(slot, arc)
      this.fill(key, digest, slot, entry?.indexEntry)
      this.xor(slot, arc)
      return
    }
    if (slot !== undefined) this.unfile(slot)
    // A missing key: a staged write whose commit failed was dropped.
    if (digest === undefined) {
      if (slot !== undefined) this.release(key, slot)
      return
    }
    const filled = this.fill(key, digest, slot, entry?.indexEntry)
    this.file(filled, arcOf(current, this.positions[filled]!))
  }

  /** The 16-byte aggregate of arc `arc` (all zero for an empty arc). */
  arcHash(arc: number): Uint8Array {
    return wordsAt(this.words, arc)
  }

  /** XORs arc `arc`'s aggregate into `acc` (four words): aggregates of arc groups compose. */
  xorArcInto(arc: number, acc: Uint32Array): void {
    const base = arc * 4
    const { words } = this
    acc[0] = (acc[0]! ^ words[base]!) >>> 0
    acc[1] = (acc[1]! ^ words[base + 1]!) >>> 0
    acc[2] = (acc[2]! ^ words[base + 2]!) >>> 0
    acc[3] = (acc[3]! ^ words[base + 3]!) >>> 0
  }

  /**
   * `compute()` over the arcs `arcs` with `n`, reused until an aggregate or the ring
   * changes. A plan with n = members gives every peer the same arcs array, so one value
   * then serves every exchange (merkle.ts rootOf).
   */
  memoize(arcs: Uint32Array, n: number, compute: () => Uint8Array): Uint8Array {
    const memo = this.memos.get(arcs)
    if (memo !== undefined && memo.version === this.version && memo.n === n) return memo.value.slice()
    const value = compute()
    this.memos.set(arcs, { version: this.version, n, value: value.slice() })
    return value
  }

  /** Keys indexed in arc `arc`. */
  keyCount(arc: number): number {
    return this.arcSlots[arc]?.length ?? 0
  }

  /** The arc a key belongs to (-1 on an empty ring), using the cached position when known. */
  arcOfKey(key: string): number {
    const slot = this.slots.get(key)
    if (slot !== undefined) return this.arcOfSlot[slot]!
    return this.current === undefined ? -1 : arcOf(this.current, keyPosition(key))
  }

  get(key: string): IndexedKey | undefined {
    const slot = this.slots.get(key)
    return slot === undefined ? undefined : this.indexedKey(slot)
  }

  /** The keys of arc `arc` in clockwise order (by position from the arc's start, then key). */
  keysIn(arc: number): IndexedKey[] {
    return Array.from(this.sortedIn(arc), (slot) => this.indexedKey(slot))
  }

  /** The `i`th key of `keysIn(arc)`. */
  keyIn(arc: number, i: number): IndexedKey {
    return this.indexedKey(this.sortedIn(arc)[i]!)
  }

  /** The ring position of the `i`th key of `keysIn(arc)`, without building the key's record. */
  positionIn(arc: number, i: number): bigint {
    return this.positions[this.sortedIn(arc)[i]!]!
  }

  /** XORs the fingerprints of the keys at [from, to) of `keysIn(arc)` into `acc` (four words). */
  xorKeysInto(arc: number, from: number, to: number, acc: Uint32Array): void {
    const order = this.sortedIn(arc)
    const { prints } = this
    let w0 = acc[0]!
    let w1 = acc[1]!
    let w2 = acc[2]!
    let w3 = acc[3]!
    for (let i = from; i < to; i++) {
      const base = order[i]! * 4
      w0 ^= prints[base]!
      w1 ^= prints[base + 1]!
      w2 ^= prints[base + 2]!
      w3 ^= prints[base + 3]!
    }
    acc[0] = w0 >>> 0
    acc[1] = w1 >>> 0
    acc[2] = w2 >>> 0
    acc[3] = w3 >>> 0
  }

  /** Arc `arc`'s slots clockwise; each BigInt offset computed once (a subtraction allocates), not per comparison. */
  private sortedIn(arc: number): Int32Array {
    const cached = this.sorted[arc]
    if (cached !== undefined) return cached
    const slots = this.arcSlots[arc]
    if (slots === undefined || slots.length === 0 || this.current === undefined) return NO_SLOTS
    const start = arcStart(this.current, arc)
    const offsets = slots.map((slot) => clockwiseOffset(start, this.positions[slot]!))
    const order = slots.map((_, i) => i)
    order.sort((i, j) => {
      const oi = offsets[i]!
      const oj = offsets[j]!
      return oi < oj ? -1 : oi > oj ? 1 : compareKeys(this.slots.keyOf(slots[i]!)!, this.slots.keyOf(slots[j]!)!)
    })
    const sorted = Int32Array.from(order, (i) => slots[i]!)
    this.sorted[arc] = sorted
    return sorted
  }

  private indexedKey(slot: number): IndexedKey {
    return { key: this.slots.keyOf(slot)!, position: this.positions[slot]!, digest: wordsAt(this.digests, slot) }
  }

  private sameDigestAt(slot: number, records: DataView, at: number): boolean {
    const base = slot * 4
    const d = this.digests
    return d[base] === records.getUint32(at) && d[base + 1] === records.getUint32(at + 4) && d[base + 2] === records.getUint32(at + 8) && d[base + 3] === records.getUint32(at + 12)
  }

  /** Writes a key's record of Store.scanIndexEntries into `slot` (a new one when undefined). Not filed. */
  private fillRecord(key: string, slot: number | undefined, records: DataView, at: number): number {
    const filled = slot ?? this.allocate(key)
    this.copyRecordWords(filled, records, at)
    this.positions[filled] = records.getBigUint64(at + DIGEST_BYTES)
    return filled
  }

  /** The digest and fingerprint of the record at `at` into `slot` (the position is the caller's). */
  private copyRecordWords(slot: number, records: DataView, at: number): void {
    for (let w = 0; w < 4; w++) {
      this.digests[slot * 4 + w] = records.getUint32(at + w * 4)
      this.prints[slot * 4 + w] = records.getUint32(at + DIGEST_BYTES + POSITION_BYTES + w * 4)
    }
  }

  private sameDigest(slot: number, digest: Uint8Array): boolean {
    const base = slot * 4
    const d = this.digests
    return d[base] === word(digest, 0) && d[base + 1] === word(digest, 4) && d[base + 2] === word(digest, 8) && d[base + 3] === word(digest, 12)
  }

  /** Writes a key's data into `slot` (a new one when undefined): position, digest, fingerprint. Not filed. */
  private fill(key: string, digest: Uint8Array, slot: number | undefined, entry?: Uint8Array): number {
    const at = slot ?? this.allocate(key)
    // The store's entry when it has one (StoredDigest.indexEntry): no hash.
    const stored = entry?.length === INDEX_ENTRY_BYTES ? entry : undefined
    if (slot === undefined) this.positions[at] = stored === undefined ? keyPosition(key) : new DataView(stored.buffer, stored.byteOffset, POSITION_BYTES).getBigUint64(0)
    const fp = stored === undefined ? keyFingerprint(key, digest) : stored.subarray(POSITION_BYTES)
    for (let w = 0; w < 4; w++) {
      this.digests[at * 4 + w] = word(digest, w * 4)
      this.prints[at * 4 + w] = word(fp, w * 4)
    }
    return at
  }

  private allocate(key: string): number {
    const slot = this.slots.add(key)
    if (slot >= this.positions.length) this.grow(Math.max(1024, slot * 2))
    this.arcOfSlot[slot] = -1
    return slot
  }

  /** Frees an unfiled slot. */
  private release(key: string, slot: number): void {
    this.slots.delete(key, slot)
  }

  private grow(capacity: number): void {
    const positions = new BigUint64Array(capacity)
    positions.set(this.positions)
    this.positions = positions
    const digests = new Uint32Array(capacity * 4)
    digests.set(this.digests)
    this.digests = digests
    const prints = new Uint32Array(capacity * 4)
    prints.set(this.prints)
    this.prints = prints
    const arcs = new Int32Array(capacity)
    arcs.set(this.arcOfSlot)
    this.arcOfSlot = arcs
    const places = new Int32Array(capacity)
    places.set(this.placeOfSlot)
    this.placeOfSlot = places
  }

  private clear(): void {
    this.slots.clear()
    this.positions = new BigUint64Array(0)
    this.digests = new Uint32Array(0)
    this.prints = new Uint32Array(0)
    this.arcOfSlot = new Int32Array(0)
    this.placeOfSlot = new Int32Array(0)
  }

  /** Adds a slot to arc `arc`'s list and aggregate. */
  private file(slot: number, arc: number): void {
    this.arcOfSlot[slot] = arc
    if (arc < 0) return
    this.arcChanges[arc] = this.changes
    this.sorted[arc] = undefined
    this.xor(slot, arc)
    let list = this.arcSlots[arc]
    if (list === undefined) {
      list = []
      this.arcSlots[arc] = list
    }
    this.placeOfSlot[slot] = list.length
    list.push(slot)
  }

  /** Files slots [from, to) of an index being loaded, as `build` files a page. */
  private fileFresh(from: number, to: number): void {
    const { positions } = this
    const ring = this.current!
    // Positions and tokens compared as 32-bit halves: reading a BigUint64Array element
    // makes a BigInt, and a million of them cost more than the search.
    const halves = LITTLE_ENDIAN ? new Uint32Array(positions.buffer, positions.byteOffset, positions.length * 2) : undefined
    const tokens = LITTLE_ENDIAN ? new Uint32Array(ring.tokens.buffer, ring.tokens.byteOffset, ring.tokens.length * 2) : undefined
    for (let slot = from; slot < to; slot++) {
      this.file(slot, halves === undefined ? arcOf(ring, positions[slot]!) : arcOfHalves(tokens!, halves[slot * 2 + 1]!, halves[slot * 2]!))
    }
    this.changes++
  }

  /** Takes a slot out of its arc's list and aggregate (the list's last slot takes its place). */
  private unfile(slot: number): void {
    const arc = this.arcOfSlot[slot]!
    this.arcOfSlot[slot] = -1
    if (arc < 0) return
    this.arcChanges[arc] = this.changes
    this.sorted[arc] = undefined
    this.xor(slot, arc)
    const list = this.arcSlots[arc]!
    const last = list.pop()!
    if (last !== slot) {
      const place = this.placeOfSlot[slot]!
      list[place] = last
      this.placeOfSlot[last] = place
    }
  }

  private xor(slot: number, arc: number): void {
    this.version++
    const base = arc * 4
    const from = slot * 4
    const { words, prints } = this
    words[base] = (words[base]! ^ prints[from]!) >>> 0
    words[base + 1] = (words[base + 1]! ^ prints[from + 1]!) >>> 0
    words[base + 2] = (words[base + 2]! ^ prints[from + 2]!) >>> 0
    words[base + 3] = (words[base + 3]! ^ prints[from + 3]!) >>> 0
  }
}

const NO_SLOTS = new Int32Array(0)

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * arcOf for a position given as its high and low 32 bits, against the ring's tokens viewed
 * as little-endian 32-bit halves (low, high per token): the first token ≥ the position,
 * wrapping to 0; -1 without tokens.
 */
function arcOfHalves(tokens: Uint32Array, hi: number, lo: number): number {
  const count = tokens.length >>> 1
  if (count === 0) return -1
  let low = 0
  let high = count
  while (low < high) {
    const mid = (low + high) >>> 1
    const th = tokens[mid * 2 + 1]!
    if (th < hi || (th === hi && tokens[mid * 2]! < lo)) low = mid + 1
    else high = mid
  }
  return low === count ? 0 : low
}

/** The big-endian 32-bit word at `offset` of `bytes`. */
function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
}

/** Four words at `index` (× 4) of `words` as 16 big-endian bytes. */
function wordsAt(words: Uint32Array, index: number): Uint8Array {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  for (let w = 0; w < 4; w++) view.setUint32(w * 4, words[index * 4 + w] ?? 0)
  return out
}



function sameTokens(a: Ring, b: Ring): boolean {
  if (a === b) return true
  if (a.tokens.length !== b.tokens.length) return false
  for (let i = 0; i < a.tokens.length; i++) if (a.tokens[i] !== b.tokens[i]) return false
  return true
}
