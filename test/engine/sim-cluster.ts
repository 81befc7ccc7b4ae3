// A cluster of real engines on the deterministic simulator, for engine tests and the
// simulation benchmark. Every node has an InMemoryStore driven by the scheduler, so a
// crash keeps exactly what was committed.
import { Engine, type EngineConfig } from '../../src/cluster/engine.js'
import { Replica } from '../../src/replica.js'
import { SimNetwork, type LinkOverrides, type SimNode } from '../../src/sim/index.js'
import { InMemoryStore } from '../../src/store/index.js'

export interface SimClusterOptions {
  readonly seed: number
  readonly size: number
  readonly link?: LinkOverrides
  readonly config?: EngineConfig
  /** 'refuse' makes requests to dead peers fail fast, like a connection reset. */
  readonly deadPeers?: 'timeout' | 'refuse'
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

  constructor(private readonly options: SimClusterOptions) {
    this.net = new SimNetwork({ seed: options.seed, link: options.link, deadPeers: options.deadPeers ?? 'timeout' })
    const nodes = this.net.addNodes(options.size)
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
    await this.settle(Promise.all([...this.members.values()].map((m) => m.engine.start())))
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

  private boot(node: SimNode, store: InMemoryStore): SimMember {
    const replica = new Replica({ store, clock: node.clock, actor: node.id })
    const engine = new Engine({
      store,
      transport: node.transport,
      clock: node.clock,
      random: node.random,
      replica,
      config: this.options.config,
    })
    return { id: node.id, node, store, replica, engine, up: true }
  }
}
