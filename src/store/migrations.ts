// Schema versions live in PRAGMA user_version and the file is marked as rumordb's with
// PRAGMA application_id, so a foreign SQLite file is refused instead of altered. Each
// migration runs inside the one write transaction opened at start-up: a crash mid-way
// leaves the previous version intact.
import type Database from 'better-sqlite3'
import { indexEntryOf } from '../base/key-hashes.js'
import { ForeignDatabaseError, UnsupportedSchemaVersionError } from './errors.js'

/** 'rumr' in ASCII. */
export const APPLICATION_ID = 0x72756d72

export interface Migration {
  /** The user_version after this migration ran; versions count up from 1 without gaps. */
  readonly version: number
  readonly description: string
  up(db: Database.Database): void
}

// STRICT makes SQLite refuse a value of the wrong storage class instead of converting it.
// The crdt type is deliberately not a CHECK constraint: adding a type must not force a
// table rebuild; the store validates it before staging.
// keys is a rowid table on purpose: measured with 50k random keys per run (2 shared cores),
// WITHOUT ROWID inserted 2-5x slower at every state size (40 B, 400 B, 2 KB) and was
// slower at everything with 2 KB states; it won only point reads and scans with small
// states (about 1.2-2x). CRDT states (OR-sets) can grow past a few hundred bytes.
// The small tables below are WITHOUT ROWID: one B-tree each.
const SCHEMA_V1 = `
  CREATE TABLE keys (
    key    TEXT PRIMARY KEY NOT NULL,
    type   TEXT NOT NULL,
    state  BLOB NOT NULL,
    hlc    BLOB NOT NULL,
    digest BLOB NOT NULL CHECK (length(digest) = 16)
  ) STRICT;

  CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE idempotency (
    id         TEXT PRIMARY KEY NOT NULL,
    result     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX idempotency_expires_at ON idempotency (expires_at);

  CREATE TABLE hints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    target     TEXT NOT NULL,
    key        TEXT NOT NULL,
    type       TEXT NOT NULL,
    state      BLOB NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX hints_target ON hints (target, id);

  CREATE TABLE members (
    peer_id TEXT PRIMARY KEY NOT NULL,
    record  BLOB NOT NULL
  ) STRICT, WITHOUT ROWID;
`

// A state kept in pages (OR-sets, crdts/orset-pages.ts): keys.state holds its prefix,
// keys.pages the digests of its pages in order (16 bytes each), and key_pages one row per
// page, found by key and digest. NULL pages: the state is whole in keys.state.
const SCHEMA_V2 = `
  ALTER TABLE keys ADD COLUMN pages BLOB;

  CREATE TABLE key_pages (
    key    TEXT NOT NULL,
    digest BLOB NOT NULL CHECK (length(digest) = 16),
    bytes  BLOB NOT NULL,
    PRIMARY KEY (key, digest)
  ) STRICT, WITHOUT ROWID;
`

// The change feed (Database.watch): keys in the order of their last change. keys.hlc is
// this node's hybrid logical clock at each write or merge, strictly increasing.
const SCHEMA_V3 = `
  CREATE INDEX keys_hlc ON keys (hlc);
`

// Expiry (crdts/key-record.ts): when each key must be looked at again to expire it, NULL for
// keys that do not expire or show nothing; the sweep reads the due ones by this index.
const SCHEMA_V4 = `
  ALTER TABLE keys ADD COLUMN expires_at INTEGER;
  CREATE INDEX keys_expires_at ON keys (expires_at) WHERE expires_at IS NOT NULL;
`

