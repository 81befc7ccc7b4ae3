// What the Database's methods and openDatabase accept at run time (src/base/options.ts):
// any other option name, or a value of another type, is refused with InvalidOptionError.
// The handles' WriteOptions and ReadOptions are in handles.ts, next to their types.
import { optionKinds, type OptionSpec } from '../base/options.js'
import { DELETE_OPTIONS, READ_OPTIONS, WRITE_OPTIONS } from './handles.js'

export { DELETE_OPTIONS, READ_OPTIONS, WRITE_OPTIONS }

/** db.get: a read, and for an OR-set a page of its elements (GetOptions). */
export const GET_OPTIONS: OptionSpec = { ...READ_OPTIONS, after: optionKinds.defined, limit: optionKinds.positiveInteger }

export const RESOLVE_OPTIONS: OptionSpec = { w: optionKinds.positiveInteger, requireQuorum: optionKinds.boolean }

export const KEYS_OPTIONS: OptionSpec = {
  prefix: optionKinds.string,
  after: optionKinds.string,
  limit: optionKinds.nonNegativeInteger,
}

export const SCAN_OPTIONS: OptionSpec = { prefix: optionKinds.string }

export const WATCH_OPTIONS: OptionSpec = { since: optionKinds.string }

const REPLICATION_OPTIONS: OptionSpec = { n: optionKinds.positiveInteger, r: optionKinds.positiveInteger, w: optionKinds.positiveInteger }

/** DatabaseOptions: how a database behaves, whatever it runs on (createDatabase). */
export const DATABASE_OPTIONS: OptionSpec = {
  replication: { of: REPLICATION_OPTIONS },
  // Engine timings are for tests and benchmarks, and follow EngineConfig: only their shape is checked here.
  engine: optionKinds.object,
  idempotencyTtlMs: optionKinds.positiveInteger,
  maxClockOffsetMs: optionKinds.nonNegativeInteger,
  onListenerError: optionKinds.function,
  tombstonePurgeMs: optionKinds.positiveInteger,
}

export const OPEN_DATABASE_OPTIONS: OptionSpec = {
  ...DATABASE_OPTIONS,
  dataDir: optionKinds.string,
  transport: optionKinds.object,
  synchronous: optionKinds.oneOf('NORMAL', 'FULL'),
  clock: optionKinds.object,
  logger: optionKinds.object,
}
