// Deleting a key in a simulated cluster (issue 14): the tombstone reaches every replica
// (directly, by hinted handoff or by anti-entropy), a write the deleting replica had not
// seen survives (observed-remove), a keyed delete retried through another node applies
// once, and a replica that was down while the key was deleted does not bring it back.
import { describe, expect, it } from 'vitest'
import { StaleReadError } from '../../src/base/errors.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250 }

async function cluster(size = 3): Promise<SimCluster> {
  const c = new SimCluster({ seed: SEED, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  return c
}

function replicasOf(c: SimCluster, key: string): string[] {
  return preferenceList(c.engine(c.upIds()[0] as string).membership.ring().ring, key, 3)
}

function replicasEqual(c: SimCluster, key: string): boolean {
  const states = c.statesOf(key, replicasOf(c, key).filter((id) => c.upIds().includes(id)))
  return states.every((s) => s !== undefined && Buffer.compare(s, states[0] as Uint8Array) === 0)
}

async function readEverywhere(c: SimCluster, key: string): Promise<unknown[]> {
  return c.settle(Promise.all(c.upIds().map((id) => c.db(id).get(key, { r: 3 }))))
}

describe(`delete in a cluster (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/delete.test.ts)`, () => {
  it('a delete through any node reaches every replica, and the key can be written again with another type', async () => {
    const c = await cluster()
    const [a, b] = c.ids as [string, string, string]
    await c.settle(c.db(a).counter('visits').increment(5, { w: 3 }))
    const result = await c.settle(c.db(b).delete('visits', { w: 3 }))
    expect(result).toMatchObject({ key: 'visits', deleted: true, acks: 3, quorum: true })
    expect(replicasEqual(c, 'visits')).toBe(true)
    expect(await readEverywhere(c, 'visits')).toEqual([undefined, undefined, undefined])
    for (const id of c.ids) expect(c.db(id).keys()).toEqual([])
    await c.settle(c.db(a).set('visits').add('x', { w: 3 }))
    for (const r of await readEverywhere(c, 'visits')) expect(r).toMatchObject({ type: 'orset', value: ['x'] })
    await c.runFor(2000)
    for (const id of c.ids) expect(c.db(id).syncStatus().unreconciled).toEqual([])
  })

  it('a write made on the other side of a partition survives the delete; what the delete saw does not come back', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).set('cart').add('apple', { w: 3 }))
    await c.settle(c.db(a).counter('n').increment(10, { w: 3 }))
    c.net.partition([[a], [b, d]])
    await c.runFor(4000) // each side suspects the other: writes stay on their side
    await c.settle(c.db(a).set('cart').add('pear', { w: 1 }))
    await c.settle(c.db(a).counter('n').increment(2, { w: 1 }))
    await c.settle(c.db(b).delete('cart', { w: 1 }))
    await c.settle(c.db(d).delete('n', { w: 1 }))
    c.net.heal()
    await c.scheduler.runUntil(() => replicasEqual(c, 'cart') && replicasEqual(c, 'n'), { maxTime: 15_000 })
    expect(replicasEqual(c, 'cart') && replicasEqual(c, 'n')).toBe(true)
    for (const r of await readEverywhere(c, 'cart')) expect(r).toMatchObject({ type: 'orset', value: ['pear'] })
    // The counter counts what the delete had not seen: a's 2 increments made after the cut.
    for (const r of await readEverywhere(c, 'n')) expect(r).toMatchObject({ type: 'pncounter', value: 2 })
  })

  it('a keyed delete retried through another node applies once: a write between the attempts survives', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).set('s').add('old', { w: 3 }))
    const first = await c.settle(c.db(a).delete('s', { idempotencyKey: 'd-1', w: 3 }))
    await c.settle(c.db(d).set('s').add('new', { w: 3 }))
    const retry = await c.settle(c.db(b).delete('s', { idempotencyKey: 'd-1', w: 3 }))
    expect(first).toMatchObject({ deleted: true, quorum: true })
    expect(retry).toMatchObject({ deleted: true, replayed: true })
    for (const r of await readEverywhere(c, 's')) expect(r).toMatchObject({ value: ['new'] })
  })

  it("a delete's session token makes a read elsewhere include the delete, or fail as stale while it cannot", async () => {
    const c = await cluster()
    const [a, b] = c.ids as [string, string, string]
    await c.settle(c.db(a).counter('likes').increment(5, { w: 3 }))
    c.net.partition([[b], c.ids.filter((id) => id !== b)])
    await c.runFor(4000)
    const { token } = await c.settle(c.db(b).delete('likes', { w: 1 }))
    expect(token).toBeDefined()
    // Without the token a reader on the other side reads the counter as it was; with it, the
    // read waits for a replica that has the delete and none is reachable: stale, not wrong.
    expect(await c.settle(c.db(a).counter('likes').value({ r: 1 }))).toBe(5)
    await expect(c.settle(c.db(a).get('likes', { r: 1, token }))).rejects.toBeInstanceOf(StaleReadError)
    c.net.heal()
    await c.runFor(4000)
    expect(await c.settle(c.db(a).get('likes', { r: 1, token }))).toBeUndefined()
    expect(await c.settle(c.db(a).counter('likes').value({ r: 1, token }))).toBe(0)
  })

  it('a replica down during the delete gets the tombstone when it is back and does not bring the key back', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).register('profile').set({ name: 'Ada' }, { w: 3 }))
    c.crash(d)
    await c.runFor(3000)
    const result = await c.settle(c.db(b).delete('profile', { w: 2 }))
    expect(result).toMatchObject({ deleted: true })
    await c.restart(d)
    await c.scheduler.runUntil(() => replicasEqual(c, 'profile'), { maxTime: 15_000 })
    expect(replicasEqual(c, 'profile')).toBe(true)
    expect(await readEverywhere(c, 'profile')).toEqual([undefined, undefined, undefined])
    expect(await c.settle(c.db(d).register('profile').value({ r: 1 }))).toBeUndefined()
  })
})
