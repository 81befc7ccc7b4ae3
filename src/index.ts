// rumordb's engine API: the embedded database and its types. The package entry is
// node/index.ts, which loads the Promise.withResolvers polyfill first (libp2p needs it on
// Node 20); src/ itself needs no polyfill.

export { Database, DATABASE_FILE } from './database/database.js'
export { openDatabase, type OpenDatabaseOptions } from './database/create-database.js'
export type { ReplicationOptions, ScanEntry, ScanOptions, KeyValue, GetOptions, DatabaseStatus, ResolveResult } from './database/database.js'
export type { FeedEvent } from './database/change-feed.js'
export type { Transport } from './transport/transport.js'
export type { EngineConfig } from './cluster/engine.js'
export type { MemberView, MemberHealth } from './cluster/membership/membership.js'
export type { SyncStatus, ReplicaSetDigest } from './cluster/sync/sync-status.js'
export { CounterHandle, GCounterHandle, SetHandle, RegisterHandle } from './database/handles.js'
export type { DeleteOptions, DeleteResult, WriteOptions, ReadOptions, SetPageOptions, WriteResult } from './database/handles.js'
export { MapHandle, MapFields, MapCounterField, MapGCounterField, MapSetField, MapRegisterField, type MapDocument } from './database/map-handles.js'
export type { Change, ChangeListener } from './database/subscriptions.js'
export type { Operation, OperationName, ValueOf } from './base/operations.js'
export { CRDT_TYPE_NAMES, OPERATIONS_OF } from './base/operations.js'
export {
  RumorDbError,
  TypeMismatchError,
  FieldTypeMismatchError,
  TypeConflictError,
  InvalidKeyError,
  InvalidValueError,
  ValueTooLargeError,
  DatabaseClosedError,
  InvalidTokenError,
  CursorTooOldError,
  RejoinTooLateError,
  InvalidCursorError,
  InvalidOptionError,
  QuorumNotMetError,
  StaleReadError,
  WriteOutcomeUnknownError,
  IdempotencyUnavailableError,
  ClockSkewError,
} from './base/errors.js'
export {
  DatabaseLockedError,
  CorruptDatabaseError,
  ForeignDatabaseError,
  UnsupportedSchemaVersionError,
} from './store/errors.js'
export type { JsonValue, CrdtTypeName } from '../crdts/types.js'
