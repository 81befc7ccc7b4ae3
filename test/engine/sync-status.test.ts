// Sync status: nodes that replicate the same keys report the same digests once converged,
// and a replica that missed a write reports a different one.
import { describe, expect, it } from 'vitest'
import type { SyncStatus } from '../../src/cluster/sync-status.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 11)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 300 }

/** Replica sets on which two members' digests disagree. */
function disagreements(statuses: Map<string, SyncStatus>): string[] {
  const seen = new Map<string, string>()
  const out: string[] = []
  for (const [id, status] of statuses) {
    for (const range of status.ranges) {
      const name = range.replicas.join(',')
      const other = seen.get(name)
      if (other === undefined) seen.set(name, range.digest)
      else if (other !== range.digest) out.push(`${name} (seen by ${id})`)
    }
  }
  return out
}

describe(`sync status (seed ${SEED})`, () => {
  it('replica sets agree after convergence and disagree while a replica is behind', async () => {
    const c = new SimCluster({ seed: SEED, size: 5, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { ...FAST, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 1_000_000, rumors: false } })
    await c.start()
    await c.runFor(1000)
    const status = (): Map<string, SyncStatus> => new Map(c.upIds().map((id) => [id, c.engine(id).syncStatus()]))
    const empty = status()
    expect(disagreements(empty)).toEqual([])
    expect(new Set([...empty.values()].map((s) => s.digest)).size).toBe(1)

    for (let i = 0; i < 20; i++) await c.settle(c.engine(c.ids[i % 5] as string).write(`k${i}`, { type: 'gcounter', op: 'increment', amount: 1 }, { w: 3 }))
    await c.runFor(500)
    const converged = status()
    expect(disagreements(converged)).toEqual([])
    const total = [...converged.values()].reduce((sum, s) => sum + s.keys, 0)
    expect(total).toBe(20 * 3)
    for (const s of converged.values()) {
      expect(s.ranges.reduce((sum, r) => sum + r.keys, 0)).toBe(s.keys)
      expect(s.ranges.every((r) => r.replicas.length === 3 && r.digest.length === 32)).toBe(true)
    }

    const lagging = c.ids[4] as string
    c.net.isolate(lagging)
    await c.runFor(4000)
    for (let i = 0; i < 20; i++) await c.settle(c.engine(c.ids[i % 4] as string).write(`k${i}`, { type: 'gcounter', op: 'increment', amount: 1 }, { w: 1 }))
    await c.runFor(500)
    const behind = disagreements(status())
    expect(behind.length).toBeGreaterThan(0)
    expect(behind.every((name) => name.split(' ')[0]!.split(',').includes(lagging))).toBe(true)
  })
})
