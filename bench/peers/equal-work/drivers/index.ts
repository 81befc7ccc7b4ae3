// The node drivers of the equal-work comparison. A driver module is imported only in the
// node process that runs it, so a system whose packages are missing fails only its rows,
// and the harness never loads any system's packages itself.
import type { NodeSystem } from './node-driver.js'
import { isNodeSystemName, NODE_SYSTEM_NAMES } from './systems.js'

export async function loadNodeSystem(name: string): Promise<NodeSystem> {
  if (!isNodeSystemName(name)) throw new RangeError(`unknown system ${name}; known: ${NODE_SYSTEM_NAMES.join(', ')}`)
  switch (name) {
    case 'rumordb':
      return (await import('./rumordb.js')).rumordbNodeSystem
    case 'gun':
      return (await import('./gun.js')).gunNodeSystem
    case 'automerge':
      return (await import('./automerge.js')).automergeNodeSystem
    case 'orbitdb':
      return (await import('./orbitdb.js')).orbitdbNodeSystem
  }
}
