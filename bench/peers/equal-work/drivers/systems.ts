// The systems the equal-work comparison knows, without loading any of their packages (the
// harness imports this; only a node process loads a driver, through drivers/index.ts).

export const NODE_SYSTEM_NAMES = ['rumordb', 'gun', 'automerge', 'orbitdb'] as const
export type NodeSystemName = (typeof NODE_SYSTEM_NAMES)[number]

/** OrbitDB is left out unless asked for: 1,000 writes on 5 nodes did not converge within 120 s in the peer benchmark. */
export const DEFAULT_NODE_SYSTEMS: readonly NodeSystemName[] = ['rumordb', 'gun', 'automerge']

export function isNodeSystemName(name: string): name is NodeSystemName {
  return (NODE_SYSTEM_NAMES as readonly string[]).includes(name)
}

/**
 * Systems that do not run the counter workload under a partition, and why (the report
 * says so). OrbitDB: its keyvalue store has no counter type, and cutting its links needs a
 * libp2p connection gater in the shared peer setup (bench/peers/systems/orbitdb.ts), which
 * is not built; it did not converge on 1,000 plain writes within 120 s either.
 */
export const NO_COUNTER_PARTITION: Readonly<Partial<Record<NodeSystemName, string>>> = {
  orbitdb: 'OrbitDB has no counter type and its harness cannot cut links yet (no libp2p connection gater in its setup)',
}
