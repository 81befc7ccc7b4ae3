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
// Fingerprint = SHA-256(domain ‖ digest ‖ key) truncated to 16 bytes. A cheaper
// `digest XOR H(key)` would be linear: two keys of one arc holding equal states (every
// counter incremented once by the same node) would cancel their digests, and both could
// change in step without changing the aggregate. Hashing key and digest together keeps
// fingerprints independent, so an aggregate differs whenever its key set or any digest
// does, except with probability 2^-128.
import { createHash } from 'node:crypto'
import { equals } from 'uint8arrays/equals'
import { compareKeys } from '../../store/key-order.js'
import type { Store } from '../../store/store.js'
import type { KeyDigest } from '../../wire/messages.js'
import { keyPosition, RING_SIZE } from '../ring/hash.js'
import { tokenIndexAt, type Ring } from '../ring/ring.js'

export const FINGERPRINT_BYTES = 16

const FINGERPRINT_DOMAIN = Buffer.from('rumordb:key-fingerprint:v1\0', 'utf8')

/** Keys read per store scan page while rebuilding. */
const REBUILD_PAGE = 4096

/** The 16-byte fingerprint of a key holding a state with this digest. */
export function keyFingerprint(key: string, digest: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(FINGERPRINT_DOMAIN).update(digest).update(key, 'utf8').digest()
  return new Uint8Array(h.buffer, h.byteOffset, FINGERPRINT_BYTES).slice()
}

/** A key as the index knows it. */
export interface IndexedKey {
  readonly key: string
  /** Ring position (`keyPosition(key)`). */
  readonly position: bigint
  /** The store's 16-byte state digest. Shared: never mutate. */
  readonly digest: Uint8Array
}

interface Entry extends IndexedKey {
  arc: number
  digest: Uint8Array
  // The fingerprint as four big-endian words, XORed into the arc's aggregate.
  f0: number
  f1: number
  f2: number
  f3: number
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

export class ArcIndex {
  private store: Store | undefined
  private current: Ring | undefined
  private readonly entries = new Map<string, Entry>()
  /** Four words per arc: the XOR of the fingerprints of its keys. */
  private words = new Uint32Array(0)
  /** Keys per arc; undefined for arcs that never held one. */
  private arcKeys: (Set<string> | undefined)[] = []
  /** While `build` runs: the last key its scan has read (undefined before the first page). */
  private building: { readonly after: string | undefined } | undefined
  /** Per arc: its entries in clockwise order, built on first use after the arc last changed. */
  private sorted: (Entry[] | undefined)[] = []
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
    return this.entries.size
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

  /** False while `build` is still reading the store: aggregates cover only part of it. */
  get ready(): boolean {
    return this.building === undefined
  }

  /**
   * Scans the store and indexes every key on `ring`, in one go. Positions and fingerprints
   * of keys whose digest is unchanged are reused, so a rebuild after a ring change hashes
   * nothing.
   */
  rebuild(ring: Ring, store: Store): void {
    const previous = this.store === store ? new Map(this.entries) : new Map<string, Entry>()
    this.store = store
    this.entries.clear()
    let after: string | undefined
    for (;;) {
      const page = store.scanDigests(after === undefined ? { limit: REBUILD_PAGE } : { after, limit: REBUILD_PAGE })
      for (const stored of page) {
        const old = previous.get(stored.key)
        const entry = old !== undefined && equals(old.digest, stored.digest)
          ? old
          : makeEntry(stored.key, old?.position ?? keyPosition(stored.key), stored.digest)
        this.entries.set(stored.key, entry)
      }
      if (page.length < REBUILD_PAGE) break
      after = page[page.length - 1]!.key
    }
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
    this.building = { after: undefined }
    this.refile(ring)
    while (!stopped()) {
      const { after } = this.building
      const page = store.scanDigests(after === undefined ? { limit: REBUILD_PAGE } : { after, limit: REBUILD_PAGE })
      const current = this.current!
      for (const stored of page) {
        const entry = makeEntry(stored.key, keyPosition(stored.key), stored.digest)
        entry.arc = arcOf(current, entry.position)
        this.entries.set(stored.key, entry)
        this.add(entry)
      }
      this.changes++
      if (page.length < REBUILD_PAGE) {
        this.building = undefined
        return
      }
      this.building = { after: page[page.length - 1]!.key }
      await pause()
    }
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
    this.arcKeys = new Array<Set<string> | undefined>(arcs)
    this.sorted = new Array<Entry[] | undefined>(arcs)
    // Arc numbers now mean other ranges: what an exchange saw before says nothing about them.
    this.changes++
    this.arcChanges = new Float64Array(arcs).fill(this.changes)
    for (const entry of this.entries.values()) {
      entry.arc = arcOf(ring, entry.position)
      this.add(entry)
    }
  }

  /**
   * Re-reads one key from the store after a committed change. Before the first rebuild
   * it does nothing: the rebuild will scan the key anyway.
   */
  update(key: string): void {
    const { store, current, building } = this
    if (store === undefined || current === undefined) return
    // A key the building scan has yet to reach: it will read the key then.
    if (building !== undefined && (building.after === undefined || compareKeys(key, building.after) > 0)) return
    const stored = store.getKey(key)
    const old = this.entries.get(key)
    if (old !== undefined && stored !== undefined && equals(old.digest, stored.digest)) return
    if (old !== undefined || stored !== undefined) this.changes++
    if (old !== undefined) {
      this.remove(old)
      this.entries.delete(key)
    }
    // A missing key: a staged write whose commit failed was dropped.
    if (stored === undefined) return
    const position = old?.position ?? keyPosition(key)
    const entry = makeEntry(key, position, stored.digest)
    entry.arc = old?.arc ?? arcOf(current, position)
    this.entries.set(key, entry)
    this.add(entry)
  }

