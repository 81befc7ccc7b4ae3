// Replication to a peer coalesces (src/cluster/coordinator/replication-batcher.ts): deltas
// that queue while a send to it is in flight go as one replicate-batch, merged there in one
// store transaction. On whole Databases in the simulator, with the faults that matter to a
// batch: its answer lost after it was applied, and its receiver killed between commit and
// answer. Every acknowledged write stays, and none is counted twice.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import type { Request } from '../../src/wire/messages.js'
import { recordRequests, sentOf, type SentRequest } from './recorded-requests.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261204)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

async function cluster(size: number, config: { n?: number; w?: number; replicationLingerMs?: number } = {}): Promise<{ c: SimCluster; sent: SentRequest[] }> {
  const sent: SentRequest[] = []
  const c = new SimCluster({
    seed: SEED,
    size,
    deadPeers: 'refuse',
    link: { latency: { baseMs: 2, jitterMs: 1 } },
    config: { ...FAST, ...config },
    transport: recordRequests(sent),
  })
  await c.start()
  await c.runFor(1000)
  return { c, sent }
}

const count = (sent: readonly SentRequest[], from: string, to: string, type: Request['type']): number => sentOf(sent, from, type, to).length

function owners(c: SimCluster, key: string, n = 3): string[] {
  return preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, n)
}

/** Keys whose replicas are `coordinator` and `replica` among others. */
function keysOn(c: SimCluster, coordinator: string, replica: string, howMany: number): string[] {
  const keys: string[] = []
  for (let i = 0; keys.length < howMany; i++) {
    const list = owners(c, `b-${i}`)
    if (list.includes(coordinator) && list.includes(replica)) keys.push(`b-${i}`)
  }
  return keys
}

async function countersEverywhere(c: SimCluster, keys: readonly string[]): Promise<number[][]> {
  return c.settle(Promise.all(c.upIds().map((id) => Promise.all(keys.map((k) => c.db(id).counter(k).value({ r: 3 }))))))
}

