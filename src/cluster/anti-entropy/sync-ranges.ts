// The part of the ring one sync-keys exchange covers. The initiator lists its keys in the
// arcs whose aggregates differ, as many as fit one batch; an arc holding more keys than
// that is covered in pieces. A piece is a range (start, end] of positions, so ranges
// travel in SyncKeysRequest.arcs as the flat list [start0, end0, start1, end1, …]: the
// responder must know exactly which positions the initiator listed, or it would take
// every key left out of the batch for a key the initiator lacks.
//
// Walk order, on both sides: ranges in the order listed, positions clockwise from each
// range's start, equal positions by key. A per-peer cursor remembers where the last walk
// stopped, so successive rounds cover all differing arcs however large they are.
import { arcOf, arcStart, clockwiseOffset, type ArcIndex, type IndexedKey } from './arc-index.js'
import { wordsToBytes } from './arc-hashes.js'
import type { CountedRange } from './range-narrowing.js'
import { RING_SIZE } from '../ring/hash.js'
import { inRange, type Ring, type RingRange } from '../ring/ring.js'

/** [start0, end0, start1, end1, …]. */
export function rangesToWire(ranges: readonly RingRange[]): bigint[] {
  return ranges.flatMap((r) => [r.start, r.end])
}

/** Undefined for an odd-length list. */
export function rangesFromWire(arcs: readonly bigint[]): RingRange[] | undefined {
  if (arcs.length % 2 !== 0) return undefined
  const ranges: RingRange[] = []
  for (let i = 0; i < arcs.length; i += 2) ranges.push({ start: arcs[i]!, end: arcs[i + 1]! })
  return ranges
}

/**
 * Whether the ranges together span at most the ring once, as disjoint ranges do: it
 * bounds the work a request makes the responder do to O(tokens + ranges).
 */
export function spanAtMostOnce(ranges: readonly RingRange[]): boolean {
  let total = 0n
  for (const { start, end } of ranges) total += start === end ? RING_SIZE : clockwiseOffset(start, end)
  return total <= RING_SIZE
}

export interface ArcSpan {
  readonly arc: number
  /** Only part of the arc lies in the range: keys need a position check. */
  readonly partial: boolean
}

function after(position: bigint): bigint {
  return position + 1n === RING_SIZE ? 0n : position + 1n
}

/** The arcs a range touches, clockwise from its start. */
export function arcsInRange(ring: Ring, range: RingRange): ArcSpan[] {
  const { tokens } = ring
  const count = tokens.length
  if (count === 0) return []
  const { start, end } = range
  const first = arcOf(ring, after(start))
  const spans: ArcSpan[] = []
  if (start === end) {
    for (let k = 0; k < count; k++) spans.push({ arc: (first + k) % count, partial: false })
    return spans
  }
  const last = arcOf(ring, end)
  const firstPartial = start !== arcStart(ring, first)
  if (first === last && clockwiseOffset(start, end) <= clockwiseOffset(start, tokens[first]!)) {
    return [{ arc: first, partial: firstPartial || end !== tokens[first] }]
  }
  if (first === last) {
    // From inside an arc all the way round to inside the same arc.
    spans.push({ arc: first, partial: true })
    for (let k = 1; k < count; k++) spans.push({ arc: (first + k) % count, partial: false })
    return spans
  }
  for (let k = first; ; k = (k + 1) % count) {
    spans.push({ arc: k, partial: (k === first && firstPartial) || (k === last && end !== tokens[k]) })
    if (k === last) return spans
  }
}

/** Keys [from, to) of `index.keysIn(arc)`. */
export interface ArcSlice {
  readonly arc: number
  readonly from: number
  readonly to: number
}

/**
 * Where a range's keys on the arcs `accept` admits lie in the index, in walk order: whole
 * arcs, and for an arc the range covers in part, the run of its clockwise-sorted keys
 * found by binary search (two runs when the range wraps into the arc from both sides).
 */
export function rangeSlices(index: ArcIndex, ring: Ring, range: RingRange, accept: (arc: number) => boolean): ArcSlice[] {
  const slices: ArcSlice[] = []
  // A range from inside an arc round the ring back into it: the arc's part before the
  // range's end comes last, so slices run clockwise from the range's start.
  let wrapped: ArcSlice | undefined
  for (const { arc, partial } of arcsInRange(ring, range)) {
    if (!accept(arc)) continue
    const count = index.keyCount(arc)
    if (count === 0) continue
    if (!partial) {
      slices.push({ arc, from: 0, to: count })
      continue
    }
    // Offsets from the arc's start: its keys sort by them; the arc spans (0, width].
    const start = arcStart(ring, arc)
    const width = clockwiseOffset(start, ring.tokens[arc]!)
    const inside = (position: bigint): boolean => position !== start && clockwiseOffset(start, position) <= width
    const low = inside(range.start) ? clockwiseOffset(start, range.start) : 0n
    const high = inside(range.end) ? clockwiseOffset(start, range.end) : width
    const cut = (bound: bigint): number => firstAfter(index, arc, count, start, bound)
    if (low < high) slices.push({ arc, from: cut(low), to: cut(high) })
    else {
      // (low, width] now, (0, high] after every other arc.
      slices.push({ arc, from: cut(low), to: count })
      wrapped = { arc, from: 0, to: cut(high) }
    }
  }
  if (wrapped !== undefined) slices.push(wrapped)
  return slices.filter((s) => s.to > s.from)
}

