// Leaving is explicit (DESIGN.md): db.close({ leave: true }) makes the others show the
// node `left` at once (not `suspect` after a silence), and its key ranges move to the
// remaining members; a plain close leaves it a member that is merely down.
import { describe, expect, it } from 'vitest'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261207)

describe(`leaving the cluster (seed ${SEED})`, () => {
  it('close({ leave: true }): every other node shows it left and drops it from the ring', async () => {
    const c = new SimCluster({ seed: SEED, size: 4, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { heartbeatIntervalMs: 200 } })
    await c.start()
    await c.runFor(1500)
    const [a, b, , leaver] = c.ids as [string, string, string, string]
    expect(c.engine(a).membership.ring().members).toContain(leaver)
    await c.settle(c.db(leaver).close({ leave: true }))
    await c.runFor(50)
    for (const id of [a, b]) {
      expect(c.db(id).members().members.find((m) => m.id === leaver)?.status).toBe('left')
      expect(c.engine(id).membership.ring().members).not.toContain(leaver)
    }
  })

  it('a plain close leaves a member that is down: suspect, still on the ring', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { heartbeatIntervalMs: 200 } })
    await c.start()
    await c.runFor(1500)
    const [a, , closer] = c.ids as [string, string, string]
    await c.settle(c.db(closer).close())
    await c.runFor(3000)
    expect(c.db(a).members().members.find((m) => m.id === closer)?.status).toBe('suspect')
    expect(c.engine(a).membership.ring().members).toContain(closer)
  })
})
