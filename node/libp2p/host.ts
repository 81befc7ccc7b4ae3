// Builds (does not start) the libp2p node: TCP, optional pnet, Noise, Yamux, Identify,
// Ping, gossipsub, mDNS and bootstrap discovery.
import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey, PubSub } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { MAX_GOSSIP_RPC_BYTES } from './constants.js'

export interface HostServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: PubSub<GossipsubEvents>
}

export type Host = Libp2p<HostServices>

export interface HostOptions {
  readonly privateKey: PrivateKey
  readonly listen: readonly string[]
  readonly bootstrap: readonly string[]
  readonly mdns: boolean
  /** mDNS service name: one per cluster, so clusters on one LAN do not dial each other. */
  readonly mdnsServiceTag: string
  readonly mdnsIntervalMs: number
  /** Canonical swarm key file; set, it makes this a private network. */
  readonly swarmKeyFile?: Uint8Array
  /** The only gossipsub topics this node keeps state for. */
  readonly topics: readonly string[]
  readonly dialTimeoutMs: number
}

export async function createHost(options: HostOptions): Promise<Host> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (options.mdns) {
    peerDiscovery.push(mdns({ serviceTag: options.mdnsServiceTag, interval: options.mdnsIntervalMs }))
  }
  if (options.bootstrap.length > 0) {
    // timeout 0: dial the list as soon as the node starts (the module's default waits 1 s).
    peerDiscovery.push(bootstrap({ list: [...options.bootstrap], timeout: 0 }))
  }
  const init: Libp2pOptions<HostServices> = {
    start: false,
    privateKey: options.privateKey,
    addresses: { listen: [...options.listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // A peer that stalls the handshake (e.g. a wrong swarm key garbles Noise) holds a pending
    // inbound connection this long at most; libp2p's default is 10 s.
    connectionManager: { dialTimeout: options.dialTimeoutMs, inboundUpgradeTimeout: options.dialTimeoutMs },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        doPX: false,
        allowedTopics: [...options.topics],
        maxInboundDataLength: MAX_GOSSIP_RPC_BYTES,
      }),
    },
  }
  if (options.swarmKeyFile !== undefined) init.connectionProtector = preSharedKey({ psk: options.swarmKeyFile })
  return createLibp2p<HostServices>(init)
}
