// Format version 2 of OR-set states: the elements cut into pages, so a store can keep a big
// set as one row per page and a write rewrites only the pages it touched (issue 13).
//
//   [tag 3][version 2][causal context][page]…      page = [varuint length][body]
//   body = [actor count][actors…][element count ≥ 1][(element, dots)…]
//
// Each page is self-contained: its dots refer to its own actor table (the actors its dots
// use, sorted), so a new writer of the set changes only the pages it writes to. A page is
// one chunk of the state (orset-chunks.ts): it ends after an element that ends pages
// (`endsPage`: about one element in 256, and every element over 2,048 UTF-16 code units,
// decided by the element alone), so equal states cut into equal pages on every node and the
// encoding stays canonical; a change to one element changes one page (two when the element
// that ended a page goes or comes). Pages follow until the end of the bytes; every page but
// the last ends with an element that ends pages, and no element that ends pages stands
// inside one. A chunk's page is encoded once (memoized), so encoding a set after a write
// costs the pages that write replaced.
import {
  createDecoder,
  createEncoder,
  expectEnd,
  readActor,
  readCount,
  readRawBytes,
  readString,
  readUint8,
  readVarUint,
  remaining,
  toUint8Array,
  writeRawBytes,
  writeString,
  writeUint8,
  writeVarUint,
  type Decoder,
  type Encoder,
} from './codec.js'
import { MAX_JSON_BYTES, parseCanonicalJson } from './canonical-json.js'
import { contextHas, readContext, sortedActors, writeContext, type CausalContext, type Dot } from './causal-context.js'
import { CrdtDecodeError, InvalidValueError } from './errors.js'
import { chunkedState, chunksOf, endsPage, patchedFrom, type Chunk, type Entry, type State } from './orset-chunks.js'
import type { JsonValue } from './types.js'

export { endsPage }

const TAG = 3
export const ORSET_PAGED_VERSION = 2

export interface ORSetPage {
  /** The page as the state's bytes hold it: its length as a varuint, then its body. */
  readonly bytes: Uint8Array
}

/** A state's version-2 encoding in parts: `prefix` followed by every page's bytes. */
export interface ORSetPaging {
  /** Header and causal context: the bytes before the first page. */
  readonly prefix: Uint8Array
  /** In element order; none for a set without elements. */
  readonly pages: readonly ORSetPage[]
}

export function actorIndex(actors: readonly string[]): Map<string, number> {
  const index = new Map<string, number>()
  actors.forEach((actor, i) => index.set(actor, i))
  return index
}

/** Dots as (actor index, counter) pairs; the actor table is sorted, so index order is actor order. */
export function writeDots(enc: Encoder, dots: readonly Dot[], index: ReadonlyMap<string, number>): void {
  writeVarUint(enc, dots.length)
  for (const d of dots) {
    writeVarUint(enc, index.get(d.actor) as number)
    writeVarUint(enc, d.counter)
  }
}

/** writeDots for dots that all have the actor of index 0. */
function writeOneActorDots(enc: Encoder, dots: readonly Dot[]): void {
  writeVarUint(enc, dots.length)
  for (const d of dots) {
    writeUint8(enc, 0)
    writeVarUint(enc, d.counter)
  }
}

/** Reads sorted, distinct dots that the context `ctx` includes. */
export function readDots(dec: Decoder, ctx: CausalContext, actors: readonly string[], minCount: number): Dot[] {
  const n = readCount(dec, 2, 'dot')
  if (n < minCount) throw new CrdtDecodeError('element without dots')
  const dots: Dot[] = []
  let prevIndex = -1
  let prevCounter = 0
  for (let i = 0; i < n; i++) {
    const index = readVarUint(dec)
    const actor = actors[index]
    if (actor === undefined) throw new CrdtDecodeError(`dot refers to actor #${index} of ${actors.length}`)
    const counter = readVarUint(dec)
    if (index < prevIndex || (index === prevIndex && counter <= prevCounter)) {
      throw new CrdtDecodeError('dots not in strictly ascending order')
    }
    if (!contextHas(ctx, actor, counter)) throw new CrdtDecodeError(`dot (${actor}, ${counter}) is outside the causal context`)
    prevIndex = index
    prevCounter = counter
    dots.push({ actor, counter })
  }
  return dots
}

