// One run of the simulation benchmark: a cluster of real engines on the deterministic
// simulator, an update (or many writes) injected, and the simulated time until every
// replica holds it. Everything random comes from the seed, so a run repeats exactly.
//
// Scenarios:
//   ae-only    one update, every node a replica (n = N), applied at one node's replica
//              (not through the coordinator, which would send it to every replica
//              itself); rumors off, so only anti-entropy spreads it.
//   rumor-ae   the same, and the origin broadcasts the delta as a rumor as the
//              coordinator does after a write. The simulator's broadcast reaches every
//              node directly (a full mesh), so one rumor reaches every node it is not lost to.
//   placement  n = 3: `keys` writes through the coordinator (engine.write) at random
//              nodes, at random instants of a window, while the cluster runs; done
//              when each key's 3 preferred replicas hold equal states.
import { performance } from 'node:perf_hooks'
import { seededRandom } from '../../src/base/random.js'
import type { RingCache } from '../../src/cluster/membership/membership.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { equals } from 'uint8arrays/equals'
import { SimCluster } from '../../src/sim/cluster.js'
import { mixSeed } from '../../src/sim/index.js'
import { TrafficMeter } from './traffic-meter.js'

export type Scenario = 'ae-only' | 'rumor-ae' | 'placement'
export const SCENARIOS: readonly Scenario[] = ['ae-only', 'rumor-ae', 'placement']

export interface ConvergenceSetup {
  readonly scenario: Scenario
  readonly nodes: number
  /** Probability that any frame (request, response, broadcast) is lost. */
  readonly loss: number
  readonly seed: number
  readonly vnodes: number
  readonly antiEntropyIntervalMs: number
  /** Heartbeats are all-to-all broadcasts: N² frames per interval. */
  readonly heartbeatIntervalMs: number
  readonly handoffIntervalMs: number
  /** placement: keys written, one write each. */
  readonly keys: number
  /** placement: replicas per key. */
  readonly replicas: number
  /** placement: writes start at uniform instants of this window. */
  readonly writeWindowMs: number
  /** Simulated time the cluster runs before the injection, so every node is in its anti-entropy rhythm. */
  readonly warmupMs: number
  /** Simulated time after the injection after which the run counts as not converged. */
  readonly maxTimeMs: number
}

export interface ConvergenceRun {
  readonly scenario: Scenario
  readonly nodes: number
  readonly loss: number
  readonly seed: number
  readonly converged: boolean
  /**
   * Simulated ms from the update's injection until the last replica held it; for
   * placement the largest such time over the keys. Undefined when not converged.
   */
  readonly timeMs: number | undefined
  /** timeMs in anti-entropy intervals. */
  readonly rounds: number | undefined
  /** placement: the median key's rounds. */
  readonly medianKeyRounds?: number
  /** Replicas (ae-only, rumor-ae) or keys (placement) done when the run ended, and how many there are. */
  readonly done: number
  readonly total: number
  /** Anti-entropy exchanges each node initiated from the injection to the end, on average. */
  readonly aeExchangesPerNode: number
  /** Bytes each node sent from the injection to the end, on average, heartbeats left out. */
  readonly bytesPerNode: number
  readonly heartbeatBytesPerNode: number
  /** Bytes sent in that time by every node together, by message type. */
  readonly bytesByType: Readonly<Record<string, number>>
  /** Frames the links lost in that time. */
  readonly framesLost: number
  /** placement: write attempts that threw (timeouts on lossy links) and were retried with the same idempotency key. */
  readonly writeRetries?: number
  /** Simulated time of the whole run, warm-up included, and the wall time it took. */
  readonly simulatedMs: number
  readonly wallMs: number
  readonly events: number
}

/** log₃N + ln ln N: rounds a push-pull epidemic needs to reach N nodes (Karp et al. 2000). */
export function epidemicBound(nodes: number): number {
  return Math.log(nodes) / Math.log(3) + Math.log(Math.log(nodes))
}

