export type {
  HintInput,
  IdempotencyWrite,
  KeyWrite,
  MetaWrite,
  ScanOptions,
  Store,
  StoredHint,
  StoredKey,
  StoredMember,
  WriteBatch,
} from './store.js'
export { stateDigest, DIGEST_BYTES } from './digest.js'
export * from './errors.js'
export { compareKeys } from './key-order.js'
export { GroupCommitStore, defaultSchedule, type Schedule, type StoreStats } from './group-commit-store.js'
export type { StoreHooks } from './store-hooks.js'
export { SqliteStore, type SqliteStoreOptions, type SqliteDiagnostics } from './sqlite-store.js'
export type { SynchronousMode } from './sqlite-open.js'
export { InMemoryStore, MemoryData, type InMemoryStoreOptions } from './memory-store.js'
export { APPLICATION_ID, NEEDS_DELETED_CLASSIFICATION } from './migrations.js'
export { DATABASE_FILE, openDataDirectory } from './data-directory.js'
