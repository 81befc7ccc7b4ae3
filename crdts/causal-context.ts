// Dots and causal contexts (Almeida et al., delta-state CRDTs). A dot (actor, n) names the
// n-th event of an actor. A causal context is the set of dots a state has seen, kept as a
// contiguous prefix per actor (a version vector) plus a "cloud" of isolated later dots.
// Every context is kept compact (no cloud dot adjoins or falls inside the prefix), so equal
// sets of dots have exactly one representation and encode to the same bytes.
import {
  readActor,
  readCount,
  readVarUint,
  writeString,
  writeVarUint,
  type Decoder,
  type Encoder,
} from './codec.js'
import { CrdtDecodeError } from './errors.js'

export interface Dot {
  readonly actor: string
  readonly counter: number
}

/** What one actor contributes to a context: dots 1..contiguous, plus the sorted cloud. */
export interface ActorDots {
  readonly contiguous: number
  /** Strictly ascending, every entry > contiguous + 1. */
  readonly cloud: readonly number[]
}

/** Immutable; no entry has contiguous 0 and an empty cloud. */
export type CausalContext = ReadonlyMap<string, ActorDots>

export const EMPTY_CONTEXT: CausalContext = new Map()

const NO_CLOUD: readonly number[] = Object.freeze([])

export function compareDots(a: Dot, b: Dot): number {
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1
  return a.counter - b.counter
}

export function sameDots(a: readonly Dot[], b: readonly Dot[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Dot
    const y = b[i] as Dot
    if (x.actor !== y.actor || x.counter !== y.counter) return false
  }
  return true
}

export function contextHas(ctx: CausalContext, actor: string, counter: number): boolean {
  const entry = ctx.get(actor)
  if (entry === undefined) return false
  if (counter <= entry.contiguous) return true
  return entry.cloud.length > 0 && cloudHas(entry.cloud, counter)
}

function cloudHas(cloud: readonly number[], counter: number): boolean {
  let lo = 0
  let hi = cloud.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = cloud[mid] as number
    if (c === counter) return true
    if (c < counter) lo = mid + 1
    else hi = mid - 1
  }
  return false
}

/** The highest counter of `actor` the context has seen (0 if none). */
export function contextMax(ctx: CausalContext, actor: string): number {
  const entry = ctx.get(actor)
  if (entry === undefined) return 0
  return entry.cloud.length > 0 ? (entry.cloud[entry.cloud.length - 1] as number) : entry.contiguous
}

/** Builds the compact context of exactly the given dots. */
export function contextFromDots(dots: Iterable<Dot>): CausalContext {
  const byActor = new Map<string, number[]>()
  for (const { actor, counter } of dots) {
    const list = byActor.get(actor)
    if (list === undefined) byActor.set(actor, [counter])
    else list.push(counter)
  }
  const ctx = new Map<string, ActorDots>()
  for (const [actor, counters] of byActor) {
    counters.sort((x, y) => x - y)
    ctx.set(actor, compact(0, counters))
  }
  return ctx
}

/** Absorbs cloud dots that extend the contiguous prefix; drops ones already inside it. */
function compact(contiguous: number, sortedCloud: readonly number[]): ActorDots {
  let i = 0
  while (i < sortedCloud.length) {
    const c = sortedCloud[i] as number
    if (c <= contiguous) i++
    else if (c === contiguous + 1) {
      contiguous = c
      i++
    } else break
  }
  if (i === sortedCloud.length) return { contiguous, cloud: NO_CLOUD }
  const cloud: number[] = []
  let prev = contiguous
  for (; i < sortedCloud.length; i++) {
    const c = sortedCloud[i] as number
    if (c > prev) cloud.push(c)
    prev = c
  }
  return { contiguous, cloud }
}

function sameActorDots(a: ActorDots, b: ActorDots): boolean {
  if (a === b) return true
  if (a.contiguous !== b.contiguous || a.cloud.length !== b.cloud.length) return false
  for (let i = 0; i < a.cloud.length; i++) if (a.cloud[i] !== b.cloud[i]) return false
  return true
}

function actorIncludes(big: ActorDots, small: ActorDots): boolean {
  if (small.contiguous > big.contiguous) {
    // The prefix of `small` beyond big's prefix must be in big's cloud, one by one.
    const missing = small.contiguous - big.contiguous
    if (missing > big.cloud.length) return false
    for (let c = big.contiguous + 1; c <= small.contiguous; c++) if (!cloudHas(big.cloud, c)) return false
  }
  for (const c of small.cloud) if (c > big.contiguous && !cloudHas(big.cloud, c)) return false
  return true
}