/**
 * No node fails here, and heartbeats come every `heartbeatIntervalMs` (long, to keep their
 * N² frames affordable) while the detector expects ~1 s at first: it would suspect
 * everyone and anti-entropy would find no live peer. Failure detection is not what is measured.
 */
export const NEVER_SUSPECT_PHI = 1e9

const UPDATE_KEY = 'bench/update'
const INCREMENT = { type: 'gcounter', op: 'increment', amount: 1 } as const
/** Simulated pause before a client retries a write that threw. */
const WRITE_RETRY_DELAY_MS = 100

export async function runConvergence(setup: ConvergenceSetup): Promise<ConvergenceRun> {
  const wallStart = performance.now()
  const { scenario, nodes, loss, seed } = setup
  const meter = new TrafficMeter()
  const ringCache: RingCache = new Map()
  const cluster = new SimCluster({
    seed,
    size: nodes,
    link: { loss },
    preseedMembers: true,
    transport: (node) => meter.wrap(node.transport),
    config: {
      n: scenario === 'placement' ? setup.replicas : nodes,
      vnodes: setup.vnodes,
      heartbeatIntervalMs: setup.heartbeatIntervalMs,
      antiEntropyIntervalMs: setup.antiEntropyIntervalMs,
      handoffIntervalMs: setup.handoffIntervalMs,
      phiThreshold: NEVER_SUSPECT_PHI,
      rumors: scenario !== 'ae-only',
      ringCache,
    },
  })
  const { scheduler } = cluster
  const startTime = scheduler.now
  await cluster.start()
  await scheduler.runFor(setup.warmupMs)

  const engines = cluster.ids.map((id) => cluster.engine(id))
  const aeBefore = engines.reduce((sum, e) => sum + e.antiEntropy.stats.rounds, 0)
  const bytesBefore = meter.snapshot()
  const lostBefore = cluster.net.counters().lost
  const eventsBefore = scheduler.eventsRun
  const random = seededRandom(mixSeed(seed, 0x62656e63))

  const outcome = scenario === 'placement' ? await placement(cluster, setup, random) : await oneUpdate(cluster, setup, random)

  const aeAfter = engines.reduce((sum, e) => sum + e.antiEntropy.stats.rounds, 0)
  const bytesByType = meter.since(bytesBefore)
  const heartbeatBytes = bytesByType.heartbeat ?? 0
  const allBytes = Object.values(bytesByType).reduce((sum, b) => sum + b, 0)
  const interval = setup.antiEntropyIntervalMs
  return {
    scenario,
    nodes,
    loss,
    seed,
    converged: outcome.timeMs !== undefined,
    timeMs: outcome.timeMs,
    rounds: outcome.timeMs === undefined ? undefined : outcome.timeMs / interval,
    ...(outcome.medianKeyMs === undefined ? {} : { medianKeyRounds: outcome.medianKeyMs / interval }),
    done: outcome.done,
    total: outcome.total,
    aeExchangesPerNode: (aeAfter - aeBefore) / nodes,
    bytesPerNode: (allBytes - heartbeatBytes) / nodes,
    heartbeatBytesPerNode: heartbeatBytes / nodes,
    bytesByType,
    framesLost: cluster.net.counters().lost - lostBefore,
    ...(outcome.writeRetries === undefined ? {} : { writeRetries: outcome.writeRetries }),
    simulatedMs: scheduler.now - startTime,
    wallMs: performance.now() - wallStart,
    events: scheduler.eventsRun - eventsBefore,
  }
}

interface Outcome {
  readonly timeMs: number | undefined
  readonly medianKeyMs?: number
  readonly done: number
  readonly total: number
  readonly writeRetries?: number
}

type Rng = ReturnType<typeof seededRandom>

