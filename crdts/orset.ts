// Add-wins observed-remove set without tombstones (optimized OR-set, Bieniusa et al. 2012;
// riak_dt ORSWOT; the delta-state AWORSet of Almeida et al.). Every add tags the element with
// a fresh dot; the causal context records every dot the state has seen. A dot that is in the
// context but no longer in the store was removed, so a remove only has to forget dots: the
// state grows with live elements and writers, never with the number of removes.
import {
  assertActor,
  createEncoder,
  decodeStrict,
  FORMAT_VERSION,
  readCount,
  readHeader,
  toUint8Array,
  writeHeader,
  type Decoder,
} from './codec.js'
import { canonicalJson, ownedJsonCopy } from './canonical-json.js'
import {
  compareDots,
  contextFromDots,
  contextHas,
  contextIncludes,
  contextsEqual,
  contextSize,
  EMPTY_CONTEXT,
  joinContexts,
  nextCounter,
  readContext,
  sameDots,
  sortedActors,
  writeContext,
  type CausalContext,
  type Dot,
} from './causal-context.js'
import { CrdtDecodeError } from './errors.js'
import { chunkedState, chunksOf, entriesAfter, findEntry, patchChunks, sizeOf, type EntryChange } from './orset-chunks.js'
import {
  actorIndex,
  checkDotsUnique,
  joinPaging,
  ORSET_PAGED_VERSION,
  pageORSet,
  readDots,
  readElement,
  readPagedState,
  readVersion,
  writeDots,
} from './orset-pages.js'
import type { Crdt, JsonValue, Witnessing } from './types.js'

export interface ORSetEntry {
  /** Canonical JSON of the element: its identity. */
  readonly key: string
  /** The element, deeply frozen. */
  readonly value: JsonValue
  /** The live dots tagging the element, sorted by (actor, counter); never empty. */
  readonly dots: readonly Dot[]
}

export interface ORSetState {
  /**
   * Live elements in ascending key order (UTF-16 code units). A sorted array rather than a
   * Map: merge copies the entries, and copying an array is far cheaper than rehashing a Map.
   */
  readonly entries: readonly ORSetEntry[]
  /** Every dot this state has seen; includes every dot in `entries`. */
  readonly context: CausalContext
}

export interface ORSetType extends Crdt<ORSetState, JsonValue[]>, Witnessing<ORSetState> {
  readonly name: 'orset'
  readonly tag: 3
  /**
   * Delta adding `element` under a new dot of `actor`, superseding the element's observed
   * dots. Throws InvalidValueError / ValueTooLargeError for an element that is not plain JSON
   * or too large, RangeError (TypeError if not a string) for a bad actor id.
   */
  add(s: ORSetState, actor: string, element: JsonValue): ORSetState
  /**
   * Delta removing the element's observed dots; adds that `s` has not seen survive (add wins).
   * An element that is not present gives the empty delta. Validates like `add`.
   */
  remove(s: ORSetState, element: JsonValue): ORSetState
  /**
   * merge(s, remove(s, element)) without a pass over the state: `s` without the element
   * (its dots stay in the context). Validates like `add`.
   */
  applyRemove(s: ORSetState, element: JsonValue): ORSetState
  /** Whether the element is present; validates like `add`. */
  has(s: ORSetState, element: JsonValue): boolean
  /** The elements, deeply frozen, sorted by canonical JSON (UTF-16 code-unit order). */
  value(s: ORSetState): JsonValue[]
  /** How many elements the set holds; no pass over them. */
  size(s: ORSetState): number
  /**
   * Up to `limit` elements that sort after `after` (compared by canonical JSON, as `value`
   * sorts; from the first when undefined), without a pass over the others: a page of a big
   * set. `after` need not be in the set. Validates `after` like `add`; RangeError for a
   * `limit` that is not a non-negative safe integer.
   */
  valuesAfter(s: ORSetState, after: JsonValue | undefined, limit: number): JsonValue[]
}

const TAG = 3
const NO_ENTRIES: readonly ORSetEntry[] = Object.freeze([])
const EMPTY: ORSetState = Object.freeze({ entries: NO_ENTRIES, context: EMPTY_CONTEXT })

