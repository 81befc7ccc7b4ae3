// A cluster of real engines on the deterministic simulator, for engine tests and the
// simulation benchmark. Every node has an InMemoryStore driven by the scheduler, so a
// crash keeps exactly what was committed.
//
//   const c = new SimCluster({ seed, size: 5, config: { antiEntropyIntervalMs: 500 } })
//   await c.start()
//   await c.settle(c.engine(c.ids[0]).write('k', { type: 'gcounter', op: 'increment', amount: 1 }))
import { DEFAULT_VNODES } from '../cluster/constants.js'
import { Engine, type EngineConfig } from '../cluster/engine.js'
import * as memberTable from '../cluster/member-table.js'
import { Replica } from '../replica.js'
import { InMemoryStore } from '../store/index.js'
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
}

export interface SimMember {
  readonly id: string
  node: SimNode
  store: InMemoryStore
  replica: Replica
  engine: Engine
  up: boolean
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
      this.members.set(node.id, this.boot(node, new InMemoryStore({ schedule: node.schedule })))
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

  async start(): Promise<void> {
    const starting = (): Promise<void[]> => Promise.all([...this.members.values()].map((m) => m.engine.start()))
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

  /** kill -9: process state is lost, the store keeps what was committed. */
  crash(id: string): void {
    const m = this.member(id)
    m.store = m.store.crashCopy({ schedule: m.node.schedule })
    this.net.crash(id)
    m.up = false
  }

  async restart(id: string): Promise<void> {
    const m = this.member(id)
    const node = this.net.restart(id)
    const store = m.store.crashCopy({ schedule: node.schedule })
    const fresh = this.boot(node, store)
    this.members.set(id, fresh)
    await this.settle(fresh.engine.start())
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

  private boot(node: SimNode, store: InMemoryStore): SimMember {
    const replica = new Replica({ store, clock: node.clock, actor: node.id })
    const engine = new Engine({
      store,
      transport: this.options.transport?.(node) ?? node.transport,
      clock: node.clock,
      random: node.random,
      replica,
      config: this.options.config,
    })
    return { id: node.id, node, store, replica, engine, up: true }
  }
}
