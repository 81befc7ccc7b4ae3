// Expiry in a simulated cluster (issue 14): a key written with a ttl reads as missing on
// every node once each node's clock passed its expiry, the sweeps leave every replica with
// the same state, and a key written again after it expired on one node does not bring back
// what the expiry removed on a node whose clock lags (the write's expiry moves that node's
// hybrid logical clock past the old expiry).
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { crdtOf } from '../../src/replica/replica.js'
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
  const ids = preferenceList(c.engine(c.upIds()[0] as string).membership.ring().ring, key, 3)
  const states = c.statesOf(key, ids)
  return states.every((s) => s !== undefined && Buffer.compare(s, states[0] as Uint8Array) === 0)
}

/** Every node's own copy, as its replica shows it now: a node's clock alone decides. */
function localValues(c: SimCluster, key: string): unknown[] {
  return c.upIds().map((id) => {
    const state = c.db(id).replica.readNow(key)
    return state === undefined || state.deleted === true ? undefined : crdtOf(state.type).value(state.state)
  })
}

/** A key whose first preferred replica (the one that applies its writes) is `id`. */
function keyLedBy(c: SimCluster, id: string, prefix: string): string {
  const ring = c.engine(id).membership.ring().ring
  for (let i = 0; i < 1000; i++) if (preferenceList(ring, `${prefix}-${i}`, 3)[0] === id) return `${prefix}-${i}`
  throw new Error(`no key led by ${id}`)
}

/** The expiry time the key's replica `id` holds. */
function expiryOf(c: SimCluster, id: string, key: string): number {
  const at = c.db(id).replica.readRecord(key)?.expiry?.value
  if (typeof at !== 'number') throw new Error(`${key} has no expiry on ${id}`)
  return at
}

describe(`expiry in a cluster (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/expiry.test.ts)`, () => {
  it('an expired key reads as missing on every node, each by its own clock, and the replicas converge', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    c.net.setSkew(d, -300)
    const key = keyLedBy(c, a, 'session')
    const feed = c.db(b).watch(key)
    await c.settle(c.db(a).counter(key).increment(4, { ttl: 2_000, w: 3 }))
    expect(localValues(c, key)).toEqual([4, 4, 4])
    expect((await c.settle(feed.next())).value).toMatchObject({ key, value: 4 })
    // a's clock is past the expiry, d's (300 ms behind) is not yet.
    const at = expiryOf(c, a, key)
    await c.scheduler.runUntil(() => c.db(a).replica.wallNow() >= at, { maxTime: 5_000 })
    expect(c.db(d).replica.wallNow()).toBeLessThan(at)
    const values = localValues(c, key)
    expect(values[c.upIds().indexOf(a)]).toBeUndefined()
    expect(values[c.upIds().indexOf(d)]).toBe(4)
    await c.runFor(2_000)
    expect(localValues(c, key)).toEqual([undefined, undefined, undefined])
    expect(await c.settle(Promise.all(c.ids.map((id) => c.db(id).get(key, { r: 3 }))))).toEqual([undefined, undefined, undefined])
    await c.scheduler.runUntil(() => replicasEqual(c, key), { maxTime: 15_000 })
    expect(replicasEqual(c, key)).toBe(true)
    for (const id of c.ids) expect(c.db(id).keys()).toEqual([])
    // The feed of b says the key expired (by b's sweep, or by a merge that found it due).
    let last = (await c.settle(feed.next())).value
    while (last.deleted !== true) last = (await c.settle(feed.next())).value
    expect(last).toMatchObject({ key, deleted: true, expired: true })
    await c.settle(feed.return!())
  })

  it('a key written again right after it expired does not bring back what it held on a node whose clock lags', async () => {
    const c = await cluster()
    const [a, , d] = c.ids as [string, string, string]
    c.net.setSkew(d, -400)
    const key = keyLedBy(c, a, 'cart')
    await c.settle(c.db(a).set(key).add('old', { ttl: 2_000, w: 3 }))
    // a's clock is past the expiry, d's is 400 ms short of it: a starts the key again.
    const at = expiryOf(c, a, key)
    await c.scheduler.runUntil(() => c.db(a).replica.wallNow() >= at, { maxTime: 5_000 })
    expect(localValues(c, key)[c.upIds().indexOf(d)]).toEqual(['old'])
    await c.settle(c.db(a).set(key).add('new', { w: 3 }))
    // d merged the write: its clock moved past the old expiry with it, so 'old' is gone there too.
    expect(c.db(d).replica.wallNow()).toBeGreaterThanOrEqual(at)
    expect(localValues(c, key)[c.upIds().indexOf(d)]).toEqual(['new'])
    await c.scheduler.runUntil(() => replicasEqual(c, key), { maxTime: 15_000 })
    await c.runFor(5_000)
    expect(localValues(c, key)).toEqual([['new'], ['new'], ['new']])
    for (const r of await c.settle(Promise.all(c.ids.map((id) => c.db(id).get(key, { r: 3 }))))) expect(r).toMatchObject({ value: ['new'] })
  })

  it('a renewal made before the expiry keeps the key on every node, through a partition', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).register('lock').set('holder-1', { ttl: 3_000, w: 3 }))
    c.net.partition([[a, b], [d]])
    await c.runFor(1_000)
    await c.settle(c.db(b).register('lock').set('holder-1', { ttl: 60_000, w: 1 }))
    await c.runFor(3_000)
    // d did not see the renewal: by its copy the lock expired.
    expect(localValues(c, 'lock')[c.upIds().indexOf(d)]).toBeUndefined()
    c.net.heal()
    await c.scheduler.runUntil(() => replicasEqual(c, 'lock'), { maxTime: 20_000 })
    expect(localValues(c, 'lock')).toEqual(['holder-1', 'holder-1', 'holder-1'])
  })
})
