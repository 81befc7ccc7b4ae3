// Automerge Repo as one node of the equal-work comparison, set up as
// bench/peers/systems/automerge.ts sets up its peers, but one repo per process: node 0
// serves WebSockets on 127.0.0.1 and creates the one document (a map key → integer); the
// other nodes are its clients and find the document by URL (a star on node 0). NodeFS
// storage per node. Writes: handle.change(doc => { doc[key] = value }). The node's local
// state is its handle's doc(); changes come from the handle's change events' patches.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketServer } from 'ws'
import type { ChangeListener, NodeDriver, NodeStartContext, NodeSystem } from './node-driver.js'

type Counters = Record<string, number>

class AutomergeNode implements NodeDriver {
  private stopped = false

  constructor(
    private readonly repo: Repo,
    private readonly handle: DocHandle<Counters>,
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
    this.handle.on('change', ({ patches }) => {
      const changes: [string, unknown][] = []
      for (const patch of patches) {
        // A put at the root is one key's new value; anything else: read the document.
        if (patch.action !== 'put' || patch.path.length !== 1) return listener(null)
        changes.push([String(patch.path[0]), patch.value])
      }
      listener(changes)
    })
  }

  async readLocal(prefix: string): Promise<Map<string, unknown>> {
    const doc = (this.handle.doc() ?? {}) as Counters
    return new Map(Object.entries(doc).filter(([k]) => k.startsWith(prefix)))
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

export const automergeNodeSystem: NodeSystem = {
  name: 'automerge',
  // A star: the hub sees every leaf, a leaf sees the hub.
  readyWhen: (index, nodes) => (index === 0 ? nodes - 1 : 1),
  async start(context: NodeStartContext): Promise<NodeDriver> {
    const storage = new NodeFSStorageAdapter(join(context.dir, 'repo'))
    const hub = context.earlier[0]
    if (hub === undefined) {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      await once(server, 'listening')
      const { port } = server.address() as AddressInfo
      const repo = new Repo({ network: [new WebSocketServerAdapter(server)], storage })
      const handle = repo.create<Counters>({})
      return new AutomergeNode(repo, handle, server, { url: `ws://127.0.0.1:${port}`, doc: handle.url })
    }
    const repo = new Repo({ network: [new WebSocketClientAdapter(hub.url as string)], storage })
    const handle = await repo.find<Counters>(hub.doc as Parameters<Repo['find']>[0])
    return new AutomergeNode(repo, handle, undefined, {})
  },
}
