// What the tombstone benchmark (bench/tombstones.ts) measures of its cluster: when it has
// converged; at rest, each node's files and rows and one full round of anti-entropy
// between converged nodes; and what anti-entropy sends to refill a node that lost its disk.
import type { DiskCluster, DiskNode, NodeFiles } from './tombstones-cluster.js'

/** Virtual time to let frames of aborted rounds arrive before measuring, per check and at most. */
const DRAIN_STEP_MS = 10
const DRAIN_MAX_MS = 5_000

/**
 * Frames of anti-entropy: its requests and answers (sync-*), the ack of a sync-push,
 * errors, and the parts of a large message (only anti-entropy sends any while the
 * cluster takes no writes). Heartbeats, rumors and joins are not.
 */
export function isAntiEntropyType(type: string): boolean {
  return type.startsWith('sync-') || type.startsWith('large-') || type === 'ack' || type === 'error'
}

function split(bytesByType: Record<string, number>): { bytes: number; other: number; byType: Record<string, number> } {
  let bytes = 0
  let other = 0
  const byType: Record<string, number> = {}
  for (const [type, b] of Object.entries(bytesByType)) {
    if (isAntiEntropyType(type)) {
      bytes += b
      byType[type] = b
    } else other += b
  }
  return { bytes, other, byType }
}

/** The `keys` table of one node, read with SQL: rows and the bytes of their columns. */
export interface RowStats {
  readonly rows: number
  readonly keyBytes: number
  readonly stateBytes: number
  /** hlc + digest + the page list of sets stored in pages. */
  readonly otherBytes: number
  /** Rows of key_pages (OR-sets kept in pages). */
  readonly pageRows: number
}

/** One full round: every node runs one anti-entropy exchange with each of its peers. */
export interface AntiEntropyRound {
  readonly exchanges: number
  /** Outcome of each exchange, counted ('equal' between converged replicas). */
  readonly outcomes: Record<string, number>
  /** Frames of the exchanges, requests and responses, both ways. */
  readonly messages: number
  readonly bytes: number
  readonly bytesByType: Record<string, number>
  /** Wall time of the exchanges: mostly the digests' work, since the network is simulated. */
  readonly ms: number
  /** Rounds started meanwhile beyond the ones asked for (periodic rounds that slipped in; 0 expected). */
  readonly extraRounds: number
}

export interface NodeMeasure {
  readonly id: string
  readonly files: NodeFiles
  readonly rows: RowStats
  /** status().keys: rows in the store, tombstones included. */
  readonly storedKeys: number
  /** Keys the anti-entropy index holds (ArcIndex.size): its memory follows this. */
  readonly indexKeys: number
}

export interface StateMeasure {
  readonly nodes: readonly NodeMeasure[]
  readonly antiEntropy: AntiEntropyRound
  /** Keys a node lists (db.keys): deleted keys are not listed. Counted on the first node, up to `visibleLimit`. */
  readonly visibleKeys: number
  /** Virtual ms since the cluster started, when measured. */
  readonly at: number
  /** This process (the three nodes and the harness): heap used and RSS, after a gc when Node runs with --expose-gc. */
  readonly memory: { readonly heapUsedBytes: number; readonly rssBytes: number; readonly afterGc: boolean }
}

/** Files, rows and one full anti-entropy round of a cluster at rest (call once it converged). */
export async function measureState(c: DiskCluster, startedAt: number, visibleLimit: number): Promise<StateMeasure> {
  const antiEntropy = await fullAntiEntropyRound(c)
  const files = c.files()
  const nodes = c.nodes.map((n, i) => ({
    id: n.id,
    files: files[i] as NodeFiles,
    rows: rowStats(n),
    storedKeys: n.db.status().keys,
    indexKeys: n.db.engine?.arcIndex.size ?? 0,
  }))
  const first = c.nodes[0] as DiskNode
  return { nodes, antiEntropy, visibleKeys: first.db.keys({ limit: visibleLimit }).length, at: c.now - startedAt, memory: memory() }
}

function memory(): StateMeasure['memory'] {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const { heapUsed, rss } = process.memoryUsage()
  return { heapUsedBytes: heapUsed, rssBytes: rss, afterGc: gc !== undefined }
}

/**
 * Every node runs one exchange with each peer, one at a time (n = 3 on 3 nodes: every node
 * shares every arc with both others, so 6 exchanges), with the periodic rounds paused.
 * Bytes are the anti-entropy frames the engines sent meanwhile (isAntiEntropyType);
 * messages are the frames of requests and responses the simulated network carried.
 */
export async function fullAntiEntropyRound(c: DiskCluster): Promise<AntiEntropyRound> {
  // Periodic rounds would run beside the measured ones (or make them answer 'busy'): they
  // are stopped (AntiEntropy.stop aborts one in flight), their frames let drain, and
  // started again after.
  const engines = c.nodes.map((n) => n.db.engine).filter((e) => e !== undefined)
  await c.settle(Promise.all(engines.map((e) => e.antiEntropy.stop())))
  await c.runUntil(() => c.net.isQuiet(), DRAIN_STEP_MS, DRAIN_MAX_MS)
  try {
    return await measuredRound(c)
  } finally {
    for (const e of engines) e.antiEntropy.start()
  }
}

