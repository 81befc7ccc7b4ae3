// The peer systems' adapters. An adapter module is imported only when its system runs (in
// the trial's own process), so one that fails to load fails only its own rows.
import type { PeerSystem } from './types.js'
import type { SystemName } from './catalog.js'

export { isSystemName, SYSTEM_NAMES, SYSTEMS, type SystemName } from './catalog.js'

export async function loadSystem(name: SystemName): Promise<PeerSystem> {
  switch (name) {
    case 'orbitdb':
      return (await import('./orbitdb.js')).orbitdbSystem
    case 'automerge':
      return (await import('./automerge.js')).automergeSystem
    case 'gun':
      return (await import('./gun.js')).gunSystem
  }
}
