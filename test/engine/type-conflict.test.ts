// A key written with different types on two sides of a partition: every replica converges
// on both sides' writes, every node reads the same conflict, and keeping one type resolves
// it everywhere (observed-remove: a write of the removed type the resolver had not seen
// brings the conflict back rather than being lost).
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { TypeConflictError, TypeMismatchError } from '../../src/base/errors.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250 }

async function cluster(): Promise<SimCluster> {
  const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  return c
}

function replicasEqual(c: SimCluster, key: string): boolean {
  const states = c.statesOf(key, preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, 3))
  return states.every((s) => s !== undefined && Buffer.compare(s, states[0] as Uint8Array) === 0)
}

async function readEverywhere(c: SimCluster, key: string): Promise<unknown[]> {
  return c.settle(Promise.all(c.ids.map((id) => c.db(id).get(key, { r: 3 }).then((v) => v, (e: unknown) => e))))
}

describe(`type conflicts (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/type-conflict.test.ts)`, () => {
  it('two types written on two sides of a partition converge on both, read as one conflict everywhere, and resolve everywhere', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    c.net.partition([[a], [b, d]])
    await c.runFor(4000) // each side suspects the other: writes stay on their side
    await c.settle(c.db(a).counter('cart').increment(5, { w: 1 }))
    await c.settle(c.db(b).set('cart').add('apple', { w: 1 }))
    await c.settle(c.db(d).set('cart').add('pear', { w: 1 }))
    c.net.heal()
    await c.scheduler.runUntil(() => replicasEqual(c, 'cart'), { maxTime: 10_000 })
    expect(replicasEqual(c, 'cart')).toBe(true)
    // Anti-entropy no longer fails on the key: nothing left unreconciled once it converged.
    await c.runFor(2000)
    for (const id of c.ids) expect(c.db(id).syncStatus().unreconciled).toEqual([])

    const reads = await readEverywhere(c, 'cart')
    for (const r of reads) {
      expect(r).toBeInstanceOf(TypeConflictError)
      expect((r as TypeConflictError).values).toEqual([
        { type: 'pncounter', value: 5 },
        { type: 'orset', value: ['apple', 'pear'] },
      ])
    }
    // Typed handles see the conflict too; writes of either side's type still land.
    await expect(c.settle(c.db(a).set('cart').values())).rejects.toBeInstanceOf(TypeConflictError)
    await c.settle(c.db(b).counter('cart').increment(1))
    await expect(c.settle(c.db(b).register('cart').set('x'))).rejects.toBeInstanceOf(TypeMismatchError)
    const scanned = []
    for await (const entry of c.db(a).scan({ prefix: 'cart' })) scanned.push(entry)
    expect(scanned[0]?.conflict?.map((s) => s.type)).toEqual(['pncounter', 'orset'])

    const resolved = await c.settle(c.db(d).resolve('cart', 'orset'))
    expect(resolved).toMatchObject({ type: 'orset', value: ['apple', 'pear'], quorum: true })
    await c.runFor(2000)
    expect(replicasEqual(c, 'cart')).toBe(true)
    for (const r of await readEverywhere(c, 'cart')) expect(r).toMatchObject({ type: 'orset', value: ['apple', 'pear'] })
    await expect(c.settle(c.db(a).counter('cart').increment(1))).rejects.toBeInstanceOf(TypeMismatchError)
    await c.settle(c.db(a).set('cart').add('plum'))
    expect(await c.settle(c.db(b).set('cart').values({ r: 3 }))).toEqual(['apple', 'pear', 'plum'])
  })

  it('a write of the removed type that the resolver had not seen brings the conflict back (observed-remove)', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    c.net.partition([[a], [b, d]])
    await c.runFor(4000) // each side suspects the other: writes stay on their side
    await c.settle(c.db(a).gcounter('likes').increment(2, { w: 1 }))
    await c.settle(c.db(b).register('likes').set('many', { w: 1 }))
    // The resolver's side sees only the register: nothing to resolve there yet.
    const confirmed = await c.settle(c.db(b).resolve('likes', 'lww', { w: 1 }))
    expect(confirmed).toMatchObject({ type: 'lww', value: 'many' })
    c.net.heal()
    await c.scheduler.runUntil(() => replicasEqual(c, 'likes'), { maxTime: 10_000 })
    expect(replicasEqual(c, 'likes')).toBe(true)
    const first = await readEverywhere(c, 'likes')
    for (const r of first) expect(r).toBeInstanceOf(TypeConflictError)

    // Resolved on one side while the other, not having seen the resolution, writes its type again.
    c.net.partition([[a], [b, d]])
    await c.runFor(4000)
    await c.settle(c.db(d).resolve('likes', 'lww', { w: 1 }))
    for (const r of await c.settle(Promise.all([b, d].map((id) => c.db(id).get('likes'))))) expect(r).toMatchObject({ type: 'lww', value: 'many' })
    await c.settle(c.db(a).gcounter('likes').increment(3, { w: 1 }))
    c.net.heal()
    await c.scheduler.runUntil(() => replicasEqual(c, 'likes'), { maxTime: 10_000 })
    expect(replicasEqual(c, 'likes')).toBe(true)
    for (const r of await readEverywhere(c, 'likes')) {
      expect(r).toBeInstanceOf(TypeConflictError)
      // The counter shows what the resolution had not seen: a's 3, not the 2 it removed.
      expect((r as TypeConflictError).values).toEqual([
        { type: 'gcounter', value: 3 },
        { type: 'lww', value: 'many' },
      ])
    }
  })
})