  /** The 16-byte aggregate of arc `arc` (all zero for an empty arc). */
  arcHash(arc: number): Uint8Array {
    const out = new Uint8Array(FINGERPRINT_BYTES)
    const view = new DataView(out.buffer)
    for (let w = 0; w < 4; w++) view.setUint32(w * 4, this.words[arc * 4 + w] ?? 0)
    return out
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
    return this.arcKeys[arc]?.size ?? 0
  }

  /** The arc whose end token is `end`, if the current ring has one. */
  arcAt(end: bigint): number | undefined {
    if (this.current === undefined) return undefined
    const arc = arcOf(this.current, end)
    return arc >= 0 && this.current.tokens[arc] === end ? arc : undefined
  }

  /** The arc a key belongs to (-1 on an empty ring), using the cached position when known. */
  arcOfKey(key: string): number {
    const entry = this.entries.get(key)
    if (entry !== undefined) return entry.arc
    return this.current === undefined ? -1 : arcOf(this.current, keyPosition(key))
  }

  get(key: string): IndexedKey | undefined {
    return this.entries.get(key)
  }

  /**
   * The keys of arc `arc` in clockwise order (by position from the arc's start, then key).
   * Sorted once per change of the arc: callers must not mutate the array.
   */
  keysIn(arc: number): readonly IndexedKey[] {
    return this.sortedIn(arc)
  }

  /** XORs the fingerprints of the keys at [from, to) of `keysIn(arc)` into `acc` (four words). */
  xorKeysInto(arc: number, from: number, to: number, acc: Uint32Array): void {
    const entries = this.sortedIn(arc)
    let w0 = acc[0]!
    let w1 = acc[1]!
    let w2 = acc[2]!
    let w3 = acc[3]!
    for (let i = from; i < to; i++) {
      const e = entries[i]!
      w0 ^= e.f0
      w1 ^= e.f1
      w2 ^= e.f2
      w3 ^= e.f3
    }
    acc[0] = w0 >>> 0
    acc[1] = w1 >>> 0
    acc[2] = w2 >>> 0
    acc[3] = w3 >>> 0
  }

  private sortedIn(arc: number): readonly Entry[] {
    const cached = this.sorted[arc]
    if (cached !== undefined) return cached
    const keys = this.arcKeys[arc]
    if (keys === undefined || keys.size === 0 || this.current === undefined) return []
    const start = arcStart(this.current, arc)
    const list = [...keys].map((k) => this.entries.get(k)!)
    const sorted = sortClockwise(start, list)
    this.sorted[arc] = sorted
    return sorted
  }

  /** The (key, digest) entries of the arc ending at token `arcEnd`; [] when no arc ends there. */
  entriesIn(arcEnd: bigint): KeyDigest[] {
    const arc = this.arcAt(arcEnd)
    return arc === undefined ? [] : this.keysIn(arc).map(({ key, digest }) => ({ key, digest }))
  }

  private add(entry: Entry): void {
    if (entry.arc < 0) return
    this.arcChanges[entry.arc] = this.changes
    this.sorted[entry.arc] = undefined
    this.xor(entry)
    let keys = this.arcKeys[entry.arc]
    if (keys === undefined) {
      keys = new Set()
      this.arcKeys[entry.arc] = keys
    }
    keys.add(entry.key)
  }

  private remove(entry: Entry): void {
    if (entry.arc < 0) return
    this.arcChanges[entry.arc] = this.changes
    this.sorted[entry.arc] = undefined
    this.xor(entry)
    this.arcKeys[entry.arc]?.delete(entry.key)
  }

  private xor(entry: Entry): void {
    this.version++
    const base = entry.arc * 4
    const { words } = this
    words[base] = (words[base]! ^ entry.f0) >>> 0
    words[base + 1] = (words[base + 1]! ^ entry.f1) >>> 0
    words[base + 2] = (words[base + 2]! ^ entry.f2) >>> 0
    words[base + 3] = (words[base + 3]! ^ entry.f3) >>> 0
  }
}

function makeEntry(key: string, position: bigint, digest: Uint8Array): Entry {
  const fp = keyFingerprint(key, digest)
  const view = new DataView(fp.buffer, fp.byteOffset, fp.byteLength)
  return {
    key,
    position,
    digest: digest.slice(),
    arc: -1,
    f0: view.getUint32(0),
    f1: view.getUint32(4),
    f2: view.getUint32(8),
    f3: view.getUint32(12),
  }
}

/**
 * `keys` clockwise from `start`, then by key: each offset computed once (a BigInt
 * subtraction allocates), not twice per comparison.
 */
export function sortClockwise<K extends IndexedKey>(start: bigint, keys: readonly K[]): K[] {
  const offsets = keys.map((k) => clockwiseOffset(start, k.position))
  const order = keys.map((_, i) => i)
  order.sort((i, j) => {
    const oi = offsets[i]!
    const oj = offsets[j]!
    return oi < oj ? -1 : oi > oj ? 1 : compareKeys(keys[i]!.key, keys[j]!.key)
  })
  return order.map((i) => keys[i]!)
}


function sameTokens(a: Ring, b: Ring): boolean {
  if (a === b) return true
  if (a.tokens.length !== b.tokens.length) return false
  for (let i = 0; i < a.tokens.length; i++) if (a.tokens[i] !== b.tokens[i]) return false
  return true
}
