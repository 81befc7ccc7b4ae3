// The peer systems the benchmark knows and what the report says about each, without
// loading any of their packages.
import type { PeerSystemInfo } from './types.js'

export const SYSTEM_NAMES = ['orbitdb', 'automerge', 'gun'] as const
export type SystemName = (typeof SYSTEM_NAMES)[number]

export const SYSTEMS: Readonly<Record<SystemName, PeerSystemInfo>> = {
  orbitdb: {
    name: 'orbitdb',
    packageName: '@orbitdb/core',
    topology: 'full mesh of libp2p TCP connections (Noise, Yamux); gossipsub topic per database',
    convergedMeans:
      "every peer's keyvalue db.all() (a walk of its oplog, whose entries it fetched by bitswap) holds every key with the expected value",
  },
  automerge: {
    name: 'automerge',
    packageName: '@automerge/automerge-repo',
    topology: 'star: node 0 (the writer) runs the WebSocket server, the others are its clients',
    convergedMeans: "every repo's handle.doc() of the one shared document holds every key with the expected value",
  },
  gun: {
    name: 'gun',
    packageName: 'gun',
    topology: 'full mesh of WebSockets (each peer lists every earlier peer in `peers`)',
    convergedMeans: "every peer's gun.get(root).map().on() subscription has delivered every key with the expected value",
  },
}

export function isSystemName(name: string): name is SystemName {
  return (SYSTEM_NAMES as readonly string[]).includes(name)
}