/** One increment applied at a random node's replica; done when every node's state has its digest. */
async function oneUpdate(cluster: SimCluster, setup: ConvergenceSetup, random: Rng): Promise<Outcome> {
  const { scheduler } = cluster
  const origin = cluster.member(cluster.ids[random.int(cluster.ids.length)] as string)
  const t0 = scheduler.now
  const applied = await cluster.settle(origin.replica.apply(UPDATE_KEY, INCREMENT))
  const target = origin.store.getKey(UPDATE_KEY)?.digest
  if (target === undefined) throw new Error(`the update of ${UPDATE_KEY} did not commit at ${origin.id}`)
  if (setup.scenario === 'rumor-ae') {
    origin.engine.messenger.broadcast({ type: 'rumor', key: UPDATE_KEY, state: applied.delta })
  }
  const holders = new Set<string>()
  const check = (id: string): void => {
    const digest = cluster.member(id).store.getKey(UPDATE_KEY)?.digest
    if (digest !== undefined && equals(digest, target)) holders.add(id)
  }
  for (const id of cluster.ids) {
    check(id)
    cluster.member(id).replica.onCommitted((change) => {
      if (change.key === UPDATE_KEY) check(id)
    })
  }
  const total = cluster.ids.length
  const run = await scheduler.runUntil(() => holders.size === total, { maxTime: setup.maxTimeMs })
  return { timeMs: run.reason === 'predicate' ? scheduler.now - t0 : undefined, done: holders.size, total }
}

/**
 * `keys` increments through the coordinator of random nodes at random instants of the
 * write window. A write that throws (a timeout on a lossy link) is retried with the same
 * idempotency key, as a client would, so it applies at most once.
 */
async function placement(cluster: SimCluster, setup: ConvergenceSetup, random: Rng): Promise<Outcome> {
  const { scheduler, ids } = cluster
  const ring = cluster.engine(ids[0] as string).membership.ring().ring
  const keys = Array.from({ length: setup.keys }, (_, i) => `bench/${setup.seed}/${i}`)
  const owners = keys.map((key) => preferenceList(ring, key, setup.replicas))
  const indexOf = new Map(keys.map((key, i) => [key, i]))
  const writtenAt = new Float64Array(keys.length).fill(Number.NaN)
  const doneAt = new Float64Array(keys.length).fill(Number.NaN)
  let done = 0
  let issued = 0
  let writeRetries = 0

  const check = (i: number): void => {
    if (!Number.isNaN(doneAt[i]!)) return
    const digests = owners[i]!.map((id) => cluster.member(id).store.getKey(keys[i]!)?.digest)
    const first = digests[0]
    if (first === undefined || !digests.every((d) => d !== undefined && equals(d, first))) return
    doneAt[i] = scheduler.now
    done++
  }
  for (const id of ids) {
    cluster.member(id).replica.onCommitted((change) => {
      const i = indexOf.get(change.key)
      if (i !== undefined && owners[i]!.includes(id)) check(i)
    })
  }

  const write = async (i: number): Promise<void> => {
    const coordinator = cluster.engine(ids[random.int(ids.length)] as string)
    const idempotency = { id: `bench-${setup.seed}-${i}`, fingerprint: `${keys[i]!}+1` }
    // Until it succeeds (the run's time limit bounds it): a write that never landed
    // would leave its key missing everywhere, which no replication can repair.
    for (;;) {
      try {
        await coordinator.write(keys[i]!, INCREMENT, { idempotency })
        return
      } catch {
        writeRetries++
        await new Promise<void>((resolve) => scheduler.after(WRITE_RETRY_DELAY_MS, resolve))
      }
    }
  }
  keys.forEach((_, i) => {
    scheduler.after(random.next() * setup.writeWindowMs, () => {
      writtenAt[i] = scheduler.now
      issued++
      void write(i)
    })
  })
  const total = keys.length
  const run = await scheduler.runUntil(() => issued === total && done === total, { maxTime: setup.writeWindowMs + setup.maxTimeMs })
  if (run.reason !== 'predicate') return { timeMs: undefined, done, total, writeRetries }
  const latencies = Array.from(doneAt, (at, i) => at - writtenAt[i]!).sort((a, b) => a - b)
  return {
    timeMs: latencies[latencies.length - 1],
    medianKeyMs: latencies[Math.floor((latencies.length - 1) / 2)],
    done,
    total,
    writeRetries,
  }
}
