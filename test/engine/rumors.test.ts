// The rumor switch (EngineConfig.rumors): on by default, a write's delta is also broadcast;
// off, only the coordinator's replication (and later anti-entropy) carries it.
import { describe, expect, it } from 'vitest'
import { SimCluster } from '../../src/sim/cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261122)
const QUIET = { heartbeatIntervalMs: 60_000, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 1_000_000 }

async function rumorCounts(rumors: boolean | undefined): Promise<{ merged: number; ignored: number; replicas: number }> {
  const c = new SimCluster({ seed: SEED, size: 6, preseedMembers: true, config: { ...QUIET, ...(rumors === undefined ? {} : { rumors }) } })
  await c.start()
  await c.settle(c.engine(c.ids[0]!).write('k', { type: 'gcounter', op: 'increment', amount: 1 }))
  await c.runFor(100)
  let merged = 0
  let ignored = 0
  for (const id of c.ids) {
    const s = c.engine(id).status().rumors
    merged += s.rumorsMerged
    ignored += s.rumorsIgnored
  }
  return { merged, ignored, replicas: c.statesOf('k').filter((s) => s !== undefined).length }
}

describe(`rumors (seed ${SEED})`, () => {
  it('are broadcast by default: every other node hears the write, non-replicas ignore it', async () => {
    const r = await rumorCounts(undefined)
    expect(r.merged + r.ignored).toBe(5)
    // 2 or 3 of the 5 listeners are replicas, depending on whether the coordinator is one.
    expect(r.merged).toBeGreaterThanOrEqual(2)
    expect(r.ignored).toBeGreaterThanOrEqual(2)
    expect(r.replicas).toBe(3)
  })

  it('switched off, no node hears a rumor and the write still reaches its replicas', async () => {
    const r = await rumorCounts(false)
    expect(r).toEqual({ merged: 0, ignored: 0, replicas: 3 })
  })
})
