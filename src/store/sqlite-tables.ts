// The committed data in SQLite: every statement is prepared once here, and `commit` writes
// a whole overlay in one transaction.
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import type Database from 'better-sqlite3'
import type { CrdtTypeName } from '../../crdts/types.js'
import { INDEX_ENTRY_BYTES, indexEntryOf, POSITION_BYTES } from '../base/key-hashes.js'
import { DIGEST_BYTES, INDEX_RECORD_BYTES } from './digest.js'
import { CorruptDatabaseError } from './errors.js'
import { pragmaNumber } from './migrations.js'
import type { CommittedLayer } from './group-commit-store.js'
import type { KeyRange } from './key-order.js'
import { joinPaging } from '../../crdts/orset-pages.js'
import type { CommitCounts, IdempotencyEntry, StagedChanges } from './staged-changes.js'
import type { DeletedKey, IndexEntryPage, StatePage, StoredChange, StoredDigest, StoredHint, StoredKey, StoredMember } from './store.js'
import type { StoreHooks } from './store-hooks.js'
import { RowFactsCache, type RowFacts } from './row-facts.js'

type Bytes = Buffer
interface KeyRow { key: string; type: string; state: Bytes; hlc: Bytes; digest: Bytes; pages: Bytes | null }
/** A row read by key, with what a commit rewriting it needs to know (row-facts.ts). */
interface KeyRowWithFacts extends KeyRow { deleted: number; position: Bytes | null }
interface PageRow { digest: Bytes; bytes: Bytes }
interface DigestRow { key: string; digest: Bytes; deleted: number; index_entry: Bytes | null }
interface DeletedRow { key: string; digest: Bytes; deleted_at: number }
interface IndexEntryRow { key: string; digest: Bytes; index_entry: Bytes | null }
interface ChangeRow { key: string; hlc: Bytes }
interface HintRow { id: number; target: string; key: string; type: string; state: Bytes; created_at: number }
interface MemberRow { peer_id: string; record: Bytes }

const KEY_COLUMNS = 'key, type, state, hlc, digest, pages'
/** PRAGMA auto_vacuum of a file created with it (sqlite-open.ts). */
const INCREMENTAL_VACUUM = 2
/** SQLite's page cache while an index build reads a page of index entries (scanIndexEntries). */
const SCAN_CACHE_BYTES = 2 * 1024 * 1024
const HINT_COLUMNS = 'id, target, key, type, state, created_at'
/** Below every encoded HLC: 'after nothing'. */
const NO_HLC = Buffer.alloc(0)

export class SqliteTables implements CommittedLayer {
  private keyCount: number
  /** Rows that show nothing (deleted_at set): keys_deleted_at counts them at open. */
  private deletedCount: number
  private readonly applyChanges: (changes: StagedChanges) => CommitCounts
  /** The counts a transaction in progress will leave, set at its end. */
  private pendingCounts: { keyCount: number; deletedCount: number } | undefined
  /** Rows this process wrote whole, so their next commit needs no SELECT (row-facts.ts). */
  private readonly rowFacts = new RowFactsCache()
  /** What a transaction in progress changes in rowFacts (undefined: forget the row), kept only if it commits. */
  private pendingFacts: [string, RowFacts | undefined][] = []
  private readonly sql

