// Opening a database: `openDatabase({ dataDir })` on SQLite and the system clock, or
// `createDatabase(components)` on any store, clock, random source and transport (the
// simulator runs the same Database this way).
import type { EngineConfig } from '../cluster/engine.js'
import { takeIndexSnapshot } from '../cluster/anti-entropy/index-snapshot.js'
import { Engine } from '../cluster/engine.js'
import type { LargeMessageLimits } from '../cluster/messaging/large-messages.js'
import { systemClock, type Clock } from '../base/clock.js'
import { silentLogger, type Logger } from '../base/logger.js'
import { systemRandom, type Random } from '../base/random.js'
import type { Transport } from '../transport/transport.js'
import { InvalidOptionError, RejoinTooLateError } from '../base/errors.js'
import { decodeNumberMeta } from '../base/number-meta.js'
import { DEFAULT_IDEMPOTENCY_TTL_MS } from '../replica/idempotency.js'
import { loadOrCreateActor } from '../replica/node-identity.js'
import { Replica } from '../replica/replica.js'
import { openDataDirectory, type SynchronousMode } from '../store/index.js'
import type { Store } from '../store/store.js'
import type { Change } from './subscriptions.js'
import { checkOptions } from '../base/options.js'
import { DATABASE_OPTIONS, OPEN_DATABASE_OPTIONS } from './database-options.js'
import { LocalWritePath } from '../replica/write-path.js'
import { Database, META_LEFT_AT, type ReplicationOptions } from './database.js'
import { DEFAULT_TOMBSTONE_PURGE_MS } from './tombstone-purge.js'
import { DEFAULT_HINT_WINDOW_MS } from '../cluster/handoff/constants.js'

/** Behaviour of a database, whatever it runs on. */
export interface DatabaseOptions {
  readonly replication?: ReplicationOptions
  /** Engine timings and placement weight (tests and benchmarks tune these). */
  readonly engine?: Omit<EngineConfig, 'n' | 'r' | 'w' | 'idempotencyTtlMs' | 'maxClockOffsetMs'>
  /** How long idempotency keys are remembered (default 24 h). */
  readonly idempotencyTtlMs?: number
  /** Remote HLC timestamps further ahead than this are refused (default 500 ms). */
  readonly maxClockOffsetMs?: number
  /** Receives errors thrown by subscription listeners (default: console.error). */
  readonly onListenerError?: (err: unknown, change: Change) => void
  /**
   * How long a deleted (or expired) key keeps its tombstone before it may be purged, once
   * every replica agrees (default 24 h; with a network at least the hint window,
   * engine.hintWindowMs, also 24 h by default). README "Data model → Tombstones".
   */
  readonly tombstonePurgeMs?: number
}

export interface OpenDatabaseOptions extends DatabaseOptions {
  /** Directory for the database file; created if missing. */
  readonly dataDir: string
  /**
   * Joins a cluster through this transport (node/ builds one on libp2p). Without it the
   * database is local: this node is the only replica.
   */
  readonly transport?: Transport
  /** SQLite durability: NORMAL (default) survives process crashes, FULL also power loss. */
  readonly synchronous?: SynchronousMode
  /** Time source; tests inject a fake one. */
  readonly clock?: Clock
  /** Operator-facing events (node/ passes its pino logger); silent by default. */
  readonly logger?: Logger
}

/**
 * What a database runs on: the only parts that differ between a real node (SQLite, libp2p,
 * the system clock) and the deterministic simulator (an in-memory store driven by virtual
 * time, a simulated network, a seeded random source).
 */
