// What a benchmark reads of a database's store while it runs: how many writes shared each
// commit (rumordb's group commit), and the process's CPU time.
import type { Database } from '../../src/index.js'
import type { StoreStats } from '../../src/store/group-commit-store.js'

/**
 * The store's commit counters. Database keeps its store private and has no stats()
 * yet, so this reads the field; when that stops working callers say 'assumed'.
 */
export function storeStats(db: Database): StoreStats | undefined {
  const store = (db as unknown as { store?: { stats?: () => StoreStats } }).store
  return typeof store?.stats === 'function' ? store.stats() : undefined
}

/** Commits and writes per commit between two readings of the store's counters. */
export function opsPerCommit(
  before: StoreStats | undefined,
  after: StoreStats | undefined,
): { commits: number; opsPerCommit: number } | undefined {
  if (before === undefined || after === undefined || after.commits <= before.commits) return undefined
  const commits = after.commits - before.commits
  return { commits, opsPerCommit: (after.operationsCommitted - before.operationsCommitted) / commits }
}

/** Process CPU milliseconds (user + system, all threads) since `start`. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}
