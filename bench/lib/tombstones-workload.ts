// The writes and deletes of the tombstone benchmark (bench/tombstones.ts): N distinct keys
// through the public API of the cluster's databases, C in flight, the coordinating node
// taking turns, run on virtual time until all have answered.
import type { Database } from '../../src/database/database.js'
import { runConcurrent } from './load.js'
import type { DiskCluster } from './tombstones-cluster.js'

export type KeyKind = 'counter' | 'register'

export interface LoadResult {
  readonly ops: number
  readonly wallMs: number
  /** Process CPU (user + system): on a shared machine the wall time includes others' work. */
  readonly cpuMs: number
  readonly virtualMs: number
  /** Answers with quorum: false (fewer than w acknowledgements when they returned). */
  readonly quorumMissed: number
  readonly opsPerSecond: number
}

/** `t/0000042`: zero-padded, so keys sort as numbers. */
export function tombstoneKey(i: number, count: number): string {
  return `t/${String(i).padStart(Math.max(7, String(count - 1).length), '0')}`
}

/** Writes keys 0..count-1 once each: a counter increment of 1, or a register set to a small value. */
export function writeKeys(c: DiskCluster, count: number, kind: KeyKind, concurrency: number, onProgress: (done: number) => void): Promise<LoadResult> {
  const write = (db: Database, i: number): Promise<{ readonly quorum?: boolean }> => {
    const key = tombstoneKey(i, count)
    return kind === 'counter' ? db.counter(key).increment(1) : db.register(key).set({ n: i })
  }
  return load(c, count, concurrency, onProgress, (i) => write(dbAt(c, i), i))
}

/** Deletes keys 0..count-1, each through another node than the one that wrote it. */
export function deleteKeys(c: DiskCluster, count: number, concurrency: number, onProgress: (done: number) => void): Promise<LoadResult> {
  return load(c, count, concurrency, onProgress, (i) => dbAt(c, i + 1).delete(tombstoneKey(i, count)))
}

function dbAt(c: DiskCluster, i: number): Database {
  return (c.nodes[i % c.nodes.length] as { db: Database }).db
}

async function load(
  c: DiskCluster,
  count: number,
  concurrency: number,
  onProgress: (done: number) => void,
  op: (i: number) => Promise<{ readonly quorum?: boolean }>,
): Promise<LoadResult> {
  let quorumMissed = 0
  const virtualFrom = c.now
  const cpu = process.cpuUsage()
  const started = performance.now()
  await c.settle(
    runConcurrent(
      count,
      concurrency,
      async (i) => {
        if ((await op(i)).quorum === false) quorumMissed++
      },
      { onProgress, progressEvery: 1024 },
    ),
  )
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {
    ops: count,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    virtualMs: c.now - virtualFrom,
    quorumMissed,
    opsPerSecond: count / (wallMs / 1000),
  }
}
