// openDatabase with networking: the src/ database plus a libp2p transport. src/ never
// imports libp2p; this module is where the two meet.
import { mkdirSync } from 'node:fs'
import { openDatabase as openLocalDatabase, type Database, type OpenDatabaseOptions } from '../src/index.js'
import type { Transport } from '../src/transport/transport.js'
import { ClusterAccessError, encodeInvite, resolveClusterAccess, type ClusterAccess } from './cluster-access.js'
import { createLibp2pTransport, type Libp2pTransport, type TransportLogger } from './libp2p/index.js'

export interface NetworkOptions {
  /** Multiaddrs to listen on (default `/ip4/0.0.0.0/tcp/0`: every interface, a free port). */
  readonly listen?: readonly string[]
  /** Multiaddrs with `/p2p/<peer id>` to dial and keep dialing. */
  readonly bootstrap?: readonly string[]
  /** Find peers on the LAN by multicast DNS (default true). */
  readonly mdns?: boolean
  /**
   * An invite from a node of the cluster to join (`rumordb invite`, GET /v1/invite,
   * `db.invite()`): it holds the cluster secret, which is kept in the data directory, and
   * addresses to dial. Later opens need it no more.
   */
  readonly join?: string
  /** Contents of a swarm key file (`rumordb keygen`): the cluster secret given explicitly. */
  readonly swarmKey?: string | Uint8Array
  /**
   * No cluster secret: anyone who can reach the node may connect, read and write. Without
   * `join`, `swarmKey` or `open`, a node is private: it uses the secret kept in its data
   * directory, creating one (a new cluster) on its first start.
   */
  readonly open?: boolean
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
  /** How this node's cluster is secured, when networked. */
  readonly access?: ClusterAccess
  /**
   * A one-line invite for another node to join this cluster: the cluster secret and this
   * node's addresses. Treat it as a password. Throws for a local or an open database.
   */
  invite(): string
}

export async function openDatabase(options: OpenNetworkedDatabaseOptions): Promise<NetworkedDatabase> {
  const { network, ...rest } = options
  if (network === undefined) return Object.assign(await openLocalDatabase(rest), { invite: noInvite('it is local (opened without network)') })
  if (typeof options.dataDir === 'string' && options.dataDir.length > 0) mkdirSync(options.dataDir, { recursive: true })
  const access = resolveClusterAccess(options.dataDir, { join: network.join, swarmKey: network.swarmKey, open: network.open })
  const transport = await createLibp2pTransport({
    dataDir: options.dataDir,
    listen: network.listen ?? ['/ip4/0.0.0.0/tcp/0'],
    bootstrap: [...access.bootstrap, ...(network.bootstrap ?? [])],
    mdns: network.mdns,
    swarmKey: access.swarmKey,
    cluster: network.cluster,
    logger: network.logger,
  })
  try {
    const engineTransport = network.wrapTransport?.(transport) ?? transport
    const db = await openLocalDatabase({ ...rest, transport: engineTransport, engine: { ...rest.engine, addrs: () => transport.multiaddrs() } })
    const secret = access.swarmKey
    const invite =
      secret === undefined
        ? noInvite('its cluster is open (no secret): other nodes join it with open and its address as bootstrap')
        : () => encodeInvite(secret, transport.multiaddrs())
    return Object.assign(db, { transport, access, invite })
  } catch (err) {
    await transport.stop()
    throw err
  }
}

function noInvite(why: string): () => string {
  return () => {
    throw new ClusterAccessError(`this database has no invite to give: ${why}`)
  }
}