// Tombstones (a key that shows nothing, crdts/removal.ts): when each last changed, NULL for
// keys that show something; the anti-entropy index leaves them out and the purge reads the
// old ones by this index. Rows written before v5 are not classified by SQL (the store never
// decodes states): those that may be tombstones (multi-type contents, tag 0x10) are marked
// for the database to classify once at open (NEEDS_DELETED_CLASSIFICATION).
const SCHEMA_V5 = `
  ALTER TABLE keys ADD COLUMN deleted_at INTEGER;
  CREATE INDEX keys_deleted_at ON keys (deleted_at, key) WHERE deleted_at IS NOT NULL;
  INSERT INTO meta (name, value)
    SELECT 'classify-deleted', x'01' WHERE EXISTS (SELECT 1 FROM keys WHERE pages IS NULL AND substr(state, 1, 1) = x'10');
`

// The anti-entropy index's data per key (base/key-hashes.ts indexEntryOf: ring position
// and fingerprint), written with every row so that a first index build reads it instead of
// hashing every key twice. Rows from before v6 get theirs here, once (a few seconds of CPU
// at 10^6 keys, inside the open).
function addIndexEntries(db: Database.Database): void {
  db.function('rumordb_index_entry', { deterministic: true }, (key, digest) => {
    if (typeof key !== 'string' || !(digest instanceof Uint8Array)) throw new TypeError('rumordb_index_entry(key, digest)')
    return Buffer.from(indexEntryOf(key, digest))
  })
  db.exec('ALTER TABLE keys ADD COLUMN index_entry BLOB; UPDATE keys SET index_entry = rumordb_index_entry(key, digest)')
}

/** The meta row v5 leaves when older rows may be tombstones: the database classifies them at open and deletes it. */
export const NEEDS_DELETED_CLASSIFICATION = 'classify-deleted'

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'keys, meta, idempotency, hints, members', up: (db) => db.exec(SCHEMA_V1) },
  { version: 2, description: 'states in pages: keys.pages, key_pages', up: (db) => db.exec(SCHEMA_V2) },
  { version: 3, description: 'the change feed: keys by their last change (keys_hlc)', up: (db) => db.exec(SCHEMA_V3) },
  { version: 4, description: 'expiry: keys.expires_at (keys_expires_at)', up: (db) => db.exec(SCHEMA_V4) },
  { version: 5, description: 'tombstones: keys.deleted_at (keys_deleted_at)', up: (db) => db.exec(SCHEMA_V5) },
  { version: 6, description: 'index entries: keys.index_entry', up: addIndexEntries },
]

export interface MigrationResult {
  from: number
  to: number
}

/**
 * Refuses a file that is not ours, or is newer than `latest`, without writing to it.
 * Returns the file's schema version (0 for a new, empty file).
 */
export function checkFile(db: Database.Database, path: string, latest: number = latestVersion()): number {
  const applicationId = pragmaNumber(db, 'application_id')
  const version = pragmaNumber(db, 'user_version')
  if (applicationId !== APPLICATION_ID) {
    // Without our mark the file is ours only if it is empty.
    if (applicationId !== 0) {
      throw new ForeignDatabaseError(path, `application_id is 0x${(applicationId >>> 0).toString(16)}`)
    }
    if (version !== 0) throw new ForeignDatabaseError(path, `user_version is ${version} but rumordb's mark is missing`)
    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all()
    if (tables.length > 0) throw new ForeignDatabaseError(path, `it already has tables: ${tables.join(', ')}`)
  }
  if (version > latest) throw new UnsupportedSchemaVersionError(path, version, latest)
  return version
}

/**
 * Brings the file to the latest version in one IMMEDIATE transaction, which also takes
 * the write lock at once (with locking_mode EXCLUSIVE it is then held until close).
 */
export function migrate(
  db: Database.Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationResult {
  const latest = latestVersion(migrations)
  const run = db.transaction((): MigrationResult => {
    const from = checkFile(db, path, latest)
    if (pragmaNumber(db, 'application_id') !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`)
    for (const m of migrations) if (m.version > from) m.up(db)
    if (from !== latest) db.pragma(`user_version = ${latest}`)
    return { from, to: latest }
  })
  return run.immediate()
}

function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0
}

export function pragmaNumber(db: Database.Database, name: string): number {
  return Number(db.pragma(name, { simple: true }))
}
