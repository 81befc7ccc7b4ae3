// "Am I synced?" without reading every key: digests from the anti-entropy index. Keys are
// grouped by the set of replicas that should hold them (every key of a ring arc has the
// same preference list); nodes in the same replica set report the same digest for it once
// they hold the same data. The whole-store digest covers everything the node holds.
import type { ArcIndex } from './arc-index.js'
import { FINGERPRINT_BYTES } from './arc-index.js'
import type { PeerSyncStatus } from './anti-entropy.js'
import { preferenceListAt, type Ring } from './ring.js'

export interface ReplicaSetDigest {
  /** The members that replicate these keys, sorted. */
  readonly replicas: readonly string[]
  readonly keys: number
  /** Hex XOR-aggregate of the keys' (key, state digest) fingerprints. */
  readonly digest: string
}

export interface SyncStatus {
  /** Hex digest of every key this node stores. */
  readonly digest: string
  readonly keys: number
  /** One entry per replica set this node belongs to, sorted by replicas. */
  readonly ranges: readonly ReplicaSetDigest[]
  /** Per peer: whether the last anti-entropy exchange found the shared ranges equal. */
  readonly peers: readonly PeerSyncStatus[]
}

export function syncStatus(index: ArcIndex, ring: Ring, self: string, n: number, peers: readonly PeerSyncStatus[]): SyncStatus {
  const whole = new Uint32Array(4)
  const sets = new Map<string, { replicas: string[]; acc: Uint32Array; keys: number }>()
  let keys = 0
  const indexed = index.ring === ring
  for (let arc = 0; indexed && arc < ring.tokens.length; arc++) {
    index.xorArcInto(arc, whole)
    keys += index.keyCount(arc)
    const replicas = preferenceListAt(ring, ring.tokens[arc] as bigint, Math.min(n, ring.members.length))
    if (!replicas.includes(self)) continue
    replicas.sort()
    const id = replicas.join('\n')
    let set = sets.get(id)
    if (set === undefined) {
      set = { replicas, acc: new Uint32Array(4), keys: 0 }
      sets.set(id, set)
    }
    index.xorArcInto(arc, set.acc)
    set.keys += index.keyCount(arc)
  }
  const ranges = [...sets.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => ({ replicas: s.replicas, keys: s.keys, digest: hex(s.acc) }))
  return { digest: hex(whole), keys, ranges, peers: [...peers].sort((a, b) => (a.id < b.id ? -1 : 1)) }
}

function hex(words: Uint32Array): string {
  let out = ''
  for (let i = 0; i < FINGERPRINT_BYTES / 4; i++) out += (words[i] ?? 0).toString(16).padStart(8, '0')
  return out
}
