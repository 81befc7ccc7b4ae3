// Named errors of the storage layer. Each message names the file and says what to do.
// They extend the engine's error base, so the HTTP API maps them by `code` like the rest.
import { RumorDbError } from '../base/error-base.js'

export class StoreError extends RumorDbError {}

/** Another live process (or another open store in this process) owns the data file. */
export class DatabaseLockedError extends StoreError {
  readonly path: string
  constructor(path: string, options?: ErrorOptions) {
    super(
      'DATABASE_LOCKED',
      `${path} is in use by another rumordb process (or another open store in this one); ` +
        'stop that process or pick another data directory',
      options,
    )
    this.path = path
  }
}

/** The file is not an SQLite database at all, or SQLite found it damaged. */
export class CorruptDatabaseError extends StoreError {
  readonly path: string
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(
      'DATABASE_CORRUPT',
      `${path} is not a readable rumordb database (${detail}); if it is yours, restore it from a ` +
        'backup or move it away and let the node resync from its peers; otherwise pick another data directory',
      options,
    )
    this.path = path
  }
}

/** A valid SQLite file that belongs to some other application. */
export class ForeignDatabaseError extends StoreError {
  readonly path: string
  constructor(path: string, detail: string) {
    super(
      'DATABASE_FOREIGN',
      `${path} is an SQLite database of another application (${detail}); rumordb will not touch it: ` +
        'pick another data directory',
    )
    this.path = path
  }
}

/** The file was written by a newer rumordb whose schema this version does not know. */
export class UnsupportedSchemaVersionError extends StoreError {
  readonly path: string
  readonly found: number
  readonly supported: number
  constructor(path: string, found: number, supported: number) {
    super(
      'SCHEMA_TOO_NEW',
      `${path} has schema version ${found} but this rumordb knows versions up to ${supported}; ` +
        'upgrade rumordb to the version that wrote it (downgrades are not supported)',
    )
    this.path = path
    this.found = found
    this.supported = supported
  }
}

/** Opening failed for a reason other than the ones above (permissions, a directory, …). */
export class DatabaseOpenError extends StoreError {
  readonly path: string
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(
      'DATABASE_OPEN_FAILED',
      `cannot open ${path}: ${detail}; check that the path is a file this user may read and write`,
      options,
    )
    this.path = path
  }
}

/** A transaction failed: every write staged with it was dropped and its promise rejected. */
export class CommitError extends StoreError {
  readonly path: string
  constructor(path: string, writes: number, cause: unknown) {
    super(
      'COMMIT_FAILED',
      `committing ${writes} staged write(s) to ${path} failed (${describeCause(cause)}); none of them ` +
        'was stored: check free disk space and file permissions, then retry',
      { cause },
    )
    this.path = path
  }
}

/** A write or read was called with an argument the store cannot store faithfully. */
export class InvalidStoreArgumentError extends StoreError {
  constructor(reason: string) {
    super('INVALID_STORE_ARGUMENT', reason)
  }
}

export class StoreClosedError extends StoreError {
  constructor(path: string) {
    super('STORE_CLOSED', `the store for ${path} is closed; open it again to use it`)
  }
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
