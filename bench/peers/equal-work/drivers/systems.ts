// The systems the equal-work comparison knows, without loading any of their packages (the
// harness imports this; only a node process loads a driver, through drivers/index.ts).

export const NODE_SYSTEM_NAMES = ['rumordb', 'gun', 'automerge', 'orbitdb'] as const
export type NodeSystemName = (typeof NODE_SYSTEM_NAMES)[number]

/** OrbitDB is left out unless asked for: 1,000 writes on 5 nodes did not converge within 120 s in the peer benchmark. */
export const DEFAULT_NODE_SYSTEMS: readonly NodeSystemName[] = ['rumordb', 'gun', 'automerge']

export function isNodeSystemName(name: string): name is NodeSystemName {
  return (NODE_SYSTEM_NAMES as readonly string[]).includes(name)
}