/** The dots not in `ctx`; the same array when none is. */
function withoutSeen(dots: readonly Dot[], ctx: CausalContext): readonly Dot[] {
  for (let i = 0; i < dots.length; i++) {
    const d = dots[i] as Dot
    if (!contextHas(ctx, d.actor, d.counter)) continue
    const kept = dots.slice(0, i)
    for (let j = i + 1; j < dots.length; j++) {
      const e = dots[j] as Dot
      if (!contextHas(ctx, e.actor, e.counter)) kept.push(e)
    }
    return kept
  }
  return dots
}

/**
 * Dot-set join: keep dots both sides have, and each side's dots the other has not seen.
 * Returns one of the inputs when the result equals it, which keeps merges allocation-free
 * between replicas that already agree.
 */
function joinDots(d1: readonly Dot[], c1: CausalContext, d2: readonly Dot[], c2: CausalContext): readonly Dot[] {
  if (sameDots(d1, d2)) return d1
  const out: Dot[] = []
  let i = 0
  let j = 0
  while (i < d1.length || j < d2.length) {
    const x = d1[i]
    const y = d2[j]
    const order = x === undefined ? 1 : y === undefined ? -1 : compareDots(x, y)
    if (order === 0) {
      out.push(x as Dot)
      i++
      j++
    } else if (order < 0) {
      if (!contextHas(c2, (x as Dot).actor, (x as Dot).counter)) out.push(x as Dot)
      i++
    } else {
      if (!contextHas(c1, (y as Dot).actor, (y as Dot).counter)) out.push(y as Dot)
      j++
    }
  }
  if (sameDots(out, d1)) return d1
  if (sameDots(out, d2)) return d2
  return out
}

function withDots(entry: ORSetEntry, dots: readonly Dot[]): ORSetEntry {
  return dots === entry.dots ? entry : { key: entry.key, value: entry.value, dots }
}

/** Deltas at most this big (entries, and dots in their context) merge into a larger state without a pass over it. */
const SMALL_DELTA = 32

/**
 * The join, returning an input when the result equals it. A small delta (an add or a
 * remove: one element, a few dots) joins a large state in O(k log n) plus one array copy
 * (smallIntoLarge); anything else takes one linear pass over both (mergeLinear).
 */
function merge(a: ORSetState, b: ORSetState): ORSetState {
  if (a === b) return a
  if (sizeOf(b) < sizeOf(a)) return smallIntoLarge(a, b) ?? mergeLinear(a, b)
  if (sizeOf(a) < sizeOf(b)) return smallIntoLarge(b, a) ?? mergeLinear(a, b)
  return mergeLinear(a, b)
}

/**
 * join(big, small) touching only the entries of `small`'s elements, or undefined when that
 * is not enough to be exact. Which entries of `big` a join changes: those of `small`'s
 * elements, and any holding a dot `small` has seen but does not hold (removed there). So
 * every dot of small's context that big has seen must be held by an entry of one of
 * small's elements (a dot tags one element only); then big's other entries stay as they
 * are. Small means at most SMALL_DELTA entries and dots in context; the result is never
 * `small` itself (big keeps entries small lacks).
 */
function smallIntoLarge(big: ORSetState, small: ORSetState): ORSetState | undefined {
  const found = foundOfSmall(big, small)
  if (found === undefined) return undefined
  const cb = big.context
  const cs = small.context
  // Each of small's elements whose entry changes: its joined entry (undefined when no dot is left).
  const changes: EntryChange[] = []
  small.entries.forEach((y, i) => {
    const x = found[i]
    if (x !== undefined) {
      const dots = joinDots(x.dots, cb, y.dots, cs)
      if (dots !== x.dots) changes.push({ key: y.key, entry: dots.length === 0 ? undefined : dots === y.dots ? y : withDots(x, dots) })
    } else {
      const dots = withoutSeen(y.dots, cb)
      if (dots.length > 0) changes.push({ key: y.key, entry: withDots(y, dots) })
    }
  })
  const context = joinContexts(cb, cs)
  if (changes.length === 0 && context === cb) return big
  // The chunks holding changed elements are copied, the others shared (orset-chunks.ts).
  return chunkedState(changes.length === 0 ? chunksOf(big) : patchChunks(chunksOf(big), changes), context) as ORSetState
}

