// The libp2p side of rumordb: transport, identity and private-network keys.
import '../polyfill/index.js'

export * from './constants.js'
export type { Libp2pTransportCounters } from './counters.js'
export * from './errors.js'
export { decodableBroadcast, type BroadcastValidator } from './gossip.js'
export type { Host, HostServices } from './host.js'
export { createLibp2pTransport, type Libp2pTransport } from './libp2p-transport.js'
export { mdnsServiceTag, type Libp2pTransportOptions } from './options.js'
export { silentLogger, type TransportLogger } from './logger.js'
export { loadOrCreatePeerKey, type PeerKeyResult } from './peer-key.js'
export { generateSwarmKey, parseSwarmKey, type SwarmKey } from './swarm-key.js'
