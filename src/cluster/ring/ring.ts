// Consistent-hash ring with virtual nodes, riak_core style: pure functions over an
// immutable Ring value, so every node that builds a ring from the same membership view
// answers every placement question identically, and tests need no cluster.
//
// Conventions. Positions are integers in [0, 2^64). Token i owns the arc
// (tokens[i-1], tokens[i]] (wrapping for i = 0); a key belongs to the first token at or
// clockwise after its position. A range is (start, end] clockwise; start === end means
// the whole ring.
import { compareCodePoints } from '../../../crdts/text.js'
import { DEFAULT_VNODES, TOKENS_PER_VNODE } from './constants.js'
import { MAX_VNODES } from '../../wire/limits.js'
import { InvalidRingError } from './errors.js'
import { keyPosition, memberTokens, RING_SIZE } from './hash.js'
import { sortByPosition } from './token-order.js'

export interface RingMemberInput {
  readonly id: string
  /** Weight in virtual nodes: 0 ..= MAX_VNODES, default DEFAULT_VNODES. 0 places no tokens. */
  readonly vnodes?: number
}

export interface Ring {
  /** Ids of the members that hold at least one token, in code point order. */
  readonly members: readonly string[]
  /** Token positions, ascending. Shared, never mutate. */
  readonly tokens: BigUint64Array
  /** owners[i] is the index in `members` of the member holding tokens[i]. Never mutate. */
  readonly owners: Uint32Array
}

/** (start, end] clockwise on the ring; start === end is the whole ring. */
export interface RingRange {
  readonly start: bigint
  readonly end: bigint
}

/**
 * Places every member's tokens. The result depends only on the set of (id, vnodes)
 * pairs, not on their order; a member's tokens depend only on its own id and weight, so
 * adding or removing a member moves keys only to or from that member.
 */
export function buildRing(members: readonly RingMemberInput[]): Ring {
  const placed = validate(members)
  const ids = placed.map((m) => m.id)
  const total = placed.reduce((sum, m) => sum + m.tokenCount, 0)
  const hi = new Uint32Array(total)
  const lo = new Uint32Array(total)
  const ownerOf = new Uint32Array(total)
  let at = 0
  placed.forEach((member, index) => {
    const words = memberTokens(member.id, member.tokenCount)
    hi.set(words.hi, at)
    lo.set(words.lo, at)
    ownerOf.fill(index, at, at + member.tokenCount)
    at += member.tokenCount
  })
  const order = sortByPosition(hi, lo)
  const tokens = new BigUint64Array(total)
  const owners = new Uint32Array(total)
  for (let i = 0; i < total; i++) {
    const j = order[i]!
    tokens[i] = (BigInt(hi[j]!) << 32n) | BigInt(lo[j]!)
    owners[i] = ownerOf[j]!
  }
  return { members: ids, tokens, owners }
}

function validate(members: readonly RingMemberInput[]): { id: string; tokenCount: number }[] {
  const placed: { id: string; tokenCount: number }[] = []
  const seen = new Set<string>()
  for (const member of members) {
    const vnodes = member.vnodes ?? DEFAULT_VNODES
    if (typeof member.id !== 'string') throw new InvalidRingError('member ids must be strings')
    if (seen.has(member.id)) throw new InvalidRingError(`member ${member.id} is listed twice; pass each member once`)
    seen.add(member.id)
    if (!Number.isInteger(vnodes) || vnodes < 0 || vnodes > MAX_VNODES) {
      throw new InvalidRingError(`member ${member.id} has vnodes ${vnodes}; use an integer in 0..${MAX_VNODES}`)
    }
    if (vnodes > 0) placed.push({ id: member.id, tokenCount: vnodes * TOKENS_PER_VNODE })
  }
  return placed.sort((a, b) => compareCodePoints(a.id, b.id))
}

/** Index of the token owning `position`: the first token ≥ position, wrapping to 0. */
/** Index of the first token at or clockwise after `position` (the arc that holds it). */
export function tokenIndexAt(ring: Ring, position: bigint): number {
  const { tokens } = ring
  let low = 0
  let high = tokens.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (tokens[mid]! < position) low = mid + 1
    else high = mid
  }
  return low === tokens.length ? 0 : low
}

function checkReplicas(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`replica count must be a non-negative integer, got ${n}`)
}

/** The first n distinct members clockwise from a position (all members if n exceeds them). */
export function preferenceListAt(ring: Ring, position: bigint, n: number): string[] {
  checkReplicas(n)
  const list: string[] = []
  const wanted = Math.min(n, ring.members.length)
  if (wanted === 0) return list
  const seen = new Uint8Array(ring.members.length)
  const { tokens, owners } = ring
  for (let i = tokenIndexAt(ring, position); list.length < wanted; i = i + 1 === tokens.length ? 0 : i + 1) {
    const owner = owners[i]!
    if (seen[owner] === 0) {
      seen[owner] = 1
      list.push(ring.members[owner]!)
    }
  }
  return list
}