/** Keys of a range on admitted arcs (rangeSlices, summed). */
export function keyCountInRange(index: ArcIndex, ring: Ring, range: RingRange, accept: (arc: number) => boolean): number {
  let count = 0
  for (const { from, to } of rangeSlices(index, ring, range, accept)) count += to - from
  return count
}

/**
 * Splits a range into up to `parts` consecutive ranges holding about equal shares of its
 * keys on admitted arcs, covering it exactly. Cuts are key positions, read from the
 * index's sorted arcs without building the keys' records; a cut never separates keys at
 * one position, so each key lies in exactly one part, on both sides of an exchange.
 */
export function splitByKeys(index: ArcIndex, ring: Ring, range: RingRange, accept: (arc: number) => boolean, parts: number): RingRange[] {
  const slices = rangeSlices(index, ring, range, accept)
  const total = slices.reduce((n, s) => n + s.to - s.from, 0)
  // The position of the key at walk index `g` (slices run clockwise from the range's start).
  const positionAt = (g: number): bigint => {
    for (const { arc, from, to } of slices) {
      if (g < to - from) return index.positionIn(arc, from + g)
      g -= to - from
    }
    throw new RangeError(`no key ${g} in the range`)
  }
  const out: RingRange[] = []
  let start = range.start
  let from = 0
  for (let p = 1; p < parts; p++) {
    let to = Math.ceil((p * total) / parts)
    while (to < total && to > from && positionAt(to) === positionAt(to - 1)) to++
    if (to <= from || to >= total) continue
    const cut = positionAt(to - 1)
    out.push({ start, end: cut })
    start = cut
    from = to
  }
  out.push({ start, end: range.end })
  return out
}

/** The first index of arc `arc`'s clockwise keys lying more than `bound` clockwise from `start`. */
function firstAfter(index: ArcIndex, arc: number, count: number, start: bigint, bound: bigint): number {
  let low = 0
  let high = count
  while (low < high) {
    const mid = (low + high) >>> 1
    if (clockwiseOffset(start, index.positionIn(arc, mid)) <= bound) low = mid + 1
    else high = mid
  }
  return low
}

/** The indexed keys of a range on the arcs `accept` admits, in walk order. */
export function* keysInRange(index: ArcIndex, ring: Ring, range: RingRange, accept: (arc: number) => boolean): Generator<IndexedKey> {
  for (const { arc, from, to } of rangeSlices(index, ring, range, accept)) {
    for (let i = from; i < to; i++) yield index.keyIn(arc, i)
  }
}

/** The 16-byte aggregate (XOR of key fingerprints) of a range on the arcs `accept` admits. */
export function rangeHash(index: ArcIndex, ring: Ring, range: RingRange, accept: (arc: number) => boolean): Uint8Array {
  const acc = new Uint32Array(4)
  for (const { arc, from, to } of rangeSlices(index, ring, range, accept)) {
    if (from === 0 && to === index.keyCount(arc)) index.xorArcInto(arc, acc)
    else index.xorKeysInto(arc, from, to, acc)
  }
  return wordsToBytes(acc)
}

/** Position membership in a set of ranges restricted to admitted arcs, answered per arc. */
export class RangeCover {
  /** Arc → null when wholly covered, else the ranges covering part of it. */
  private readonly arcs = new Map<number, RingRange[] | null>()

  constructor(
    private readonly ring: Ring,
    ranges: readonly RingRange[],
    accept: (arc: number) => boolean,
  ) {
    for (const range of ranges) {
      for (const span of arcsInRange(ring, range)) {
        if (!accept(span.arc)) continue
        const current = this.arcs.get(span.arc)
        if (!span.partial) this.arcs.set(span.arc, null)
        else if (current === undefined) this.arcs.set(span.arc, [range])
        else if (current !== null) current.push(range)
      }
    }
  }

  has(position: bigint): boolean {
    const cover = this.arcs.get(arcOf(this.ring, position))
    if (cover === undefined) return false
    return cover === null || cover.some((range) => inRange(range, position))
  }
}