function encodePrefix(context: CausalContext): Uint8Array {
  const actors = sortedActors(context)
  const enc = createEncoder(16 + actors.length * 24)
  writeUint8(enc, TAG)
  writeUint8(enc, ORSET_PAGED_VERSION)
  writeContext(enc, context, actors)
  return toUint8Array(enc)
}

/** The page holding entries[from, to). */
export function encodePage(entries: readonly Entry[], from: number, to: number): ORSetPage {
  return writePage(entries, from, to, undefined).page
}

/**
 * Where a page's elements lie in its bytes, kept for pages encoded here so that the page of
 * a chunk patched from this one (orset-chunks.ts patchedFrom) copies the bytes of the
 * elements it did not change instead of encoding them again.
 */
interface PageLayout {
  /** The page's actor table: the entries' bytes hold indices into it. */
  readonly actors: readonly string[]
  /** Offset in the page's bytes where each entry starts, then the end of the last. */
  readonly starts: readonly number[]
}

const layoutOf = new WeakMap<ORSetPage, PageLayout>()

/** A page to copy unchanged entries from: the chunk it encodes, and where its entries lie. */
interface PageSource {
  readonly chunk: Chunk
  readonly page: ORSetPage
  readonly layout: PageLayout
}

/**
 * The page holding entries[from, to), with its layout. With a `source` whose actor table is
 * the new page's, every run of entries that are the source's own entry objects (unchanged
 * by the patch) is copied from the source's bytes: the same bytes, since an entry's
 * encoding depends only on the entry and the actor table.
 */
function writePage(entries: readonly Entry[], from: number, to: number, source: PageSource | undefined): { page: ORSetPage; layout: PageLayout } {
  // The actors the page's dots use. Most pages have one (a set one node writes): then no
  // set of them is built and every dot's actor index is 0.
  let only: string | undefined
  let used: Set<string> | undefined
  // Room for the body, guessed from the UTF-16 lengths (ASCII is the common case), so the
  // encoder rarely grows.
  let guess = 16
  for (let i = from; i < to; i++) {
    const entry = entries[i] as Entry
    guess += entry.key.length + 4 + entry.dots.length * 6
    for (const d of entry.dots) {
      if (used !== undefined) used.add(d.actor)
      else if (only === undefined) only = d.actor
      else if (d.actor !== only) used = new Set([only, d.actor])
    }
  }
  const actors = used !== undefined ? [...used].sort() : only === undefined ? [] : [only]
  for (const actor of actors) guess += actor.length + 2
  const index = actors.length > 1 ? actorIndex(actors) : undefined
  const copyFrom = source !== undefined && sameActors(source.layout.actors, actors) ? source : undefined
  const body = bodyEncoder(guess)
  writeVarUint(body, actors.length)
  for (const actor of actors) writeString(body, actor)
  writeVarUint(body, to - from)
  // Body offsets for now; shifted by the length prefix once it is known.
  const starts: number[] = new Array<number>(to - from + 1)
  let j = 0 // the next entry of the source's chunk not yet passed
  let runFrom = -1 // a run of source entries to copy: source indices [runFrom, j)
  let runAt = 0 // where the run goes in the body
  const flush = (): void => {
    if (runFrom < 0) return
    const src = copyFrom as PageSource
    const a = src.layout.starts[runFrom] as number
    writeRawBytes(body, src.page.bytes.subarray(a, src.layout.starts[j] as number))
    runFrom = -1
  }
  for (let i = from; i < to; i++) {
    const entry = entries[i] as Entry
    if (copyFrom !== undefined) {
      const old = copyFrom.chunk
      while (j < old.length && (old[j] as Entry).key < entry.key) {
        if (runFrom >= 0) flush()
        j++
      }
      if (old[j] === entry) {
        if (runFrom < 0) {
          runFrom = j
          runAt = body.pos
        }
        starts[i - from] = runAt + (copyFrom.layout.starts[j] as number) - (copyFrom.layout.starts[runFrom] as number)
        j++
        continue
      }
      flush()
    }
    starts[i - from] = body.pos
    writeString(body, entry.key)
    if (index !== undefined) writeDots(body, entry.dots, index)
    else writeOneActorDots(body, entry.dots)
  }
  flush()
  starts[to - from] = body.pos
  // The page: the body's length, then the body, in one allocation.
  const length = createEncoder(8)
  writeVarUint(length, body.pos)
  const bytes = new Uint8Array(length.pos + body.pos)
  bytes.set(length.buf.subarray(0, length.pos), 0)
  bytes.set(body.buf.subarray(0, body.pos), length.pos)
  if (body.buf.length > MAX_KEPT_BODY_BYTES) pageBody.buf = new Uint8Array(KEPT_BODY_BYTES)
  for (let k = 0; k < starts.length; k++) starts[k] = (starts[k] as number) + length.pos
  return { page: { bytes }, layout: { actors, starts } }
}

