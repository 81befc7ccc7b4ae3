// The hashes two replicas compare before sending any key (after the ring version,
// ring/ring-version.ts: different views place keys differently): the root over the arcs
// both replicate, and the aggregates of groups of those arcs. Pure functions
// over a Ring and an ArcIndex, riak_core style.
import { createHash } from 'node:crypto'
import type { ArcHash } from '../../wire/messages.js'
import type { ArcIndex } from './arc-index.js'
import type { Ring } from '../ring/ring.js'

export const ROOT_BYTES = 16

/** Index of a 64-bit word's high 32-bit half in a Uint32Array view of it (platform byte order). */
const HIGH_HALF = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0

const ROOT_DOMAIN = 'rumordb:anti-entropy-root:v1\0'

/** Which arcs this node replicates together with each other member. */
export interface SharingPlan {
  readonly ring: Ring
  readonly self: string
  /** Replicas per key, capped at the members on the ring. */
  readonly n: number
  /** Member → ascending indices of the (non-empty) arcs whose preference list holds both. */
  readonly peers: ReadonlyMap<string, Uint32Array>
}

/**
 * One pass over the ring, O(tokens × n): every arc's n-member preference list, kept
 * when it holds `self`. Cache it per ring; it is what picking a peer and every exchange
 * with it need.
 */
export function sharingPlan(ring: Ring, self: string, n: number): SharingPlan {
  const { tokens, owners, members } = ring
  const count = tokens.length
  const me = members.indexOf(self)
  const wanted = Math.min(n, members.length)
  if (me >= 0 && wanted >= 2 && wanted === members.length) return fullReplication(ring, self, wanted)
  const lists: number[][] = members.map(() => [])
  if (me >= 0 && wanted >= 2) {
    const stamp = new Uint32Array(members.length)
    const found: number[] = []
    for (let i = 0; i < count; i++) {
      // Equal tokens leave an empty arc (tokens[i-1], tokens[i]]: no key can be in it.
      if (i > 0 && tokens[i] === tokens[i - 1]) continue
      found.length = 0
      let mine = false
      // Walks stop after `wanted` distinct owners; every member on the ring owns a token.
      for (let j = i; found.length < wanted; j = j + 1 === count ? 0 : j + 1) {
        const owner = owners[j]!
        if (stamp[owner] === i + 1) continue
        stamp[owner] = i + 1
        found.push(owner)
        if (owner === me) mine = true
      }
      if (mine) for (const owner of found) if (owner !== me) lists[owner]!.push(i)
    }
  }
  const peers = new Map<string, Uint32Array>()
  members.forEach((id, k) => {
    if (lists[k]!.length > 0) peers.set(id, Uint32Array.from(lists[k]!))
  })
  return { ring, self, n: wanted, peers }
}

/**
 * n = members: every preference list holds every member, so each peer shares every
 * non-empty arc. The walks above would each go round the ring (O(tokens²)); the peers
 * share one array instead, which also lets callers cache per-array work.
 */
function fullReplication(ring: Ring, self: string, n: number): SharingPlan {
  const { tokens, members } = ring
  const arcs: number[] = []
  for (let i = 0; i < tokens.length; i++) if (i === 0 || tokens[i] !== tokens[i - 1]) arcs.push(i)
  const all = Uint32Array.from(arcs)
  const peers = new Map<string, Uint32Array>()
  for (const id of members) if (id !== self) peers.set(id, all)
  return { ring, self, n, peers }
}

/** Ascending indices of the arcs whose n-member preference list contains both members. */
export function sharedArcs(ring: Ring, self: string, peer: string, n: number): number[] {
  return Array.from(sharingPlan(ring, self, n).peers.get(peer) ?? [])
}

/**
 * Hash over the (end, aggregate) list of the shared arcs, with n: one 16-byte value that
 * is equal on two replicas exactly when all their shared arcs are (up to 2^-128).
 */
export function rootOf(ring: Ring, arcs: Uint32Array, index: ArcIndex, n: number): Uint8Array {
  // The index's ring is the one its aggregates belong to; a caller passing another gets no memo.
  if (index.ring !== ring) return computeRoot(ring, arcs, index, n)
  return index.memoize(arcs, n, () => computeRoot(ring, arcs, index, n))
}