export interface Selection {
  readonly ranges: readonly RingRange[]
  /** The initiator's keys in the ranges, in walk order. */
  readonly entries: readonly IndexedKey[]
  /** Every given arc or range is covered. */
  readonly complete: boolean
}

/** A selection walking arcs from a cursor (selectRanges). */
export interface WalkSelection extends Selection {
  /** Where the next walk starts: where this one was cut, or the old cursor when all fit. */
  readonly cursor: bigint
}

interface Segment {
  readonly arc: number
  readonly start: bigint
  readonly end: bigint
  readonly partial: boolean
}

/**
 * The ranges and keys of one sync-keys request: the given arcs (ascending indices),
 * clockwise from just after `cursor`, until `maxEntries` keys or `maxRanges` ranges.
 * A cut never separates keys of equal position (the responder could not tell them apart).
 */
export function selectRanges(
  index: ArcIndex,
  ring: Ring,
  arcs: readonly number[],
  cursor: bigint,
  maxEntries: number,
  maxRanges: number,
): WalkSelection {
  const ranges: { start: bigint; end: bigint }[] = []
  const entries: IndexedKey[] = []
  const addRange = (start: bigint, end: bigint): boolean => {
    const last = ranges[ranges.length - 1]
    if (last !== undefined && last.end === start) last.end = end
    else if (ranges.length === maxRanges) return false
    else ranges.push({ start, end })
    return true
  }
  const stopAt = (next: bigint): WalkSelection => ({ ranges, entries, cursor: next, complete: false })

  for (const segment of segments(ring, arcs, cursor)) {
    let keys = index.keysIn(segment.arc)
    if (segment.partial) keys = keys.filter((k) => inRange(segment, k.position))
    const room = maxEntries - entries.length
    if (keys.length <= room) {
      if (!addRange(segment.start, segment.end)) return stopAt(ranges[ranges.length - 1]!.end)
      entries.push(...keys)
      continue
    }
    let take = room
    while (take > 0 && keys[take]!.position === keys[take - 1]!.position) take--
    if (take === 0) {
      // A full batch: resume here next time. (Or more keys at one position than fit a
      // batch, which takes a run of 64-bit hash collisions: send what fits.)
      if (entries.length > 0 || room === 0) return stopAt(ranges[ranges.length - 1]?.end ?? cursor)
      take = room
    }
    const cut = keys[take - 1]!.position
    if (!addRange(segment.start, cut)) return stopAt(ranges[ranges.length - 1]!.end)
    entries.push(...keys.slice(0, take))
    return stopAt(cut)
  }
  return { ranges, entries, cursor, complete: true }
}

/** Narrowed ranges (range-narrowing.ts) with our keys in them as one request, if they fit one. */
export function selectNarrowed(
  narrowed: readonly CountedRange[],
  keysOf: (range: RingRange) => readonly IndexedKey[],
  maxEntries: number,
  maxRanges: number,
): Selection | undefined {
  const count = narrowed.reduce((n, r) => n + r.count, 0)
  if (count > maxEntries || narrowed.length > maxRanges) return undefined
  return { ranges: narrowed.map((r) => r.range), entries: narrowed.flatMap((r) => keysOf(r.range)), complete: true }
}

/** Ascending indices of the admitted arcs the ranges touch: where a key walk covers them whole. */
export function arcsOf(ring: Ring, ranges: readonly CountedRange[], accept: (arc: number) => boolean): number[] {
  const arcs = new Set<number>()
  for (const { range } of ranges) for (const { arc } of arcsInRange(ring, range)) if (accept(arc)) arcs.add(arc)
  return [...arcs].sort((a, b) => a - b)
}

/** The arcs as pieces, clockwise from just after `cursor`; the arc holding it is split there. */
function* segments(ring: Ring, arcs: readonly number[], cursor: bigint): Generator<Segment> {
  if (arcs.length === 0 || ring.tokens.length === 0) return
  const here = arcOf(ring, after(cursor))
  let k0 = lowerBound(arcs, here)
  if (k0 === arcs.length) k0 = 0
  const split = arcs[k0] === here && cursor !== arcStart(ring, here)
  for (let m = 0; m < arcs.length; m++) {
    const arc = arcs[(k0 + m) % arcs.length]!
    const start = m === 0 && split ? cursor : arcStart(ring, arc)
    yield { arc, start, end: ring.tokens[arc]!, partial: m === 0 && split }
  }
  if (split) yield { arc: here, start: arcStart(ring, here), end: cursor, partial: true }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (sorted[mid]! < value) low = mid + 1
    else high = mid
  }
  return low
}