function sameActors(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A page body is written here, then copied into the page's own bytes: one buffer reused by
 * every page instead of a fresh one each (an allocation outside the JS heap per page). It
 * grows for a big page and is replaced by a small one afterwards.
 */
const KEPT_BODY_BYTES = 4096
const MAX_KEPT_BODY_BYTES = 64 * 1024
const pageBody: Encoder = createEncoder(KEPT_BODY_BYTES)

function bodyEncoder(capacity: number): Encoder {
  if (pageBody.buf.length < capacity) pageBody.buf = new Uint8Array(capacity)
  pageBody.pos = 0
  return pageBody
}

const pageOfChunk = new WeakMap<Chunk, ORSetPage>()

/**
 * The page of one chunk, encoded once per chunk; a chunk patched from another whose page
 * was encoded here copies that page's unchanged entries (writePage).
 */
function pageOf(chunk: Chunk): ORSetPage {
  let page = pageOfChunk.get(chunk)
  if (page === undefined) {
    const old = patchedFrom(chunk)
    const oldPage = old === undefined ? undefined : pageOfChunk.get(old)
    const layout = oldPage === undefined ? undefined : layoutOf.get(oldPage)
    const source = layout === undefined ? undefined : { chunk: old as Chunk, page: oldPage as ORSetPage, layout }
    const written = writePage(chunk, 0, chunk.length, source)
    page = written.page
    layoutOf.set(page, written.layout)
    pageOfChunk.set(chunk, page)
  }
  return page
}

/** The state's version-2 encoding in parts: only chunks not encoded before are encoded now. */
export function pageORSet(state: State): ORSetPaging {
  return { prefix: encodePrefix(state.context), pages: chunksOf(state).map(pageOf) }
}

/** The state's bytes: the prefix followed by every page. */
export function joinPaging(paging: ORSetPaging): Uint8Array {
  let size = paging.prefix.length
  for (const page of paging.pages) size += page.bytes.length
  const out = new Uint8Array(size)
  out.set(paging.prefix, 0)
  let at = paging.prefix.length
  for (const page of paging.pages) {
    out.set(page.bytes, at)
    at += page.bytes.length
  }
  return out
}

/** Whether `bytes` start like a version-2 OR-set state. */
function isPagedORSetEncoding(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === TAG && bytes[1] === ORSET_PAGED_VERSION
}

/**
 * The prefix and page bytes of a version-2 OR-set state, found by reading only the context
 * and the page lengths (the page bodies are not checked); undefined when the bytes are not
 * one. Views into `bytes`, not copies.
 */
export function splitPagedORSet(bytes: Uint8Array): { prefix: Uint8Array; pages: Uint8Array[] } | undefined {
  if (!isPagedORSetEncoding(bytes)) return undefined
  const dec = createDecoder(bytes)
  try {
    dec.pos = 2
    readContext(dec)
    const prefix = bytes.subarray(0, dec.pos)
    const pages: Uint8Array[] = []
    while (remaining(dec) > 0) {
      const start = dec.pos
      readRawBytes(dec, readVarUint(dec))
      pages.push(bytes.subarray(start, dec.pos))
    }
    return { prefix, pages }
  } catch (err) {
    if (err instanceof CrdtDecodeError) return undefined
    throw err
  }
}

/** Reads a version-2 state after its header; strict (see the top of this file). */
export function readPagedState(dec: Decoder): State {
  const { ctx } = readContext(dec)
  const chunks: Chunk[] = []
  const used = new Map<string, number[]>()
  let prevKey: string | undefined
  let lastEnded = true
  while (remaining(dec) > 0) {
    if (!lastEnded) throw new CrdtDecodeError('a page ends with an element that does not end pages')
    const start = dec.pos
    // A page takes at least 7 bytes: actor count, element count, one element and its dot.
    const body = readRawBytes(dec, readVarUint(dec))
    const entries: Entry[] = []
    if (body.length < 7) throw new CrdtDecodeError(`trailing bytes: ${body.length} are too few for an OR-set page`)
    const page = createDecoder(body)
    const actors: string[] = []
    const actorCount = readCount(page, 2, 'page actor')
    for (let i = 0; i < actorCount; i++) {
      const actor = readActor(page)
      if (i > 0 && !((actors[i - 1] as string) < actor)) throw new CrdtDecodeError('page actors not in strictly ascending order')
      if (!ctx.has(actor)) throw new CrdtDecodeError(`page actor ${actor} is not in the causal context`)
      actors.push(actor)
    }
    const unused = new Set(actors)
    const n = readCount(page, 5, 'element')
    if (n === 0) throw new CrdtDecodeError('OR-set page without elements')
    for (let i = 0; i < n; i++) {
      const { key, value } = readElement(page, prevKey)
      prevKey = key
      lastEnded = endsPage(key)
      if (lastEnded && i < n - 1) throw new CrdtDecodeError('an element that ends pages stands inside a page')
      const dots = readDots(page, ctx, actors, 1)
      for (const d of dots) {
        unused.delete(d.actor)
        const counters = used.get(d.actor)
        if (counters === undefined) used.set(d.actor, [d.counter])
        else counters.push(d.counter)
      }
      entries.push({ key, value, dots })
    }
    expectEnd(page)
    if (unused.size > 0) throw new CrdtDecodeError(`page actor ${[...unused][0]} tags no element of its page`)
    // The page is this chunk's encoding already: kept (copied out of the input) so that
    // encoding the state again writes these bytes without encoding them.
    chunks.push(entries)
    pageOfChunk.set(entries, { bytes: dec.bytes.slice(start, dec.pos) })
  }
  checkDotsUnique(used)
  return chunkedState(chunks, ctx)
}

/** One element's canonical JSON, which must sort after `prevKey`, and its value. */
export function readElement(dec: Decoder, prevKey: string | undefined): { key: string; value: JsonValue } {
  const key = readString(dec, MAX_JSON_BYTES)
  if (prevKey !== undefined && !(prevKey < key)) throw new CrdtDecodeError('elements not in strictly ascending order')
  try {
    return { key, value: parseCanonicalJson(key) }
  } catch (cause) {
    if (cause instanceof InvalidValueError) throw new CrdtDecodeError(`bad element: ${cause.message}`, { cause })
    throw cause
  }
}

/** Throws when a dot tags two elements. */
export function checkDotsUnique(used: ReadonlyMap<string, number[]>): void {
  for (const [actor, counters] of used) {
    counters.sort((x, y) => x - y)
    for (let k = 1; k < counters.length; k++) {
      if (counters[k] === counters[k - 1]) throw new CrdtDecodeError(`dot (${actor}, ${counters[k]}) tags two elements`)
    }
  }
}

/** The version byte of a state's encoding (after the tag), for decoders that accept several. */
export function readVersion(dec: Decoder, tag: number, typeName: string): number {
  const got = readUint8(dec)
  if (got !== tag) throw new CrdtDecodeError(`expected type tag ${tag} (${typeName}), got ${got}`)
  return readUint8(dec)
}

