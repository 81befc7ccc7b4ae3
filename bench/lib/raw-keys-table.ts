// The practical limit under rumordb's storage: upserts straight into a file opened the
// way rumordb opens its own (same pragmas, same schema), with no engine on top.
import type Database from 'better-sqlite3'
import { seededRandom } from '../../src/base/random.js'
import { openSqliteDatabase, type SynchronousMode } from '../../src/store/sqlite-open.js'

/** What every upserted row looks like: rumordb's type column and blob sizes. */
export interface RowShape {
  readonly type: string
  readonly stateBytes: number
  readonly hlcBytes: number
}

/** Commits every key of the set as one row upsert, all in one transaction. */
export type Committer = (keys: ReadonlySet<string>) => void

// The columns SqliteTables' upsertKey writes for a whole state that does not expire and
// shows something (pages, expires_at and deleted_at NULL), with a 24-byte index entry.
const UPSERT_SQL = `INSERT INTO keys (key, type, state, hlc, digest, index_entry) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET type = excluded.type, state = excluded.state,
    hlc = excluded.hlc, digest = excluded.digest, pages = NULL, expires_at = NULL, deleted_at = NULL,
    index_entry = excluded.index_entry`
const DIGEST_BYTES = 16
const INDEX_ENTRY_BYTES = 24
/** Distinct blobs per shape, cycled through so rows do not all carry the same bytes. */
const BLOB_POOL = 256

export class RawKeysTable {
  private constructor(
    private readonly db: Database.Database,
    private readonly upsert: Database.Statement<[string, string, Uint8Array, Uint8Array, Uint8Array, Uint8Array]>,
  ) {}

  /** Opens (creating) a data file through rumordb's own open path: WAL, EXCLUSIVE, migrations. */
  static open(path: string, synchronous: SynchronousMode): RawKeysTable {
    const { db } = openSqliteDatabase({ path, synchronous })
    return new RawKeysTable(db, db.prepare(UPSERT_SQL))
  }

  sqliteVersion(): string {
    return String(this.db.prepare('SELECT sqlite_version()').pluck().get())
  }

  /** `poolSize` distinct blobs are cycled through (fewer for big blobs, which would crowd memory). */
  committer(shape: RowShape, seed: number, poolSize = BLOB_POOL): Committer {
    const rng = seededRandom(seed)
    const pool = Array.from({ length: poolSize }, () => ({
      state: rng.bytes(shape.stateBytes),
      hlc: rng.bytes(shape.hlcBytes),
      digest: rng.bytes(DIGEST_BYTES),
      entry: rng.bytes(INDEX_ENTRY_BYTES),
    }))
    let next = 0
    return this.db.transaction((keys: ReadonlySet<string>) => {
      for (const key of keys) {
        const b = pool[next++ % poolSize] as (typeof pool)[number]
        this.upsert.run(key, shape.type, b.state, b.hlc, b.digest, b.entry)
      }
    })
  }

  close(): void {
    this.db.close()
  }
}

export interface BatchedRun {
  readonly transactions: number
  /** Rows written: fewer than writes when a transaction saw one key twice. */
  readonly rows: number
}

/**
 * Commits `ops` writes (keys from `keyAt`) in transactions of `batch` writes on average (a
 * fractional mean alternates sizes), collapsing writes to one key within a transaction as
 * rumordb's overlay does.
 */
export function upsertInBatches(
  commit: Committer,
  ops: number,
  batch: number,
  keyAt: (i: number) => string,
  onProgress?: (done: number) => void,
): BatchedRun {
  let transactions = 0
  let rows = 0
  let i = 0
  while (i < ops) {
    const end = Math.min(ops, Math.max(i + 1, Math.round((transactions + 1) * batch)))
    const keys = new Set<string>()
    for (; i < end; i++) keys.add(keyAt(i))
    commit(keys)
    transactions++
    rows += keys.size
    if (transactions % 64 === 0) onProgress?.(i)
  }
  onProgress?.(i)
  return { transactions, rows }
}

