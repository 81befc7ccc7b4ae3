// Automerge Repo 2: one document holding a map, replicated by the repo's own sync
// protocol over its WebSocket adapter.
//
// Topology: a star centred on the writer. Node 0's repo serves a WebSocket server on
// 127.0.0.1 (WebSocketServerAdapter); nodes 1..n-1 are clients of it
// (WebSocketClientAdapter), as a sync server and its clients are meant to be. Every write
// therefore reaches every node in one hop, as in the full meshes of the other systems.
// Each repo stores its documents on disk (NodeFSStorageAdapter, one folder per node), as a
// Node.js repo is meant to; every other setting is the default.
//
// Converged: every repo's handle for the document (created on node 0, found by URL on the
// others) returns a doc() in which every key holds the expected value.
import { join } from 'node:path'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Repo, type DocHandle } from '@automerge/automerge-repo'
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketServer } from 'ws'
import { missingCount } from './convergence.js'
import type { Cluster, PeerSystem } from './types.js'
import { SYSTEMS } from './catalog.js'

type Counters = Record<string, number>

interface AutomergePeer {
  readonly repo: Repo
  readonly handle: DocHandle<Counters>
}

class AutomergeCluster implements Cluster {
  private stopped = false

  constructor(
    private readonly peers: readonly AutomergePeer[],
    private readonly server: WebSocketServer,
  ) {}

  async write(node: number, key: string, value: number): Promise<void> {
    const peer = this.peers[node]
    if (peer === undefined) throw new RangeError(`no Automerge node ${node}`)
    peer.handle.change((doc) => {
      doc[key] = value
    })
  }

  async converged(expected: ReadonlyMap<string, number>): Promise<boolean> {
    return this.peers.every((p) => missing(p, expected) === 0)
  }

  async lagging(expected: ReadonlyMap<string, number>): Promise<string> {
    return this.peers
      .map((p, i) => [i, missing(p, expected)] as const)
      .filter(([, m]) => m > 0)
      .map(([i, m]) => `node ${i} lacks ${m}/${expected.size}`)
      .join(', ')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // Clients first, so the server does not wait on sockets they are about to close.
    for (const peer of [...this.peers].reverse()) await peer.repo.shutdown()
    for (const client of this.server.clients) client.terminate()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

function missing(peer: AutomergePeer, expected: ReadonlyMap<string, number>): number {
  const doc = peer.handle.doc() as Counters | undefined
  return doc === undefined ? expected.size : missingCount(expected, new Map(Object.entries(doc)))
}

export const automergeSystem: PeerSystem = {
  ...SYSTEMS.automerge,

  async start(nodes: number, dir: string): Promise<Cluster> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    const peers: AutomergePeer[] = []
    const cluster = new AutomergeCluster(peers, server)
    try {
      const hub = new Repo({
        network: [new WebSocketServerAdapter(server)],
        storage: new NodeFSStorageAdapter(join(dir, 'node-0')),
      })
      const handle = hub.create<Counters>({})
      peers.push({ repo: hub, handle })
      for (let i = 1; i < nodes; i++) {
        const repo = new Repo({
          network: [new WebSocketClientAdapter(`ws://127.0.0.1:${port}`)],
          storage: new NodeFSStorageAdapter(join(dir, `node-${i}`)),
        })
        peers.push({ repo, handle: await repo.find<Counters>(handle.url) })
      }
      return cluster
    } catch (err) {
      await cluster.stop().catch(() => undefined)
      throw err
    }
  },
}
