// The production Store: one SQLite file in WAL mode, owned exclusively by one process,
// with group commit from GroupCommitStore.
import type Database from 'better-sqlite3'
import { GroupCommitStore } from './group-commit-store.js'
import { pragmaNumber } from './migrations.js'
import { openSqliteDatabase, type SqliteOpenOptions, type SynchronousMode } from './sqlite-open.js'
import { SqliteTables } from './sqlite-tables.js'
import type { StoreHooks } from './store-hooks.js'

export interface SqliteStoreOptions extends SqliteOpenOptions {
  hooks?: StoreHooks
}

export interface SqliteDiagnostics {
  path: string
  journalMode: string
  lockingMode: string
  synchronous: SynchronousMode | 'OFF' | 'EXTRA'
  userVersion: number
  applicationId: number
  pageSize: number
  /** WAL pages that trigger a checkpoint. */
  walAutocheckpoint: number
  /** SQLite's page cache limit in bytes (PAGE_CACHE_BYTES). */
  pageCacheBytes: number
  /** Schema version found when the file was opened (0 for a new file). */
  openedAtVersion: number
}

const SYNCHRONOUS_NAMES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const

export class SqliteStore extends GroupCommitStore {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly openedAtVersion: number,
    hooks: StoreHooks | undefined,
  ) {
    super(new SqliteTables(db, path, hooks))
  }

  /**
   * Opens (creating if needed) the data file at `path`. Rejects with DatabaseLockedError,
   * CorruptDatabaseError, ForeignDatabaseError, UnsupportedSchemaVersionError or
   * DatabaseOpenError.
   */
  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const { db, migration } = openSqliteDatabase(opts)
    return new SqliteStore(db, opts.path, migration.from, opts.hooks)
  }

  /** PRAGMA integrity_check over the committed data: 'ok', or SQLite's list of problems. */
  integrityCheck(): string {
    this.assertOpen()
    const rows = this.db.pragma('integrity_check') as { integrity_check: unknown }[]
    return rows.map((r) => String(r.integrity_check)).join('\n')
  }

  diagnostics(): SqliteDiagnostics {
    this.assertOpen()
    const text = (name: string) => String(this.db.pragma(name, { simple: true }))
    return {
      path: this.path,
      journalMode: text('journal_mode'),
      lockingMode: text('locking_mode'),
      synchronous: SYNCHRONOUS_NAMES[pragmaNumber(this.db, 'synchronous')] ?? 'OFF',
      userVersion: pragmaNumber(this.db, 'user_version'),
      applicationId: pragmaNumber(this.db, 'application_id'),
      pageSize: pragmaNumber(this.db, 'page_size'),
      walAutocheckpoint: pragmaNumber(this.db, 'wal_autocheckpoint'),
      pageCacheBytes: cacheBytes(pragmaNumber(this.db, 'cache_size'), pragmaNumber(this.db, 'page_size')),
      openedAtVersion: this.openedAtVersion,
    }
  }
}

/** PRAGMA cache_size in bytes: negative values are KiB, positive ones pages. */
function cacheBytes(cacheSize: number, pageSize: number): number {
  return cacheSize < 0 ? -cacheSize * 1024 : cacheSize * pageSize
}
