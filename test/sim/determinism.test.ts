import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SimNetwork } from '../../src/sim/index.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { ToyEngine } from './toy-engine.js'

interface Outcome {
  /** Hash of the frame trace and the engine log. */
  digest: string
  lines: number
  counters: unknown
  finalValues: number[]
  events: number
}

/** A faulty 20-node run: loss, duplication, reordering, skew, a partition, a crash and a restart. */
async function scenario(seed: number): Promise<Outcome> {
  const hash = createHash('sha256')
  let lines = 0
  const log = (line: string) => {
    hash.update(line + '\n')
    lines++
  }
  const net = new SimNetwork({
    seed,
    link: { latency: { baseMs: 2, jitterMs: 3 }, loss: 0.05, duplicate: 0.05, reorder: 0.05 },
    trace: (e) => log(`${e.time} ${e.event} ${e.kind} ${e.from}>${e.to} ${e.bytes}`),
  })
  const nodes = net.addNodes(20)
  net.setSkew('n03', 400)
  net.setSkew('n07', -250)
  const stores = new Map<string, InMemoryStore>()
  const engines = new Map<string, ToyEngine>()
  const boot = async (id: string, store: InMemoryStore) => {
    const node = net.node(id)
    stores.set(id, store)
    const engine = new ToyEngine({ transport: node.transport, clock: node.clock, random: node.random, store, log })
    engines.set(id, engine)
    await engine.start()
  }
  for (const node of nodes) await boot(node.id, new InMemoryStore({ schedule: node.schedule }))

  const s = net.scheduler
  await s.runFor(2000)
  net.partition([nodes.slice(0, 8).map((n) => n.id)])
  await s.runFor(1000)
  const crashCopy = (stores.get('n05') as InMemoryStore).crashCopy({ schedule: net.node('n05').schedule })
  net.crash('n05')
  await s.runFor(1000)
  net.heal()
  await s.runFor(1000)
  net.restart('n05')
  await boot('n05', crashCopy)
  await s.runFor(3000)
  for (const e of engines.values()) await e.stop()
  await s.runUntilIdle({ maxTime: 10_000 })
  return {
    digest: hash.digest('hex'),
    lines,
    counters: { network: net.counters(), perNode: nodes.map((n) => net.nodeCounters(n.id)) },
    finalValues: nodes.map((n) => (engines.get(n.id) as ToyEngine).counter),
    events: s.eventsRun,
  }
}

describe('determinism', () => {
  it('the same seed gives the same trace, counters and state, bit for bit', async () => {
    const seed = 987_654
    console.log(`determinism seed ${seed}`)
    const first = await scenario(seed)
    const second = await scenario(seed)
    expect(second).toEqual(first)
    // The workload did something worth comparing: traffic, losses, duplicates, a crash.
    expect(first.lines).toBeGreaterThan(5000)
    const c = (first.counters as { network: Record<string, number> }).network
    expect(c.lost).toBeGreaterThan(0)
    expect(c.duplicated).toBeGreaterThan(0)
    expect(c.dropped).toBeGreaterThan(0)
    expect(first.finalValues.every((v) => v > 0)).toBe(true)
    console.log(`${first.events} events, ${first.lines} trace lines`)
  })

  it('two simulations with the same seed running interleaved share nothing', async () => {
    const seed = 424_242
    console.log(`interleaved determinism seed ${seed}`)
    const [a, b] = await Promise.all([scenario(seed), scenario(seed)])
    expect(a).toEqual(b)
  })

  it('different seeds give different runs', async () => {
    const seeds = [1, 2]
    console.log(`different seeds ${seeds.join(', ')}`)
    const [a, b] = await Promise.all(seeds.map(scenario))
    expect(a?.digest).not.toBe(b?.digest)
  })
})
