// An OR-set's elements in chunks, so that a write to a big set copies one chunk and the list
// of chunks, not every element (copying a 10^6-element array costs ~30 ms). A chunk ends
// after an element that ends pages (`endsPage`: about one in 256, decided by the element
// alone), so equal sets cut into equal chunks, and each chunk is one page of the set's
// encoding (orset-pages.ts): a write re-encodes only the chunks it replaced.
//
// A state made here keeps its chunks on the side (`chunksOf`) and builds its `entries`
// array only if someone reads it (values, a linear merge, equality of unequal states).
import type { Dot } from './causal-context.js'
import type { CausalContext } from './causal-context.js'
import type { JsonValue } from './types.js'

/** Structural twins of ORSetEntry / ORSetState (orset.ts imports this module). */
export interface Entry {
  readonly key: string
  readonly value: JsonValue
  readonly dots: readonly Dot[]
}
export interface State {
  readonly entries: readonly Entry[]
  readonly context: CausalContext
}

/** Elements in key order, at least one; all but a state's last chunk end with an element that ends pages. */
export type Chunk = readonly Entry[]

/** An element of at least this many UTF-16 code units always ends its page. */
const LARGE_ELEMENT_CHARS = 2048
/** A page ends after an element whose hash has these bits clear: one in 256 on average. */
const PAGE_MASK = 0xff

/** Whether the element (its canonical JSON) ends its chunk and page; depends on the element alone. */
export function endsPage(key: string): boolean {
  if (key.length >= LARGE_ELEMENT_CHARS) return true
  // FNV-1a over the code units, then murmur3's finalizer so the low bits mix well.
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) & PAGE_MASK) === 0
}

interface Chunked {
  readonly chunks: readonly Chunk[]
  readonly size: number
}

const chunked = new WeakMap<State, Chunked>()

/** entries[from, to) cut after every element that ends pages, appended to `out`. */
export function cutChunks(entries: readonly Entry[], from: number, to: number, out: Chunk[] = []): Chunk[] {
  let start = from
  for (let i = from; i < to; i++) {
    if (!endsPage((entries[i] as Entry).key)) continue
    out.push(entries.slice(start, i + 1))
    start = i + 1
  }
  if (start < to) out.push(entries.slice(start, to))
  return out
}

/** A state whose entries are the chunks' entries in order; `entries` is built on first read. */
export function chunkedState(chunks: readonly Chunk[], context: CausalContext): State {
  let size = 0
  for (const c of chunks) size += c.length
  let entries: readonly Entry[] | undefined
  const state: State = {
    get entries() {
      entries ??= chunks.length === 1 ? (chunks[0] as Chunk) : chunks.flat()
      return entries
    },
    context,
  }
  chunked.set(state, { chunks, size })
  return state
}

/** The state's chunks: kept by chunkedState, else cut from its entries once. */
export function chunksOf(s: State): readonly Chunk[] {
  let c = chunked.get(s)
  if (c === undefined) {
    c = { chunks: cutChunks(s.entries, 0, s.entries.length), size: s.entries.length }
    chunked.set(s, c)
  }
  return c.chunks
}

/** How many elements the state holds, without building its entries. */
export function sizeOf(s: State): number {
  return chunked.get(s)?.size ?? s.entries.length
}

/** Index of the entry with `key` in sorted `entries`; when missing, -(where it would go) - 1. */
export function indexOfKey(entries: readonly Entry[], key: string): number {
  let lo = 0
  let hi = entries.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const k = (entries[mid] as Entry).key
    if (k === key) return mid
    if (k < key) lo = mid + 1
    else hi = mid - 1
  }
  return -lo - 1
}

/** Index of the chunk that holds (or would hold) the element `key`. */
function chunkIndexOf(chunks: readonly Chunk[], key: string): number {
  let lo = 0
  let hi = chunks.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (((chunks[mid] as Chunk)[0] as Entry).key <= key) lo = mid + 1
    else hi = mid
  }
  return Math.max(0, lo - 1)
}

/** The element's entry, found without building a chunked state's entries. */
export function findEntry(s: State, key: string): Entry | undefined {
  const c = chunked.get(s)
  if (c === undefined) return s.entries[indexOfKey(s.entries, key)]
  if (c.chunks.length === 0) return undefined
  const chunk = c.chunks[chunkIndexOf(c.chunks, key)] as Chunk
  return chunk[indexOfKey(chunk, key)]
}

/** Up to `limit` entries after the element `key` (from the first when undefined), in order: one chunk's search, then the entries read. */
export function entriesAfter(s: State, key: string | undefined, limit: number): Entry[] {
  const chunks = chunksOf(s)
  let c = 0
  let at = 0
  if (key !== undefined && chunks.length > 0) {
    c = chunkIndexOf(chunks, key)
    const found = indexOfKey(chunks[c] as Chunk, key)
    at = found >= 0 ? found + 1 : -found - 1
  }
  const out: Entry[] = []
  for (; c < chunks.length && out.length < limit; c++, at = 0) {
    const chunk = chunks[c] as Chunk
    for (; at < chunk.length && out.length < limit; at++) out.push(chunk[at] as Entry)
  }
  return out
}

