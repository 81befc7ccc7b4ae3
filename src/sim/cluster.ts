// A cluster of whole databases on the deterministic simulator, for engine tests, the
// nemesis and the simulation benchmark. Each node runs the same `Database` that
// openDatabase returns (handles, idempotency keys, session tokens, subscriptions, sync
// status); only the store (in memory, committed by the scheduler, so a crash keeps exactly
// what was committed), the transport, the clock and the random source are simulated.
//
//   const c = new SimCluster({ seed, size: 5, config: { antiEntropyIntervalMs: 500 } })
//   await c.start()
//   await c.settle(c.db(c.ids[0]).counter('k').increment(1, { idempotencyKey: 'once' }))
//   c.crashBeforeNextAnswer(c.ids[1], 'apply')   // killed between commit and reply
import { DEFAULT_VNODES } from '../cluster/ring/constants.js'
import type { Engine, EngineConfig } from '../cluster/engine.js'
import * as memberTable from '../cluster/membership/member-table.js'
import type { Database } from '../database/database.js'
import { createDatabase, type DatabaseOptions } from '../database/create-database.js'
import type { Logger } from '../base/logger.js'
import type { Replica } from '../replica/replica.js'
import { InMemoryStore } from '../store/index.js'
import { MESSAGE_TAGS } from '../wire/codec.js'
import type { LargeMessageLimits } from '../cluster/messaging/large-messages.js'
import type { Request } from '../wire/messages.js'
import type { Transport } from '../transport/transport.js'
import { SimNetwork, type SimTraceEvent } from './network.js'
import type { LinkOverrides } from './link.js'
import type { SimNode } from './sim-node.js'

/**
 * Peer id of the member row a pre-seeded store holds the whole table in. It is not a peer
 * id: rows of real peers, written as members change, are merged with it on every start
 * (the table is a join), so the seed never hides a newer record.
 */
export const PRESEED_ROW = 'sim:preseeded-members'

export interface SimClusterOptions {
  readonly seed: number
  readonly size: number
  /** Node ids are `${prefix}0…` zero-padded (default 'n'). */
  readonly prefix?: string
  readonly link?: LinkOverrides
  readonly config?: EngineConfig
  /** Database options besides the engine's (idempotency TTL, clock offset, listener errors). */
  readonly database?: Omit<DatabaseOptions, 'engine' | 'replication'>
  /** Per node, on top of `database` (a node with another tombstone purge window, say). */
  readonly databaseOf?: (id: string) => Omit<DatabaseOptions, 'engine' | 'replication'>
  /** Per node: what its database logs (silent by default). */
  readonly logger?: (id: string) => Logger
  /** 'refuse' makes requests to dead peers fail fast, like a connection reset. */
  readonly deadPeers?: 'timeout' | 'refuse'
  /**
   * Writes every member's record into every store before the first start, so the nodes
   * start as one cluster: known live peers are not joined on discovery, which saves the
   * N² join exchanges of a large cluster. The first start then sends no heartbeats (see
   * start(); it ends any partition set before it); the next ones come a heartbeat
   * interval later.
   */
  readonly preseedMembers?: boolean
  /** The transport an engine gets on this node (e.g. a meter around `node.transport`); called on every (re)boot. */
  readonly transport?: (node: SimNode) => Transport
  readonly trace?: (event: SimTraceEvent) => void
  /** Bounds of messages sent in parts: small frames make ordinary states travel in parts. */
  readonly largeMessages?: Partial<LargeMessageLimits>
  /** OR-sets up to this many bytes are stored whole; -1 stores every set in pages (DatabaseComponents). */
  readonly inlineStateBytes?: number
}

export interface SimMember {
  readonly id: string
  node: SimNode
  store: InMemoryStore
  /** Set once the node started (start(), restart()). */
  db: Database
  replica: Replica
  engine: Engine
  up: boolean
  /** While stop() closes the node: called if it is killed meanwhile (its close then never ends). */
  onCrash?: () => void
}

export class SimCluster {
  readonly net: SimNetwork
  readonly members = new Map<string, SimMember>()
  readonly ids: string[]
  private seeded = false

  constructor(private readonly options: SimClusterOptions) {
    this.net = new SimNetwork({ seed: options.seed, link: options.link, deadPeers: options.deadPeers ?? 'timeout', trace: options.trace })
    const nodes = this.net.addNodes(options.size, options.prefix)
    this.ids = nodes.map((n) => n.id)
    for (const node of nodes) {
      // db, replica and engine come with start(): opening a database takes simulated time.
      this.members.set(node.id, { id: node.id, node, store: new InMemoryStore({ schedule: node.schedule }), up: true } as SimMember)
    }
  }

  get scheduler() {
    return this.net.scheduler
  }

  member(id: string): SimMember {
    const m = this.members.get(id)
    if (m === undefined) throw new Error(`no member ${id}`)
    return m
  }

  engine(id: string): Engine {
    return this.member(id).engine
  }

  /** The node's database, as an app on it would hold it. */
  db(id: string): Database {
    return this.member(id).db
  }

  async start(): Promise<void> {
    const starting = (): Promise<void[]> => Promise.all([...this.members.values()].map((m) => this.boot(m)))
    if (this.options.preseedMembers !== true || this.seeded) {
      await this.settle(starting())
      return
    }
    this.seeded = true
    await this.settle(this.preseed())
    // The nodes start cut off from each other, so their first heartbeats reach nobody:
    // they would only repeat the seeded tables, and 1,000 nodes would send a million.
    this.net.partition(this.ids.map((id) => [id]))
    await this.settle(starting())
    this.net.heal()
  }

