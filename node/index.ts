// The rumordb package: the embedded database, networked when `network` is given.
// The polyfill comes first: libp2p calls Promise.withResolvers, which Node 20 lacks.
import './polyfill/index.js'

export * from '../src/index.js'
export { openDatabase, type NetworkOptions, type OpenNetworkedDatabaseOptions, type NetworkedDatabase } from './open-database.js'
export { generateSwarmKey, parseSwarmKey } from './libp2p/index.js'