/** The chunk a chunk was patched from (patchChunks): most of its entries are that chunk's own entry objects. */
const patched = new WeakMap<Chunk, Chunk>()

/** The chunk `chunk` was cut from by patchChunks, whose unchanged entries it shares; undefined for others. */
export function patchedFrom(chunk: Chunk): Chunk | undefined {
  return patched.get(chunk)
}

/** A new entry for an element, or undefined to remove it. */
export interface EntryChange {
  readonly key: string
  readonly entry: Entry | undefined
}

/** `entries` (a copy the caller owns) with one change applied. */
function applyChange(entries: Entry[], change: EntryChange): void {
  const at = indexOfKey(entries, change.key)
  if (at >= 0) {
    if (change.entry === undefined) entries.splice(at, 1)
    else entries[at] = change.entry
  } else if (change.entry !== undefined) entries.splice(-at - 1, 0, change.entry)
}

/**
 * `chunks` with the changes applied (`changes` in ascending key order, one per key). Only
 * the chunks holding changed elements are copied and cut again; the others are the same
 * objects. When the element that ended a chunk goes, the chunk runs on into the next one,
 * which is taken in too, so the cut is the one `cutChunks` would make from scratch.
 *
 * Which entries of the copied chunks end pages is known without reading their keys (in a
 * chunk only the last can, and does unless the chunk is the state's last): only the changed
 * entries are hashed. Reading every key of a chunk on each write cost more than the rest of
 * the write, since those strings are rarely in the CPU's cache.
 */
export function patchChunks(chunks: readonly Chunk[], changes: readonly EntryChange[]): Chunk[] {
  const out: Chunk[] = []
  let next = 0 // the first chunk not yet copied or replaced
  let c = 0 // the first change not yet applied
  while (c < changes.length) {
    const p = Math.max(next, chunkIndexOf(chunks, (changes[c] as EntryChange).key))
    for (let i = next; i < p; i++) out.push(chunks[i] as Chunk)
    const region: Entry[] = p < chunks.length ? (chunks[p] as Chunk).slice() : []
    // Entries whose endsPage is not implied by where they stood: the changed ones, and
    // the last entry of the state's last chunk.
    const unknown: Entry[] = []
    // The last entries of copied chunks that are not the state's last: they end pages.
    const ending: Entry[] = []
    const noteLast = (q: number): void => {
      const chunk = chunks[q] as Chunk
      ;(q + 1 < chunks.length ? ending : unknown).push(chunk[chunk.length - 1] as Entry)
    }
    if (p < chunks.length) noteLast(p)
    let q = p
    for (;;) {
      const upper = q + 1 < chunks.length ? ((chunks[q + 1] as Chunk)[0] as Entry).key : undefined
      while (c < changes.length && (upper === undefined || (changes[c] as EntryChange).key < upper)) {
        const change = changes[c++] as EntryChange
        applyChange(region, change)
        if (change.entry !== undefined) unknown.push(change.entry)
      }
      const last = region[region.length - 1]
      if (upper === undefined || last === undefined || ends(last, unknown, ending)) break
      q++
      region.push(...(chunks[q] as Chunk))
      noteLast(q)
    }
    let start = 0
    const from = chunks[p]
    const cut = (chunk: Chunk): void => {
      if (from !== undefined) patched.set(chunk, from)
      out.push(chunk)
    }
    for (const i of cutsOf(region, unknown, ending)) {
      cut(region.slice(start, i + 1))
      start = i + 1
    }
    if (start < region.length) cut(region.slice(start))
    next = q + 1
  }
  for (let i = next; i < chunks.length; i++) out.push(chunks[i] as Chunk)
  return out
}

/**
 * Where a region ends pages (patchChunks): the indices, ascending, of its entries that end
 * pages. Only the few entries of `ending` and `unknown` can, so each is looked up by key
 * (and kept only if it is still the region's entry) instead of every entry of the region
 * being compared with both lists.
 */
function cutsOf(region: readonly Entry[], unknown: readonly Entry[], ending: readonly Entry[]): number[] {
  const cuts: number[] = []
  const at = (entry: Entry): void => {
    const i = indexOfKey(region, entry.key)
    if (i >= 0 && region[i] === entry && !cuts.includes(i)) cuts.push(i)
  }
  for (const entry of ending) at(entry)
  for (const entry of unknown) if (endsPage(entry.key)) at(entry)
  return cuts.sort((x, y) => x - y)
}

/** Whether an entry of a region being cut ends pages, reading its key only when that is not known (patchChunks). */
function ends(entry: Entry, unknown: readonly Entry[], ending: readonly Entry[]): boolean {
  if (ending.includes(entry)) return true
  return unknown.includes(entry) && endsPage(entry.key)
}
