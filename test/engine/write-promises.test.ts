// The write promises under the failure sequences real networks produce, on whole Databases
// in the simulator: an acknowledged write is never lost, a write is never applied twice,
// and a retry with an idempotency key applies once, through whichever node it goes.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import type { Change } from '../../src/database/subscriptions.js'
import type { WriteResult } from '../../src/database/handles.js'
import { IdempotencyUnavailableError, QuorumNotMetError, WriteOutcomeUnknownError } from '../../src/base/errors.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

async function cluster(size: number, options: { deadPeers?: 'timeout' | 'refuse'; w?: number } = {}): Promise<SimCluster> {
  const c = new SimCluster({
    seed: SEED,
    size,
    deadPeers: options.deadPeers,
    link: { latency: { baseMs: 1, jitterMs: 1 } },
    config: { ...FAST, ...(options.w === undefined ? {} : { w: options.w }) },
  })
  await c.start()
  await c.runFor(1000)
  return c
}

function owners(c: SimCluster, key: string): string[] {
  return preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, 3)
}

/** A key whose replicas do not include `coordinator`, so its writes are applied by another node. */
function keyNotOn(c: SimCluster, coordinator: string, prefix: string): string {
  for (let i = 0; ; i++) if (!owners(c, `${prefix}${i}`).includes(coordinator)) return `${prefix}${i}`
}

async function counterEverywhere(c: SimCluster, key: string): Promise<number[]> {
  return c.settle(Promise.all(c.upIds().map((id) => c.db(id).counter(key).value({ r: 3 }))))
}