  constructor(
    private readonly db: Database.Database,
    readonly label: string,
    private readonly hooks: StoreHooks = {},
  ) {
    const scanOf = <Row>(columns: string) => (lower: '>=' | '>', upper: boolean) =>
      db.prepare<[string, ...unknown[]], Row>(
        `SELECT ${columns} FROM keys WHERE key ${lower} ?${upper ? ' AND key < ?' : ''} ORDER BY key LIMIT ?`,
      )
    const scan = scanOf<KeyRow>(KEY_COLUMNS)
    this.sql = {
      getKey: db.prepare<[string], KeyRowWithFacts>(
        `SELECT ${KEY_COLUMNS}, deleted_at IS NOT NULL AS deleted, substr(index_entry, 1, 8) AS position FROM keys WHERE key = ?`,
      ),
      hasKey: db.prepare<[string], number>('SELECT 1 FROM keys WHERE key = ?').pluck(),
      countKeys: db.prepare<[], number>('SELECT count(*) FROM keys').pluck(),
      countDeleted: db.prepare<[], number>('SELECT count(*) FROM keys WHERE deleted_at IS NOT NULL').pluck(),
      // Indexed by [lowerExclusive ? 1 : 0][upper bounded ? 1 : 0].
      scan: [
        [scan('>=', false), scan('>=', true)],
        [scan('>', false), scan('>', true)],
      ] as const,
      getDigest: db.prepare<[string], Bytes>('SELECT digest FROM keys WHERE key = ?').pluck(),
      getDigestEntry: db.prepare<[string], DigestRow>('SELECT key, digest, deleted_at IS NOT NULL AS deleted, index_entry FROM keys WHERE key = ?'),
      // Indexed by [prefix lower bound ? 1 : 0][upper bound ? 1 : 0]; keys_hlc orders them.
      changes: [false, true].map((lower) =>
        [false, true].map((upper) =>
          db.prepare<unknown[], ChangeRow>(
            `SELECT key, hlc FROM keys WHERE hlc > ?${lower ? ' AND key >= ?' : ''}${upper ? ' AND key < ?' : ''} ORDER BY hlc LIMIT ?`,
          ),
        ),
      ),
      // undefined: no such key; null: its state is whole; else the digests of its pages.
      // A row's ring position (the head of its index entry) never changes: a write reuses it.
      getPageList: db.prepare<[string], { pages: Bytes | null; deleted: number; position: Bytes | null }>(
        'SELECT pages, deleted_at IS NOT NULL AS deleted, substr(index_entry, 1, 8) AS position FROM keys WHERE key = ?',
      ),
      upsertKey: db.prepare<[string, string, Uint8Array, Uint8Array, Uint8Array, Uint8Array | null, number | null, number | null, Uint8Array]>(
        `INSERT INTO keys (${KEY_COLUMNS}, expires_at, deleted_at, index_entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET type = excluded.type, state = excluded.state,
           hlc = excluded.hlc, digest = excluded.digest, pages = excluded.pages, expires_at = excluded.expires_at,
           deleted_at = excluded.deleted_at, index_entry = excluded.index_entry`,
      ),
      // One row per page of keys: their keys joined by NUL and their records as one blob, so
      // a million keys cost a few hundred statements, not a million row objects and buffers.
      // Both lists come from one pass over the same rows, so they are in step; their order is
      // the subquery's in practice, but an aggregate without ORDER BY does not promise it (one
      // costs twice the time), so the page's last key is max(key). Blobs joined as text keep
      // their bytes (UTF-8 database), and CAST gives them back as a blob.
      indexEntries: [false, true].map((after) =>
        db.prepare<unknown[], [string | null, Bytes | null, number, string | null]>(
          `SELECT group_concat(key, char(0)), CAST(group_concat(digest || index_entry, '') AS BLOB), count(*), max(key)
           FROM (SELECT key, digest, index_entry FROM keys WHERE ${after ? 'key > ? AND ' : ''}deleted_at IS NULL ORDER BY key LIMIT ?)`,
        ).raw(),
      ),
      indexEntryRows: [false, true].map((after) =>
        db.prepare<unknown[], IndexEntryRow>(
          `SELECT key, digest, index_entry FROM keys WHERE ${after ? 'key > ? AND ' : ''}deleted_at IS NULL ORDER BY key LIMIT ?`,
        ),
      ),
      deleted: db.prepare<[number, number, string, number], DeletedRow>(
        'SELECT key, digest, deleted_at FROM keys WHERE deleted_at <= ? AND (deleted_at, key) > (?, ?) ORDER BY deleted_at, key LIMIT ?',
      ),
      purgeKey: db.prepare<[string, Uint8Array]>('DELETE FROM keys WHERE key = ? AND digest = ? AND deleted_at IS NOT NULL AND pages IS NULL'),
      expiring: db.prepare<[number, number], string>('SELECT key FROM keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?').pluck(),
      pagesOf: db.prepare<[string], PageRow>('SELECT digest, bytes FROM key_pages WHERE key = ?'),
      putPage: db.prepare<[string, Uint8Array, Uint8Array]>('INSERT OR IGNORE INTO key_pages (key, digest, bytes) VALUES (?, ?, ?)'),
      deletePage: db.prepare<[string, Uint8Array]>('DELETE FROM key_pages WHERE key = ? AND digest = ?'),
      deletePages: db.prepare<[string]>('DELETE FROM key_pages WHERE key = ?'),
      getMeta: db.prepare<[string], Bytes>('SELECT value FROM meta WHERE name = ?').pluck(),
      putMeta: db.prepare<[string, Uint8Array]>(
        'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
      deleteMeta: db.prepare<[string]>('DELETE FROM meta WHERE name = ?'),
      getIdempotency: db.prepare<[string], { result: Bytes; expires_at: number }>(
        'SELECT result, expires_at FROM idempotency WHERE id = ?',
      ),
      putIdempotency: db.prepare<[string, Uint8Array, number]>(
        `INSERT INTO idempotency (id, result, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at`,
      ),
      pruneIdempotency: db.prepare<[number]>('DELETE FROM idempotency WHERE expires_at <= ?'),
      listHints: db.prepare<[number], HintRow>(`SELECT ${HINT_COLUMNS} FROM hints ORDER BY id LIMIT ?`),
      listHintsFor: db.prepare<[string, number], HintRow>(
        `SELECT ${HINT_COLUMNS} FROM hints WHERE target = ? ORDER BY id LIMIT ?`,
      ),
      insertHint: db.prepare<[number, string, string, string, Uint8Array, number]>(
        `INSERT INTO hints (${HINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      deleteHint: db.prepare<[number]>('DELETE FROM hints WHERE id = ?'),
      // AUTOINCREMENT remembers the highest id ever used in sqlite_sequence, even after deletes.
      maxHintId: db
        .prepare<[], number>(
          `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'hints'), 0),
                      coalesce((SELECT max(id) FROM hints), 0))`,
        )
        .pluck(),
      listMembers: db.prepare<[], MemberRow>('SELECT peer_id, record FROM members ORDER BY peer_id'),
      putMember: db.prepare<[string, Uint8Array]>(
        'INSERT INTO members (peer_id, record) VALUES (?, ?) ON CONFLICT (peer_id) DO UPDATE SET record = excluded.record',
      ),
      deleteMember: db.prepare<[string]>('DELETE FROM members WHERE peer_id = ?'),
    }
    // count(*) reads the whole key index once: not worth keeping in the page cache.
    this.keyCount = this.withSmallCache(() => this.sql.countKeys.get() ?? 0)
    this.deletedCount = this.sql.countDeleted.get() ?? 0
    this.applyChanges = db.transaction((changes: StagedChanges) => this.apply(changes))
  }

  getKey(key: string): StoredKey | undefined {
    const row = this.sql.getKey.get(key)
    // A read before a write (a replica's cache miss) saves that write's commit a SELECT.
    if (row !== undefined && row.pages === null && row.position?.length === POSITION_BYTES) {
      this.rowFacts.set(key, { deleted: row.deleted === 1, position: new Uint8Array(row.position) })
    }
    return row === undefined ? undefined : this.toStoredKey(row)
  }

  getDigest(key: string): Uint8Array | undefined {
    const digest = this.sql.getDigest.get(key)
    return digest === undefined ? undefined : bytes(digest)
  }

  getDigestEntry(key: string): StoredDigest | undefined {
    const row = this.sql.getDigestEntry.get(key)
    return row === undefined ? undefined : digestEntry(row)
  }

  hasKey(key: string): boolean {
    return this.sql.hasKey.get(key) !== undefined
  }

  scan(range: KeyRange, limit: number | undefined): StoredKey[] {
    return scanRows(this.sql.scan, range, limit).map((row) => this.toStoredKey(row))
  }

  /**
   * Index builds read every row once, page by page: their pages would fill SQLite's page
   * cache (64 MiB at 10^6 keys) with rows nobody reads again, so the cache is held small
   * while a page of them is read (SQLite drops cached pages above the new size at once).
   * The writes of those seconds find fewer of their pages cached.
   */
  scanIndexEntries(after: string | undefined, limit: number): IndexEntryPage {
    const args = after === undefined ? [limit] : [after, limit]
    return this.withSmallCache(() => {
      const [joined, records, count, last] = this.sql.indexEntries[after === undefined ? 0 : 1]!.get(...args) as [string | null, Bytes | null, number, string | null]
      if (count === 0) return { keys: [], records: new Uint8Array(0), last: undefined }
      const keys = joined!.split('\0')
      // A key holding NUL splits in more parts, and a row without its entry shortens the
      // records: such a page is read row by row (which says which key lacks its entry).
      if (keys.length !== count || records?.length !== count * INDEX_RECORD_BYTES) return this.indexEntryRows(args)
      return { keys, records: bytes(records), last: last! }
    })
  }

  private indexEntryRows(args: unknown[]): IndexEntryPage {
    const rows = this.sql.indexEntryRows[args.length - 1]!.all(...args)
    const records = new Uint8Array(rows.length * INDEX_RECORD_BYTES)
    rows.forEach((row, i) => {
      if (row.index_entry?.length !== INDEX_ENTRY_BYTES) throw new CorruptDatabaseError(this.label, `the key ${JSON.stringify(row.key)} has no index entry (keys.index_entry)`)
      records.set(row.digest, i * INDEX_RECORD_BYTES)
      records.set(row.index_entry, i * INDEX_RECORD_BYTES + DIGEST_BYTES)
    })
    return { keys: rows.map((row) => row.key), records, last: rows.at(-1)?.key }
  }

  scanChanges(after: Uint8Array | undefined, range: KeyRange, limit: number): StoredChange[] {
    const lower = range.lower !== ''
    const upper = range.upper !== undefined
    const args: unknown[] = [after ?? NO_HLC]
    if (lower) args.push(range.lower)
    if (upper) args.push(range.upper)
    args.push(limit)
    return (this.sql.changes[lower ? 1 : 0]?.[upper ? 1 : 0] as Database.Statement<unknown[], ChangeRow>).all(...args).map((row) => ({ key: row.key, hlc: bytes(row.hlc) }))
  }

  scanExpiring(nowMs: number, limit: number): string[] {
    return this.sql.expiring.all(Math.floor(nowMs), limit)
  }

  scanDeleted(beforeMs: number, limit: number, after: DeletedKey | undefined): DeletedKey[] {
    return this.sql.deleted.all(Math.floor(beforeMs), after?.deletedAt ?? -1, after?.key ?? '', limit).map((row) => ({ key: row.key, digest: bytes(row.digest), deletedAt: row.deleted_at }))
  }

  /** Runs a read of many rows read once (an index build, the count at open) with SQLite's page cache held small. */
  private withSmallCache<T>(read: () => T): T {
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number
    this.db.pragma(`cache_size = ${-SCAN_CACHE_BYTES / 1024}`)
    try {
      return read()
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`)
    }
  }

  countKeys(): number {
    return this.keyCount
  }

  releaseFreePages(maxPages: number): number {
    if (pragmaNumber(this.db, 'auto_vacuum') !== INCREMENTAL_VACUUM) return 0
    const free = pragmaNumber(this.db, 'freelist_count')
    if (free === 0) return 0
    const pages = Math.min(free, maxPages)
    this.db.pragma(`incremental_vacuum(${pages})`)
    return free - pragmaNumber(this.db, 'freelist_count')
  }

  countShownKeys(): number {
    return this.keyCount - this.deletedCount
  }

  getMeta(name: string): Uint8Array | undefined {
    const value = this.sql.getMeta.get(name)
    return value === undefined ? undefined : bytes(value)
  }

  getIdempotency(id: string): IdempotencyEntry | undefined {
    const row = this.sql.getIdempotency.get(id)
    return row === undefined ? undefined : { result: bytes(row.result), expiresAt: row.expires_at }
  }

  listHints(target: string | undefined, limit: number | undefined): StoredHint[] {
    const max = limit ?? -1
    const rows = target === undefined ? this.sql.listHints.all(max) : this.sql.listHintsFor.all(target, max)
    return rows.map((r) => ({
      id: r.id,
      target: r.target,
      key: r.key,
      type: r.type as CrdtTypeName,
      state: bytes(r.state),
      createdAt: r.created_at,
    }))
  }

  listMembers(): StoredMember[] {
    return this.sql.listMembers.all().map((r) => ({ peerId: r.peer_id, record: bytes(r.record) }))
  }

  maxHintId(): number {
    return this.sql.maxHintId.get() ?? 0
  }

  commit(changes: StagedChanges): CommitCounts {
    this.pendingCounts = undefined
    this.pendingFacts = []
    const counts = this.applyChanges(changes)
    // Only a committed transaction changes the counts and what is known of its rows.
    if (this.pendingCounts !== undefined) ({ keyCount: this.keyCount, deletedCount: this.deletedCount } = this.pendingCounts)
    for (const [key, facts] of this.pendingFacts) {
      if (facts === undefined) this.rowFacts.delete(key)
      else this.rowFacts.set(key, facts)
    }
    this.pendingFacts = []
    return counts
  }

  close(): void {
    this.db.close()
  }

  /** Beside the data file: `<file>.<name>`; a new version is written aside and renamed over the old. */
  async readAside(name: string): Promise<Uint8Array | undefined> {
    let file: FileHandle
    try {
      file = await open(`${this.label}.${name}`, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      // One read of the whole file, not readFile's 512 KiB chunks (a round trip to the thread pool each).
      const { size } = await file.stat()
      const bytes = new Uint8Array(size)
      for (let at = 0; at < size; ) {
        const { bytesRead } = await file.read(bytes, at, size - at, at)
        if (bytesRead === 0) return bytes.subarray(0, at)
        at += bytesRead
      }
      return bytes
    } finally {
      await file.close()
    }
  }

  writeAside(name: string, bytes: Uint8Array): void {
    const path = `${this.label}.${name}`
    writeFileSync(`${path}.tmp`, bytes)
    renameSync(`${path}.tmp`, path)
  }

  removeAside(name: string): void {
    rmSync(`${this.label}.${name}`, { force: true })
  }

  /** A row as a StoredKey: a state kept in pages is read page by page and joined. */
  private toStoredKey(row: KeyRow): StoredKey {
    const base = { key: row.key, type: row.type as CrdtTypeName, hlc: bytes(row.hlc), digest: bytes(row.digest) }
    if (row.pages === null) return { ...base, state: bytes(row.state) }
    const byDigest = new Map(this.sql.pagesOf.all(row.key).map((p) => [hex(p.digest), bytes(p.bytes)]))
    const prefix = bytes(row.state)
    const pages = splitDigests(row.pages).map((digest): StatePage => {
      const pageBytes = byDigest.get(hex(digest))
      if (pageBytes === undefined) throw new CorruptDatabaseError(this.label, `the key ${JSON.stringify(row.key)} lists a page it does not have`)
      return { digest, bytes: pageBytes }
    })
    return { ...base, state: joinPaging({ prefix, pages }), paged: { prefix, pages } }
  }

  /** Runs inside the transaction; throwing rolls all of it back. */
  private apply(changes: StagedChanges): CommitCounts {
    const s = this.sql
    // Counted here, kept only if the transaction commits.
    let keyCount = this.keyCount
    let deletedCount = this.deletedCount
    const facts = this.pendingFacts
    for (const k of changes.keys.values()) {
      // A row this process wrote whole is known without reading it (row-facts.ts).
      const known = k.paged === undefined ? this.rowFacts.get(k.key) : undefined
      const row = known === undefined ? s.getPageList.get(k.key) : { pages: null, deleted: known.deleted ? 1 : 0, position: known.position }
      if (row === undefined) keyCount++
      deletedCount += (k.deletedAt === undefined ? 0 : 1) - (row?.deleted === 1 ? 1 : 0)
      const held = row?.pages ?? undefined
      if (k.paged === undefined) {
        if (held !== undefined && held.length > 0) s.deletePages.run(k.key)
        const entry = indexEntryOf(k.key, k.digest, row?.position ?? undefined)
        s.upsertKey.run(k.key, k.type, k.state, k.hlc, k.digest, null, k.expiresAt ?? null, k.deletedAt ?? null, entry)
        facts.push([k.key, { deleted: k.deletedAt !== undefined, position: entry.slice(0, POSITION_BYTES) }])
        continue
      }
      facts.push([k.key, undefined])
      // Only the pages this row does not hold yet are written, and only those it no longer
      // uses are deleted (pages are found by digest). A write of a big set changes a few
      // pages in one place, so the lists are compared past their common start and end.
      const { prefix, pages } = k.paged
      const list = joinDigests(pages)
      const old = held ?? new Uint8Array(0)
      const { from, oldTo, newTo } = changedWindow(old, list)
      const added = new Map<string, StatePage>()
      for (let i = from; i < newTo; i++) added.set(hex(list, i), pages[i] as StatePage)
      const dropped = new Map<string, Uint8Array>()
      for (let i = from; i < oldTo; i++) dropped.set(hex(old, i), old.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES))
      for (const [id, page] of added) if (!dropped.has(id)) s.putPage.run(k.key, page.digest, page.bytes)
      for (const [id, digest] of dropped) if (!added.has(id)) s.deletePage.run(k.key, digest)
      s.upsertKey.run(k.key, k.type, prefix, k.hlc, k.digest, list, null, null, indexEntryOf(k.key, k.digest, row?.position ?? undefined))
    }
    const purged = changes.purges.map((keys) => {
      let n = 0
      for (const { key, digest } of keys) {
        n += s.purgeKey.run(key, digest).changes
        facts.push([key, undefined])
      }
      return n
    })
    keyCount -= purged.reduce((a, b) => a + b, 0)
    deletedCount -= purged.reduce((a, b) => a + b, 0)
    for (const [name, value] of changes.meta) {
      if (value === null) s.deleteMeta.run(name)
      else s.putMeta.run(name, value)
    }
    for (const [id, e] of changes.idempotency) s.putIdempotency.run(id, e.result, e.expiresAt)
    for (const h of changes.hintsAdded.values()) s.insertHint.run(h.id, h.target, h.key, h.type, h.state, h.createdAt)
    for (const id of changes.hintsRemoved) s.deleteHint.run(id)
    for (const [peerId, record] of changes.members) {
      if (record === null) s.deleteMember.run(peerId)
      else s.putMember.run(peerId, record)
    }
    const pruned = changes.prunes.map((nowMs) => s.pruneIdempotency.run(nowMs).changes)
    this.hooks.beforeCommit?.()
    this.pendingCounts = { keyCount, deletedCount }
    return { pruned, purged }
  }
}