/** The n replicas of a key: the first n distinct members clockwise from its position. */
export function preferenceList(ring: Ring, key: string, n: number): string[] {
  return preferenceListAt(ring, keyPosition(key), n)
}

/**
 * Every member once, clockwise from a position, skipping those the filter rejects (e.g.
 * suspected by the failure detector). Lazy: a coordinator looking for sloppy-quorum
 * fallbacks stops as soon as it has enough live nodes.
 */
export function* successorsAt(
  ring: Ring,
  position: bigint,
  filter?: (memberId: string) => boolean,
): Generator<string, void, undefined> {
  const { tokens, owners, members } = ring
  if (tokens.length === 0) return
  const seen = new Uint8Array(members.length)
  let unseen = members.length
  for (let i = tokenIndexAt(ring, position); unseen > 0; i = i + 1 === tokens.length ? 0 : i + 1) {
    const owner = owners[i]!
    if (seen[owner] !== 0) continue
    seen[owner] = 1
    unseen--
    const id = members[owner]!
    if (filter === undefined || filter(id)) yield id
  }
}

/** `successorsAt` from a key's position. */
export function successors(
  ring: Ring,
  key: string,
  filter?: (memberId: string) => boolean,
): Generator<string, void, undefined> {
  return successorsAt(ring, keyPosition(key), filter)
}

/** Length of the arc owned by token i. */
function arcLength(tokens: BigUint64Array, i: number): bigint {
  const previous = tokens[i === 0 ? tokens.length - 1 : i - 1]!
  const length = tokens[i]! - previous
  return i === 0 ? length + RING_SIZE : length
}

/** Each member's exact fraction of the key space as primary (first) replica; sums to 1. */
export function ownership(ring: Ring): Map<string, number> {
  const sums = new Array<bigint>(ring.members.length).fill(0n)
  for (let i = 0; i < ring.tokens.length; i++) {
    const owner = ring.owners[i]!
    sums[owner] = sums[owner]! + arcLength(ring.tokens, i)
  }
  return new Map(ring.members.map((id, owner) => [id, Number(sums[owner]!) / Number(RING_SIZE)]))
}

/** Whether a position lies in a range. */
export function inRange(range: RingRange, position: bigint): boolean {
  const { start, end } = range
  if (start < end) return start < position && position <= end
  if (start > end) return position > start || position <= end
  return true
}

/**
 * The ranges whose keys a member replicates (it is among their n-member preference
 * lists): what anti-entropy reconciles with the other replicas. Disjoint, in clockwise
 * order, each a maximal run of token arcs. Cost O(tokens × n); cache per ring.
 */
export function rangesOf(ring: Ring, memberId: string, n: number): RingRange[] {
  checkReplicas(n)
  const member = ring.members.indexOf(memberId)
  const { tokens, owners } = ring
  const count = tokens.length
  if (member < 0 || n === 0) return []
  if (n >= ring.members.length) return [{ start: tokens[count - 1]!, end: tokens[count - 1]! }]

  // covered[i]: the member is among the first n distinct owners walking from token i.
  // n < members, so each walk stops before wrapping all the way round.
  const covered = new Uint8Array(count)
  const stamp = new Uint32Array(ring.members.length)
  for (let i = 0; i < count; i++) {
    const epoch = i + 1
    let distinct = 0
    for (let j = i; distinct < n; j = j + 1 === count ? 0 : j + 1) {
      const owner = owners[j]!
      if (stamp[owner] === epoch) continue
      stamp[owner] = epoch
      if (owner === member) {
        covered[i] = 1
        break
      }
      distinct++
    }
  }
  return coveredRuns(tokens, covered)
}

/** Turns covered arcs into maximal ranges, joining a run that wraps past position 0. */
function coveredRuns(tokens: BigUint64Array, covered: Uint8Array): RingRange[] {
  const count = tokens.length
  const firstGap = covered.indexOf(0)
  if (firstGap < 0) return [{ start: tokens[count - 1]!, end: tokens[count - 1]! }]
  const ranges: RingRange[] = []
  // Start scanning just after a gap so a run crossing index 0 is seen whole.
  let runStart = -1
  for (let k = 1; k <= count; k++) {
    const i = (firstGap + k) % count
    if (covered[i] === 1 && runStart < 0) runStart = i
    if (covered[i] === 0 && runStart >= 0) {
      const start = tokens[runStart === 0 ? count - 1 : runStart - 1]!
      const end = tokens[i === 0 ? count - 1 : i - 1]!
      // A run of empty arcs (exactly equal tokens) covers no key; dropping it also keeps
      // it from reading as the whole ring.
      if (start !== end) ranges.push({ start, end })
      runStart = -1
    }
  }
  return ranges
}