describe(`write promises on whole databases (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/write-promises.test.ts)`, () => {
  it('the same write with the same idempotency key through every node in turn applies once', async () => {
    const c = await cluster(5)
    for (let k = 0; k < 13; k++) {
      const key = `retry-${k}`
      const results: WriteResult<number>[] = []
      for (const id of c.ids) results.push(await c.settle(c.db(id).counter(key).increment(5, { idempotencyKey: `order-${k}` })))
      expect(results.map((r) => r.value)).toEqual([5, 5, 5, 5, 5])
      expect(results.map((r) => r.replayed === true)).toEqual([false, true, true, true, true])
      expect(results.every((r) => r.token === results[0]!.token)).toBe(true)
    }
    await c.runFor(3000)
    for (let k = 0; k < 13; k++) expect(await counterEverywhere(c, `retry-${k}`)).toEqual([5, 5, 5, 5, 5])
  })

  it('the same keyed write sent to every node at once applies once', async () => {
    const c = await cluster(5)
    const results = await c.settle(
      Promise.allSettled(c.ids.map((id) => c.db(id).counter('burst').increment(3, { idempotencyKey: 'at-once' }))),
    )
    const applied = results.filter((r) => r.status === 'fulfilled' && r.value.replayed !== true)
    expect(applied.length).toBeLessThanOrEqual(1)
    await c.runFor(3000)
    const values = await counterEverywhere(c, 'burst')
    expect(new Set(values).size).toBe(1)
    expect(values[0]).toBeLessThanOrEqual(3)
    // Every attempt that got an answer was told the one result, and a retry now settles it.
    const again = await c.settle(c.db(c.ids[0] as string).counter('burst').increment(3, { idempotencyKey: 'at-once' }))
    expect(again.value).toBe(3)
    expect(await counterEverywhere(c, 'burst')).toEqual([3, 3, 3, 3, 3])
  })

  it('reusing an idempotency key for another write is refused through any node', async () => {
    const c = await cluster(3)
    await c.settle(c.db(c.ids[0] as string).counter('reuse').increment(1, { idempotencyKey: 'k1' }))
    for (const id of c.ids) {
      await expect(c.settle(c.db(id).counter('reuse').increment(2, { idempotencyKey: 'k1' }))).rejects.toThrow(/already used for a different write/)
    }
  })

  it('a replica killed between its commit and its answer: outcome unknown, never applied at a second replica', async () => {
    const c = await cluster(5, { deadPeers: 'refuse' })
    const coordinator = c.ids[0] as string
    const key = keyNotOn(c, coordinator, 'mid-write-')
    const applier = owners(c, key)[0] as string
    c.crashBeforeNextAnswer(applier, 'apply')
    const outcome = await c.settle(c.db(coordinator).counter(key).increment(1)).catch((e: unknown) => e)
    expect(outcome).toBeInstanceOf(WriteOutcomeUnknownError)
    await c.restart(applier)
    await c.runFor(5000)
    expect(await counterEverywhere(c, key)).toEqual([1, 1, 1, 1, 1])
  })

  it('a keyed write whose applier died mid-write, retried through other nodes: unknown while it is down, then the first result, once', async () => {
    const c = await cluster(5, { deadPeers: 'refuse' })
    const [first, second, third] = c.ids as [string, string, string]
    const key = keyNotOn(c, first, 'keyed-mid-write-')
    const applier = owners(c, key)[0] as string
    const retryVia = [second, third].find((id) => id !== applier) as string
    c.crashBeforeNextAnswer(applier, 'apply')
    const outcome = await c.settle(c.db(first).counter(key).increment(7, { idempotencyKey: 'pay-1' })).catch((e: unknown) => e)
    expect(outcome).toBeInstanceOf(WriteOutcomeUnknownError)
    // The node that applied it is down: a retry elsewhere cannot know, so it must not apply.
    const retry = await c.settle(c.db(retryVia).counter(key).increment(7, { idempotencyKey: 'pay-1' })).catch((e: unknown) => e)
    expect(retry).toSatisfy((e: unknown) => e instanceof WriteOutcomeUnknownError || e instanceof IdempotencyUnavailableError)
    await c.restart(applier)
    await c.runFor(3000)
    const replay = await c.settle(c.db(retryVia).counter(key).increment(7, { idempotencyKey: 'pay-1' }))
    expect(replay).toMatchObject({ value: 7, replayed: true })
    await c.runFor(3000)
    expect(await counterEverywhere(c, key)).toEqual([7, 7, 7, 7, 7])
  })

  it('an answer lost with its connection reset: the write stays unknown or is answered once, never applied twice', async () => {
    const c = await cluster(5)
    const coordinator = c.ids[0] as string
    const keys = Array.from({ length: 20 }, (_, i) => keyNotOn(c, coordinator, `reset-${i}-`))
    for (const id of c.ids) if (id !== coordinator) c.net.setLink(id, coordinator, { reset: 0.5 }, { oneWay: true })
    const outcomes = await c.settle(Promise.allSettled(keys.map((key) => c.db(coordinator).counter(key).increment(1))))
    for (const id of c.ids) c.net.clearLink(id, coordinator)
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true)
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WriteOutcomeUnknownError)
    await c.runFor(5000)
    for (const key of keys) expect(await counterEverywhere(c, key)).toEqual([1, 1, 1, 1, 1])
  })

  it('a configured w is never lowered: a networked node alone answers quorum false, and requireQuorum refuses', async () => {
    const c = await cluster(1, { w: 2 })
    const db = c.db(c.ids[0] as string)
    const result = await c.settle(db.counter('offline').increment(1))
    expect(result).toMatchObject({ acks: 1, quorum: false })
    await expect(c.settle(db.counter('offline').increment(1, { requireQuorum: true }))).rejects.toBeInstanceOf(QuorumNotMetError)
    // The default adapts to the cluster (2, or 1 while alone): documented.
    const defaults = await cluster(1)
    expect(await defaults.settle(defaults.db(defaults.ids[0] as string).counter('x').increment(1))).toMatchObject({ acks: 1, quorum: true })
  })

  it("subscriptions: origin 'local' exactly for writes through this database, once each", async () => {
    const c = await cluster(5)
    const writer = c.ids[0] as string
    const seen = new Map<string, Change[]>(c.ids.map((id) => [id, []]))
    for (const id of c.ids) c.db(id).subscribe('', (change) => seen.get(id)!.push(change))
    const onOthers = keyNotOn(c, writer, 'sub-')
    await c.settle(c.db(writer).counter(onOthers).increment(2))
    await c.runFor(2000)
    expect(seen.get(writer)!.filter((ch) => ch.origin === 'local')).toEqual([{ key: onOthers, type: 'pncounter', value: 2, origin: 'local' }])
    for (const id of c.ids.slice(1)) expect(seen.get(id)!.filter((ch) => ch.origin === 'local')).toEqual([])
    for (const id of owners(c, onOthers)) expect(seen.get(id)!.some((ch) => ch.origin === 'remote' && ch.key === onOthers)).toBe(true)
  })
})
