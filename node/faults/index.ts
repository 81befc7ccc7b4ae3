export { FaultInjector, MAX_BLOCKED_PEERS } from './fault-injector.js'
export { registerFaultRoutes } from './fault-routes.js'
export { BLOCKED_REASON, FaultyTransport, type BlockList } from './faulty-transport.js'