  /** Runs the simulation until `promise` settles (throws if it never can). */
  async settle<T>(promise: Promise<T>): Promise<T> {
    return (await this.net.scheduler.runUntilSettled(promise)) as T
  }

  async runFor(ms: number): Promise<void> {
    await this.net.scheduler.runFor(ms)
  }

  /**
   * kill -9: process state is lost, the store keeps what was committed. `connections`
   * says what peers see: 'reset' (the process died, its host answers: pending requests
   * reset, new ones refused) or 'silent' (the host is gone: they time out); the default
   * follows the network's `deadPeers`.
   */
  crash(id: string, options: { connections?: 'reset' | 'silent' } = {}): void {
    const m = this.member(id)
    if (!m.up) return
    m.store = m.store.crashCopy({ schedule: m.node.schedule })
    this.net.crash(id, options)
    m.up = false
    m.onCrash?.()
  }

  /**
   * A clean shutdown: db.close() (work in flight finishes, a networked node saves its
   * anti-entropy index), then the process is gone (connections reset). restart() brings
   * it back on what it committed.
   */
  async stop(id: string): Promise<void> {
    await this.settle(this.closeDown(id))
  }

  /**
   * stop() without running the scheduler: the close goes on while the caller runs it (and
   * injects other faults meanwhile); resolves once the node is down.
   */
  closeDown(id: string): Promise<void> {
    const m = this.member(id)
    if (!m.up) return Promise.resolve()
    // A kill armed earlier (crashBeforeNextAnswer) may fire while the node closes: then the
    // process is gone mid-close, crash() did the rest, and the close never finishes.
    const killed = new Promise<void>((resolve) => (m.onCrash = resolve))
    return Promise.race([m.db.close(), killed]).then(() => this.downAfterClose(m))
  }

  private downAfterClose(m: SimMember): void {
    m.onCrash = undefined
    if (!m.up) return
    m.store = m.store.crashCopy({ schedule: m.node.schedule })
    this.net.crash(m.id, { connections: 'reset' })
    m.up = false
  }

  /**
   * Kills `id` (connections reset) right after it handled and committed its next request
   * of `kind`, before the answer leaves: the requester learns nothing, the write is durable.
   */
  crashBeforeNextAnswer(id: string, kind: Request['type']): void {
    const endpoint = this.member(id).node.transport
    const tag = MESSAGE_TAGS[kind]
    endpoint.answerHook = (_from, request) => {
      if (request[1] !== tag) return false
      endpoint.answerHook = undefined
      this.crash(id, { connections: 'reset' })
      return true
    }
  }

  /** Disarms every crashBeforeNextAnswer that has not fired yet. */
  disarmCrashes(): void {
    for (const m of this.members.values()) m.node.transport.answerHook = undefined
  }

  /** Restarts a crashed node on what its store committed (or on an empty store: `wipe`, a lost disk). */
  async restart(id: string, options: { wipe?: boolean } = {}): Promise<void> {
    const m = this.member(id)
    const node = this.net.restart(id)
    m.node = node
    m.store = options.wipe === true ? new InMemoryStore({ schedule: node.schedule }) : m.store.crashCopy({ schedule: node.schedule })
    m.up = true
    await this.settle(this.boot(m))
  }

  /** Every up member's encoded state of `key` (undefined where missing). */
  statesOf(key: string, ids: readonly string[] = this.upIds()): (Uint8Array | undefined)[] {
    return ids.map((id) => this.member(id).store.getKey(key)?.state)
  }

  upIds(): string[] {
    return this.ids.filter((id) => this.member(id).up)
  }

  /**
   * Every store gets one row holding the records of all the other members at incarnation
   * 0. A node's own record is left out, so it announces incarnation 0 itself when it
   * starts and every table then agrees: heartbeats change nothing, and no node rebuilds
   * its ring view per heartbeat. One row rather than one per member: Membership.start
   * merges row by row, which costs O(rows × members) per node.
   */
  private async preseed(): Promise<void> {
    const vnodes = this.options.config?.vnodes ?? DEFAULT_VNODES
    const records = this.ids.map((peerId) => ({ peerId, addrs: [], vnodes, incarnation: 0, status: 'alive' as const }))
    await Promise.all(
      [...this.members.values()].map((m) => {
        const others = new Map(records.filter((r) => r.peerId !== m.id).map((r) => [r.peerId, r]))
        return m.store.write({ members: { upsert: [{ peerId: PRESEED_ROW, record: memberTable.encode(others) }] } })
      }),
    )
  }

  /** Opens the member's database on its current node and store (and starts its engine). */
  private async boot(m: SimMember): Promise<void> {
    const { n, r, w, ...engine } = this.options.config ?? {}
    const db = await createDatabase(
      {
        store: m.store,
        clock: m.node.clock,
        random: m.node.random,
        transport: this.options.transport?.(m.node) ?? m.node.transport,
        logger: this.options.logger?.(m.id),
        location: `sim:${m.id}`,
        largeMessages: this.options.largeMessages,
        inlineStateBytes: this.options.inlineStateBytes,
      },
      { ...this.options.database, ...this.options.databaseOf?.(m.id), engine, replication: { n, r, w } },
    )
    m.db = db
    m.engine = db.engine as Engine
    m.replica = db.replica
  }
}