export interface DatabaseComponents {
  readonly store: Store
  readonly clock: Clock
  readonly random: Random
  /** Without one the database is local: this node is the only replica. */
  readonly transport?: Transport
  readonly logger?: Logger
  /** Where the data lives, for messages (a directory, or a label in the simulator). */
  readonly location?: string
  /**
   * Bounds of messages sent in parts (cluster/messaging/large-messages.ts). For the
   * simulator and tests: small frames make ordinary states travel in parts.
   */
  readonly largeMessages?: Partial<LargeMessageLimits>
  /** OR-sets up to this many bytes are stored whole (Replica's inlineStateBytes; the simulator's -1 pages every set). */
  readonly inlineStateBytes?: number
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  checkOptions(options, OPEN_DATABASE_OPTIONS, 'openDatabase')
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new InvalidOptionError('openDatabase({ dataDir }): dataDir must be a directory path, e.g. "./data"')
  }
  const { dataDir: directory, synchronous, clock, transport, logger, ...databaseOptions } = options
  const { store, dataDir } = await openDataDirectory(directory, synchronous ?? 'NORMAL')
  try {
    return await createDatabase({ store, clock: clock ?? systemClock, random: systemRandom, transport, logger, location: dataDir }, databaseOptions)
  } catch (err) {
    await store.close()
    throw err
  }
}

/**
 * A database on the given components: what openDatabase returns, and what the simulator
 * runs (src/sim/cluster.ts). Starts the engine when there is a transport. The store is the
 * caller's until this resolves; then close() closes it.
 */
export async function createDatabase(components: DatabaseComponents, options: DatabaseOptions = {}): Promise<Database> {
  checkOptions(options, DATABASE_OPTIONS, 'createDatabase')
  const tombstonePurgeMs = purgeWindow(options, components.transport !== undefined)
  const { store, clock, random, transport } = components
  const logger = components.logger ?? silentLogger
  const ttl = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
  // Every open takes the saved index out of the store, used or not: once this node writes,
  // it no longer describes the store (cluster/anti-entropy/index-snapshot.ts).
  if (transport !== undefined) await checkRejoin(store, clock, tombstonePurgeMs)
  const indexSnapshot = await takeIndexSnapshot(store)
  const actor = await loadOrCreateActor(store, random)
  const replica = new Replica({
    store,
    clock,
    actor,
    maxClockOffsetMs: options.maxClockOffsetMs,
    logger: logger.forComponent('replica'),
    inlineStateBytes: components.inlineStateBytes,
  })
  await replica.classifyDeleted()
  let engine: Engine | undefined
  if (transport !== undefined) {
    engine = new Engine({
      store,
      transport,
      clock,
      random,
      replica,
      logger,
      indexSnapshot,
      largeMessages: components.largeMessages,
      config: { ...options.engine, ...options.replication, idempotencyTtlMs: ttl, maxClockOffsetMs: options.maxClockOffsetMs },
    })
    await engine.start()
  }
  return new Database({
    dataDir: components.location ?? 'memory',
    store,
    clock,
    replica,
    engine,
    path: engine ?? new LocalWritePath(replica, clock, ttl, options.replication?.w),
    onListenerError: options.onListenerError,
    logger: logger.forComponent('expiry'),
    tombstonePurgeMs,
    purgeLogger: logger.forComponent('purge'),
  })
}

/**
 * The tombstone purge window: at least the hint window when networked, so a hint written
 * before a delete is dropped before the tombstone that covers it could go.
 */
function purgeWindow(options: DatabaseOptions, networked: boolean): number {
  const window = options.tombstonePurgeMs ?? DEFAULT_TOMBSTONE_PURGE_MS
  const hints = options.engine?.hintWindowMs ?? DEFAULT_HINT_WINDOW_MS
  if (networked && window < hints) {
    throw new InvalidOptionError(
      `tombstonePurgeMs (${window} ms) must be at least the hint window (engine.hintWindowMs, ${hints} ms): a hint written before a delete could bring back what the delete removed after its tombstone was purged; raise tombstonePurgeMs or lower engine.hintWindowMs`,
    )
  }
  return window
}

/**
 * A networked open of data that left its cluster (META_LEFT_AT): refused with
 * RejoinTooLateError after the purge window, since the others purged tombstones without it;
 * within it the node rejoins, and the mark goes.
 */
async function checkRejoin(store: Store, clock: Clock, windowMs: number): Promise<void> {
  const mark = store.getMeta(META_LEFT_AT)
  if (mark === undefined) return
  const leftAt = decodeNumberMeta(mark)
  if (leftAt > 0 && clock.now() - leftAt > windowMs) throw new RejoinTooLateError(leftAt, windowMs)
  await store.write({ meta: [{ name: META_LEFT_AT, value: null }] })
}
