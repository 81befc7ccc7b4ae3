// rumordb: the embedded database. The polyfill is imported first (libp2p needs it on Node 20).
import './polyfill.js'

export { openDatabase, Database, DATABASE_FILE } from './database.js'
export type { OpenDatabaseOptions, ReplicationOptions, ScanEntry, ScanOptions, KeyValue, DatabaseStatus, ResolveResult } from './database.js'
export type { Transport } from './transport/transport.js'
export type { EngineConfig } from './cluster/engine.js'
export type { MemberView, MemberHealth } from './cluster/membership.js'
export type { SyncStatus, ReplicaSetDigest } from './cluster/sync-status.js'
export { CounterHandle, GCounterHandle, SetHandle, RegisterHandle } from './handles.js'
export type { WriteOptions, ReadOptions, WriteResult } from './handles.js'
export type { Change, ChangeListener } from './subscriptions.js'
export type { Operation, OperationName, ValueOf } from './operations.js'
export { CRDT_TYPE_NAMES, OPERATIONS_OF } from './operations.js'
export {
  RumorDbError,
  TypeMismatchError,
  TypeConflictError,
  InvalidKeyError,
  InvalidValueError,
  ValueTooLargeError,
  DatabaseClosedError,
  InvalidTokenError,
  InvalidOptionError,
  QuorumNotMetError,
  StaleReadError,
  WriteOutcomeUnknownError,
  IdempotencyUnavailableError,
  ClockSkewError,
} from './errors.js'
export {
  DatabaseLockedError,
  CorruptDatabaseError,
  ForeignDatabaseError,
  UnsupportedSchemaVersionError,
} from './store/errors.js'
export type { JsonValue, CrdtTypeName } from '../crdts/types.js'