function digestEntry(row: DigestRow): StoredDigest {
  return {
    key: row.key,
    digest: bytes(row.digest),
    ...(row.deleted === 1 ? { deleted: true as const } : {}),
    ...(row.index_entry?.length === INDEX_ENTRY_BYTES ? { indexEntry: bytes(row.index_entry) } : {}),
  }
}

type ScanStatements<Row> = readonly [readonly [Database.Statement<[string, ...unknown[]], Row>, Database.Statement<[string, ...unknown[]], Row>], readonly [Database.Statement<[string, ...unknown[]], Row>, Database.Statement<[string, ...unknown[]], Row>]]

/** Rows of `range`, at most `limit`, by the statement for its bounds. */
function scanRows<Row>(statements: ScanStatements<Row>, range: KeyRange, limit: number | undefined): Row[] {
  const byLower = statements[range.lowerExclusive ? 1 : 0]
  const max = limit ?? -1 // LIMIT -1: no limit
  return range.upper === undefined ? byLower[0].all(range.lower, max) : byLower[1].all(range.lower, range.upper, max)
}

/** The 16-byte page digests a keys.pages value holds, in order (views, not copies). */
function splitDigests(list: Bytes): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at + DIGEST_BYTES <= list.length; at += DIGEST_BYTES) out.push(bytes(list.subarray(at, at + DIGEST_BYTES)))
  return out
}