describe(`replication batches (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/replication-batches.test.ts)`, () => {
  it('awaited writes one at a time reach each replica in a few batches, each merged in one transaction', async () => {
    const { c, sent } = await cluster(3, { w: 1 })
    const [writer, replica] = c.ids as [string, string]
    const keys = Array.from({ length: 200 }, (_, i) => `seq-${i}`)
    sent.length = 0
    const commitsBefore = c.member(replica).store.stats().commits
    for (const key of keys) await c.settle(c.db(writer).register(key).set(key))
    await c.runFor(500)
    const single = count(sent, writer, replica, 'replicate')
    const batches = count(sent, writer, replica, 'replicate-batch')
    console.log(`200 writes reached ${replica} in ${single} replicates and ${batches} batches, ${c.member(replica).store.stats().commits - commitsBefore} commits there`)
    expect(batches).toBeGreaterThan(0)
    expect(single + batches).toBeLessThan(keys.length / 4)
    // The replica's commits: its batches, plus a few of its own (heartbeats, anti-entropy).
    expect(c.member(replica).store.stats().commits - commitsBefore).toBeLessThan(keys.length / 4)
    for (const id of c.ids) for (const key of keys) expect((c.db(id).replica.readTyped(key, 'lww') as { value: unknown }).value).toBe(key)
    expect(c.engine(writer).status().coordinator).toMatchObject({ deltasReplicated: 2 * keys.length })
    expect(c.engine(writer).status().coordinator.replicationBatches).toBeGreaterThan(0)
  })

  it('a delta no write waits on lingers up to replicationLingerMs for company; one a write waits on goes at once', async () => {
    const { c, sent } = await cluster(3, { replicationLingerMs: 50 })
    const [writer, replica] = c.ids as [string, string]
    const has = (key: string): boolean => c.member(replica).store.getKey(key) !== undefined
    sent.length = 0
    // w = 1: committed here, answered; its delta waits for others to the same replica.
    const t0 = c.scheduler.now
    await c.settle(c.db(writer).register('lingers').set(1, { w: 1 }))
    await c.settle(c.db(writer).register('lingers-too').set(2, { w: 1 }))
    await c.runFor(30)
    expect(has('lingers')).toBe(false)
    await c.scheduler.runUntil(() => has('lingers') && has('lingers-too'), { maxTime: 200 })
    const tookMs = c.scheduler.now - t0
    expect(tookMs).toBeGreaterThanOrEqual(50)
    expect(tookMs).toBeLessThan(80)
    // Both went in one message.
    expect(count(sent, writer, replica, 'replicate-batch')).toBe(1)
    expect(count(sent, writer, replica, 'replicate')).toBe(0)
    // w = 2 waits for another replica's acknowledgement: its delta goes at once.
    const t1 = c.scheduler.now
    const result = await c.settle(c.db(writer).register('waited-on').set(3, { w: 2 }))
    expect(result).toMatchObject({ acks: 2, quorum: true })
    expect(c.scheduler.now - t1).toBeLessThan(20)
  })

  it('hints go back to their owner in replicate-batch messages, not one message per hint', async () => {
    const { c, sent } = await cluster(5, { w: 1 })
    const [coordinator, owner] = c.ids as [string, string]
    const keys = keysOn(c, coordinator, owner, 100)
    c.crash(owner)
    await c.runFor(4000)
    for (const key of keys) await c.settle(c.db(coordinator).counter(key).increment(1))
    await c.runFor(500)
    const holders = c.upIds().filter((id) => c.member(id).store.listHints(owner).length > 0)
    const hints = holders.reduce((sum, id) => sum + c.member(id).store.listHints(owner).length, 0)
    expect(hints).toBe(keys.length)
    sent.length = 0
    await c.restart(owner)
    await c.scheduler.runUntil(() => c.upIds().every((id) => c.member(id).store.listHints(owner).length === 0), { maxTime: 20_000 })
    const messages = holders.map((id) => count(sent, id, owner, 'replicate') + count(sent, id, owner, 'replicate-batch'))
    console.log(`${hints} hints on ${holders.length} nodes went back to ${owner} in ${messages.join(' + ')} messages`)
    expect(messages.reduce((a, b) => a + b, 0)).toBeLessThan(hints / 10)
    for (const key of keys) expect(c.member(owner).store.getKey(key)).toBeDefined()
  })

  it('a replica slower than the adaptive timeout is waited for when no write waits on its deltas: no hints, no rumors', async () => {
    const { c } = await cluster(5, { w: 1 })
    const [coordinator, slow] = c.ids as [string, string]
    const keys = keysOn(c, coordinator, slow, 20)
    // The slow replica's answers take 1.5 s (a loaded machine): far above its adaptive timeout (500 ms here).
    c.net.setLink(slow, coordinator, { latency: { baseMs: 1500, jitterMs: 0 } }, { oneWay: true })
    for (const key of keys) await c.settle(c.db(coordinator).counter(key).increment(1))
    await c.runFor(3000)
    const hints = c.upIds().reduce((sum, id) => sum + c.member(id).store.listHints(slow).length, 0)
    expect(hints).toBe(0)
    expect(c.engine(coordinator).status().coordinator).toMatchObject({ hintsKeptLocally: 0, rumorsSent: 0 })
    for (const key of keys) expect(c.member(slow).store.getKey(key)).toBeDefined()
    // A write that waits for the slow replica's acknowledgement still gives up on it at the adaptive timeout.
    const waited = keys[0] as string
    const t0 = c.scheduler.now
    const result = await c.settle(c.db(coordinator).counter(waited).increment(1, { w: 3 }))
    expect(result).toMatchObject({ acks: 3, quorum: true })
    expect(c.scheduler.now - t0).toBeLessThan(1500)
  })

  it("a batch applied whose answer is lost: its writes are delivered elsewhere, acknowledged, and counted once", async () => {
    const { c, sent } = await cluster(5)
    const [coordinator, replica] = c.ids as [string, string]
    const keys = keysOn(c, coordinator, replica, 30)
    sent.length = 0
    // Every answer from the replica to the coordinator is lost with its connection reset.
    c.net.setLink(replica, coordinator, { reset: 1 }, { oneWay: true })
    const results = await c.settle(Promise.all(keys.map((k) => c.db(coordinator).counter(k).increment(1, { w: 3 }))))
    c.net.clearLink(replica, coordinator)
    expect(count(sent, coordinator, replica, 'replicate-batch')).toBeGreaterThan(0)
    for (const r of results) expect(r).toMatchObject({ value: 1, acks: 3, quorum: true })
    // The replica merged them (the answers were lost, not the requests); fallbacks hold hints.
    for (const key of keys) expect(c.member(replica).store.getKey(key)).toBeDefined()
    await c.runFor(5000)
    const values = await countersEverywhere(c, keys)
    for (const row of values) expect(row).toEqual(keys.map(() => 1))
  })

  it('a replica killed between committing a batch and answering: every acknowledged write stays, once, after it restarts', async () => {
    const { c, sent } = await cluster(5)
    const [coordinator, replica] = c.ids as [string, string]
    const keys = keysOn(c, coordinator, replica, 30)
    sent.length = 0
    c.crashBeforeNextAnswer(replica, 'replicate-batch')
    const outcomes = await c.settle(Promise.allSettled(keys.map((k) => c.db(coordinator).counter(k).increment(2, { w: 3 }))))
    expect(c.member(replica).up).toBe(false)
    expect(count(sent, coordinator, replica, 'replicate-batch')).toBeGreaterThan(0)
    // Each write was applied by the coordinator; its acks came from the others or fallbacks.
    for (const o of outcomes) expect(o).toMatchObject({ status: 'fulfilled', value: { value: 2, quorum: true } })
    await c.restart(replica)
    await c.runFor(5000)
    const values = await countersEverywhere(c, keys)
    for (const row of values) expect(row).toEqual(keys.map(() => 2))
  })
})
