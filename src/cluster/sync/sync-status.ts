// "Am I synced?" without reading every key: digests from the anti-entropy index. Keys are
// grouped by the set of replicas that should hold them (every key of a ring arc has the
// same preference list); nodes in the same replica set report the same digest for it once
// they hold the same data. The whole-store digest covers everything the node holds.
//
// "In sync" is a current fact, never a remembered one (DESIGN.md, "Sync status"): a peer is
// in sync when it is alive, no hints wait for it, and the latest exchange with it found
// equal digests at the current ring version after the latest local change in the arcs the
// two share (sync-endpoint.ts judges that part). `synced` is the node-wide answer: every
// alive peer sharing ranges is in sync, no hint is pending for anyone, and no key is left
// unreconciled. A node alone has nothing to disagree with, so it is synced.
import type { ArcIndex } from '../anti-entropy/arc-index.js'
import { FINGERPRINT_BYTES } from '../../base/key-hashes.js'
import type { PeerComparison } from '../anti-entropy/anti-entropy.js'
import { PENDING_COUNT_LIMIT } from '../handoff/hinted-handoff.js'
import type { MemberHealth } from '../membership/membership.js'
import { preferenceListAt, type Ring } from '../ring/ring.js'
import type { UnreconciledKey } from '../anti-entropy/unreconciled.js'

export type { UnreconciledKey } from '../anti-entropy/unreconciled.js'

export interface ReplicaSetDigest {
  /** The members that replicate these keys, sorted. */
  readonly replicas: readonly string[]
  readonly keys: number
  /** Hex XOR-aggregate of the keys' (key, state digest) fingerprints. */
  readonly digest: string
}

/** One member sharing ranges with this node. */
export interface PeerSyncReport {
  readonly id: string
  /** Membership health. */
  readonly status: MemberHealth
  /** Alive, no hints pending for it, and the latest exchange still shows the shared ranges equal. */
  readonly inSync: boolean
  /** Why not, e.g. 'suspect', 'hints pending (3)', 'digests differ', 'never compared'. */
  readonly reason?: string
  /** Clock time of the latest exchange, either side started it; absent if none. */
  readonly lastExchange?: number
  /** Hints waiting for this peer here, counted up to PENDING_COUNT_LIMIT. */
  readonly pendingHints: number
}

export interface SyncStatus {
  /** Hex digest of every key this node stores. */
  readonly digest: string
  readonly keys: number
  /** One entry per replica set this node belongs to, sorted by replicas. */
  readonly ranges: readonly ReplicaSetDigest[]
  /** Every member sharing ranges with this node, in id order. */
  readonly peers: readonly PeerSyncReport[]
  /** Every replica set this node belongs to agrees with all its live members, and no hints are pending. */
  readonly synced: boolean
  /** Why not synced, naming a peer or a key; absent when synced. */
  readonly reason?: string
  /** Keys anti-entropy could not merge or send, per peer, oldest first (at most MAX_UNRECONCILED_KEYS). */
  readonly unreconciled: readonly UnreconciledKey[]
}

export interface SyncStatusExtras {
  readonly unreconciled?: readonly UnreconciledKey[]
  /** The target of some pending hint (any target, not only peers sharing ranges). */
  readonly hintsPendingFor?: string
  /** Why the index does not cover the store yet (it is being built): digests and keys are partial. */
  readonly indexing?: string
}

/** Adds liveness and pending hints to anti-entropy's comparisons. */
export function peerReports(
  comparisons: readonly PeerComparison[],
  health: (peer: string) => MemberHealth | undefined,
  pendingHints: (peer: string) => number,
): PeerSyncReport[] {
  return comparisons.map(({ id, reason: compared, lastExchange }) => {
    const status = health(id) ?? 'left'
    const hints = pendingHints(id)
    const reason =
      status !== 'alive' ? status : hints > 0 ? `hints pending (${hints}${hints >= PENDING_COUNT_LIMIT ? '+' : ''})` : compared
    return {
      id,
      status,
      inSync: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      ...(lastExchange === undefined ? {} : { lastExchange }),
      pendingHints: hints,
    }
  })
}

