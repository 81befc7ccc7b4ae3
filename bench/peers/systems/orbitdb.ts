// OrbitDB 3 key-value stores on Helia/libp2p 2, full mesh over TCP on 127.0.0.1.
//
// As OrbitDB is meant to be used: each peer is an IPFS node (Helia's core with a bitswap
// block broker, a level blockstore and datastore, its own libp2p with gossipsub), node 0
// creates a `keyvalue` database, every other peer opens it by its address (fetching the
// manifest and access controller over bitswap), and replication is OrbitDB's own sync:
// every new entry is published on the database's gossipsub topic, heads are exchanged
// when peers join, and missing entries are fetched by bitswap.
//
// Settings changed from the defaults: libp2p listens on 127.0.0.1 only, and gossipsub has
// allowPublishToZeroTopicPeers (as OrbitDB's own libp2p config does), so that a write
// before a peer subscribes does not throw.
//
// Converged: every peer's `db.all()` (a traversal of its oplog) holds every key with the
// expected value.
import { join } from 'node:path'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bitswap } from '@helia/block-brokers'
import { Helia } from '@helia/utils'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createOrbitDB, type KeyValueDatabase, type OrbitDB } from '@orbitdb/core'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p, type Libp2p } from 'libp2p'
import { ChangeGate, missingCount, waitFor } from './convergence.js'
import type { Cluster, PeerSystem } from './types.js'
import { SYSTEMS } from './catalog.js'

/** How long start() waits for every peer to see every other on the database's topic. */
const JOIN_TIMEOUT_MS = 60_000

interface OrbitPeer {
  readonly helia: Helia<Libp2p>
  readonly blockstore: LevelBlockstore
  readonly datastore: LevelDatastore
  readonly orbitdb: OrbitDB
  db: KeyValueDatabase | undefined
  readonly gate: ChangeGate
}

/** One IPFS node's libp2p, on 127.0.0.1 only (the equal-work driver builds the same). */
export function loopbackLibp2p(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p refuses more than 5 inbound connections a second from one host, and on
    // loopback every peer is the same host: a full mesh of 10 peers failed its Noise
    // handshakes. Allow-listing 127.0.0.1 lifts only that limit (a loopback setting).
    connectionManager: { allow: ['/ip4/127.0.0.1'] },
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
    },
  })
}

async function startPeer(dir: string): Promise<OrbitPeer> {
  const libp2p = await loopbackLibp2p()
  const blockstore = new LevelBlockstore(join(dir, 'blocks'))
  const datastore = new LevelDatastore(join(dir, 'data'))
  await blockstore.open()
  await datastore.open()
  const helia = new Helia({ libp2p, blockstore, datastore, blockBrokers: [bitswap()] })
  await helia.start()
  const orbitdb = await createOrbitDB({ ipfs: helia, directory: join(dir, 'orbitdb') })
  return { helia, blockstore, datastore, orbitdb, db: undefined, gate: new ChangeGate() }
}

async function openDatabase(peer: OrbitPeer, address: string): Promise<KeyValueDatabase> {
  const db = await peer.orbitdb.open(address, { type: 'keyvalue' })
  db.events.on('update', () => peer.gate.changed())
  peer.db = db
  return db
}

class OrbitCluster implements Cluster {
  private stopped = false
  /** The newest entry written: with one writer, every converged peer has it among its heads. */
  private lastHash: string | undefined

  constructor(private readonly peers: readonly OrbitPeer[]) {}

  async write(node: number, key: string, value: number): Promise<void> {
    this.lastHash = await this.db(node).put(key, value)
  }

  async converged(expected: ReadonlyMap<string, number>): Promise<boolean> {
    for (const peer of this.peers) {
      const ok = await peer.gate.check(expected, async () => (await holdsLastWrite(peer, this.lastHash)) && missingCount(expected, await readAll(peer)) === 0)
      if (!ok) return false
    }
    return true
  }

  async lagging(expected: ReadonlyMap<string, number>): Promise<string> {
    const parts: string[] = []
    for (const [i, peer] of this.peers.entries()) {
      const missing = missingCount(expected, await readAll(peer))
      if (missing > 0) parts.push(`node ${i} lacks ${missing}/${expected.size}`)
    }
    return parts.join(', ')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const peer of this.peers) {
      await peer.orbitdb.stop()
      await peer.helia.stop()
      await peer.blockstore.close()
      await peer.datastore.close()
    }
  }

  private db(node: number): KeyValueDatabase {
    const db = this.peers[node]?.db
    if (db === undefined) throw new RangeError(`no OrbitDB node ${node}`)
    return db
  }
}

/**
 * A cheap test before the walk of a whole oplog: a peer joins an entry only with all the
 * entries it references, so one whose heads lack the newest write cannot hold every write,
 * and one whose heads have it is then checked by db.all() all the same.
 */
async function holdsLastWrite(peer: OrbitPeer, lastHash: string | undefined): Promise<boolean> {
  if (lastHash === undefined || peer.db === undefined) return true
  return (await peer.db.log.heads()).some((head) => head.hash === lastHash)
}

async function readAll(peer: OrbitPeer): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>()
  for (const { key, value } of (await peer.db?.all()) ?? []) out.set(key, value)
  return out
}

export const orbitdbSystem: PeerSystem = {
  ...SYSTEMS.orbitdb,

  async start(nodes: number, dir: string): Promise<Cluster> {
    const peers: OrbitPeer[] = []
    const cluster = new OrbitCluster(peers)
    try {
      for (let i = 0; i < nodes; i++) peers.push(await startPeer(join(dir, `node-${i}`)))
      // Full mesh: each peer dials every peer started before it.
      for (let j = 1; j < nodes; j++) {
        for (let i = 0; i < j; i++) {
          const addr = peers[i]!.helia.libp2p.getMultiaddrs()[0]
          if (addr === undefined) throw new Error(`OrbitDB node ${i} has no listen address`)
          await peers[j]!.helia.libp2p.dial(addr)
        }
      }
      const first = await openDatabase(peers[0]!, `rumordb-bench-${process.pid}-${Date.now()}`)
      for (const peer of peers.slice(1)) await openDatabase(peer, first.address)
      await waitFor(
        () => peers.every((p) => (p.db?.peers.size ?? 0) >= nodes - 1),
        JOIN_TIMEOUT_MS,
        () => `OrbitDB peers did not all join the database topic within ${JOIN_TIMEOUT_MS} ms: ${peers.map((p) => p.db?.peers.size ?? 0).join(',')} peers each`,
      )
      return cluster
    } catch (err) {
      await cluster.stop().catch(() => undefined)
      throw err
    }
  },
}