function joinDigests(pages: readonly StatePage[]): Uint8Array {
  const out = new Uint8Array(pages.length * DIGEST_BYTES)
  pages.forEach((p, i) => out.set(p.digest, i * DIGEST_BYTES))
  return out
}

/** The i-th 16-byte digest of a list, or the whole of a single digest, in hex. */
function hex(bytes: Uint8Array, i = 0): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + i * DIGEST_BYTES, DIGEST_BYTES).toString('hex')
}

/**
 * Where two digest lists differ: they agree on digests [0, from) and on their last digests
 * from `oldTo` (old) and `newTo` (new) on.
 */
function changedWindow(old: Uint8Array, list: Uint8Array): { from: number; oldTo: number; newTo: number } {
  const n = old.length / DIGEST_BYTES
  const m = list.length / DIGEST_BYTES
  const same = (i: number, j: number): boolean => {
    for (let b = 0; b < DIGEST_BYTES; b++) if (old[i * DIGEST_BYTES + b] !== list[j * DIGEST_BYTES + b]) return false
    return true
  }
  let from = 0
  while (from < n && from < m && same(from, from)) from++
  let oldTo = n
  let newTo = m
  while (oldTo > from && newTo > from && same(oldTo - 1, newTo - 1)) {
    oldTo--
    newTo--
  }
  return { from, oldTo, newTo }
}

/** A plain Uint8Array view (no copy) of a Buffer SQLite returned. */
function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}