function computeRoot(ring: Ring, arcs: Uint32Array, index: ArcIndex, n: number): Uint8Array {
  const bytes = new Uint8Array(8 + arcs.length * 24)
  const out = new DataView(bytes.buffer)
  out.setUint32(0, n)
  out.setUint32(4, arcs.length)
  // Tokens as 32-bit halves: BigInt writes cost more than the hash at thousands of arcs.
  const { tokens } = ring
  const halves = new Uint32Array(tokens.buffer, tokens.byteOffset, tokens.length * 2)
  const acc = new Uint32Array(4)
  for (let k = 0; k < arcs.length; k++) {
    const arc = arcs[k]!
    const at = 8 + k * 24
    out.setUint32(at, halves[2 * arc + HIGH_HALF]!)
    out.setUint32(at + 4, halves[2 * arc + 1 - HIGH_HALF]!)
    acc.fill(0)
    index.xorArcInto(arc, acc)
    for (let w = 0; w < 4; w++) out.setUint32(at + 8 + w * 4, acc[w]!)
  }
  return first(createHash('sha256').update(ROOT_DOMAIN, 'utf8').update(bytes).digest(), ROOT_BYTES)
}

/**
 * Splits the shared arcs into at most `maxGroups` consecutive groups of about equal key
 * counts (whole arcs only). Returns each group's end offset (exclusive) into `arcs`. The
 * peer learns the grouping from the group ends, so the two sides need not agree on it
 * beforehand.
 */
export function groupArcs(arcs: Uint32Array, keyCount: (arc: number) => number, maxGroups: number): number[] {
  if (arcs.length === 0) return []
  const counts = Array.from(arcs, keyCount)
  const total = counts.reduce((sum, c) => sum + c, 0)
  const target = Math.max(1, Math.ceil(total / maxGroups))
  const nearest = cut(counts, target, true)
  return nearest.length <= maxGroups ? nearest : cut(counts, Math.max(1, Math.ceil(total / Math.max(1, maxGroups - 1))), false)
}

/**
 * Group ends for groups of about `target` keys. `nearest` also closes a group before an
 * arc that would overshoot the target by more than the group falls short of it: groups
 * then average the target, but a run of small arcs between large ones can make up to
 * twice as many groups, which the caller checks.
 */
function cut(counts: readonly number[], target: number, nearest: boolean): number[] {
  const ends: number[] = []
  let inGroup = 0
  counts.forEach((count, k) => {
    if (nearest && inGroup > 0 && inGroup + count - target > target - inGroup) {
      ends.push(k)
      inGroup = 0
    }
    inGroup += count
    if (inGroup >= target) {
      ends.push(k + 1)
      inGroup = 0
    }
  })
  if (ends[ends.length - 1] !== counts.length) ends.push(counts.length)
  return ends
}

/** Each group's (end token of its last arc, XOR of its arcs' aggregates). */
export function groupHashes(ring: Ring, arcs: Uint32Array, ends: readonly number[], index: ArcIndex): ArcHash[] {
  const out: ArcHash[] = []
  let from = 0
  const acc = new Uint32Array(4)
  for (const end of ends) {
    acc.fill(0)
    for (let k = from; k < end; k++) index.xorArcInto(arcs[k]!, acc)
    out.push({ end: ring.tokens[arcs[end - 1]!]!, hash: wordsToBytes(acc) })
    from = end
  }
  return out
}

/**
 * The grouping a peer chose, as end offsets into our `arcs`; undefined when its group
 * ends are not ascending ends of our shared arcs covering all of them (its view of the
 * shared arcs differs: another n).
 */
export function matchGroups(ring: Ring, arcs: Uint32Array, groups: readonly ArcHash[]): number[] | undefined {
  const ends: number[] = []
  let k = 0
  for (const group of groups) {
    while (k < arcs.length && ring.tokens[arcs[k]!]! < group.end) k++
    if (k === arcs.length || ring.tokens[arcs[k]!] !== group.end) return undefined
    k++
    ends.push(k)
  }
  return k === arcs.length ? ends : undefined
}

/** Four 32-bit words as 16 big-endian bytes: the wire form of an aggregate. */
export function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  for (let w = 0; w < 4; w++) view.setUint32(w * 4, words[w]!)
  return out
}

function first(bytes: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, length).slice()
}
