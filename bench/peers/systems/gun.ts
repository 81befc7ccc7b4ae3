// GUN peers, each a Node.js GUN with its own HTTP/WebSocket server on 127.0.0.1 and its
// own radisk folder, in a full mesh: each peer lists every peer started before it in
// `peers`, so each pair shares one WebSocket and GUN's DAM mesh relays the rest.
//
// As GUN is meant to be used: node 0 puts each key into one graph node
// (gun.get(root).get(key).put(value)); every peer subscribes to that node with
// gun.get(root).map().on(…), the way a GUN app reads live data, and GUN's own wire
// protocol carries the puts.
//
// Settings changed from the defaults: multicast: false (UDP multicast would leave the
// loopback), axe: false (AXE's peer routing is for relays on the public network),
// stats: false (GUN's stats timer writes a file into GUN's own package folder, outside
// the peer's directory). Everything else is GUN's default, including `super: true`, which
// GUN sets for every Node.js peer.
//
// Converged: every peer's subscription has delivered every key with the expected value.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Gun from 'gun'
import { missingCount, waitFor } from './convergence.js'
import type { Cluster, PeerSystem } from './types.js'
import { SYSTEMS } from './catalog.js'

/** How long start() waits for every peer to hold a WebSocket to every other. */
const CONNECT_TIMEOUT_MS = 30_000

/** The parts of a GUN instance's internals this adapter touches to count and close peers. */
export interface GunInternals {
  readonly peers: Record<string, { met?: number; wire?: unknown }>
  readonly mesh: { bye(peer: unknown): void }
  readonly ws?: { web?: { close(): void } }
}

export interface GunChain {
  get(key: string): GunChain
  put(value: number): GunChain
  map(): GunChain
  on(callback: (value: unknown, key: string) => void): GunChain
  off(): void
  back(path: string): unknown
}

interface GunPeer {
  readonly gun: GunChain
  readonly server: Server
  /** What this peer's subscription has delivered so far. */
  readonly seen: Map<string, unknown>
}

const createGun = Gun as unknown as (options: Record<string, unknown>) => GunChain

async function startPeer(dir: string, root: string, peerUrls: readonly string[]): Promise<GunPeer> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const gun = createGun({ web: server, peers: [...peerUrls], multicast: false, axe: false, stats: false, file: dir })
  const seen = new Map<string, unknown>()
  gun
    .get(root)
    .map()
    .on((value, key) => {
      seen.set(key, value)
    })
  return { gun, server, seen }
}

function internals(peer: GunPeer): GunInternals {
  return peer.gun.back('opt') as GunInternals
}

function connectedPeers(peer: GunPeer): number {
  return Object.values(internals(peer).peers).filter((p) => p.met !== undefined && p.wire != null).length
}

function urlOf(peer: GunPeer): string {
  return `http://127.0.0.1:${(peer.server.address() as AddressInfo).port}/gun`
}

class GunCluster implements Cluster {
  private stopped = false

  constructor(
    private readonly peers: readonly GunPeer[],
    private readonly root: string,
  ) {}

  async write(node: number, key: string, value: number): Promise<void> {
    const peer = this.peers[node]
    if (peer === undefined) throw new RangeError(`no GUN node ${node}`)
    // A put applies locally at once; its callback would wait for a peer's acknowledgement.
    peer.gun.get(this.root).get(key).put(value)
  }

  async converged(expected: ReadonlyMap<string, number>): Promise<boolean> {
    return this.peers.every((p) => missingCount(expected, p.seen) === 0)
  }

  async lagging(expected: ReadonlyMap<string, number>): Promise<string> {
    return this.peers
      .map((p, i) => [i, missingCount(expected, p.seen)] as const)
      .filter(([, m]) => m > 0)
      .map(([i, m]) => `node ${i} lacks ${m}/${expected.size}`)
      .join(', ')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const peer of this.peers) {
      peer.gun.get(this.root).map().off()
      const opt = internals(peer)
      // bye() forgets the peer before closing its socket, so GUN does not redial it.
      for (const remote of Object.values(opt.peers)) opt.mesh.bye(remote)
      opt.ws?.web?.close()
      peer.server.closeAllConnections()
      await new Promise<void>((resolve) => peer.server.close(() => resolve()))
    }
  }
}

export const gunSystem: PeerSystem = {
  ...SYSTEMS.gun,

  async start(nodes: number, dir: string): Promise<Cluster> {
    const root = `rumordb-bench-${process.pid}-${Date.now()}`
    const peers: GunPeer[] = []
    const cluster = new GunCluster(peers, root)
    try {
      for (let i = 0; i < nodes; i++) {
        peers.push(await startPeer(join(dir, `node-${i}`), root, peers.map(urlOf)))
      }
      await waitFor(
        () => peers.every((p) => connectedPeers(p) >= nodes - 1),
        CONNECT_TIMEOUT_MS,
        () => `GUN peers did not all connect within ${CONNECT_TIMEOUT_MS} ms: ${peers.map(connectedPeers).join(',')} peers each`,
      )
      return cluster
    } catch (err) {
      await cluster.stop().catch(() => undefined)
      throw err
    }
  },
}
