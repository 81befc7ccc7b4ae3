// Whether this build purges tombstones (issue 14), judged from what a running database
// exposes rather than from a name agreed in advance: the purge is being written while this
// benchmark is, so the benchmark looks for it. Anything named like a purge on the database,
// its engine and their parts, or any counter in status() named so, counts as evidence.
// Once the purge has settled on its names, list its window option in PURGE_WINDOW_OPTIONS
// so the benchmark can shorten the window (see bench/tombstones.ts, --engine and
// --purge-wait-ms).
import type { Database } from '../../src/database/database.js'

/** Names that say "purge" (or a tombstone collector) on an object or in status(). */
const PURGE_NAME = /purg|tombstone(s)?(gc|collect|expir|drop|remov|prun)|gcTombstones|collectTombstones/i

/**
 * Engine config options that may set the purge window, in the order tried: when the bench
 * is not given --purge-wait-ms, it waits past the first of these it was given with --engine.
 */
export const PURGE_WINDOW_OPTIONS: readonly string[] = ['tombstonePurgeMs', 'purgeWindowMs', 'tombstoneTtlMs', 'purgeAfterMs', 'tombstoneGraceMs']

export interface PurgeSupport {
  readonly implemented: boolean
  /** Where a purge showed: `engine.purgeTombstones()`, `status.replica.tombstonesPurged`, … */
  readonly evidence: readonly string[]
}

/** Looks for a purge on one database of the cluster: its methods and parts, and its status counters. */
export function detectPurge(db: Database): PurgeSupport {
  const evidence = new Set<string>()
  const engine = db.engine as unknown as Record<string, unknown> | undefined
  const parts: [string, unknown][] = [
    ['db', db],
    ['db.replica', db.replica],
    ['db.engine', engine],
    ...Object.entries(engine ?? {}).map(([name, part]): [string, unknown] => [`db.engine.${name}`, part]),
    ['store', (db as unknown as { store?: unknown }).store],
  ]
  for (const [where, part] of parts) for (const name of memberNames(part)) if (PURGE_NAME.test(name)) evidence.add(`${where}.${name}`)
  for (const path of numberPaths(db.status(), 'status')) if (PURGE_NAME.test(path)) evidence.add(path)
  return { implemented: evidence.size > 0, evidence: [...evidence].sort() }
}

/** The numbers in status() under names that say purge, summed over nodes: what the purge reports it did. */
export function purgeCounters(dbs: readonly Database[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const db of dbs) {
    for (const [path, value] of numberEntries(db.status(), 'status')) if (PURGE_NAME.test(path)) out[path] = (out[path] ?? 0) + value
  }
  return out
}

/** Own and inherited property names of an object (not Object.prototype's). */
function memberNames(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return []
  const names = new Set<string>()
  for (let o: object | null = value; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) names.add(name)
  }
  return [...names]
}

function numberPaths(value: unknown, at: string): string[] {
  return numberEntries(value, at).map(([path]) => path)
}

function numberEntries(value: unknown, at: string): [string, number][] {
  if (typeof value === 'number') return [[at, value]]
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return []
  return Object.entries(value).flatMap(([name, v]) => numberEntries(v, `${at}.${name}`))
}