/**
 * The entries `big` has for `small`'s elements (undefined where it has none), when joining
 * them touches no other element of `big` (see smallIntoLarge); undefined when `small` is
 * not small or that is not so.
 */
function foundOfSmall(big: ORSetState, small: ORSetState): (ORSetEntry | undefined)[] | undefined {
  const S = small.entries
  if (S.length > SMALL_DELTA || contextSize(small.context) > SMALL_DELTA) return undefined
  const cb = big.context
  const found = S.map((entry) => findEntry(big, entry.key) as ORSetEntry | undefined)
  for (const [actor, { contiguous, cloud }] of small.context) {
    const check = (counter: number): boolean => !contextHas(cb, actor, counter) || found.some((x) => x !== undefined && x.dots.some((d) => d.actor === actor && d.counter === counter))
    for (let c = 1; c <= contiguous; c++) if (!check(c)) return undefined
    for (const c of cloud) if (!check(c)) return undefined
  }
  return found
}

/** One linear pass over both sorted entry lists; returns an input when the result equals it. */
export function mergeLinear(a: ORSetState, b: ORSetState): ORSetState {
  if (a === b) return a
  const A = a.entries
  const B = b.entries
  const ca = a.context
  const cb = b.context
  const out: ORSetEntry[] = []
  let sameAsA = true
  let sameAsB = true
  let i = 0
  let j = 0
  while (i < A.length && j < B.length) {
    const x = A[i] as ORSetEntry
    const y = B[j] as ORSetEntry
    if (x.key === y.key) {
      const dots = joinDots(x.dots, ca, y.dots, cb)
      if (dots.length > 0) out.push(dots === y.dots ? y : withDots(x, dots))
      if (dots !== x.dots) sameAsA = false
      if (dots !== y.dots) sameAsB = false
      i++
      j++
    } else if (x.key < y.key) {
      const dots = withoutSeen(x.dots, cb)
      if (dots.length > 0) out.push(withDots(x, dots))
      if (dots !== x.dots) sameAsA = false
      sameAsB = false
      i++
    } else {
      const dots = withoutSeen(y.dots, ca)
      if (dots.length > 0) out.push(withDots(y, dots))
      if (dots !== y.dots) sameAsB = false
      sameAsA = false
      j++
    }
  }
  // An empty context removes nothing, so the tail of the other side is kept as is.
  for (; i < A.length; i++) {
    const x = A[i] as ORSetEntry
    const dots = cb.size === 0 ? x.dots : withoutSeen(x.dots, cb)
    if (dots.length > 0) out.push(withDots(x, dots))
    if (dots !== x.dots) sameAsA = false
    sameAsB = false
  }
  for (; j < B.length; j++) {
    const y = B[j] as ORSetEntry
    const dots = ca.size === 0 ? y.dots : withoutSeen(y.dots, ca)
    if (dots.length > 0) out.push(withDots(y, dots))
    if (dots !== y.dots) sameAsB = false
    sameAsA = false
  }
  const context = joinContexts(ca, cb)
  if (sameAsA && context === ca) return a
  if (sameAsB && context === cb) return b
  return { entries: sameAsA ? A : sameAsB ? B : out, context }
}

function add(s: ORSetState, actor: string, element: JsonValue): ORSetState {
  assertActor(actor)
  const key = canonicalJson(element)
  const existing = findEntry(s, key) as ORSetEntry | undefined
  const dot: Dot = { actor, counter: nextCounter(s.context, actor) }
  const value = existing?.value ?? ownedJsonCopy(element, key)
  return {
    entries: [{ key, value, dots: [dot] }],
    context: contextFromDots(existing === undefined ? [dot] : [...existing.dots, dot]),
  }
}

function remove(s: ORSetState, element: JsonValue): ORSetState {
  const existing = findEntry(s, canonicalJson(element))
  if (existing === undefined) return EMPTY
  return { entries: NO_ENTRIES, context: contextFromDots(existing.dots) }
}

function applyRemove(s: ORSetState, element: JsonValue): ORSetState {
  const key = canonicalJson(element)
  if (findEntry(s, key) === undefined) return s
  return chunkedState(patchChunks(chunksOf(s), [{ key, entry: undefined }]), s.context) as ORSetState
}

