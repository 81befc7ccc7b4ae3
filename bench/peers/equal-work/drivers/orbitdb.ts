// OrbitDB as one node of the equal-work comparison, set up as bench/peers/systems/orbitdb.ts
// sets up its peers (that file says why each setting differs from the defaults), but one
// IPFS node per process: Helia core with bitswap, level block- and datastore, libp2p on
// 127.0.0.1 with gossipsub; each node dials every earlier one (a full mesh). Node 0 creates
// the keyvalue database with write access for every identity (IPFSAccessController
// write: ['*']), so that every node may write, as the all-writers and conflict workloads
// need; the others open it by address. The node's local state is `db.all()`, read again
// after each `update` event (OrbitDB's events name entries, not the key's resulting value).
import { join } from 'node:path'
import { bitswap } from '@helia/block-brokers'
import { Helia } from '@helia/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createOrbitDB, IPFSAccessController, type KeyValueDatabase, type OrbitDB } from '@orbitdb/core'
import { LevelBlockstore } from 'blockstore-level'
import { LevelDatastore } from 'datastore-level'
import type { Libp2p } from 'libp2p'
import { loopbackLibp2p } from '../../systems/orbitdb.js'
import type { ChangeListener, NodeDriver, NodeStartContext, NodeSystem } from './node-driver.js'

class OrbitNode implements NodeDriver {
  private stopped = false

  constructor(
    private readonly helia: Helia<Libp2p>,
    private readonly blockstore: LevelBlockstore,
    private readonly datastore: LevelDatastore,
    private readonly orbitdb: OrbitDB,
    private readonly db: KeyValueDatabase,
    readonly info: Readonly<Record<string, string>>,
  ) {}

  connectedPeers(): number {
    return this.db.peers.size
  }

  async write(key: string, value: number): Promise<void> {
    await this.db.put(key, value)
  }

  onChange(listener: ChangeListener): void {
    this.db.events.on('update', () => listener(null))
  }

  async readLocal(prefix: string): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>()
    for (const { key, value } of await this.db.all()) if (key.startsWith(prefix)) out.set(key, value)
    return out
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.orbitdb.stop()
    await this.helia.stop()
    await this.blockstore.close()
    await this.datastore.close()
  }
}

export const orbitdbNodeSystem: NodeSystem = {
  name: 'orbitdb',
  readyWhen: (_index, nodes) => nodes - 1,
  async start(context: NodeStartContext): Promise<NodeDriver> {
    const libp2p = await loopbackLibp2p()
    const blockstore = new LevelBlockstore(join(context.dir, 'blocks'))
    const datastore = new LevelDatastore(join(context.dir, 'data'))
    await blockstore.open()
    await datastore.open()
    const helia = new Helia({ libp2p, blockstore, datastore, blockBrokers: [bitswap()] })
    await helia.start()
    for (const info of context.earlier) await helia.libp2p.dial(multiaddr(info.addr as string))
    const orbitdb = await createOrbitDB({ ipfs: helia, directory: join(context.dir, 'orbitdb') })
    const address = context.earlier[0]?.db
    const db =
      address === undefined
        ? await orbitdb.open(`rumordb-equal-${process.pid}-${Date.now()}`, { type: 'keyvalue', AccessController: IPFSAccessController({ write: ['*'] }) })
        : await orbitdb.open(address, { type: 'keyvalue' })
    const addr = helia.libp2p.getMultiaddrs()[0]
    if (addr === undefined) throw new Error('OrbitDB node has no listen address')
    return new OrbitNode(helia, blockstore, datastore, orbitdb, db, { addr: addr.toString(), db: address ?? db.address })
  },
}