async function measuredRound(c: DiskCluster): Promise<AntiEntropyRound> {
  const roundsBefore = totalRounds(c)
  const traffic = c.traffic.snapshot()
  const net = c.net.counters()
  const outcomes: Record<string, number> = {}
  let exchanges = 0
  let ms = 0
  for (const node of c.nodes) {
    const engine = node.db.engine
    if (engine === undefined) throw new Error(`${node.id} is not networked`)
    for (const peer of c.ids) {
      if (peer === node.id) continue
      const started = performance.now()
      const result = await c.settle(engine.antiEntropy.runRound(peer))
      ms += performance.now() - started
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1
      exchanges++
    }
  }
  const after = c.net.counters()
  const { bytes, byType } = split(c.traffic.since(traffic))
  return {
    exchanges,
    outcomes,
    messages: after.requests - net.requests + (after.responses - net.responses),
    bytes,
    bytesByType: byType,
    ms,
    extraRounds: totalRounds(c) - roundsBefore - exchanges,
  }
}

function totalRounds(c: DiskCluster): number {
  return c.nodes.reduce((sum, n) => sum + (n.db.engine?.antiEntropy.stats.rounds ?? 0), 0)
}

/** Reads the node's keys table with its own connection (the store's, in this process). */
export function rowStats(n: DiskNode): RowStats {
  const row = n.sqlite
    .prepare(
      `SELECT count(*) AS rows, coalesce(sum(length(CAST(key AS BLOB))), 0) AS keyBytes, coalesce(sum(length(state)), 0) AS stateBytes,
         coalesce(sum(length(hlc) + length(digest) + coalesce(length(pages), 0)), 0) AS otherBytes FROM keys`,
    )
    .get() as { rows: number; keyBytes: number; stateBytes: number; otherBytes: number }
  const pageRows = (n.sqlite.prepare('SELECT count(*) AS n FROM key_pages').get() as { n: number }).n
  return { ...row, pageRows }
}

export interface Convergence {
  readonly converged: boolean
  /** Virtual ms it took (or waited before giving up). */
  readonly virtualMs: number
  readonly wallMs: number
  /** Why not, when it did not: the first node's sync reason, or the differing digests. */
  readonly reason?: string
}

/**
 * Runs the cluster until every node says synced, all hold the same digest of all their keys
 * and the same number of keys that show something (tombstones are neither compared by
 * anti-entropy nor sent to a replica that shows nothing of the key, so rows may differ),
 * checked every `stepMs` of virtual time, for at most `maxMs`.
 */
export async function converge(c: DiskCluster, stepMs: number, maxMs: number): Promise<Convergence> {
  const startedVirtual = c.now
  const started = performance.now()
  const converged = await c.runUntil(() => whyNotConverged(c) === undefined, stepMs, maxMs)
  const reason = whyNotConverged(c)
  return { converged, virtualMs: c.now - startedVirtual, wallMs: performance.now() - started, ...(reason === undefined ? {} : { reason }) }
}

function whyNotConverged(c: DiskCluster): string | undefined {
  const statuses = c.nodes.map((n) => ({ id: n.id, sync: n.db.syncStatus(), keys: n.db.replica.store.countShownKeys() }))
  const unsynced = statuses.find((s) => !s.sync.synced)
  if (unsynced !== undefined) return `${unsynced.id}: ${unsynced.sync.reason ?? 'not synced'}`
  const first = statuses[0]
  const other = statuses.find((s) => s.sync.digest !== first?.sync.digest || s.keys !== first?.keys)
  if (other !== undefined) return `${other.id} shows ${other.keys} keys (digest ${other.sync.digest.slice(0, 8)}), ${first?.id} ${first?.keys} (${first?.sync.digest.slice(0, 8)})`
  return undefined
}

/** What it cost anti-entropy to refill a node that lost its disk, until the cluster converged again. */
export interface CatchUp {
  readonly node: string
  readonly converged: boolean
  readonly reason?: string
  /** Anti-entropy frames of every node meanwhile (isAntiEntropyType). */
  readonly bytes: number
  readonly bytesByType: Record<string, number>
  /** Everything else sent meanwhile: joins, member tables, heartbeats. */
  readonly otherBytes: number
  /** Anti-entropy rounds started, all nodes. */
  readonly rounds: number
  /** States the refilled node merged from anti-entropy. */
  readonly keysReceived: number
  /** Rows the refilled node holds once converged. */
  readonly rows: number
  readonly virtualMs: number
  readonly wallMs: number
}

/**
 * Wipes node `id` (DiskCluster.wipe) and runs until the cluster converged again. What
 * tombstones cost anti-entropy shows here: between converged replicas a round compares one
 * hash, but every tombstone a node holds is sent to a replica that has none.
 */
export async function catchUp(c: DiskCluster, id: string, stepMs: number, maxMs: number, onStep: (rows: number) => void): Promise<CatchUp> {
  const others = c.nodes.filter((n) => n.id !== id)
  const roundsBefore = others.reduce((sum, n) => sum + (n.db.engine?.antiEntropy.stats.rounds ?? 0), 0)
  const startedVirtual = c.now
  const started = performance.now()
  const traffic = c.traffic.snapshot()
  await c.wipe(id)
  const refilled = c.node(id)
  const converged = await c.runUntil(
    () => {
      onStep(refilled.db.status().keys)
      return whyNotConverged(c) === undefined
    },
    stepMs,
    maxMs,
  )
  const reason = whyNotConverged(c)
  const { bytes, other, byType } = split(c.traffic.since(traffic))
  const stats = refilled.db.engine?.antiEntropy.stats
  return {
    node: id,
    converged,
    ...(reason === undefined ? {} : { reason }),
    bytes,
    bytesByType: byType,
    otherBytes: other,
    rounds: totalRounds(c) - roundsBefore,
    keysReceived: stats?.keysReceived ?? 0,
    rows: refilled.db.status().keys,
    virtualMs: c.now - startedVirtual,
    wallMs: performance.now() - started,
  }
}
