// Sync status: nodes that replicate the same keys report the same digests once converged,
// and a replica that missed a write reports a different one.
import { describe, expect, it } from 'vitest'
import type { SyncStatus } from '../../src/cluster/sync/sync-status.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
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

/** Runs the simulation in steps until `done()` holds; fails (naming the seed) after `maxMs`. Returns the time it took. */
async function until(c: SimCluster, done: () => boolean, maxMs: number, what: string, stepMs = 10, each?: () => void): Promise<number> {
  for (let t = 0; ; t += stepMs) {
    each?.()
    if (done()) return t
    if (t >= maxMs) throw new Error(`seed ${SEED}: not ${what} within ${maxMs} ms of virtual time`)
    await c.runFor(stepMs)
  }
}

function peerOf(status: SyncStatus, id: string): SyncStatus['peers'][number] {
  const peer = status.peers.find((p) => p.id === id)
  if (peer === undefined) throw new Error(`seed ${SEED}: ${id} missing from ${JSON.stringify(status.peers)}`)
  return peer
}

const incr = { type: 'gcounter', op: 'increment', amount: 1 } as const

describe(`in sync is a current fact (seed ${SEED})`, () => {
  // Issue 10, item 3: after SIGKILL of C and more writes, A still reported C in sync, and
  // kept doing so after C restarted without the new data.
  it('a crashed peer stops being in sync at once; after its restart it is in sync only once its data is level', async () => {
    // SIGKILL: the process is gone, its host refuses connections.
    const c = new SimCluster({ seed: SEED, size: 3, deadPeers: 'refuse', link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
    await c.start()
    const [a, b, lost] = c.ids as [string, string, string]
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
    for (let i = 0; i < 9; i++) await c.settle(c.engine(a).write(keys[i]!, incr, { w: 3 }))
    const atA = (): SyncStatus => c.engine(a).syncStatus()
    await until(c, () => atA().peers.length === 2 && atA().peers.every((p) => p.inSync), 10_000, 'in sync with both peers before the crash')

    c.crash(lost)
    await c.settle(c.engine(a).write(keys[0]!, incr, { w: 2 }))
    // The write changed ranges A shares with the crashed node: no exchange has seen it.
    expect(peerOf(atA(), lost).inSync).toBe(false)
    expect(atA()).toMatchObject({ synced: false })
    for (let i = 1; i < 23; i++) await c.settle(c.engine(a).write(keys[i % keys.length]!, incr, { w: 2 }))
    await until(c, () => peerOf(atA(), lost).status === 'suspect', 10_000, `${lost} suspect at ${a}`)
    const down = peerOf(atA(), lost)
    expect(down).toMatchObject({ inSync: false, reason: 'suspect' })
    expect(down.pendingHints).toBeGreaterThan(0)
    // B is alive and catches up by anti-entropy; only the hints for the crashed node keep A unsynced.
    await until(c, () => peerOf(atA(), b).inSync, 10_000, `${b} in sync at ${a}`)
    expect(atA().synced).toBe(false)
    expect(atA().reason).toContain(lost)

    await c.restart(lost)
    expect(c.member(lost).store.countKeys()).toBe(9)
    // From now on, whenever A calls the restarted node in sync, it holds what A holds.
    const reasons: string[] = []
    await until(c, () => atA().synced, 30_000, 'synced after the restart', 10, () => {
      const report = peerOf(atA(), lost)
      if (reasons[reasons.length - 1] !== (report.reason ?? 'in sync')) reasons.push(report.reason ?? 'in sync')
      if (report.inSync) {
        for (const key of keys) expect(c.statesOf(key, [a, lost]), `seed ${SEED}: ${key} on ${a} and ${lost}`).toEqual(c.statesOf(key, [lost, a]))
      }
    })
    // Back, but not yet in sync: still suspect for a moment (until its first heartbeat) or
    // already alive with the hints kept for it pending; in sync only after both.
    expect(reasons[0]).toMatch(/^(suspect|hints pending)/)
    expect(reasons[reasons.length - 1]).toBe('in sync')
    expect(reasons.findIndex((r) => r.startsWith('hints pending'))).toBeGreaterThanOrEqual(0)
    expect(reasons.findIndex((r) => r.startsWith('hints pending'))).toBeLessThan(reasons.indexOf('in sync'))
    const final = atA()
    expect(final.peers.every((p) => p.inSync && p.status === 'alive' && p.pendingHints === 0 && p.reason === undefined)).toBe(true)
    expect(final.reason).toBeUndefined()
    for (const key of keys) {
      const [first, ...rest] = c.statesOf(key)
      expect(first, `seed ${SEED}: ${key}`).toBeDefined()
      for (const state of rest) expect(state, `seed ${SEED}: ${key}`).toEqual(first)
    }
  })
})

describe(`a local change ends "in sync" until the next exchange (seed ${SEED})`, () => {
  it('a write makes the peers sharing its range not in sync at once, and only those, until a round finds them equal', async () => {
    // No timers for anti-entropy or handoff: the test runs every round itself.
    const c = new SimCluster({
      seed: SEED,
      size: 5,
      link: { latency: { baseMs: 1, jitterMs: 1 } },
      config: { ...FAST, antiEntropyIntervalMs: 1e9, handoffIntervalMs: 1e9, rumors: false },
    })
    await c.start()
    await c.runFor(1000)
    const [a] = c.ids as [string]
    for (let i = 0; i < 20; i++) await c.settle(c.engine(c.ids[i % 5]!).write(`k${i}`, incr, { w: 3 }))
    const round = async (from: string, to: string): Promise<string> => (await c.settle(c.engine(from).antiEntropy.runRound(to))).outcome
    for (const to of c.ids.slice(1)) {
      if ((await round(a, to)) !== 'equal') expect(await round(a, to), `seed ${SEED}: round ${a} → ${to}`).toBe('equal')
    }
    const atA = (): SyncStatus => c.engine(a).syncStatus()
    expect(atA().peers.map((p) => [p.id, p.inSync])).toEqual(c.ids.slice(1).map((id) => [id, true]))

    // A key A stores: its replica set is A and two others; the other two peers share other ranges with A.
    const ring = c.engine(a).membership.ring().ring
    const key = Array.from({ length: 1000 }, (_, i) => `fresh-${i}`).find((k) => preferenceList(ring, k, 3).includes(a))!
    const sharing = preferenceList(ring, key, 3).filter((id) => id !== a).sort()
    const others = c.ids.slice(1).filter((id) => !sharing.includes(id))
    expect(others).toHaveLength(2)
    await c.settle(c.engine(a).write(key, incr, { w: 3 }))
    // No time has passed for anti-entropy: the change alone ends "in sync" for the replicas of its range.
    const after = atA()
    for (const id of sharing) expect(peerOf(after, id), id).toMatchObject({ inSync: false, reason: 'not compared since the last local change', status: 'alive' })
    for (const id of others) expect(peerOf(after, id), id).toMatchObject({ inSync: true })
    expect(after.synced).toBe(false)
    expect(after.reason).toBe(`${sharing[0]} not in sync: not compared since the last local change (and 1 more)`)

    // Either side may start the next exchange; each equal one restores its peer alone.
    expect(await round(sharing[0]!, a)).toBe('equal')
    expect(peerOf(atA(), sharing[0]!).inSync).toBe(true)
    expect(peerOf(atA(), sharing[1]!).inSync).toBe(false)
    expect(await round(a, sharing[1]!)).toBe('equal')
    expect(atA().peers.every((p) => p.inSync)).toBe(true)
    expect(atA()).toMatchObject({ synced: true, unreconciled: [] })
    expect(atA().reason).toBeUndefined()
  })
})

describe(`sync status while the anti-entropy index is built (seed ${SEED})`, () => {
  it('a node restarted on 9,000 keys builds its index, serves and syncs', async () => {
    const c = new SimCluster({ seed: SEED, size: 2, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
    await c.start()
    const id = c.ids[1] as string
    for (let i = 0; i < 9000; i += 3000) {
      await c.settle(Promise.all(Array.from({ length: 3000 }, (_, j) => c.db(id).counter(`k${i + j}`).increment(1))))
    }
    c.crash(id)
    await c.restart(id)
    // (Whether the build is still running here depends on how many scheduler events the
    // open took; test/src/networked-database.test.ts sees it mid-build on a real clock.)
    expect(await c.settle(c.db(id).counter('k1').value())).toBe(1)
    await until(c, () => c.engine(id).syncStatus().synced, 30_000, 'synced after the build')
    expect(c.engine(id).syncStatus().keys).toBe(9000)
  })
})
