// The deterministic network simulator: a virtual clock, a seeded random source and a
// simulated network of in-process Transport endpoints, so hundreds to thousands of engines
// run in one process and the same seed replays the same run.
//
// A harness, in short:
//
//   const net = new SimNetwork({ seed, link: { loss: 0.01, latency: { baseMs: 1, jitterMs: 2 } } })
//   const stores = new Map<string, InMemoryStore>()
//   const boot = (node: SimNode, store: InMemoryStore) => {
//     stores.set(node.id, store)
//     return createEngine({ transport: node.transport, clock: node.clock, random: node.random, store })
//   }
//   const engines = net.addNodes(100).map((n) => boot(n, new InMemoryStore({ schedule: n.schedule })))
//   await net.scheduler.runUntilSettled(Promise.all(engines.map((e) => e.start())))
//
//   // Anything that awaits simulated time (timers, frames, group commits) settles only while
//   // the scheduler runs: wrap it in runUntilSettled, or start it and then run.
//   const result = await net.scheduler.runUntilSettled(engines[0].write(...))
//
//   net.partition([['n00', 'n01'], ['n02']])     // others form one more group; net.heal() ends it
//   const copy = stores.get('n03')!.crashCopy({ schedule: net.node('n03').schedule })
//   net.crash('n03')                              // kill -9: timers, commits and requests die with it
//   await net.scheduler.runFor(5_000)
//   engines[3] = boot(net.restart('n03'), copy)   // new endpoint, clock and random; same peer id
//   await net.scheduler.runUntilSettled(engines[3].start())
//   await net.scheduler.runUntil(() => net.isQuiet() && converged(), { maxTime: 60_000 })
export { DEFAULT_START_TIME, SimScheduler, type RunOptions, type RunResult, type SimEvent, type SimSchedulerOptions, type StopReason } from './scheduler.js'
export { SimClock, type SimClockOptions } from './sim-clock.js'
export { DEFAULT_LINK, type LatencyModel, type LinkConfig, type LinkOverrides } from './link.js'
export { mixSeed, nodeRandom, SimNode, type AddNodeOptions } from './sim-node.js'
export { SimNetwork, type NetworkCounters, type NodeCounters, type SimNetworkOptions, type SimTraceEvent } from './network.js'
export { SimTransport, type FrameKind } from './sim-transport.js'
export { SimBusyError, SimStalledError, SimulationError, UnknownSimNodeError } from './errors.js'
