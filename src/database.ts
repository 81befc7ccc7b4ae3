// The embedded database: `openDatabase({ dataDir })` → typed handles per key, change
// subscriptions and scans, durable in SQLite. With the network off, this node is the only
// replica and applies every write itself.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CrdtTypeName } from '../crdts/types.js'
import { Engine, type EngineConfig, type EngineStatus } from './cluster/engine.js'
import type { MemberView } from './cluster/membership.js'
import { ArcIndex } from './cluster/arc-index.js'
import { buildRing } from './cluster/ring.js'
import { syncStatus, type SyncStatus } from './cluster/sync-status.js'
import { systemClock, type Clock, type TimerHandle } from './clock.js'
import { systemRandom } from './random.js'
import type { Transport } from './transport/transport.js'
import { DatabaseClosedError, InvalidOptionError, InvalidTokenError, StaleReadError } from './errors.js'
import {
  CounterHandle,
  GCounterHandle,
  RegisterHandle,
  SetHandle,
  type KeyAccess,
  type ReadOptions,
  type WriteOptions,
  type WriteResult,
} from './handles.js'
import {
  decodeIdempotencyRecord,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  encodeIdempotencyRecord,
  fingerprint,
  validateIdempotencyKey,
  type WriteOutcome,
} from './idempotency.js'
import { loadOrCreateActor } from './node-identity.js'
import type { Operation } from './operations.js'
import { crdtOf, Replica } from './replica.js'
import { decodeSessionToken, encodeSessionToken } from './session-token.js'
import { SqliteStore, type SynchronousMode } from './store/index.js'
import type { Store } from './store/store.js'
import { Subscriptions, type Change, type ChangeListener } from './subscriptions.js'
import { validateKey } from './validation.js'
import { LocalWritePath, type WritePath } from './write-path.js'

export const DATABASE_FILE = 'rumordb.sqlite'
const META_HEALTH_PROBE = 'health-probe'

export interface KeyValue {
  readonly key: string
  readonly type: CrdtTypeName
  readonly value: unknown
  readonly replicas: number
}

export type DatabaseStatus =
  | ({ readonly networked: true } & EngineStatus)
  | {
      readonly networked: false
      readonly id: string
      readonly keys: number
      readonly pendingHints: number
      readonly members: Record<'alive' | 'suspect' | 'left', number>
    }
const SCAN_PAGE = 256
const PRUNE_INTERVAL_MS = 60 * 60 * 1000

export interface ReplicationOptions {
  /** Replicas per key (default min(3, members)). */
  readonly n?: number
  /** Replicas asked by a read (default 2). */
  readonly r?: number
  /** Durable acknowledgements a write waits for (default 2). */
  readonly w?: number
}

export interface OpenDatabaseOptions {
  /** Directory for the database file; created if missing. */
  readonly dataDir: string
  /**
   * Joins a cluster through this transport (node/ builds one on libp2p). Without it the
   * database is local: this node is the only replica.
   */
  readonly transport?: Transport
  readonly replication?: ReplicationOptions
  /** Engine timings and placement weight (tests and benchmarks tune these). */
  readonly engine?: Omit<EngineConfig, 'n' | 'r' | 'w'>
  /** SQLite durability: NORMAL (default) survives process crashes, FULL also power loss. */
  readonly synchronous?: SynchronousMode
  /** How long idempotency keys are remembered (default 24 h). */
  readonly idempotencyTtlMs?: number
  /** Remote HLC timestamps further ahead than this are refused (default 500 ms). */
  readonly maxClockOffsetMs?: number
  /** Receives errors thrown by subscription listeners (default: console.error). */
  readonly onListenerError?: (err: unknown, change: Change) => void
  /** Time source; tests inject a fake one. */
  readonly clock?: Clock
}

export interface ScanEntry {
  readonly key: string
  readonly type: CrdtTypeName
  readonly value: unknown
}

export interface ScanOptions {
  readonly prefix?: string
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new InvalidOptionError('openDatabase({ dataDir }): dataDir must be a directory path, e.g. "./data"')
  }
  const ttl = options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new InvalidOptionError('idempotencyTtlMs must be a positive integer number of milliseconds')
  }
  const dataDir = resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const store = await SqliteStore.open({ path: join(dataDir, DATABASE_FILE), synchronous: options.synchronous ?? 'NORMAL' })
  try {
    const clock = options.clock ?? systemClock
    const actor = await loadOrCreateActor(store)
    const replica = new Replica({ store, clock, actor, maxClockOffsetMs: options.maxClockOffsetMs })
    let engine: Engine | undefined
    if (options.transport !== undefined) {
      engine = new Engine({
        store,
        transport: options.transport,
        clock,
        random: systemRandom,
        replica,
        config: { ...options.engine, ...options.replication },
      })
      await engine.start()
    }
    return new Database({
      dataDir,
      store,
      clock,
      replica,
      engine,
      path: engine ?? new LocalWritePath(replica),
      idempotencyTtlMs: ttl,
      onListenerError: options.onListenerError,
    })
  } catch (err) {
    await store.close()
    throw err
  }
}

