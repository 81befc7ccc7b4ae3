// The handoff's in-memory counts follow every writer of hints (issue 12, item 3): a
// coordinator's write applied here for an unreachable owner, a delta kept here when no
// fallback is live, a peer's replicate naming another owner, the coordinator itself taken
// as the fallback. On the simulator, the counts are compared with the store's rows.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261212)
// Anti-entropy off: only the handoff brings the cut node its keys, and only it removes hints.
const CONFIG = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 300 }

/** Per node: the handoff's counts and the store's rows, total and per owner. */
function ledgers(c: SimCluster): { id: string; counted: Record<string, number>; stored: Record<string, number> }[] {
  return c.upIds().map((id) => {
    const { handoff } = c.engine(id)
    const stored: Record<string, number> = {}
    for (const h of c.member(id).store.listHints()) stored[h.target] = (stored[h.target] ?? 0) + 1
    const counted: Record<string, number> = {}
    for (const target of c.ids) if (handoff.pendingFor(target, Infinity) > 0) counted[target] = handoff.pendingFor(target, Infinity)
    expect(handoff.pending(), `${id}: pending() against the store`).toBe(c.member(id).store.listHints().length)
    return { id, counted, stored }
  })
}

describe(`hinted handoff counts against the store (seed ${SEED})`, () => {
  it('match the hints every writer stores, and fall to zero as they are handed over', async () => {
    const c = new SimCluster({ seed: SEED, size: 5, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: CONFIG })
    await c.start()
    await c.runFor(1000)
    const [cut, other] = c.ids as [string, string]
    const ring = () => c.engine(other).membership.ring().ring
    c.net.partition([[cut]])
    await c.runFor(4000) // both sides suspect each other

    // The cut node coordinates writes it owns no replica of: it applies them itself with a
    // hint for the first owner, and keeps the other owners' deltas (no fallback is live).
    const cutKeys = Array.from({ length: 400 }, (_, i) => `cut-${i}`).filter((k) => !preferenceList(ring(), k, 3).includes(cut)).slice(0, 30)
    await c.settle(Promise.all(cutKeys.map((k) => c.engine(cut).write(k, { type: 'gcounter', op: 'increment', amount: 1 }))))
    // The others write keys the cut node owns: fallbacks (other nodes, or the coordinator) keep hints.
    const ownedKeys = Array.from({ length: 400 }, (_, i) => `owned-${i}`).filter((k) => preferenceList(ring(), k, 3).includes(cut)).slice(0, 60)
    const coordinators = c.ids.filter((id) => id !== cut)
    await c.settle(Promise.all(ownedKeys.map((k, i) => c.engine(coordinators[i % coordinators.length] as string).write(k, { type: 'pncounter', op: 'increment', amount: 1 }))))
    for (const id of c.ids) await c.settle(c.engine(id).coordinator.drain())

    const cutStats = c.engine(cut).status().coordinator
    expect(cutStats.fallbackWrites, 'writes applied by the cut node for an owner').toBeGreaterThan(0)
    expect(cutStats.hintsKeptLocally, 'deltas kept by the cut node with no fallback').toBeGreaterThan(0)
    const before = ledgers(c)
    for (const { id, counted, stored } of before) expect(counted, id).toEqual(stored)
    const holders = before.filter((l) => l.id !== cut && Object.keys(l.stored).length > 0)
    expect(holders.length, 'nodes holding hints for the cut node').toBeGreaterThan(0)

    c.net.heal()
    await c.scheduler.runUntil(() => c.upIds().every((id) => c.member(id).store.listHints().length === 0), { maxTime: 20_000 })
    for (const { id, counted, stored } of ledgers(c)) {
      expect(stored, id).toEqual({})
      expect(counted, id).toEqual({})
    }
  })
})