/** Whether every dot of `small` is in `big`. */
export function contextIncludes(big: CausalContext, small: CausalContext): boolean {
  if (big === small || small.size === 0) return true
  for (const [actor, s] of small) {
    const b = big.get(actor)
    if (b === undefined || !actorIncludes(b, s)) return false
  }
  return true
}

export function contextsEqual(a: CausalContext, b: CausalContext): boolean {
  if (a === b) return true
  if (a.size !== b.size) return false
  for (const [actor, x] of a) {
    const y = b.get(actor)
    if (y === undefined || !sameActorDots(x, y)) return false
  }
  return true
}

function joinActor(a: ActorDots, b: ActorDots): ActorDots {
  if (a.cloud.length === 0 && b.cloud.length === 0) return a.contiguous >= b.contiguous ? a : b
  const contiguous = Math.max(a.contiguous, b.contiguous)
  const merged: number[] = []
  let i = 0
  let j = 0
  while (i < a.cloud.length || j < b.cloud.length) {
    const x = i < a.cloud.length ? (a.cloud[i] as number) : Infinity
    const y = j < b.cloud.length ? (b.cloud[j] as number) : Infinity
    if (x <= y) {
      merged.push(x)
      i++
      if (x === y) j++
    } else {
      merged.push(y)
      j++
    }
  }
  return compact(contiguous, merged)
}

/** The union of two contexts. Returns an input unchanged when it already includes the other. */
export function joinContexts(a: CausalContext, b: CausalContext): CausalContext {
  if (a === b || b.size === 0) return a
  if (a.size === 0) return b
  let out: Map<string, ActorDots> | undefined
  for (const [actor, y] of b) {
    const x = a.get(actor)
    const joined = x === undefined ? y : joinActor(x, y)
    if (joined !== x && !(x !== undefined && sameActorDots(joined, x))) (out ??= new Map(a)).set(actor, joined)
  }
  if (out === undefined) return a
  return out.size === b.size && contextsEqual(out, b) ? b : out
}

/** Number of dots in the context. */
export function contextSize(ctx: CausalContext): number {
  let n = 0
  for (const entry of ctx.values()) n += entry.contiguous + entry.cloud.length
  return n
}

export function nextCounter(ctx: CausalContext, actor: string): number {
  const next = contextMax(ctx, actor) + 1
  if (!Number.isSafeInteger(next)) throw new RangeError(`actor ${actor} has exhausted its dot counter`)
  return next
}

/** Actors of a context in canonical (code-unit) order. */
export function sortedActors(ctx: CausalContext): string[] {
  return [...ctx.keys()].sort()
}

/**
 * Writes the context as a sorted actor table; each actor's dots follow it as the prefix
 * length and the gaps between cloud dots, so every byte sequence read back is compact.
 */
export function writeContext(enc: Encoder, ctx: CausalContext, actors: readonly string[]): void {
  writeVarUint(enc, actors.length)
  for (const actor of actors) {
    const entry = ctx.get(actor) as ActorDots
    writeString(enc, actor)
    writeVarUint(enc, entry.contiguous)
    writeVarUint(enc, entry.cloud.length)
    let prev = entry.contiguous + 1
    for (const c of entry.cloud) {
      writeVarUint(enc, c - prev - 1)
      prev = c
    }
  }
}

/** Reads a context written by writeContext; returns its actor table for dot references. */
export function readContext(dec: Decoder): { ctx: CausalContext; actors: string[] } {
  // An actor takes at least 4 bytes: length, one character, prefix, cloud count.
  const n = readCount(dec, 4, 'actor')
  const ctx = new Map<string, ActorDots>()
  const actors: string[] = []
  let prevActor: string | undefined
  for (let k = 0; k < n; k++) {
    const actor = readActor(dec)
    if (prevActor !== undefined && !(prevActor < actor)) throw new CrdtDecodeError('context actors not in strictly ascending order')
    prevActor = actor
    const contiguous = readVarUint(dec)
    const cloudLength = readCount(dec, 1, 'cloud dot')
    if (contiguous === 0 && cloudLength === 0) throw new CrdtDecodeError(`context entry for ${actor} is empty`)
    const cloud: number[] = []
    let prev = contiguous + 1
    for (let i = 0; i < cloudLength; i++) {
      const c = prev + 1 + readVarUint(dec)
      if (!Number.isSafeInteger(c)) throw new CrdtDecodeError('dot counter exceeds Number.MAX_SAFE_INTEGER')
      cloud.push(c)
      prev = c
    }
    ctx.set(actor, { contiguous, cloud: cloud.length === 0 ? NO_CLOUD : cloud })
    actors.push(actor)
  }
  return { ctx, actors }
}