interface DatabaseInit {
  readonly dataDir: string
  readonly store: Store
  readonly engine: Engine | undefined
  readonly clock: Clock
  readonly replica: Replica
  readonly path: WritePath
  readonly idempotencyTtlMs: number
  readonly onListenerError?: (err: unknown, change: Change) => void
}

export class Database implements KeyAccess {
  readonly dataDir: string
  private readonly store: Store
  private readonly clock: Clock
  private readonly replica: Replica
  private readonly path: WritePath
  private readonly engine: Engine | undefined
  private readonly idempotencyTtlMs: number
  private readonly subscriptions: Subscriptions
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly pendingIdempotency = new Map<string, Promise<WriteResult<unknown>>>()
  private pruneTimer: TimerHandle | undefined
  private closing: Promise<void> | undefined

  constructor(init: DatabaseInit) {
    this.dataDir = init.dataDir
    this.store = init.store
    this.clock = init.clock
    this.replica = init.replica
    this.path = init.path
    this.engine = init.engine
    this.idempotencyTtlMs = init.idempotencyTtlMs
    this.subscriptions = new Subscriptions(
      init.onListenerError ?? ((err, change) => console.error(`rumordb: a subscriber for ${JSON.stringify(change.key)} threw`, err)),
    )
    this.replica.onCommitted((change) => {
      this.subscriptions.emit({ key: change.key, type: change.type, value: crdtOf(change.type).value(change.state), origin: change.origin })
    })
    this.schedulePrune()
  }

  /** This node's actor id: the identity its writes carry inside CRDT states. */
  get actorId(): string {
    return this.replica.actor
  }

  /** This node's id in the cluster (the peer id), or the actor id when local. */
  get nodeId(): string {
    return this.engine?.self ?? this.replica.actor
  }

  /** Whether the database replicates through a transport. */
  get networked(): boolean {
    return this.engine !== undefined
  }

  /** A key's type, value and how many replicas answered; undefined when no replica has it. */
  get(key: string, options: ReadOptions = {}): Promise<KeyValue | undefined> {
    return this.track(async () => {
      this.assertOpen()
      validateKey(key)
      const token = options.token === undefined ? undefined : decodeSessionToken(key, options.token)
      const result = await this.path.read(key, token?.type, { r: options.r, witness: token?.witness })
      if (result.type === undefined) return undefined
      return { key, type: result.type, value: crdtOf(result.type).value(result.state), replicas: result.replicas }
    })
  }

  /** Keys this node stores, in key order (a cluster node lists the keys it replicates). */
  keys(options: { prefix?: string; after?: string; limit?: number } = {}): { key: string; type: CrdtTypeName }[] {
    this.assertOpen()
    const limit = options.limit ?? 1000
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidOptionError('keys({ limit }): limit must be a non-negative integer')
    return this.store.scan({ prefix: options.prefix, after: options.after, limit }).map((k) => ({ key: k.key, type: k.type }))
  }

  /** The cluster's members as this node sees them (itself included). */
  members(): { self: string; members: MemberView[] } {
    this.assertOpen()
    if (this.engine === undefined) {
      return { self: this.nodeId, members: [{ id: this.nodeId, addrs: [], vnodes: 0, incarnation: 0, status: 'alive' }] }
    }
    return { self: this.engine.self, members: this.engine.members() }
  }

  /** Counters for status pages and metrics. */
  status(): DatabaseStatus {
    this.assertOpen()
    if (this.engine !== undefined) return { networked: true, ...this.engine.status() }
    return { networked: false, id: this.nodeId, keys: this.store.countKeys(), pendingHints: 0, members: { alive: 1, suspect: 0, left: 0 } }
  }

  /**
   * Digests of the data this node holds, per replica set, and whether the last
   * anti-entropy exchange with each peer found them equal. Two nodes holding the same
   * keys report the same digests. With the network off: the whole store as one range.
   */
  syncStatus(): SyncStatus {
    this.assertOpen()
    if (this.engine !== undefined) return this.engine.syncStatus()
    const index = new ArcIndex()
    const ring = buildRing([{ id: this.nodeId, vnodes: 1 }])
    index.rebuild(ring, this.store)
    return syncStatus(index, ring, this.nodeId, 1, [])
  }

  /** Deep health: a write to the database commits. Throws what went wrong. */
  async checkWritable(): Promise<void> {
    this.assertOpen()
    await this.store.write({ meta: [{ name: META_HEALTH_PROBE, value: new TextEncoder().encode(String(this.clock.now())) }] })
  }

