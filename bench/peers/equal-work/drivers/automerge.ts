// Automerge Repo as one node of the equal-work comparison, set up as
// bench/peers/systems/automerge.ts sets up its peers, but one repo per process: node 0
// serves WebSockets on 127.0.0.1 and creates the one document (a map key → integer); the
// other nodes are its clients and find the document by URL (a star on node 0). NodeFS
// storage per node. Writes: handle.change(doc => { doc[key] = value }). The node's local
// state is its handle's doc(); changes come from the handle's change events' patches.
//
// Counters: Automerge's own Counter type in the document. Node 0 creates every counter at 0
// before any node adds to it (two nodes each creating a Counter at one key would keep only
// one, and the other's increments with it); then handle.change(doc => doc[key].increment(delta)).
// Cuts: CutNetworkAdapter around the WebSocket adapter (automerge-cut-adapter.ts says what
// it drops). In the star, a leaf cut off from the hub reaches nobody.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Counter, Repo, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketServer } from 'ws'
import { CutNetworkAdapter } from './automerge-cut-adapter.js'
import { published, type ChangeListener, type CounterAbility, type LinkCutter, type NodeDriver, type NodeStartContext, type NodeSystem } from './node-driver.js'

/** Registers hold integers; the counter workload's keys hold Counters. */
type Values = Record<string, number | Counter>

class AutomergeNode implements NodeDriver {
  private stopped = false

  readonly counters: CounterAbility = {
    create: async (keys) => {
      this.handle.change((doc) => {
        for (const key of keys) doc[key] = new Counter(0)
      })
    },
    increment: async (key, delta) => {
      this.handle.change((doc) => {
        const counter = doc[key]
        if (!(counter instanceof Counter)) throw new Error(`${key} is not a counter in this node's document yet: create the counters first`)
        counter.increment(delta)
      })
    },
  }

  readonly links: LinkCutter = {
    cut: (blocked) => this.network.cut(blocked.map((b) => published(b, 'peer'))),
    heal: () => this.network.cut([]),
  }

  constructor(
    private readonly repo: Repo,
    private readonly handle: DocHandle<Values>,
    private readonly network: CutNetworkAdapter,
    private readonly server: WebSocketServer | undefined,
    readonly info: Readonly<Record<string, string>>,
  ) {}

  connectedPeers(): number {
    return this.repo.peers.length
  }

  async write(key: string, value: number): Promise<void> {
    this.handle.change((doc) => {
      doc[key] = value
    })
  }

  onChange(listener: ChangeListener): void {
    this.handle.on('change', ({ doc, patches }) => {
      const changes: [string, unknown][] = []
      for (const patch of patches) {
        if (patch.path.length !== 1) return listener(null)
        const key = String(patch.path[0])
        // A put at the root is one key's new value (a new Counter reads as its value), an
        // inc one counter's change; anything else: read the document.
        if (patch.action === 'put') changes.push([key, valueOf(patch.value)])
        else if (patch.action === 'inc') changes.push([key, valueOf(doc[key])])
        else return listener(null)
      }
      listener(changes)
    })
  }

  async readLocal(prefix: string): Promise<Map<string, unknown>> {
    const doc = this.handle.doc() ?? {}
    return new Map(Object.entries(doc).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k, valueOf(v)]] : [])))
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.repo.shutdown()
    if (this.server !== undefined) {
      for (const client of this.server.clients) client.terminate()
      await new Promise<void>((resolve) => this.server!.close(() => resolve()))
    }
  }
}

/** A counter's total, anything else as it is. */
function valueOf(v: unknown): unknown {
  return v instanceof Counter ? v.value : v
}

export const automergeNodeSystem: NodeSystem = {
  name: 'automerge',
  // A star: the hub sees every leaf, a leaf sees the hub.
  readyWhen: (index, nodes) => (index === 0 ? nodes - 1 : 1),
  async start(context: NodeStartContext): Promise<NodeDriver> {
    const storage = new NodeFSStorageAdapter(join(context.dir, 'repo'))
    // Chosen here, and published, so that other nodes can block it.
    const peerId = `node${context.index}-${process.pid}` as PeerId
    const hub = context.earlier[0]
    if (hub === undefined) {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      await once(server, 'listening')
      const { port } = server.address() as AddressInfo
      const network = new CutNetworkAdapter(new WebSocketServerAdapter(server))
      const repo = new Repo({ network: [network], storage, peerId })
      const handle = repo.create<Values>({})
      return new AutomergeNode(repo, handle, network, server, { url: `ws://127.0.0.1:${port}`, doc: handle.url, peer: peerId })
    }
    const network = new CutNetworkAdapter(new WebSocketClientAdapter(hub.url as string))
    const repo = new Repo({ network: [network], storage, peerId })
    const handle = await repo.find<Values>(hub.doc as Parameters<Repo['find']>[0])
    return new AutomergeNode(repo, handle, network, undefined, { peer: peerId })
  },
}
