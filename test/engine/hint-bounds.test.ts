// Hints only for members, bounded, expiring (issue 11, item 3). A stranger's replicate
// requests naming owners that do not exist used to be kept as hints forever (300 forged →
// pendingHints 300, still there 15 s later). Now a hint is kept only for a member, at most
// maxHintsPerOwner per owner, and for hintWindowMs; what is not kept is counted and left to
// anti-entropy, which still brings every replica level.
import { describe, expect, it } from 'vitest'
import { GCounter } from '../../crdts/index.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261209)
const TIMING = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 200 }

const incr = { type: 'gcounter', op: 'increment', amount: 1 } as const

describe(`hint bounds (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/hint-bounds.test.ts)`, () => {
  it('hints for owners that are not members are not kept', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: TIMING })
    await c.start()
    await c.runFor(1000)
    const victim = c.ids[0] as string
    const stranger = c.net.addNode('zz-stranger')
    await stranger.transport.start()
    const state = GCounter.encode(GCounter.increment(GCounter.empty(), 'someone', 1))
    for (let i = 0; i < 300; i++) {
      const frame = encodeMessage({ type: 'replicate', key: `k${i}`, state, hintFor: `no-such-member-${i}` })
      const answer = decodeResponse(await c.settle(stranger.transport.request(victim, frame, { timeoutMs: 1000 })))
      expect(answer.type).toBe('ack')
    }
    expect(c.db(victim).status().pendingHints).toBe(0)
    expect(c.member(victim).store.listHints()).toEqual([])
    expect(c.engine(victim).handoff.stats.refused).toBe(300)
  })

  it('at most maxHintsPerOwner per owner; the rest reaches the owner by anti-entropy', async () => {
    const c = new SimCluster({
      seed: SEED,
      size: 4,
      link: { latency: { baseMs: 1, jitterMs: 1 } },
      config: { ...TIMING, maxHintsPerOwner: 5 },
    })
    await c.start()
    await c.runFor(1000)
    const [coordinator, , , cut] = c.ids as [string, string, string, string]
    c.net.isolate(cut)
    await c.runFor(100)
    const ring = c.engine(coordinator).membership.ring().ring
    const keys = Array.from({ length: 400 }, (_, i) => `h${i}`).filter((k) => preferenceList(ring, k, 3).includes(cut)).slice(0, 30)
    for (const k of keys) await c.settle(c.db(coordinator).gcounter(k).increment(1))
    await c.settle(c.engine(coordinator).coordinator.drain())
    for (const id of c.ids) expect(c.member(id).store.listHints(cut).length).toBeLessThanOrEqual(5)
    expect(c.ids.reduce((n, id) => n + c.engine(id).handoff.stats.refused, 0)).toBeGreaterThan(0)
    c.net.heal()
    await c.scheduler.runUntil(() => keys.every((k) => c.member(cut).store.getKey(k) !== undefined), { maxTime: 20_000 })
    for (const k of keys) expect(c.member(cut).store.getKey(k), k).toBeDefined()
  })

  it('hints older than hintWindowMs are dropped; anti-entropy still brings the owner level', async () => {
    const c = new SimCluster({
      seed: SEED,
      size: 4,
      link: { latency: { baseMs: 1, jitterMs: 1 } },
      config: { ...TIMING, hintWindowMs: 2000 },
    })
    await c.start()
    await c.runFor(1000)
    const [coordinator, , , cut] = c.ids as [string, string, string, string]
    c.net.isolate(cut)
    await c.runFor(100)
    const ring = c.engine(coordinator).membership.ring().ring
    const keys = Array.from({ length: 400 }, (_, i) => `x${i}`).filter((k) => preferenceList(ring, k, 3).includes(cut)).slice(0, 10)
    for (const k of keys) await c.settle(c.engine(coordinator).write(k, incr))
    await c.settle(c.engine(coordinator).coordinator.drain())
    expect(c.ids.reduce((n, id) => n + c.member(id).store.listHints(cut).length, 0)).toBeGreaterThan(0)
    await c.runFor(3000)
    expect(c.ids.reduce((n, id) => n + c.member(id).store.listHints(cut).length, 0)).toBe(0)
    expect(c.ids.reduce((n, id) => n + c.engine(id).handoff.stats.expired, 0)).toBeGreaterThan(0)
    c.net.heal()
    await c.scheduler.runUntil(() => keys.every((k) => c.member(cut).store.getKey(k) !== undefined), { maxTime: 20_000 })
    for (const k of keys) expect(c.member(cut).store.getKey(k), k).toBeDefined()
  })
})
