// openDatabase with networking: the src/ database plus a libp2p transport. src/ never
// imports libp2p; this module is where the two meet.
import { openDatabase as openLocalDatabase, type Database, type OpenDatabaseOptions } from '../src/index.js'
import type { Transport } from '../src/transport/transport.js'
import { createLibp2pTransport, type Libp2pTransport, type TransportLogger } from './libp2p/index.js'

export interface NetworkOptions {
  /** Multiaddrs to listen on (default `/ip4/0.0.0.0/tcp/0`: every interface, a free port). */
  readonly listen?: readonly string[]
  /** Multiaddrs with `/p2p/<peer id>` to dial and keep dialing. */
  readonly bootstrap?: readonly string[]
  /** Find peers on the LAN by multicast DNS (default true). */
  readonly mdns?: boolean
  /** Contents of a swarm key file (`rumordb keygen`): only nodes with the same key connect. */
  readonly swarmKey?: string | Uint8Array
  /** Nodes only join peers of the same cluster name (default `default`). */
  readonly cluster?: string
  readonly logger?: TransportLogger
  /** Puts a transport between the engine and libp2p (fault injection in tests and benchmarks). */
  readonly wrapTransport?: (transport: Transport) => Transport
}

export interface OpenNetworkedDatabaseOptions extends Omit<OpenDatabaseOptions, 'transport'> {
  /** Omit to stay local (the database is then exactly the src/ one). */
  readonly network?: NetworkOptions
}

export interface NetworkedDatabase extends Database {
  /** The libp2p transport, when networked (for addresses and counters). */
  readonly transport?: Libp2pTransport
}

export async function openDatabase(options: OpenNetworkedDatabaseOptions): Promise<NetworkedDatabase> {
  const { network, ...rest } = options
  if (network === undefined) return openLocalDatabase(rest)
  const transport = await createLibp2pTransport({
    dataDir: options.dataDir,
    listen: network.listen ?? ['/ip4/0.0.0.0/tcp/0'],
    bootstrap: network.bootstrap,
    mdns: network.mdns,
    swarmKey: network.swarmKey,
    cluster: network.cluster,
    logger: network.logger,
  })
  try {
    const engineTransport = network.wrapTransport?.(transport) ?? transport
    const db = await openLocalDatabase({ ...rest, transport: engineTransport, engine: { ...rest.engine, addrs: () => transport.multiaddrs() } })
    return Object.assign(db, { transport })
  } catch (err) {
    await transport.stop()
    throw err
  }
}
