// A hint is dated when its write began, not when its delivery failed. Nemesis seed 680 (with
// a 30 ms replication linger) lost an acknowledged decrement this way: an increment's
// delivery to a replica failed slowly, 12 s after the write, and the hint kept then outlived
// the purge of a delete made in between (purge window = hint window = 20 s). Delivered after
// the purge, the hint brought the deleted increments back on a node that held nothing of
// the key, and that node's next decrement continued the resurrected actor under a count
// another replica's tombstone still covered.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261204)
const TIMING = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 200 }
const incr = { type: 'gcounter', op: 'increment', amount: 1 } as const

describe(`hint dates (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/hint-dates.test.ts)`, () => {
  // 3 nodes: no fallback, the coordinator keeps the hint; 4 nodes: the fourth keeps it, told the delta's age.
  it.each([
    [3, 'the coordinator'],
    [4, 'a fallback'],
  ])('%i nodes: a hint %s keeps after a delivery that timed out is dated when the write began', async (size) => {
    const c = new SimCluster({ seed: SEED, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: TIMING })
    await c.start()
    await c.runFor(1000)
    const coordinator = c.ids[0] as string
    const cut = c.ids[size - 1] as string
    // Frames between the coordinator and `cut` are lost: it still counts `cut` live, so each delivery waits out its timeout.
    c.net.setLink(coordinator, cut, { loss: 1 })
    const ring = c.engine(coordinator).membership.ring().ring
    const keys = Array.from({ length: 400 }, (_, i) => `d${i}`)
      .filter((k) => {
        const preferred = preferenceList(ring, k, 3)
        return preferred.includes(cut) && preferred.includes(coordinator)
      })
      .slice(0, 5)
    expect(keys.length).toBe(5)
    const began = c.scheduler.now
    await c.settle(Promise.all(keys.map((k) => c.engine(coordinator).write(k, incr, { w: 2 }))))
    await c.settle(c.engine(coordinator).coordinator.drain())
    const hints = c.ids.flatMap((id) => c.member(id).store.listHints(cut))
    expect(hints.map((h) => h.key).sort()).toEqual([...keys].sort())
    // The deliveries failed by timeout, well after the writes began...
    expect(c.scheduler.now - began).toBeGreaterThan(300)
    // ...yet every hint is dated when its write began (a fallback learns it as an age, one link's latency off).
    for (const hint of hints) {
      expect(hint.createdAt).toBeGreaterThanOrEqual(began - 5)
      expect(hint.createdAt).toBeLessThanOrEqual(began + 20)
    }
  })
})
