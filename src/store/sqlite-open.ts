// Opening the data file: exclusive ownership, WAL, pragmas, migrations, and translation of
// SQLite's failures into errors that say what to do.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import {
  CorruptDatabaseError,
  DatabaseLockedError,
  DatabaseOpenError,
  StoreError,
} from './errors.js'
import { checkFile, migrate, type MigrationResult } from './migrations.js'

export type SynchronousMode = 'NORMAL' | 'FULL'

export interface SqliteOpenOptions {
  path: string
  /**
   * NORMAL (default) keeps every committed transaction across a process crash (kill -9);
   * FULL also across power loss, at the cost of an fsync per commit.
   */
  synchronous?: SynchronousMode
  /** How long to wait for a file that another process is releasing. Default 200 ms. */
  busyTimeoutMs?: number
}

export const DEFAULT_BUSY_TIMEOUT_MS = 200
/** Bounds the WAL file left on disk after checkpoints. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
/**
 * WAL pages before a commit runs a checkpoint (SQLite's default is 1,000, about 4 MB). A
 * checkpoint copies pages into the database file and fsyncs it on the thread that
 * commits, 9-15 ms here; at the default that stalled about one write in 130 per node and
 * set the cluster's p99 write latency. 10,000 pages (about 40 MB, under the journal size
 * limit) makes stalls ten times rarer, and a key rewritten many times between checkpoints
 * is copied once. The cost: a larger WAL to replay when a killed node reopens.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000
/**
 * SQLite's page cache (its default is 2 MB). A write reads the key's state when the
 * replica's state cache misses; with a million keys the table and its index are far
 * larger than 2 MB, and each miss went to the OS for several pages.
 */
export const PAGE_CACHE_BYTES = 64 * 1024 * 1024

export interface OpenedDatabase {
  db: Database.Database
  migration: MigrationResult
}

export function openSqliteDatabase(opts: SqliteOpenOptions): OpenedDatabase {
  const { path } = opts
  const synchronous = opts.synchronous ?? 'NORMAL'
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new DatabaseOpenError(path, `synchronous must be 'NORMAL' or 'FULL', got ${String(synchronous)}`)
  }
  const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new DatabaseOpenError(path, `busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`)
  }
  let db: Database.Database | undefined
  try {
    mkdirSync(dirname(path), { recursive: true })
    db = new Database(path)
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    // EXCLUSIVE before WAL: the wal-index then lives in process memory (no -shm file) and
    // the file lock, taken by the first access below, is held until close. The OS drops
    // it when the process dies, so a killed node's file can be reopened at once.
    db.pragma('locking_mode = EXCLUSIVE')
    // Look before changing anything: switching to WAL would already alter a foreign file.
    const version = checkFile(db, path)
    // A new file returns the pages purges free to the file system (releaseFreePages); the
    // setting takes only before the first table. Older files keep reusing their free pages.
    if (version === 0) db.pragma('auto_vacuum = INCREMENTAL')
    const journal = String(db.pragma('journal_mode = WAL', { simple: true }))
    if (journal.toLowerCase() !== 'wal') {
      throw new DatabaseOpenError(path, `the file system refused WAL mode (journal_mode is ${journal})`)
    }
    db.pragma(`synchronous = ${synchronous}`)
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`)
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
    // Negative: a size in KiB rather than in pages.
    db.pragma(`cache_size = ${-PAGE_CACHE_BYTES / 1024}`)
    const migration = migrate(db, path)
    return { db, migration }
  } catch (err) {
    db?.close()
    throw translateOpenError(path, err)
  }
}

function translateOpenError(path: string, err: unknown): Error {
  if (err instanceof StoreError) return err
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : String(err)
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return new DatabaseLockedError(path, { cause: err })
    }
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      return new CorruptDatabaseError(path, message, { cause: err })
    }
  }
  return new DatabaseOpenError(path, message, { cause: err })
}