function valuesAfter(s: ORSetState, after: JsonValue | undefined, limit: number): JsonValue[] {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative safe integer, got ${String(limit)}`)
  const key = after === undefined ? undefined : canonicalJson(after)
  return entriesAfter(s, key, limit).map((entry) => entry.value)
}

function equals(a: ORSetState, b: ORSetState): boolean {
  if (a === b) return true
  if (sizeOf(a) !== sizeOf(b) || !contextsEqual(a.context, b.context)) return false
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i] as ORSetEntry
    const y = b.entries[i] as ORSetEntry
    if (x !== y && (x.key !== y.key || !sameDots(x.dots, y.dots))) return false
  }
  return true
}

/** Format version 2 (orset-pages.ts): the elements in pages a store can keep apart. */
function encode(s: ORSetState): Uint8Array {
  return joinPaging(pageORSet(s))
}

/** Version 2 (orset-pages.ts), or version 1: one actor table, then every element. */
function readState(dec: Decoder): ORSetState {
  const version = readVersion(dec, TAG, 'orset')
  if (version === ORSET_PAGED_VERSION) return readPagedState(dec)
  if (version !== FORMAT_VERSION) throw new CrdtDecodeError(`unsupported orset format version ${version}`)
  const { ctx, actors } = readContext(dec)
  // An element takes at least 5 bytes: length, one character, dot count, one dot.
  const n = readCount(dec, 5, 'element')
  const entries: ORSetEntry[] = []
  // Counters per actor, to check at the end that no dot tags two elements.
  const used = new Map(actors.map((actor) => [actor, [] as number[]]))
  let prevKey: string | undefined
  for (let i = 0; i < n; i++) {
    const { key, value } = readElement(dec, prevKey)
    prevKey = key
    const dots = readDots(dec, ctx, actors, 1)
    for (const d of dots) (used.get(d.actor) as number[]).push(d.counter)
    entries.push({ key, value, dots })
  }
  checkDotsUnique(used)
  return { entries, context: ctx }
}

/**
 * A witness is the delta's context plus its live dots. A state includes the delta exactly
 * when it has seen the whole context and holds none of the dots the delta removed.
 */
function witness(delta: ORSetState): Uint8Array {
  const actors = sortedActors(delta.context)
  const index = actorIndex(actors)
  const live: Dot[] = []
  for (const entry of delta.entries) live.push(...entry.dots)
  live.sort(compareDots)
  const enc = createEncoder(16 + actors.length * 24 + live.length * 4)
  writeHeader(enc, TAG)
  writeContext(enc, delta.context, actors)
  writeDots(enc, live, index)
  return toUint8Array(enc)
}

function covers(s: ORSetState, w: Uint8Array): boolean {
  const { ctx, live } = decodeStrict(w, (dec) => {
    readHeader(dec, TAG, 'orset witness')
    const { ctx, actors } = readContext(dec)
    return { ctx, live: readDots(dec, ctx, actors, 0) }
  })
  if (!contextIncludes(s.context, ctx)) return false
  if (contextSize(ctx) === live.length) return true
  const liveByActor = new Map<string, Set<number>>()
  for (const d of live) {
    const set = liveByActor.get(d.actor)
    if (set === undefined) liveByActor.set(d.actor, new Set([d.counter]))
    else set.add(d.counter)
  }
  for (const entry of s.entries) {
    for (const d of entry.dots) {
      if (contextHas(ctx, d.actor, d.counter) && liveByActor.get(d.actor)?.has(d.counter) !== true) return false
    }
  }
  return true
}

export const ORSet: ORSetType = Object.freeze({
  name: 'orset',
  tag: TAG,
  empty: () => EMPTY,
  add,
  remove,
  applyRemove,
  has: (s: ORSetState, element: JsonValue) => findEntry(s, canonicalJson(element)) !== undefined,
  merge,
  value: (s: ORSetState) => s.entries.map((entry) => entry.value),
  size: (s: ORSetState) => sizeOf(s),
  valuesAfter,
  equals,
  encode,
  decode: (bytes: Uint8Array) => decodeStrict(bytes, readState),
  witness,
  covers,
} as const)
