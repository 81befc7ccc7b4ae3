// Options of the libp2p transport, checked and completed with defaults before anything
// is created (a bad address or swarm key fails before a peer key is written).
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import {
  CLUSTER_NAME_PATTERN,
  DEFAULT_CLUSTER,
  DEFAULT_DIAL_ATTEMPTS,
  DEFAULT_DIAL_BACKOFF_BASE_MS,
  DEFAULT_DIAL_BACKOFF_MAX_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MDNS_INTERVAL_MS,
  DEFAULT_SERVER_HANDLER_TIMEOUT_MS,
  DEFAULT_SERVER_READ_TIMEOUT_MS,
  MAX_GOSSIP_FRAME_BYTES,
  clusterTopic,
} from './constants.js'
import { TransportConfigError } from './errors.js'
import { decodableBroadcast, type BroadcastValidator } from './gossip.js'
import { silentLogger, type TransportLogger } from './logger.js'
import { loadOrCreatePeerKey } from './peer-key.js'
import type { BackoffOptions } from './redialer.js'
import { describe } from './describe.js'
import { parseSwarmKey } from './swarm-key.js'

export interface Libp2pTransportOptions {
  /** The node identity. Without it, `dataDir` holds one; without either, a fresh key is used. */
  readonly privateKey?: PrivateKey
  /** Directory for `peer-key` (created once, mode 0600) so the peer id survives restarts. */
  readonly dataDir?: string
  /** Multiaddrs to listen on (default `/ip4/0.0.0.0/tcp/4001`). */
  readonly listen?: readonly string[]
  /** Multiaddrs with `/p2p/<id>`; dialed at start and whenever lost, for as long as the node runs. */
  readonly bootstrap?: readonly string[]
  /** LAN discovery (default true). */
  readonly mdns?: boolean
  readonly mdnsIntervalMs?: number
  /** Contents of a swarm key file (see swarm-key.ts): only nodes with the same key can connect. */
  readonly swarmKey?: Uint8Array | string
  /** Nodes of different clusters never report each other as peers nor see each other's broadcasts. */
  readonly cluster?: string
  readonly logger?: TransportLogger
  /** Which broadcast frames are delivered and forwarded (default: those the wire codec decodes). */
  readonly validateBroadcast?: BroadcastValidator
  readonly maxGossipFrameBytes?: number
  readonly serverReadTimeoutMs?: number
  readonly serverHandlerTimeoutMs?: number
  readonly dialTimeoutMs?: number
  readonly dialBackoff?: Partial<BackoffOptions>
}

export interface ResolvedOptions {
  readonly privateKey: PrivateKey
  readonly cluster: string
  readonly topic: string
  readonly log: TransportLogger
  readonly listen: readonly string[]
  readonly bootstrap: readonly string[]
  /** Peer ids of the bootstrap list: retried for as long as the node runs. */
  readonly bootstrapPeers: ReadonlySet<string>
  readonly mdns: boolean
  readonly mdnsIntervalMs: number
  readonly swarmKeyFile?: Uint8Array
  readonly validateBroadcast: BroadcastValidator
  readonly maxGossipFrameBytes: number
  readonly serverReadTimeoutMs: number
  readonly serverHandlerTimeoutMs: number
  readonly dialTimeoutMs: number
  readonly dialBackoff: BackoffOptions
}

export async function resolveOptions(options: Libp2pTransportOptions): Promise<ResolvedOptions> {
  const cluster = options.cluster ?? DEFAULT_CLUSTER
  if (!CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new TransportConfigError(`cluster name ${JSON.stringify(cluster)} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  for (const addr of listen) parseAddress(addr, 'listen')
  const bootstrap = [...(options.bootstrap ?? [])]
  const bootstrapPeers = new Set<string>()
  for (const addr of bootstrap) {
    const peer = parseAddress(addr, 'bootstrap').getPeerId()
    if (peer === null) throw new TransportConfigError(`bootstrap address ${addr} needs a /p2p/<peer id> part`)
    bootstrapPeers.add(peer)
  }
  const swarmKeyFile = options.swarmKey === undefined ? undefined : parseSwarmKey(options.swarmKey).file
  const log = options.logger ?? silentLogger
  return {
    privateKey: options.privateKey ?? (await peerKey(options.dataDir, log)),
    cluster,
    topic: clusterTopic(cluster),
    log,
    listen,
    bootstrap,
    bootstrapPeers,
    mdns: options.mdns ?? true,
    mdnsIntervalMs: options.mdnsIntervalMs ?? DEFAULT_MDNS_INTERVAL_MS,
    swarmKeyFile,
    validateBroadcast: options.validateBroadcast ?? decodableBroadcast,
    maxGossipFrameBytes: options.maxGossipFrameBytes ?? MAX_GOSSIP_FRAME_BYTES,
    serverReadTimeoutMs: options.serverReadTimeoutMs ?? DEFAULT_SERVER_READ_TIMEOUT_MS,
    serverHandlerTimeoutMs: options.serverHandlerTimeoutMs ?? DEFAULT_SERVER_HANDLER_TIMEOUT_MS,
    dialTimeoutMs: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    dialBackoff: {
      baseMs: options.dialBackoff?.baseMs ?? DEFAULT_DIAL_BACKOFF_BASE_MS,
      maxMs: options.dialBackoff?.maxMs ?? DEFAULT_DIAL_BACKOFF_MAX_MS,
      attempts: options.dialBackoff?.attempts ?? DEFAULT_DIAL_ATTEMPTS,
    },
  }
}

async function peerKey(dataDir: string | undefined, log: TransportLogger): Promise<PrivateKey> {
  if (dataDir === undefined) return (await generateKeyPair('Ed25519')) as unknown as PrivateKey
  const loaded = await loadOrCreatePeerKey(dataDir)
  if (loaded.created) log.info({ dataDir }, 'created a new peer key')
  if (loaded.fixedMode !== undefined) {
    log.warn({ mode: loaded.fixedMode.toString(8) }, 'peer key file was readable by others; its mode is now 0600')
  }
  return loaded.privateKey
}

/**
 * mDNS service name: one per cluster (its name and, for a private cluster, its secret), as
 * a DNS-safe label, so a node only finds nodes of its own cluster. A one-way hash: the label
 * says nothing of the secret.
 */
export function mdnsServiceTag(cluster: string, swarmKeyFile?: Uint8Array): string {
  const hash = createHash('sha256').update(cluster)
  if (swarmKeyFile !== undefined) hash.update('\0rumordb-mdns\0').update(swarmKeyFile)
  return `_rumordb-${hash.digest('hex').slice(0, 16)}._udp.local`
}

export function parseAddress(addr: string, what: string): Multiaddr {
  try {
    return multiaddr(addr)
  } catch (err) {
    throw new TransportConfigError(`${what} address ${JSON.stringify(addr)} is not a multiaddr: ${describe(err)}`, { cause: err })
  }
}