export function syncStatus(
  index: ArcIndex,
  ring: Ring,
  self: string,
  n: number,
  peers: readonly PeerSyncReport[],
  extras: SyncStatusExtras = {},
): SyncStatus {
  const whole = new Uint32Array(4)
  let keys = 0
  const indexed = index.ring === ring
  const { groupOf, replicaSets } = replicaSetsOf(ring, self, n)
  const accs = replicaSets.map(() => ({ acc: new Uint32Array(4), keys: 0 }))
  for (let arc = 0; indexed && arc < ring.tokens.length; arc++) {
    index.xorArcInto(arc, whole)
    keys += index.keyCount(arc)
    const group = groupOf[arc]!
    if (group < 0) continue
    index.xorArcInto(arc, accs[group]!.acc)
    accs[group]!.keys += index.keyCount(arc)
  }
  const ranges = replicaSets.map((replicas, g) => ({ replicas: [...replicas], keys: accs[g]!.keys, digest: hex(accs[g]!.acc) }))
  const sorted = [...peers].sort((a, b) => (a.id < b.id ? -1 : 1))
  const unreconciled = [...(extras.unreconciled ?? [])]
  const reason = extras.indexing ?? notSynced(sorted, unreconciled, extras.hintsPendingFor)
  return { digest: hex(whole), keys, ranges, peers: sorted, synced: reason === undefined, ...(reason === undefined ? {} : { reason }), unreconciled }
}

interface ReplicaSets {
  /** Per arc: its replica set's index in `replicaSets`, or -1 when `self` is not in it. */
  readonly groupOf: Int32Array
  /** The replica sets holding `self`, each sorted, in order of their joined ids. */
  readonly replicaSets: readonly (readonly string[])[]
}

/**
 * Which replica set each arc belongs to depends only on the ring, self and n. Rings are
 * immutable, so the grouping is computed once per ring (O(arcs × n)) and dies with it:
 * a status call is then O(arcs) XORs, cheap enough for every metrics scrape.
 */
const replicaSetCache = new WeakMap<Ring, Map<string, ReplicaSets>>()

function replicaSetsOf(ring: Ring, self: string, n: number): ReplicaSets {
  let byView = replicaSetCache.get(ring)
  if (byView === undefined) {
    byView = new Map()
    replicaSetCache.set(ring, byView)
  }
  const cacheKey = `${n}\n${self}`
  const cached = byView.get(cacheKey)
  if (cached !== undefined) return cached
  const groupOf = new Int32Array(ring.tokens.length).fill(-1)
  const ids = new Map<string, { replicas: string[]; arcs: number[] }>()
  for (let arc = 0; arc < ring.tokens.length; arc++) {
    const replicas = preferenceListAt(ring, ring.tokens[arc] as bigint, Math.min(n, ring.members.length))
    if (!replicas.includes(self)) continue
    replicas.sort()
    const id = replicas.join('\n')
    const set = ids.get(id) ?? { replicas, arcs: [] }
    set.arcs.push(arc)
    ids.set(id, set)
  }
  const sorted = [...ids.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  sorted.forEach(([, set], g) => {
    for (const arc of set.arcs) groupOf[arc] = g
  })
  const result = { groupOf, replicaSets: sorted.map(([, set]) => set.replicas) }
  byView.set(cacheKey, result)
  return result
}

/** The first reason this node is not synced, most specific first; undefined when synced. */
function notSynced(peers: readonly PeerSyncReport[], unreconciled: readonly UnreconciledKey[], hintsPendingFor: string | undefined): string | undefined {
  const newest = unreconciled[unreconciled.length - 1]
  if (newest !== undefined) {
    const more = unreconciled.length > 1 ? ` (and ${unreconciled.length - 1} more)` : ''
    return `key ${JSON.stringify(newest.key)} not reconciled with ${newest.peer}: ${newest.reason}${more}`
  }
  const behind = peers.filter((p) => p.status === 'alive' && !p.inSync)
  const first = behind[0]
  if (first !== undefined) {
    const more = behind.length > 1 ? ` (and ${behind.length - 1} more)` : ''
    return `${first.id} not in sync: ${first.reason ?? 'unknown'}${more}`
  }
  const waiting = peers.find((p) => p.pendingHints > 0)
  if (waiting !== undefined) return `hints pending for ${waiting.id} (${waiting.status})`
  if (hintsPendingFor !== undefined) return `hints pending for ${hintsPendingFor}`
  return undefined
}

function hex(words: Uint32Array): string {
  let out = ''
  for (let i = 0; i < FINGERPRINT_BYTES / 4; i++) out += (words[i] ?? 0).toString(16).padStart(8, '0')
  return out
}
