// A peer that comes back (a partition heals, with or without its connections noticing)
// gets an anti-entropy exchange and its hints at once, not at the next periodic round;
// a flapping peer gets no more than one such exchange per spacing.
import { describe, expect, it } from 'vitest'
import { PNCounter } from '../../crdts/index.js'
import { seededRandom } from '../../src/base/random.js'
import { RETURN_SYNC_SPACING_MS } from '../../src/cluster/sync/return-sync.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261215)
/** Far longer than any wait below: only an exchange started by the return can converge the keys. */
const NEVER = { antiEntropyIntervalMs: 60_000, handoffIntervalMs: 60_000 }

function counterValue(state: Uint8Array | undefined): number {
  return state === undefined ? 0 : PNCounter.value(PNCounter.decode(state))
}

async function cluster(size: number, seed: number): Promise<SimCluster> {
  // Every node a replica of every key, as in the benchmark: every node must read every total.
  const c = new SimCluster({ seed, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { n: size, heartbeatIntervalMs: 200, ...NEVER } })
  await c.start()
  await c.runFor(2000)
  return c
}

/**
 * Cuts the cluster in two halves (as the counter-partition benchmark does), adds to
 * `counters` keys on every node during the cut, heals: returns the exact totals.
 */
async function divergeAcrossCut(c: SimCluster, seed: number, counters: string[], connections: 'keep' | undefined): Promise<Map<string, number>> {
  const random = seededRandom(seed)
  const half = Math.ceil(c.ids.length / 2)
  c.net.partition([c.ids.slice(0, half), c.ids.slice(half)], connections === undefined ? {} : { connections })
  await c.runFor(3000)
  const totals = new Map(counters.map((k) => [k, 0]))
  for (let round = 0; round < 5; round++) {
    await c.settle(
      Promise.all(
        c.ids.flatMap((id) =>
          counters.map((key) => {
            const amount = 1 + random.int(20)
            const op = random.next() < 0.5 ? 'increment' : 'decrement'
            totals.set(key, totals.get(key)! + (op === 'increment' ? amount : -amount))
            return c.engine(id).write(key, { type: 'pncounter', op, amount })
          }),
        ),
      ),
    )
  }
  await c.runFor(2000)
  c.net.heal(connections === undefined ? {} : { connections })
  return totals
}

function converged(c: SimCluster, totals: Map<string, number>): boolean {
  return c.ids.every((id) => [...totals].every(([key, total]) => counterValue(c.member(id).store.getKey(key)?.state) === total))
}

describe(`an exchange when a peer comes back (seed ${SEED})`, () => {
  for (const [size, connections] of [[3, undefined], [5, undefined], [5, 'keep']] as const) {
    it(`${size} nodes${connections === 'keep' ? ', a cut no connection noticed' : ''}: every node reads every exact total soon after the heal`, async () => {
      const c = await cluster(size, SEED)
      const counters = ['hits', 'misses', 'stock']
      const totals = await divergeAcrossCut(c, SEED, counters, connections)
      const healed = c.scheduler.now
      expect(converged(c, totals)).toBe(false)
      await c.scheduler.runUntil(() => converged(c, totals), { maxTime: 5_000 })
      const tookMs = c.scheduler.now - healed
      console.log(`seed ${SEED}, ${size} nodes${connections === 'keep' ? ' (connections kept)' : ''}: converged ${Math.round(tookMs)} ms after the heal`)
      expect(converged(c, totals)).toBe(true)
      // Seen again within a few heartbeats (200 ms) at the latest, then one exchange.
      expect(tookMs).toBeLessThan(1_000)
      const rounds = c.ids.reduce((sum, id) => sum + c.engine(id).status().antiEntropy.returnRounds, 0)
      expect(rounds).toBeGreaterThan(0)
    })
  }

  it('a flapping peer starts at most one exchange per spacing with each node', async () => {
    const c = await cluster(3, SEED)
    const [, , flapping] = c.ids as [string, string, string]
    const before = new Map(c.ids.map((id) => [id, c.engine(id).status().antiEntropy.returnRounds]))
    const flapMs = 10_000
    const cycles = flapMs / 250
    for (let i = 0; i < cycles; i++) {
      c.net.isolate(flapping)
      await c.runFor(125)
      c.net.heal()
      await c.runFor(125)
    }
    const started = (id: string): number => c.engine(id).status().antiEntropy.returnRounds - before.get(id)!
    console.log(`seed ${SEED}: ${cycles} returns in ${flapMs} ms started ${c.ids.map((id) => `${started(id)} at ${id}`).join(', ')}`)
    // One per spacing, plus the first: per peer it comes back to.
    const bound = 1 + Math.ceil(flapMs / RETURN_SYNC_SPACING_MS)
    expect(started(flapping)).toBeLessThanOrEqual(2 * bound)
    for (const id of c.ids.slice(0, 2)) {
      expect(started(id)).toBeGreaterThan(0)
      expect(started(id)).toBeLessThanOrEqual(bound)
    }
  })
})