  counter(key: string): CounterHandle {
    return new CounterHandle(this, key)
  }
  gcounter(key: string): GCounterHandle {
    return new GCounterHandle(this, key)
  }
  set(key: string): SetHandle {
    return new SetHandle(this, key)
  }
  register(key: string): RegisterHandle {
    return new RegisterHandle(this, key)
  }

  /** Calls `fn` after every committed change of a key starting with `prefix`. Returns `off()`. */
  subscribe(prefix: string, fn: ChangeListener): () => void {
    this.assertOpen()
    return this.subscriptions.add(prefix, fn)
  }

  /** Every key (optionally under a prefix) in key order, with its type and value. */
  async *scan(options: ScanOptions = {}): AsyncGenerator<ScanEntry> {
    const prefix = options.prefix ?? ''
    if (typeof prefix !== 'string') throw new InvalidOptionError('scan({ prefix }): prefix must be a string')
    let after: string | undefined
    for (;;) {
      this.assertOpen()
      const page = this.store.scan({ prefix, after, limit: SCAN_PAGE })
      for (const row of page) {
        yield { key: row.key, type: row.type, value: crdtOf(row.type).value(crdtOf(row.type).decode(row.state)) }
      }
      if (page.length < SCAN_PAGE) return
      after = page[page.length - 1]?.key
    }
  }

  write(key: string, op: Operation, options: WriteOptions = {}): Promise<WriteResult<unknown>> {
    return this.track(async () => {
      this.assertOpen()
      validateKey(key)
      const id = options.idempotencyKey
      if (id === undefined) return this.applyWrite(key, op, options)
      validateIdempotencyKey(id)
      const pending = this.pendingIdempotency.get(id)
      if (pending !== undefined) {
        await pending.catch(() => undefined)
      }
      const fp = fingerprint(key, op)
      const stored = this.store.getIdempotency(id, this.clock.now())
      if (stored !== undefined) return { ...decodeIdempotencyRecord(id, fp, stored), replayed: true }
      const running = this.applyWrite(key, op, options, { id, fp })
      this.pendingIdempotency.set(id, running)
      try {
        return await running
      } finally {
        if (this.pendingIdempotency.get(id) === running) this.pendingIdempotency.delete(id)
      }
    })
  }

  readState(key: string, type: CrdtTypeName, options: ReadOptions = {}): Promise<unknown> {
    return this.track(async () => {
      this.assertOpen()
      validateKey(key)
      const token = options.token === undefined ? undefined : decodeSessionToken(key, options.token)
      const witness = token?.type === type ? token.witness : undefined
      const result = await this.path.read(key, type, { r: options.r, witness })
      // A token of another type: the key's own type mismatch (thrown by the read) says more.
      if (token !== undefined && token.type !== type) throw new InvalidTokenError(`it was issued for a ${token.type}, not a ${type}`)
      return result.state
    })
  }

  /** Waits for in-flight operations, leaves the network, commits and releases the data directory. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.pruneTimer !== undefined) this.clock.clearTimeout(this.pruneTimer)
      await Promise.allSettled([...this.inFlight])
      await this.engine?.stop()
      this.subscriptions.clear()
      await this.store.close()
    })()
    return this.closing
  }

  private async applyWrite(key: string, op: Operation, options: WriteOptions, idem?: { id: string; fp: string }): Promise<WriteResult<unknown>> {
    const outcomeOf = (type: CrdtTypeName, state: unknown, witness: Uint8Array): WriteOutcome => ({
      value: crdtOf(type).value(state),
      token: encodeSessionToken(key, type, witness),
    })
    const record = (outcome: WriteOutcome) => ({
      id: (idem as { id: string }).id,
      result: encodeIdempotencyRecord((idem as { fp: string }).fp, outcome),
      expiresAt: this.clock.now() + this.idempotencyTtlMs,
    })
    const result = await this.path.write(key, op, {
      n: options.n,
      w: options.w,
      requireQuorum: options.requireQuorum,
      idempotencyKey: idem?.id,
      localExtras: idem === undefined ? undefined : (w) => ({ idempotency: [record(outcomeOf(w.type, w.state, w.witness))] }),
    })
    const outcome = outcomeOf(result.type, result.state, result.witness)
    // A write applied by another replica could not carry the record in its commit.
    if (idem !== undefined && !result.appliedLocally) await this.store.write({ idempotency: [record(outcome)] })
    return { ...outcome, acks: result.acks, quorum: result.quorum }
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn()
    this.inFlight.add(p)
    const done = (): void => {
      this.inFlight.delete(p)
    }
    p.then(done, done)
    return p
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new DatabaseClosedError()
  }

  private schedulePrune(): void {
    this.pruneTimer = this.clock.setTimeout(() => {
      if (this.closing !== undefined) return
      this.store.pruneIdempotency(this.clock.now()).catch(() => undefined)
      this.schedulePrune()
    }, PRUNE_INTERVAL_MS)
  }
}
