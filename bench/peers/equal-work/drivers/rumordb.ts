// rumordb as one node of the equal-work comparison: the embedded API (`openDatabase`, as
// an Electron or Node app opens it), networked over libp2p on 127.0.0.1 the way `rumordb
// start --open --no-mdns --bootstrap <node 0>` is, with every key replicated to every node
// (n = cluster size) so that each node holds all the data, as every peer system does.
//
// Writes: `db.register(key).set(value, { w })`, a last-writer-wins register holding the
// integer, as the peers put key → integer. w defaults to 1: the call returns once one
// replica committed it, as the peers' writes return once applied locally (with n = cluster
// size this node is a replica of every key, so it applies each unkeyed write itself). Reads:
// the node's own store (`db.scan`, no network). `db.subscribe` says which keys changed; a
// change merged from a peer (origin 'remote') carries the committed local state. Keys changed
// by a local write are read back from the store: when this harness was written, such an
// event could carry another replica's older state (fixed since: a write's event is joined
// with the local state), and reading back costs node 0 about a tenth of its CPU in a burst.
//
// Counters: `db.counter(key).increment(delta, { w })` (decrement for a negative delta), its
// PN-counter. Cuts: the engine's transport is wrapped in the project's own fault injector
// (node/faults, as its partition tests do): requests to a blocked peer fail at once as
// unreachable, requests and gossip broadcasts from it are refused or dropped on arrival,
// and it is reported lost (and seen again at the heal). Nothing is queued: anti-entropy
// and hinted handoff bring back what was missed.
import { join } from 'node:path'
import { FaultInjector } from '../../../../node/faults/index.js'
import { openDatabase, type NetworkedDatabase } from '../../../../node/open-database.js'
import { published, type ChangeListener, type CounterAbility, type LinkCutter, type NodeDriver, type NodeInfo, type NodeStartContext, type NodeSystem } from './node-driver.js'

class RumordbNode implements NodeDriver {
  private stopped = false
  readonly counters: CounterAbility = {
    increment: async (key, delta) => {
      const counter = this.db.counter(key)
      await (delta < 0 ? counter.decrement(-delta, { w: this.w }) : counter.increment(delta, { w: this.w }))
    },
  }
  readonly links: LinkCutter = {
    cut: (blocked: readonly NodeInfo[]) => {
      this.faults.block(blocked.map((b) => published(b, 'peer')))
    },
    heal: () => {
      this.faults.block([])
    },
  }

  constructor(
    private readonly db: NetworkedDatabase,
    readonly info: Readonly<Record<string, string>>,
    private readonly w: number,
    private readonly faults: FaultInjector,
  ) {}

  connectedPeers(): number {
    return this.db.members().members.filter((m) => m.status === 'alive' && m.id !== this.db.nodeId).length
  }

  async write(key: string, value: number): Promise<void> {
    await this.db.register(key).set(value, { w: this.w })
  }

  onChange(listener: ChangeListener): void {
    const pending = new Set<string>()
    let flushing = false
    // One reader at a time, so a later read of a key is never reported before an earlier one.
    const flush = async (): Promise<void> => {
      flushing = true
      try {
        while (pending.size > 0) {
          const keys = [...pending]
          pending.clear()
          const changes: [string, unknown][] = []
          for (const key of keys) changes.push([key, await this.readKey(key)])
          listener(changes)
        }
      } finally {
        flushing = false
      }
    }
    this.db.subscribe('', (change) => {
      if (change.origin === 'remote') {
        // Unless a read of the key is queued: it must not be overtaken by an older value.
        if (!pending.has(change.key)) listener([[change.key, change.value]])
        return
      }
      pending.add(change.key)
      if (!flushing) void flush()
    })
  }

  /** One key's value in this node's store (the workloads' keys are never a prefix of another). */
  private async readKey(key: string): Promise<unknown> {
    for await (const entry of this.db.scan({ prefix: key })) if (entry.key === key) return entry.value
    return undefined
  }

  async readLocal(prefix: string): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>()
    for await (const entry of this.db.scan({ prefix })) out.set(entry.key, entry.value)
    return out
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.db.close()
  }
}

export const rumordbNodeSystem: NodeSystem = {
  name: 'rumordb',
  readyWhen: (_index, nodes) => nodes - 1,
  async start(context: NodeStartContext): Promise<NodeDriver> {
    const { nodes, earlier, settings } = context
    const w = Number(settings.w ?? '1')
    const n = Number(settings.n ?? String(nodes))
    const faults = new FaultInjector()
    const db = await openDatabase({
      dataDir: join(context.dir, 'data'),
      replication: { n, r: 1, w },
      network: {
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: earlier[0]?.addr === undefined ? [] : [earlier[0].addr],
        mdns: false,
        open: true,
        wrapTransport: (transport) => faults.wrap(transport),
      },
    })
    const addr = db.transport?.multiaddrs()[0]
    if (db.transport === undefined || addr === undefined) throw new Error('rumordb node has no listen address')
    return new RumordbNode(db, { addr, peer: db.transport.localPeerId }, w, faults)
  },
}
